package builtin

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
)

// A record that inflates past the limit fails alone; the next one runs.
func TestInflateLimit(t *testing.T) {
	old := maxInflated
	maxInflated = 1 << 10
	defer func() { maxInflated = old }()
	var bomb bytes.Buffer
	w := gzip.NewWriter(&bomb)
	w.Write(make([]byte, 1<<20))
	w.Close()
	var small bytes.Buffer
	w = gzip.NewWriter(&small)
	w.Write([]byte("ok"))
	w.Close()
	p, err := Compile([]json.RawMessage{json.RawMessage(`{"type":"format_from_gzip"}`)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Process(context.Background(), []engine.Record{{Data: bomb.Bytes()}, {Data: small.Bytes()}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != engine.StatusFailed || !strings.Contains(res[0].Err.Error(), "decompresses to more than 1024 bytes") {
		t.Errorf("bomb: %+v", res[0])
	}
	if res[1].Status != engine.StatusOK || string(res[1].Outputs[0].Data) != "ok" {
		t.Errorf("next record: %+v", res[1])
	}
}
