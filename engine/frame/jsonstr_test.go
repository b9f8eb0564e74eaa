package frame

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson"

	"github.com/weirhq/weir/host/hosttest"
)

// appendQuotedBytewise is the byte-by-byte definition of appendQuoted
// (the escaping every weir host and SDK writes), the oracle the word-wise
// version is checked against.
func appendQuotedBytewise(dst, s []byte) ([]byte, bool) {
	invalid := false
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x80 {
			r, size := utf8.DecodeRune(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				invalid = true
				dst = append(dst, `\ufffd`...)
			case r == '\u2028' || r == '\u2029':
				dst = append(dst, `\u202`...)
				dst = append(dst, hexDigits[r&0xf])
			default:
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"':
			dst = append(dst, '\\', '"')
		case c == '\\':
			dst = append(dst, '\\', '\\')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			dst = append(dst, c)
		}
		i++
	}
	return append(dst, '"'), invalid
}

// TestAppendQuotedBytewise checks appendQuoted against the byte-by-byte
// oracle: every byte value, and every pair of a special byte or sequence
// with another at every position of strings up to 40 bytes, appended to
// prefixes of several capacities (the word-wise version writes ahead of
// its output within the capacity and grows it when escapes do not fit).
func TestAppendQuotedBytewise(t *testing.T) {
	check := func(s []byte) {
		t.Helper()
		for _, extra := range []int{0, 1, 7, 8, 9, len(s) + 9, 6*len(s) + 16} {
			checkQuoted(t, s, extra)
		}
	}
	for c := range 256 {
		for n := range 18 {
			for pos := range n + 1 {
				s := []byte(strings.Repeat("a", pos) + string([]byte{byte(c)}) + strings.Repeat("b", n-pos))
				check(s)
			}
		}
	}
	specials := []string{"\"", "\\", "\n", "\t", "\x1f", "\x00", "\x7f", "\x80", "\xff", "é", "\u2028", "\u2029", "\xe2\x80", "😀", "\xf0\x9f\x98", " ", "~", "\xc3"}
	for n := 0; n <= 40; n++ {
		for p1 := 0; p1 < n; p1++ {
			for _, a := range specials {
				for _, b := range specials {
					p2 := (p1 * 7) % (n + 1)
					s := strings.Repeat("x", n)
					s = s[:p1] + a + s[p1:]
					if p2 <= len(s) {
						s = s[:p2] + b + s[p2:]
					}
					check([]byte(s))
				}
			}
		}
	}
	// All quotes, all controls: every byte escaped, many grows.
	check(bytes.Repeat([]byte{'"'}, 1000))
	check(bytes.Repeat([]byte{1}, 1000))
	check(bytes.Repeat([]byte{0xff}, 1000))
	check(bytes.Repeat([]byte("\u2028"), 333))
	// The mask path (maskMinLen bytes and more): a special or sequence at
	// every position of strings around one and two blocks, and around a
	// segment's end (maskSeg), where a rune may straddle two blocks or
	// two segments.
	for _, n := range []int{63, 64, 65, 100, 127, 128, 129, 150, maskSeg - 1, maskSeg, maskSeg + 1, maskSeg + 63, maskSeg + 64, 2*maskSeg + 5} {
		var positions []int
		for p := 0; p <= n; p++ {
			if n < 200 || p < 80 || p > n-80 || (p > maskSeg-80 && p < maskSeg+80) {
				positions = append(positions, p)
			}
		}
		for _, p := range positions {
			for _, a := range specials {
				s := strings.Repeat("y", n)
				s = s[:p] + a + s[p:]
				check([]byte(s))
			}
		}
	}
	// Dense specials as pretty-printed JSON has them, and runs of every
	// length between two specials.
	for run := 0; run <= 40; run++ {
		for _, a := range specials {
			check([]byte(strings.Repeat(strings.Repeat("z", run)+a, 300/(run+1)+3)))
		}
	}
}

