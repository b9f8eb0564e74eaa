package enrich

import (
	"encoding/binary"
	"testing"
)

// results decodes a response, failing the test when it is not CallOK.
func results(t *testing.T, resp []byte) []Result {
	t.Helper()
	if len(resp) < 5 {
		t.Fatalf("short response %q", resp)
	}
	if resp[0] != CallOK {
		n := binary.LittleEndian.Uint32(resp[1:])
		t.Fatalf("call status %d: %s", resp[0], resp[5:5+n])
	}
	n := int(binary.LittleEndian.Uint32(resp[1:]))
	out := make([]Result, 0, n)
	off := 5
	for range n {
		st := resp[off]
		l := int(binary.LittleEndian.Uint32(resp[off+1:]))
		out = append(out, Result{Status: st, Value: resp[off+5 : off+5+l]})
		off += 5 + l
	}
	if off != len(resp) {
		t.Fatalf("%d trailing bytes", len(resp)-off)
	}
	return out
}

// firstString decodes the first string of a DNS answer list.
func firstString(v []byte) string {
	if len(v) < 8 {
		return ""
	}
	n := binary.LittleEndian.Uint32(v[4:])
	return string(v[8 : 8+n])
}
