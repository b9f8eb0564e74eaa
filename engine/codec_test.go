package engine_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/hosttest"
)

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstded(t testing.TB, data []byte) []byte {
	t.Helper()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(data, nil)
}

const ndjsonIn = "{\"a\":1}\n\n   \r\n{\"b\": [1, 2]}\r\nnot json at all\n  {\"c\":3}  \n"

func TestDecodeRecords(t *testing.T) {
	type rec struct{ seq, data string }
	tests := []struct {
		name   string
		in     []byte
		format engine.Format
		want   []rec
	}{
		{"empty", nil, "", nil},
		{"blank", []byte(" \n\r\n\t"), "", nil},
		{"bom only", []byte("\xef\xbb\xbf"), "", nil},
		{"empty array", []byte("[ ]"), "", nil},
		{"empty records", []byte(`{"Records": []}`), "", nil},
		{"ndjson", []byte(ndjsonIn), "", []rec{{"1", `{"a":1}`}, {"4", `{"b": [1, 2]}`}, {"5", "not json at all"}, {"6", `{"c":3}`}}},
		{"ndjson, bad first line", []byte("{oops\n{\"a\":1}\n"), "", []rec{{"1", "{oops"}, {"2", `{"a":1}`}}},
		{"ndjson, truncated first line", []byte("{\"a\": 1\n{\"b\":2}\n"), "", []rec{{"1", `{"a": 1`}, {"2", `{"b":2}`}}},
		{"ndjson, no final newline", []byte("1\n\"two\""), "", []rec{{"1", "1"}, {"2", `"two"`}}},
		{"ndjson of arrays", []byte("[1]\n[2, 3]\n"), "", []rec{{"1", "[1]"}, {"2", "[2, 3]"}}},
		{"ndjson of Records files", []byte("{\"Records\":[1]}\n{\"Records\":[2]}\n"), "", []rec{{"1", `{"Records":[1]}`}, {"2", `{"Records":[2]}`}}},
		{"plain text", []byte("hello\nworld"), "", []rec{{"1", "hello"}, {"2", "world"}}},
		{"array keeps raw bytes", []byte(" [ {\"a\" : 1.50e+3 , \"u\":\"\\u00e9\"},\n\"x\", 7 , null,[ ] ]\n"), "",
			[]rec{{"0", `{"a" : 1.50e+3 , "u":"\u00e9"}`}, {"1", `"x"`}, {"2", "7"}, {"3", "null"}, {"4", "[ ]"}}},
		{"cloudtrail", []byte("{\"Records\": [{\"eventName\": \"ConsoleLogin\"},\n  {\"eventName\":\"GetObject\"}]}"), "",
			[]rec{{"0", `{"eventName": "ConsoleLogin"}`}, {"1", `{"eventName":"GetObject"}`}}},
		{"cloudtrail, other keys first", []byte(`{"x": {"Records": [9]}, "Records": [1, 2], "y": true}`), "", []rec{{"0", "1"}, {"1", "2"}}},
		{"cloudtrail, escaped key", []byte(`{"Rec\u006frds": [1]}`), "", []rec{{"0", "1"}}},
		{"object without Records", []byte(" {\"eventName\": \"x\"}\n"), "", []rec{{"0", `{"eventName": "x"}`}}},
		{"Records not an array", []byte(`{"Records": {"a": 1}}`), "", []rec{{"0", `{"Records": {"a": 1}}`}}},
		{"indented object", []byte("{\n  \"a\": 1,\n  \"b\": 2\n}\n"), "", []rec{{"0", "{\n  \"a\": 1,\n  \"b\": 2\n}"}}},
		{"bom", []byte("\xef\xbb\xbf[1]"), "", []rec{{"0", "1"}}},
		{"forced ndjson on array", []byte("[1,\n2]"), engine.FormatNDJSON, []rec{{"1", "[1,"}, {"2", "2]"}}},
		{"forced json on records file", []byte(`{"Records": [1]}`), engine.FormatJSON, []rec{{"0", `{"Records": [1]}`}}},
		{"forced json on array", []byte(`[1, 2]`), engine.FormatJSON, []rec{{"0", "1"}, {"1", "2"}}},
		{"forced json on scalar", []byte(` "s" `), engine.FormatJSON, []rec{{"0", `"s"`}}},
		{"forced cloudtrail", []byte(`{"Records": [1]}`), engine.FormatCloudTrail, []rec{{"0", "1"}}},
		{"forced auto", []byte(`[1]`), engine.FormatAuto, []rec{{"0", "1"}}},
		{"gzip ndjson", gzipped(t, []byte(ndjsonIn)), "", []rec{{"1", `{"a":1}`}, {"4", `{"b": [1, 2]}`}, {"5", "not json at all"}, {"6", `{"c":3}`}}},
		{"zstd array", zstded(t, []byte(`[{"a":1},{"b":2}]`)), "", []rec{{"0", `{"a":1}`}, {"1", `{"b":2}`}}},
		{"gzip empty", gzipped(t, nil), "", nil},
		{"zstd forced cloudtrail", zstded(t, []byte(`{"Records":[{}]}`)), engine.FormatCloudTrail, []rec{{"0", "{}"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := engine.DecodeRecordsFormat(bytes.NewReader(tt.in), "in.json", tt.format)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d records %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				if string(got[i].Data) != w.data || got[i].Meta.SequenceNumber != w.seq || got[i].Meta.Source != "in.json" {
					t.Errorf("record %d = (seq %q, source %q) %q, want (seq %q) %q",
						i, got[i].Meta.SequenceNumber, got[i].Meta.Source, got[i].Data, w.seq, w.data)
				}
			}
			// Records alias one buffer; appending to one must not clobber
			// the next.
			if len(got) > 1 {
				next := string(got[1].Data)
				_ = append(got[0].Data, "XXXXXXXX"...)
				if string(got[1].Data) != next {
					t.Errorf("append to record 0 changed record 1 to %q", got[1].Data)
				}
			}
		})
	}
}

func TestDecodeRecordsErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		format engine.Format
		offset int64
		msg    string
	}{
		{"array double comma", `[1, 2,, 3]`, "", 6, "invalid character ',' looking for the beginning of a value"},
		{"array trailing comma", `[1, 2,]`, "", 6, "invalid character ']'"},
		{"array unterminated", `[{"a": 1}`, "", 9, "unexpected end of input in array"},
		{"array bad element", "[{\"a\": tru}]", "", 10, "invalid character '}' in literal true"},
		{"array bad escape", `["\q"]`, "", 3, "invalid escape character 'q'"},
		{"array control char", "[\"a\tb\"]", "", 3, "invalid control character 0x09"},
		{"array bad number", `[01]`, "", 2, "expected ',' or ']'"},
		{"array bad exponent", `[1e]`, "", 3, "expected a digit in the exponent"},
		{"unterminated string", `["abc`, "", 1, "unterminated string"},
		{"indented object broken", "{\n  \"a\": 1,\n}\n", "", 12, "expected a string key, found '}'"},
		{"cloudtrail not object", `[1]`, engine.FormatCloudTrail, 0, "expected a CloudTrail object"},
		{"cloudtrail no Records", `{"records": [1]}`, engine.FormatCloudTrail, 0, `no "Records" array`},
		{"cloudtrail broken", `{"Records": [1,]}`, engine.FormatCloudTrail, 15, "invalid character ']'"},
		{"json trailing data", `{"a":1} {"b":2}`, engine.FormatJSON, 8, "unexpected data after the JSON document"},
		{"deep nesting", "[" + strings.Repeat("[", 10001) + strings.Repeat("]", 10002), "", 10000, "nesting deeper than 10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := engine.DecodeRecordsFormat(strings.NewReader(tt.in), "bad.json", tt.format)
			if err == nil {
				t.Fatalf("no error, got %d records", len(got))
			}
			var de *engine.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			if de.Offset != tt.offset || !strings.Contains(de.Msg, tt.msg) {
				t.Errorf("error %q, want offset %d and %q", err, tt.offset, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), "codec: bad.json: ") || !strings.Contains(err.Error(), "at byte offset") {
				t.Errorf("error %q is not formatted as codec: source: ... at byte offset N", err)
			}
		})
	}
	_, err := engine.DecodeRecordsFormat(strings.NewReader("1"), "x", "csv")
	if err == nil || !strings.Contains(err.Error(), `codec: unknown format "csv"`) {
		t.Errorf("unknown format: %v", err)
	}
	_, err = engine.DecodeRecords(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0}), "trunc.gz")
	if err == nil || !strings.HasPrefix(err.Error(), "codec: trunc.gz: ") {
		t.Errorf("truncated gzip: %v", err)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]engine.Format{"": engine.FormatAuto, "auto": engine.FormatAuto, "ndjson": engine.FormatNDJSON, "json": engine.FormatJSON, "cloudtrail": engine.FormatCloudTrail} {
		if got, err := engine.ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := engine.ParseFormat("NDJSON"); err == nil {
		t.Error("ParseFormat is case sensitive")
	}
}

