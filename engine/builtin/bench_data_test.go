package builtin_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
	"github.com/weirhq/weir/host/hosttest"
)

// transformBench is one microbenchmark of BenchmarkTransform: one
// transform over a record. Families add their entries to
// transformBenches.
type transformBench struct {
	name      string // the transform type (the sub-benchmark's name)
	transform string
	record    func(tb testing.TB) []byte
}

func consoleLogin(tb testing.TB) []byte {
	rec, err := os.ReadFile(filepath.Join(hosttest.SharedDir(tb), "reference", "consolelogin.input.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return rec
}

func literal(s string) func(testing.TB) []byte { return func(testing.TB) []byte { return []byte(s) } }

var transformBenches = []transformBench{
	{"hash_sha256", `{"type":"hash_sha256","settings":{"object":{"source_key":"userIdentity.arn","target_key":"user.hash"}}}`, consoleLogin},
	{"time_from_string", `{"type":"time_from_string","settings":{"object":{"source_key":"eventTime","target_key":"event.created"},"format":"2006-01-02T15:04:05Z"}}`, consoleLogin},
	{"time_to_string", `{"type":"time_to_string","settings":{"object":{"source_key":"t","target_key":"s"},"format":"2006-01-02T15:04:05.000Z"}}`, literal(`{"t":1639877490000000000}`)},
	{"format_from_base64", `{"type":"format_from_base64"}`, func(tb testing.TB) []byte {
		return []byte(base64.StdEncoding.EncodeToString(consoleLogin(tb)))
	}},
	{"object_jq", `{"type":"object_jq","settings":{"filter":"{action: .eventName, ip: .sourceIPAddress, user: .userIdentity.arn}"}}`, consoleLogin},
	{"aggregate_to_array", `{"type":"aggregate_to_array"}`, consoleLogin},
}

// benchBatch is the number of records per batch in these benchmarks.
const benchBatch = 100

// batchOf returns benchBatch copies of rec.
func batchOf(rec []byte) []engine.Record {
	recs := make([]engine.Record, benchBatch)
	for i := range recs {
		recs[i] = engine.Record{Data: rec}
	}
	return recs
}

// runBatches times plan over recs, b.N counting records.
func runBatches(b *testing.B, plan *builtin.Plan, recs []engine.Record) {
	b.Helper()
	ctx := context.Background()
	b.SetBytes(int64(len(recs[0].Data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(recs) {
		if _, err := plan.Process(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
}

// benchDataTransforms runs, under BenchmarkTransform, each transform of
// transformBenches alone over 100 copies of its record per batch; ns/op
// and allocs/op are per record (b.N counts records).
//
//	go test ./engine/builtin -run '^$' -bench 'BenchmarkTransform/' -benchmem
func benchDataTransforms(b *testing.B) {
	for _, tb := range transformBenches {
		b.Run(tb.name, func(b *testing.B) {
			rec := tb.record(b)
			plan, err := builtin.Compile([]json.RawMessage{json.RawMessage(tb.transform)})
			if err != nil {
				b.Fatal(err)
			}
			recs := batchOf(rec)
			// One batch first: fail on a record error rather than
			// measuring it.
			res, err := plan.Process(context.Background(), recs)
			if err != nil {
				b.Fatal(err)
			}
			for i, r := range res {
				if r.Status == engine.StatusFailed {
					b.Fatalf("record %d: %v", i, r.Err)
				}
			}
			runBatches(b, plan, recs)
		})
	}
}
