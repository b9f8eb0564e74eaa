package kinesisout

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/hosttest"
)

// BenchmarkWrite: one Write of 10,000 outputs of ~1.5 KB (KPL-aggregated,
// ~15 MB in ~5 MiB calls) to a loopback endpoint that discards the body
// and answers success, over each wire format: the output's own cost per
// Lambda-sized batch (aggregation, MD5, body, SigV4, socket), without the
// pipeline. The server runs in this process: its reading is in ns/op.
func BenchmarkWrite(b *testing.B) {
	hosttest.SetAWSEnv(b)
	ctx := context.Background()
	outputs := make([]engine.Output, 10000)
	for i := range outputs {
		outputs[i] = engine.Output{Data: fmt.Appendf(nil, `{"i":%d,"eventName":"AssumeRole","pad":"%01400d"}`, i, i*7919)}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		writeKinesis(w, r, 200, map[string]any{"FailedRecordCount": 0, "Records": []any{}})
	}))
	defer srv.Close()
	for _, proto := range protocols {
		b.Run(string(proto), func(b *testing.B) {
			sink := New(kinesisClient(ctx, b, proto, srv.URL, 1, time.Millisecond), Options{Stream: "s", Aggregate: true})
			if err := sink.Write(ctx, outputs); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if err := sink.Write(ctx, outputs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