func TestDecodeRecordsLarge(t *testing.T) {
	big := []byte(`{"blob":"` + strings.Repeat("x", 10<<20) + `"}`)
	ndjson := append(append([]byte(`{"small":1}`+"\n"), big...), "\n{\"small\":2}\n"...)
	array := append(append([]byte("[1,"), big...), ",2]"...)
	tests := []struct {
		name string
		in   []byte
		idx  int
	}{
		{"ndjson", ndjson, 1},
		{"array", array, 1},
		{"gzip ndjson", gzipped(t, ndjson), 1},
		{"zstd array", zstded(t, array), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := engine.DecodeRecords(bytes.NewReader(tt.in), "big")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 {
				t.Fatalf("got %d records, want 3", len(got))
			}
			if !bytes.Equal(got[tt.idx].Data, big) {
				t.Errorf("10 MB record has %d bytes, want %d", len(got[tt.idx].Data), len(big))
			}
		})
	}
}

// corpus returns a folder of the shared test data (see
// hosttest.SharedFile: a failure in CI, a skip elsewhere, when missing).
func corpus(t *testing.T, elem ...string) string {
	t.Helper()
	return hosttest.SharedFile(t, path.Join(append([]string{"testdata"}, elem...)...))
}

func TestDecodeRecordsCloudTrailCorpora(t *testing.T) {
	tests := []struct {
		dir     string
		pattern string
		files   int
		records int
	}{
		// stratus-red-team detonation logs: JSON arrays.
		{"stratus-red-team", "*.json", 35, 310},
		// panther-analysis rule tests: NDJSON.
		{"panther", "*.jsonl", 1, 461},
		// OTRF Security-Datasets: NDJSON despite the .json extension.
		{"otrf", "*.json", 1, 103},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := corpus(t, "cloudtrail", tt.dir)
			files, err := filepath.Glob(filepath.Join(dir, tt.pattern))
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != tt.files {
				t.Fatalf("%d files, want %d", len(files), tt.files)
			}
			total := 0
			for _, f := range files {
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				recs, err := engine.DecodeRecords(bytes.NewReader(raw), filepath.Base(f))
				if err != nil {
					t.Fatal(err)
				}
				for i, r := range recs {
					if !json.Valid(r.Data) {
						t.Errorf("%s record %d is not valid JSON", f, i)
					}
				}
				// Array elements must be the exact bytes of the file.
				var elems []json.RawMessage
				if json.Unmarshal(raw, &elems) == nil {
					if len(elems) != len(recs) {
						t.Errorf("%s: %d records, encoding/json sees %d", f, len(recs), len(elems))
					}
					for i := range elems {
						if i < len(recs) && !bytes.Equal(elems[i], recs[i].Data) {
							t.Errorf("%s record %d differs from the file's bytes", f, i)
						}
					}
				}
				// Compressed, the same records come out.
				zrecs, err := engine.DecodeRecords(bytes.NewReader(zstded(t, raw)), f)
				if err != nil || len(zrecs) != len(recs) {
					t.Errorf("%s zstd: %d records, %v", f, len(zrecs), err)
				}
				total += len(recs)
			}
			if total != tt.records {
				t.Errorf("%d records, want %d", total, tt.records)
			}
		})
	}
}

func BenchmarkDecodeRecordsArray(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[")
	for i := 0; i < 1000; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`{"eventVersion":"1.08","eventName":"ConsoleLogin","sourceIPAddress":"203.0.113.7","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No","LoginTo":"https://console.aws.amazon.com/"}}`)
	}
	sb.WriteString("]")
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := engine.DecodeRecords(bytes.NewReader(data), "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
