package b64

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"

	asmbase64 "github.com/segmentio/asm/base64"
)

// TestDecode: Decode gives encoding/base64's bytes, and fails where it
// fails, for every length to 300 and a large input, with padding, line
// breaks, and one bad character (outside the alphabet, or with its top
// bit set over a valid low 7 bits) at every position.
func TestDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var cases [][]byte
	for n := range 300 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		cases = append(cases, []byte(base64.StdEncoding.EncodeToString(b)))
	}
	big := make([]byte, 100_000)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	cases = append(cases, []byte(base64.StdEncoding.EncodeToString(big)))
	// Line breaks (encoding/base64 skips \r and \n) in a long input.
	wrapped := []byte(base64.StdEncoding.EncodeToString(big[:3000]))
	wrapped = append(wrapped[:1000:1000], append([]byte("\r\n"), wrapped[1000:]...)...)
	cases = append(cases, wrapped)
	valid := cases[200] // 268 characters: four blocks and a tail
	for i := range valid {
		for _, c := range []byte{'=', '-', '_', ' ', 0, 0xC1, 0x80 | '+', 0xFF} {
			bad := bytes.Clone(valid)
			bad[i] = c
			cases = append(cases, bad)
		}
	}
	for _, src := range cases {
		want := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
		wn, werr := base64.StdEncoding.Decode(want, src)
		got := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
		gn, gerr := Decode(got, src)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: error %v, want %v", src, gerr, werr)
		}
		if werr == nil && !bytes.Equal(got[:gn], want[:wn]) {
			t.Fatalf("%q (%d characters): decoded %x, want %x", src, len(src), got[:gn], want[:wn])
		}
	}
}

// BenchmarkDecode: a Kinesis record's 51,200 bytes, as base64.
func BenchmarkDecode(b *testing.B) {
	raw := make([]byte, 51200)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	src := []byte(base64.StdEncoding.EncodeToString(raw))
	dst := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
	for _, way := range []struct {
		name string
		vbmi bool
	}{{"asm", false}, {"vbmi", hasVBMI}} {
		b.Run(way.name, func(b *testing.B) {
			if !way.vbmi && way.name == "vbmi" {
				b.Skip("no AVX-512 VBMI")
			}
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if way.vbmi {
					if _, err := Decode(dst, src); err != nil {
						b.Fatal(err)
					}
				} else if _, err := asmbase64.StdEncoding.Decode(dst, src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzDecode: on any input, Decode agrees with encoding/base64 on success
// or failure and on the bytes, and writes nothing past what it reports
// (the input is fuzzed both as given and as base64 of the fuzzer's bytes,
// so that long valid runs reach the vector loop).
func FuzzDecode(f *testing.F) {
	f.Add([]byte("aGVsbG8gd29ybGQ="), false)
	f.Add(bytes.Repeat([]byte("QUJD"), 40), false)
	f.Add(bytes.Repeat([]byte{0xAB, 0xCD, 0xEF}, 100), true)
	f.Fuzz(func(t *testing.T, in []byte, encode bool) {
		src := in
		if encode {
			src = []byte(base64.StdEncoding.EncodeToString(in))
		}
		n := base64.StdEncoding.DecodedLen(len(src))
		want := make([]byte, n)
		wn, werr := base64.StdEncoding.Decode(want, src)
		// A guard byte after dst: nothing may be written there.
		buf := make([]byte, n+1)
		buf[n] = 0x5A
		gn, gerr := Decode(buf[:n:n], src)
		if buf[n] != 0x5A {
			t.Fatalf("%q: wrote past dst", src)
		}
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: error %v, want %v", src, gerr, werr)
		}
		if werr == nil && !bytes.Equal(buf[:gn], want[:wn]) {
			t.Fatalf("%q: decoded %x, want %x", src, buf[:gn], want[:wn])
		}
	})
}
