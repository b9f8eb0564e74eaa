package builtin_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
	"github.com/weirhq/weir/host/hosttest"
)

// BenchmarkCopyInsert runs a small object_copy/insert/delete plan over
// the reference ConsoleLogin record, 100 records per batch; ns/op is per
// record.
func BenchmarkCopyInsert(b *testing.B) {
	rec, err := os.ReadFile(filepath.Join(hosttest.SharedDir(b), "reference", "consolelogin.input.json"))
	if err != nil {
		b.Fatal(err)
	}
	plan, err := builtin.Compile([]json.RawMessage{
		json.RawMessage(`{"type":"object_copy","settings":{"object":{"source_key":"eventName","target_key":"event.action"}}}`),
		json.RawMessage(`{"type":"object_copy","settings":{"object":{"source_key":"sourceIPAddress","target_key":"source.ip"}}}`),
		json.RawMessage(`{"type":"object_copy","settings":{"object":{"source_key":"userIdentity.arn","target_key":"user.id"}}}`),
		json.RawMessage(`{"type":"object_insert","settings":{"object":{"target_key":"event.kind"},"value":"event"}}`),
		json.RawMessage(`{"type":"object_insert","settings":{"object":{"target_key":"cloud.provider"},"value":"aws"}}`),
		json.RawMessage(`{"type":"object_delete","settings":{"object":{"source_key":"eventVersion"}}}`),
	})
	if err != nil {
		b.Fatal(err)
	}
	const n = 100
	recs := make([]engine.Record, n)
	for i := range recs {
		recs[i] = engine.Record{Data: rec}
	}
	ctx := context.Background()
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		if _, err := plan.Process(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
}
