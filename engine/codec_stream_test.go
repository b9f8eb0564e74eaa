package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/weirhq/weir/engine"
)

// decodeAll runs a Decoder to the end.
func decodeAll(t testing.TB, r io.Reader, format engine.Format) ([]engine.Record, error) {
	t.Helper()
	d, err := engine.NewDecoder(r, "in.json", format)
	if err != nil {
		t.Fatal(err)
	}
	var out []engine.Record
	for {
		rec, err := d.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

// streamCases are inputs whose streamed records (read one byte at a time,
// with a one-byte detection window, so that nothing is decoded in memory)
// must equal DecodeRecords'.
var streamCases = []struct {
	name   string
	in     string
	format engine.Format
	window int // the detection window (default 1): NDJSON is told by its first line
}{
	{"empty", "", "", 0},
	{"blank", " \n\r\n\t", "", 0},
	{"bom only", "\xef\xbb\xbf", "", 0},
	{"empty array", "[ ]", "", 0},
	{"empty records", `{"Records": []}`, "", 0},
	{"ndjson", ndjsonIn, "", 64},
	{"ndjson, bad first line", "{oops\n{\"a\":1}\n", "", 0},
	{"ndjson, no final newline", "1\n\"two\"", "", 0},
	{"ndjson of arrays", "[1]\n[2, 3]\n", "", 64},
	{"ndjson of Records files", "{\"Records\":[1]}\n{\"Records\":[2]}\n", "", 64},
	{"plain text", "hello\nworld", "", 0},
	{"array keeps raw bytes", " [ {\"a\" : 1.50e+3 , \"u\":\"\\u00e9\"},\n\"x\", 7 , null,[ ] ]\n", "", 0},
	{"array of numbers", "[\n12345, -0.5e+10, 7]", "", 0},
	{"cloudtrail", "{\"Records\": [{\"eventName\": \"ConsoleLogin\"},\n  {\"eventName\":\"GetObject\"}]}", "", 0},
	{"cloudtrail, other keys first", `{"x": {"Records": [9]}, "Records": [1, 2], "y": true}`, "", 0},
	{"cloudtrail, escaped key", `{"Rec\u006frds": [1]}`, "", 0},
	{"object without Records", " {\"eventName\": \"x\"}\n", "", 0},
	{"Records not an array", `{"Records": {"a": 1}}`, "", 0},
	{"indented object", "{\n  \"a\": 1,\n  \"b\": 2\n}\n", "", 0},
	{"bom", "\xef\xbb\xbf[1]", "", 0},
	{"forced ndjson on array", "[1,\n2]", engine.FormatNDJSON, 0},
	{"forced json on records file", `{"Records": [1]}`, engine.FormatJSON, 0},
	{"forced json on array", `[1, 2]`, engine.FormatJSON, 0},
	{"forced json on scalar", ` "s" `, engine.FormatJSON, 0},
	{"forced json on number", ` 123`, engine.FormatJSON, 0},
	{"forced cloudtrail", `{"Records": [1]}`, engine.FormatCloudTrail, 0},
}

func TestDecoderStreamsLikeDecodeRecords(t *testing.T) {
	defer engine.SetDetectWindow(1)()
	for _, tt := range streamCases {
		for name, wrap := range map[string]func(io.Reader) io.Reader{
			"one byte": iotest.OneByteReader, "half": iotest.HalfReader, "whole": func(r io.Reader) io.Reader { return r },
		} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				defer engine.SetDetectWindow(max(1, tt.window))()
				restore := engine.SetDetectWindow(1 << 20)
				want, werr := engine.DecodeRecordsFormat(strings.NewReader(tt.in), "in.json", tt.format)
				restore()
				got, err := decodeAll(t, wrap(strings.NewReader(tt.in)), tt.format)
				if werr != nil || err != nil {
					t.Fatalf("errors: in memory %v, streamed %v", werr, err)
				}
				if len(got) != len(want) {
					t.Fatalf("streamed %d records %+v, in memory %d", len(got), got, len(want))
				}
				for i := range want {
					if !bytes.Equal(got[i].Data, want[i].Data) || got[i].Meta != want[i].Meta {
						t.Errorf("record %d: streamed %+v %q, in memory %+v %q", i, got[i].Meta, got[i].Data, want[i].Meta, want[i].Data)
					}
				}
			})
		}
	}
}

