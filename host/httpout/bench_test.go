package httpout_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/httpout"
)

// BenchmarkWrite measures the http output sending 10,000 outputs of ~550
// bytes (10 requests of 1000) to a loopback server that reads and discards
// the body, per preset and compression.
func BenchmarkWrite(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/_bulk" {
			_, _ = io.WriteString(w, `{"errors":false,"items":[]}`)
		}
	}))
	defer srv.Close()
	outs := outputs(10_000, 500)
	bytes := 0
	for _, o := range outs {
		bytes += len(o.Data)
	}
	for _, bc := range []struct {
		name string
		oc   engine.OutputConfig
	}{
		{"splunk_hec", engine.OutputConfig{Preset: engine.PresetSplunkHEC}},
		{"splunk_hec_gzip", engine.OutputConfig{Preset: engine.PresetSplunkHEC, Compression: engine.CompressionGzip}},
		{"datadog_gzip", engine.OutputConfig{Preset: engine.PresetDatadog, Compression: engine.CompressionGzip}},
		{"elasticsearch", engine.OutputConfig{Preset: engine.PresetElasticsearch}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			oc := bc.oc
			oc.Type, oc.URL, oc.AllowHosts, oc.AllowPrivate = engine.OutputHTTP, srv.URL, []string{"127.0.0.1"}, true
			sink, err := httpout.New("bench", oc, 30*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			defer sink.Close(context.Background())
			b.SetBytes(int64(bytes))
			b.ReportAllocs()
			for b.Loop() {
				if err := sink.Write(context.Background(), outs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
