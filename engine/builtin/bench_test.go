package builtin_test

import (
	"encoding/json"
	"testing"

	"github.com/weirhq/weir/engine/builtin"
)

// BenchmarkCopyInsert runs a small object_copy/insert/delete plan over
// the reference ConsoleLogin record, 100 records per batch; ns/op is per
// record.
func BenchmarkCopyInsert(b *testing.B) {
	rec := consoleLogin(b)
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
	runBatches(b, plan, batchOf(rec))
}