// TestMaskBlocks checks maskBlocks (AVX2 where the CPU has it) and its
// Go version against the definition, byte by byte, on random bytes and
// on every byte value at every position of a block.
func TestMaskBlocks(t *testing.T) {
	special := func(c byte) bool { return c < 0x20 || c == '"' || c == '\\' || c >= 0x80 }
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 64*9)
	check := func() {
		t.Helper()
		for _, avx := range []bool{false, hasAVX2} {
			saved := hasAVX2
			hasAVX2 = avx
			got := make([]uint64, 9)
			maskBlocks(unsafe.Pointer(&buf[0]), 9, &got[0])
			hasAVX2 = saved
			for i, c := range buf {
				if bit := got[i/64]>>(i%64)&1 == 1; bit != special(c) {
					t.Fatalf("avx2 %v: byte %d (%#x): mask bit %v", avx, i, c, bit)
				}
			}
		}
	}
	for range 200 {
		for i := range buf {
			buf[i] = byte(rng.IntN(256))
		}
		check()
	}
	for c := range 256 {
		for p := range 64 {
			for i := range buf {
				buf[i] = 'a'
			}
			buf[64*4+p] = byte(c)
			check()
		}
	}
}

// TestAppendQuotedFallbacks runs the oracle comparisons with each vector
// routine the CPU has turned off in turn: the Go version of maskBlocks
// where the CPU would use AVX2, and no escapeQuotes where it has SSSE3.
func TestAppendQuotedFallbacks(t *testing.T) {
	for _, tc := range []struct {
		name string
		on   *bool
	}{
		{"maskBlocks in Go", &hasAVX2},
		{"no escapeQuotes", &hasQuotesSSSE3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !*tc.on {
				t.Skip("off already on this CPU or build (TestAppendQuotedBytewise)")
			}
			*tc.on = false
			defer func() { *tc.on = true }()
			TestAppendQuotedBytewise(t)
		})
	}
}

// TestEscapeQuotes checks that escapeQuotes escapes a compact record's
// quotes and backslashes up to its first other special, 16 bytes at a
// time, against the oracle.
func TestEscapeQuotes(t *testing.T) {
	if !hasQuotesSSSE3 {
		t.Skip("no escapeQuotes on this CPU or build")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte(`"\abc:{}[],0`)
	for range 2000 {
		s := make([]byte, rng.IntN(300))
		for i := range s {
			s[i] = alphabet[rng.IntN(len(alphabet))]
		}
		stop := len(s)
		if len(s) > 0 && rng.IntN(2) == 0 {
			stop = rng.IntN(len(s))
			s[stop] = []byte{'\n', 0x80, 0x1f, 0xff}[rng.IntN(4)]
		}
		buf := make([]byte, 2*len(s)+16)
		read, o := escapeQuotes(buf, 0, s)
		if want := min(stop, len(s)) &^ 15; len(s) >= 16 && read != want {
			t.Fatalf("%q: read %d, want %d", s, read, want)
		}
		want, _ := appendQuotedBytewise(nil, s[:read])
		if !bytes.Equal(buf[:o], want[1:len(want)-1]) {
			t.Fatalf("%q: wrote %q, want %q", s[:read], buf[:o], want[1:len(want)-1])
		}
	}
}

// FuzzAppendString checks appendQuoted against the byte-by-byte oracle
// on any string, appended to a prefix with extra spare capacity (the
// word stores write ahead within it): the output, the invalid-UTF-8
// report and QuotedLen agree, and the prefix is kept.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c\n", "\x00\x1f\x7f", "\xff\xc3", "\u2028\u2029é😀", strings.Repeat("x\"", 20)} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, s []byte, extra uint8) {
		checkQuoted(t, s, int(extra))
	})
}

// checkQuoted checks appendQuoted against the byte-by-byte oracle,
// appending s to "pre" in a buffer with extra spare capacity, and
// QuotedLen and Plain against the oracle's output.
func checkQuoted(t *testing.T, s []byte, extra int) {
	t.Helper()
	want, wantBad := appendQuotedBytewise([]byte("pre"), s)
	dst := make([]byte, 3, 3+extra)
	copy(dst, "pre")
	got, bad := appendQuoted(dst, s)
	if !bytes.Equal(got, want) || bad != wantBad {
		t.Fatalf("%q (cap +%d): got %s %v, want %s %v", s, extra, got, bad, want, wantBad)
	}
	if n := QuotedLen(s); n != len(want)-3 {
		t.Fatalf("%q: QuotedLen %d, want %d", s, n, len(want)-3)
	}
	if plain := len(want) == len(s)+5 && utf8.RuneCount(s) == len(s); Plain(s) != plain {
		t.Fatalf("%q: Plain %v, want %v", s, !plain, plain)
	}
}

