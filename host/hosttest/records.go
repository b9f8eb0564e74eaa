package hosttest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/weirhq/weir/engine"
)

// DecodeFile returns the records of the input file at path, framed as
// weir run frames them (engine.DecodeRecords, sequence numbers named after
// the file's base name). A file that cannot be opened or decoded fails
// the test.
func DecodeFile(tb testing.TB, path string) []engine.Record {
	tb.Helper()
	fh, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	rs, err := engine.DecodeRecords(fh, filepath.Base(path))
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return rs
}