func TestDecoderStreamErrors(t *testing.T) {
	defer engine.SetDetectWindow(1)()
	tests := []struct {
		name   string
		in     string
		format engine.Format
		recs   int // records before the error
		offset int64
		msg    string
	}{
		{"array double comma", "[1, 2,, 3]", "", 2, 6, "invalid character ','"},
		{"array unterminated", "[{\"a\": 1}", "", 1, 9, "unexpected end of input in array"},
		{"array bad element", "[{\"a\": 1},\n{\"a\": tru}]", "", 1, 20, "invalid character '}' in literal true"},
		{"array then data", "[1,\n2] x", "", 2, 7, "unexpected data after the JSON document"},
		{"records then garbage", "{\"Records\": [1,\n2], \"y\": tx}", "", 2, 26, "in literal true"},
		{"indented object broken", "{\n  \"a\": 1,\n}\n", "", 0, 12, "expected a string key, found '}'"},
		{"cloudtrail not object", "[1]", engine.FormatCloudTrail, 0, 0, "expected a CloudTrail object"},
		{"cloudtrail no Records", "{\"records\":\n [1]}", engine.FormatCloudTrail, 0, 0, `no "Records" array`},
		{"unterminated string", "[\"abc", "", 0, 1, "unterminated string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeAll(t, iotest.OneByteReader(strings.NewReader(tt.in)), tt.format)
			var de *engine.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError (%d records)", err, len(got))
			}
			if len(got) != tt.recs || de.Offset != tt.offset || !strings.Contains(de.Msg, tt.msg) {
				t.Errorf("%d records, error %q; want %d records, offset %d and %q", len(got), err, tt.recs, tt.offset, tt.msg)
			}
		})
	}
}

// lines returns n NDJSON records of about 100 bytes, numbered.
func ndjsonRecords(n int) (data []byte, recs [][]byte) {
	for i := range n {
		r := fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, i, strings.Repeat("abcdefgh", 10+i%7))
		recs = append(recs, r)
		data = append(append(data, r...), '\n')
	}
	return data, recs
}

