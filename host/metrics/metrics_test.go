package metrics

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestEmit(t *testing.T) {
	var buf bytes.Buffer
	e := New(&buf, "weir", map[string]string{"Pipeline": "p"})
	if err := e.Emit(time.UnixMilli(1700000000000), []Metric{{"RecordsIn", Count, 3}, {"BatchDuration", Milliseconds, 1.5}}, map[string]any{"shard": "s"}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		RecordsIn float64
		Pipeline  string
		Shard     string `json:"shard"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	cw := doc.AWS.CloudWatchMetrics
	if doc.AWS.Timestamp != 1700000000000 || len(cw) != 1 || cw[0].Namespace != "weir" || cw[0].Dimensions[0][0] != "Pipeline" ||
		len(cw[0].Metrics) != 2 || doc.RecordsIn != 3 || doc.Pipeline != "p" || doc.Shard != "s" {
		t.Fatalf("document: %s", buf.String())
	}
	if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Fatal("want one line")
	}
	var nilEmitter *Emitter
	if err := nilEmitter.Emit(time.Now(), []Metric{{"x", Count, 1}}, nil); err != nil {
		t.Fatal(err)
	}
}
