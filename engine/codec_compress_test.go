package engine_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"

	"github.com/weirhq/weir/engine"
)

// bzipped compresses data with the bzip2 tool (Go's compress/bzip2 only
// reads). It fails under CI when the tool is missing, else skips naming
// the install command.
func bzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("bzip2"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("bzip2 missing: apt-get install bzip2 (scripts/ensure-tools.sh)")
		}
		t.Skip("bzip2 missing: apt-get install bzip2")
	}
	cmd := exec.Command("bzip2", "-c", "-9")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// snappied writes data in the snappy framing format.
func snappied(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := snappy.NewBufferedWriter(&buf)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// s2ed writes data in the S2 framing format.
func s2ed(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := s2.NewWriter(&buf, s2.WriterConcurrency(1))
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDecodeBzip2Snappy: bzip2 (one stream and concatenated streams, as
// pbzip2 writes), framed snappy and S2 inputs are detected by their magic
// bytes and decoded like plain ones, streamed or in memory; a truncated
// one keeps its complete records and reports an error naming the codec.
func TestDecodeBzip2Snappy(t *testing.T) {
	plain := []byte("{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n")
	array := []byte(`[{"a":1},{"b":2},{"c":3}]`)
	want := []string{`{"a":1}`, `{"b":2}`, `{"c":3}`}
	big := bytes.Repeat(plain, 20000)
	tests := []struct {
		name string
		in   []byte
		n    int
	}{
		{"bzip2 ndjson", bzipped(t, plain), 3},
		{"bzip2 array", bzipped(t, array), 3},
		{"bzip2 two streams", append(bzipped(t, plain[:8]), bzipped(t, plain[8:])...), 3},
		{"bzip2 large", bzipped(t, big), 60000},
		{"snappy ndjson", snappied(t, plain), 3},
		{"snappy array", snappied(t, array), 3},
		{"snappy large", snappied(t, big), 60000},
		{"s2 ndjson", s2ed(t, plain), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := engine.DecodeRecords(bytes.NewReader(tt.in), "in")
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tt.n {
				t.Fatalf("%d records, want %d", len(recs), tt.n)
			}
			for i, r := range recs {
				if string(r.Data) != want[i%3] {
					t.Fatalf("record %d = %q, want %q", i, r.Data, want[i%3])
				}
			}
			streamed, err := decodeAll(t, bytes.NewReader(tt.in), "")
			if err != nil || len(streamed) != tt.n {
				t.Fatalf("streamed: %d records, %v", len(streamed), err)
			}
		})
	}
	for _, tc := range []struct {
		name, codec string
		in          []byte
	}{
		{"bzip2", "bzip2", bzipped(t, big)},
		{"snappy", "snappy", snappied(t, big)},
	} {
		t.Run("truncated "+tc.name, func(t *testing.T) {
			cut := tc.in[:len(tc.in)*2/3]
			recs, err := decodeAll(t, bytes.NewReader(cut), "")
			var de *engine.DecodeError
			if err == nil || (!errors.As(err, &de) && !strings.HasPrefix(err.Error(), "codec: ")) {
				t.Fatalf("truncated %s: err = %v", tc.name, err)
			}
			if !strings.Contains(err.Error(), tc.codec) {
				t.Errorf("error does not name %s: %v", tc.codec, err)
			}
			for i, r := range recs {
				if string(r.Data) != want[i%3] {
					t.Fatalf("record %d of a truncated input = %q", i, r.Data)
				}
			}
		})
	}
	// "BZh0" and "BZ" alone are not bzip2: read as plain lines.
	recs, err := engine.DecodeRecords(strings.NewReader("BZh0 is a line\nBZ\n"), "in")
	if err != nil || len(recs) != 2 {
		t.Fatalf("plain text starting with BZh0: %d records, %v", len(recs), err)
	}
}