// BenchmarkAppendString escapes the reference record as a JSON string
// (event.original: 1.3 KB, a quote every 10 bytes) and a clean 1.3 KB
// string, into a reused buffer.
func BenchmarkAppendString(b *testing.B) {
	ref, err := os.ReadFile(hosttest.SharedFile(b, "reference/consolelogin.input.json"))
	if err != nil {
		b.Fatal(err)
	}
	ref = bytes.TrimRight(ref, "\n")
	// The reference record pretty-printed as the Stratus corpus is (a
	// newline and indentation before each member): event.original of a
	// record read from such a file.
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, ref, "   ", "   "); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		s    []byte
	}{
		{"reference", ref},
		{"pretty", pretty.Bytes()},
		{"clean", bytes.Repeat([]byte("abcdefghij"), 135)},
		{"key", []byte("event")},
		{"value", []byte("us-east-1.signin.aws.amazon.com")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.s)))
			var dst []byte
			for b.Loop() {
				dst = AppendString(dst[:0], tc.s)
			}
		})
	}
}

// referenceOps is the operation list the Go reference module
// (modules/cloudtrail-ecs) returns for the reference ConsoleLogin record,
// and referencePaths the views it declares.
func referenceOps() (ops []byte, paths []string, segs [][]string) {
	var o Ops
	o.CopyString("@timestamp", "eventTime")
	o.CopyString("event.action", "eventName")
	o.CopyString("event.id", "eventID")
	o.SetDigest("event.hash", DigestSHA256)
	o.SetOriginal("event.original")
	o.SetString("event.outcome", "success")
	o.CopyString("cloud.account.id", "recipientAccountId")
	o.CopyString("cloud.account.id", "userIdentity.accountId")
	o.SetString("cloud.provider", "aws")
	o.CopyString("cloud.region", "awsRegion")
	o.SetString("cloud.service.name", "signin")
	o.CopyString("source.ip", "sourceIPAddress")
	o.CopyString("tls.cipher", "tlsDetails.cipherSuite")
	o.SetString("tls.version", "1.3")
	o.SetString("tls.version_protocol", "tls")
	o.CopyString("tls.client.server_name", "tlsDetails.clientProvidedHostHeader")
	o.SetString("user.email", "anonymous@example.com")
	o.SetString("user.name", "anonymous")
	o.SetString("user.domain", "example.com")
	o.CopyString("user_agent.original", "userAgent")
	paths = []string{"errorCode", "errorMessage", "responseElements.ConsoleLogin", "eventSource", "sourceIPAddress", "tlsDetails.tlsVersion", "userIdentity.principalId", "eventTime", "eventName"}
	for _, p := range paths {
		segs = append(segs, SplitPath(p))
	}
	return o.B, paths, segs
}

// BenchmarkHostReference is the host's per-record work on the reference
// job without wazero: parse the record, extract the module's views into
// an input frame, and apply the module's operation list into a reused
// output buffer (host.BenchmarkHostShare measures the same with the
// stage's frame handling, on the real module's recorded output). "doc"
// parses with Doc, as the host does; "fastjson" with fastjson, as the Go
// guest SDK does.
func BenchmarkHostReference(b *testing.B) {
	raw, err := os.ReadFile(hosttest.SharedFile(b, "reference/consolelogin.input.json"))
	if err != nil {
		b.Fatal(err)
	}
	rec := bytes.TrimRight(raw, "\n")
	ops, paths, segs := referenceOps()
	b.Run("doc", func(b *testing.B) {
		var (
			d   Doc
			a   Applier
			dst []byte
			in  InputWriter
		)
		b.SetBytes(int64(len(rec)))
		b.ReportAllocs()
		for b.Loop() {
			if err := d.Parse(rec); err != nil {
				b.Fatal(err)
			}
			in.Reset(in.buf, FlagViews|FlagHostOps, paths)
			in.AddRecord(rec, "", "", 0, 0, "")
			for _, s := range segs {
				in.AddDocValue(&d, d.Get(s...))
			}
			if dst, err = a.ApplyDoc(dst[:0], OutputOps, ops, rec, &d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fastjson", func(b *testing.B) {
		var (
			p   fastjson.Parser
			a   Applier
			dst []byte
			in  InputWriter
		)
		b.SetBytes(int64(len(rec)))
		b.ReportAllocs()
		for b.Loop() {
			v, err := p.ParseBytes(rec)
			if err != nil {
				b.Fatal(err)
			}
			in.Reset(in.buf, FlagViews|FlagHostOps, paths)
			in.AddRecord(rec, "", "", 0, 0, "")
			for _, s := range segs {
				in.AddValue(v.Get(s...))
			}
			if dst, err = a.Apply(dst[:0], OutputOps, ops, rec, v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