// TestDecoderTruncated cuts compressed inputs anywhere: every record that
// was decompressed completely comes out, then an error naming the byte
// offset where the stream broke.
func TestDecoderTruncated(t *testing.T) {
	plain, recs := ndjsonRecords(5000)
	array := append(append([]byte("[\n"), bytes.Join(recs, []byte(",\n"))...), "\n]\n"...)
	zenc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<16))
	if err != nil {
		t.Fatal(err)
	}
	for _, codec := range []struct {
		name       string
		compress   func([]byte) []byte
		decompress func([]byte) []byte // the prefix a reader gets out of a cut stream
	}{
		{"gzip", func(b []byte) []byte { return gzipped(t, b) }, func(b []byte) []byte {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(zr)
			return out
		}},
		{"zstd", func(b []byte) []byte {
			// Several blocks: a writer flushed every 16 KiB.
			var buf bytes.Buffer
			zw, _ := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<16))
			for len(b) > 0 {
				n := min(len(b), 16<<10)
				_, _ = zw.Write(b[:n])
				_ = zw.Flush()
				b = b[n:]
			}
			_ = zw.Close()
			return buf.Bytes()
		}, func(b []byte) []byte {
			zr, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
			if err != nil {
				t.Fatal(err)
			}
			defer zr.Close()
			out, _ := io.ReadAll(zr)
			return out
		}},
	} {
		for _, layout := range []struct {
			name string
			data []byte
		}{{"ndjson", plain}, {"array", array}} {
			full := codec.compress(layout.data)
			for _, frac := range []float64{0.1, 0.5, 0.93} {
				t.Run(fmt.Sprintf("%s/%s/%.0f%%", codec.name, layout.name, frac*100), func(t *testing.T) {
					cut := full[:int(float64(len(full))*frac)]
					prefix := codec.decompress(cut)
					// Records complete in the prefix: each followed by its
					// separator.
					complete := 0
					for _, r := range recs {
						i := bytes.Index(prefix, r)
						if i < 0 || i+len(r) >= len(prefix) {
							break
						}
						complete++
					}
					if complete == 0 {
						t.Fatalf("the cut at %d bytes leaves no record to check", len(cut))
					}
					got, err := decodeAll(t, bytes.NewReader(cut), "")
					var de *engine.DecodeError
					if !errors.As(err, &de) || !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("error %v, want a *DecodeError wrapping io.ErrUnexpectedEOF", err)
					}
					if len(got) != complete {
						t.Fatalf("%d records, want the %d complete ones; error %v", len(got), complete, err)
					}
					for i := range got {
						if !bytes.Equal(got[i].Data, recs[i]) {
							t.Fatalf("record %d = %q, want %q", i, got[i].Data, recs[i])
						}
					}
					if de.Offset != int64(len(prefix)) || !strings.Contains(err.Error(), codec.name+": ") ||
						!strings.Contains(err.Error(), "the record at byte offset") {
						t.Errorf("error %q: want the break at decompressed byte offset %d", err, len(prefix))
					}
				})
			}
		}
	}
	zenc.Close()
}

func TestDecoderLinesAndRaw(t *testing.T) {
	in := "<13>Jan  1 host app: a \"quoted\" \xff byte  \r\n\n  indented\nlast"
	got, err := decodeAll(t, iotest.HalfReader(strings.NewReader(in)), engine.FormatLines)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ seq, data string }{{"1", "<13>Jan  1 host app: a \"quoted\" \xff byte  "}, {"3", "  indented"}, {"4", "last"}}
	if len(got) != len(want) {
		t.Fatalf("%d records %+v", len(got), got)
	}
	for i, w := range want {
		if string(got[i].Data) != w.data || got[i].Meta.SequenceNumber != w.seq {
			t.Errorf("line record %d = %s %q, want %s %q", i, got[i].Meta.SequenceNumber, got[i].Data, w.seq, w.data)
		}
	}
	for _, data := range [][]byte{[]byte(in), gzipped(t, []byte(in)), zstded(t, []byte(in))} {
		got, err = decodeAll(t, bytes.NewReader(data), engine.FormatRaw)
		if err != nil || len(got) != 1 || string(got[0].Data) != in {
			t.Errorf("raw: %+v, %v", got, err)
		}
	}
	got, err = decodeAll(t, strings.NewReader(""), engine.FormatRaw)
	if err != nil || len(got) != 0 {
		t.Errorf("raw empty: %+v, %v", got, err)
	}
}

// TestDecoderLarge streams inputs longer than the detection window, with
// a record longer than the read size inside.
func TestDecoderLarge(t *testing.T) {
	plain, recs := ndjsonRecords(60000) // 6 MB
	big := []byte(`{"blob":"` + strings.Repeat("x", 3<<20) + `"}`)
	recs = append(recs, big)
	plain = append(append(plain, big...), '\n')
	array := append(append([]byte("[\n"), bytes.Join(recs, []byte(",\n"))...), "\n]\n"...)
	trail := append(append([]byte("{\"Records\": [\n"), bytes.Join(recs, []byte(",\n"))...), "\n], \"x\": 1}"...)
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"ndjson", plain}, {"array", array}, {"cloudtrail", trail},
		{"gzip ndjson", gzipped(t, plain)}, {"zstd array", zstded(t, array)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeAll(t, bytes.NewReader(tc.in), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(recs) {
				t.Fatalf("%d records, want %d", len(got), len(recs))
			}
			for i := range recs {
				if !bytes.Equal(got[i].Data, recs[i]) {
					t.Fatalf("record %d differs (%d bytes, want %d)", i, len(got[i].Data), len(recs[i]))
				}
			}
		})
	}
}

