package bench_test

import (
	"path/filepath"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/hosttest"
)

// BenchmarkRecordMode measures the per-record cost of record mode (entry:
// record, one Extism call per record: the way unmodified Extism plugins
// run) next to the fast path, on batches of 100 reference records (1.35
// KB each): an @extism/as-pdk plugin (upper-cases its input; reads it 8
// bytes per kernel call, as the PDK does), and the AssemblyScript SDK's
// passthrough on the fast path (one call per batch). ns/record is the
// figure sdk/README.md quotes.
func BenchmarkRecordMode(b *testing.B) {
	rec := reference(b)
	recs := repeat(rec, 100)
	report := func(b *testing.B) {
		b.SetBytes(int64(len(rec) * len(recs)))
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
	}
	root := hosttest.RepoRoot(b)
	b.Run("record-as-pdk", func(b *testing.B) {
		st := weirStageFile(b, hosttest.AssemblyScript(b, filepath.Join(root, "sdk", "compat", "testdata", "as-upper", "upper.ts")),
			engine.StageConfig{Entry: engine.EntryRecord, Function: "transform", Instances: 1})
		for b.Loop() {
			process(b, st, recs)
		}
		report(b)
	})
	b.Run("fast-assemblyscript-sdk", func(b *testing.B) {
		st := weirStageFile(b, asPassthrough(b), engine.StageConfig{Entry: "fast", Instances: 1})
		for b.Loop() {
			process(b, st, recs)
		}
		report(b)
	})
}
