package bench_test

import (
	"context"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/lambda"
)

// BenchmarkKinesisDecode times the Lambda handler's decoding of
// BenchmarkLambdaKinesis's event alone (10,000 CloudTrail records in ~300
// KPL-aggregated Kinesis records): the event's JSON, base64, the KPL
// digests and de-aggregation, the records' split. Run it with -cpu 1 for
// the per-core cost, the part of the handler's cpu-ms/event it is.
func BenchmarkKinesisDecode(b *testing.B) {
	corpus := ctCorpus(b, 1300, 1800)
	event, inBytes := kinesisLambdaEvent(b, corpus, lambdaEventSize)
	h := &lambda.Handler{Source: lambda.SourceKinesis}
	ctx := context.Background()
	b.SetBytes(int64(inBytes))
	for b.Loop() {
		// In a batch arena, as the handler's Invoke decodes.
		a := engine.NewArena()
		recs, unitErrs, err := h.DecodeEvent(engine.WithArena(ctx, a), event)
		if err != nil || len(unitErrs) != 0 || len(recs) != lambdaEventSize {
			b.Fatalf("%d records, %v, %v", len(recs), unitErrs, err)
		}
		a.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/event")
}