// FuzzDecoder checks the streaming tokenizer against the in-memory
// decoder on any input: same records, or an error from both.
func FuzzDecoder(f *testing.F) {
	for _, tc := range streamCases {
		f.Add([]byte(tc.in), uint8(0))
	}
	f.Add([]byte("[1,2,[3]]"), uint8(1))
	f.Add([]byte(`{"Records":[{"a":"b"}],"c":{}}`), uint8(2))
	formats := []engine.Format{engine.FormatAuto, engine.FormatJSON, engine.FormatCloudTrail, engine.FormatNDJSON, engine.FormatLines}
	f.Fuzz(func(t *testing.T, in []byte, format uint8) {
		fm := formats[int(format)%len(formats)]
		want, werr := engine.DecodeRecordsFormat(bytes.NewReader(in), "in.json", fm)
		restore := engine.SetDetectWindow(1)
		got, err := decodeAll(t, iotest.OneByteReader(bytes.NewReader(in)), fm)
		restore()
		if werr != nil {
			if err == nil && fm != engine.FormatAuto {
				t.Fatalf("in memory: %v; streamed: no error", werr)
			}
			return
		}
		if err != nil {
			// The streamed layout is chosen from the beginning: an
			// auto input that is an object or array broken further
			// on, or followed by data, is an error there (and NDJSON in
			// memory).
			if fm == engine.FormatAuto {
				return
			}
			t.Fatalf("streamed: %v; in memory: %d records", err, len(want))
		}
		if fm == engine.FormatAuto && len(got) != len(want) {
			return // the same caveat, on a valid prefix
		}
		if len(got) != len(want) {
			t.Fatalf("streamed %d records, in memory %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i].Data, want[i].Data) || got[i].Meta != want[i].Meta {
				t.Fatalf("record %d: streamed %q, in memory %q", i, got[i].Data, want[i].Data)
			}
		}
	})
}

// FuzzDecoderCompressed feeds arbitrary bytes behind gzip, zstd, bzip2 and snappy magic
// numbers, whole and cut: the decoder returns records and an error, never
// panics, and never returns a record the plain decoding does not have.
func FuzzDecoderCompressed(f *testing.F) {
	f.Add(gzipped(f, []byte("{\"a\":1}\n{\"b\":2}\n")), uint16(20))
	f.Add(zstded(f, []byte("[1,2,3]")), uint16(9))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, uint16(3))
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0}, uint16(5))
	f.Add(snappied(f, []byte("{\"a\":1}\n{\"b\":2}\n")), uint16(21))
	f.Add(s2ed(f, []byte("[1,2,3]")), uint16(14))
	f.Add([]byte("BZh91AY&SY\x00\x00"), uint16(6))
	f.Add([]byte("\xff\x06\x00\x00sNaPpY\x00\x05\x00\x00"), uint16(12))
	f.Fuzz(func(t *testing.T, in []byte, cut uint16) {
		for _, data := range [][]byte{in, in[:min(len(in), int(cut))]} {
			got, err := decodeAll(t, bytes.NewReader(data), engine.FormatNDJSON)
			if err != nil {
				var de *engine.DecodeError
				if !errors.As(err, &de) && !strings.HasPrefix(err.Error(), "codec: ") {
					t.Fatalf("error %v is not located", err)
				}
			}
			for _, r := range got {
				if len(r.Data) == 0 {
					t.Fatal("empty record")
				}
			}
		}
	})
}
