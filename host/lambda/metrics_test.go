package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/weirhq/weir/host/metrics"
)

// emfDocs decodes the EMF lines in buf and returns, per document, its
// metric values by name, checking that every metric is declared in the
// document's CloudWatchMetrics block under the namespace and dimension
// the alarms use.
func emfDocs(t *testing.T, buf *bytes.Buffer) []map[string]float64 {
	t.Helper()
	var docs []map[string]float64
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		var meta struct {
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		}
		raw, _ := json.Marshal(doc["_aws"])
		if err := json.Unmarshal(raw, &meta); err != nil || len(meta.CloudWatchMetrics) != 1 {
			t.Fatalf("EMF line without one CloudWatchMetrics block: %s", line)
		}
		cw := meta.CloudWatchMetrics[0]
		if cw.Namespace != MetricsNamespace || len(cw.Dimensions) != 1 || !slices.Equal(cw.Dimensions[0], []string{MetricsDimension}) {
			t.Fatalf("namespace %q dimensions %v, want %q [[%s]]", cw.Namespace, cw.Dimensions, MetricsNamespace, MetricsDimension)
		}
		vals := map[string]float64{}
		for _, m := range cw.Metrics {
			v, ok := doc[m.Name].(float64)
			if !ok {
				t.Fatalf("metric %s declared without a value: %s", m.Name, line)
			}
			vals[m.Name] = v
		}
		docs = append(docs, vals)
	}
	return docs
}

func TestMetricsEMF(t *testing.T) {
	h, _, _ := newHandler(t, 1)
	var buf bytes.Buffer
	h.Metrics = metrics.New(&buf, MetricsNamespace, map[string]string{MetricsDimension: "p"})
	totals := SwapCounts{}
	h.SwapCounters = SwapDeltas(func() SwapCounts { return totals })
	ctx := context.Background()

	// One good record, one failing: the failing one is dead-lettered at
	// once (MaxAttempts 1).
	totals = SwapCounts{Swaps: 2, Refused: 1}
	if _, err := h.Invoke(ctx, kinesisJSON(b64(`{"a":1}`), b64(`oops`))); err != nil {
		t.Fatal(err)
	}
	totals = SwapCounts{Swaps: 2, Refused: 3, SourceErrors: 1}
	if _, err := h.Invoke(ctx, kinesisJSON(b64(`{"a":2}`))); err != nil {
		t.Fatal(err)
	}
	docs := emfDocs(t, &buf)
	if len(docs) != 2 {
		t.Fatalf("%d EMF documents, want 2", len(docs))
	}
	for _, name := range MetricNames {
		if _, ok := docs[0][name]; !ok {
			t.Errorf("metric %s missing from %v", name, docs[0])
		}
	}
	want := []map[string]float64{
		{MetricRecordsIn: 2, MetricRecordsOut: 1, MetricRecordsFailed: 1, MetricUnitsDeadLetters: 1, MetricModuleSwaps: 2, MetricSwapsRefused: 1, MetricSourceErrors: 0},
		{MetricRecordsIn: 1, MetricRecordsOut: 1, MetricRecordsFailed: 0, MetricUnitsDeadLetters: 0, MetricModuleSwaps: 0, MetricSwapsRefused: 2, MetricSourceErrors: 1},
	}
	for i, w := range want {
		for name, v := range w {
			if docs[i][name] != v {
				t.Errorf("document %d: %s = %v, want %v", i, name, docs[i][name], v)
			}
		}
		if docs[i][MetricIteratorAge] <= 0 || docs[i][MetricStageDurationPrefix+"s"] < 0 {
			t.Errorf("document %d: iterator age %v, stage duration %v", i, docs[i][MetricIteratorAge], docs[i][MetricStageDurationPrefix+"s"])
		}
	}
}

// TestMetricsVersionEvents: each version swapped in or refused since the
// previous invocation gets its own EMF document under the dimensions
// Pipeline and Version (what weir release watches), once.
func TestMetricsVersionEvents(t *testing.T) {
	h, _, _ := newHandler(t, 1)
	var buf bytes.Buffer
	h.Metrics = metrics.New(&buf, MetricsNamespace, map[string]string{MetricsDimension: "p"})
	good, bad := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	pending := []VersionEvent{{Target: "pipeline", Digest: good}, {Target: "tag", Digest: bad, Refused: true, Reason: "smoke"}, {Target: "big", Refused: true, Reason: "too_large"}}
	h.SwapCounters = SwapDeltas(func() SwapCounts {
		c := SwapCounts{Swaps: 1, Refused: 2, Versions: pending}
		pending = nil
		return c
	})
	ctx := context.Background()
	for range 2 {
		if _, err := h.Invoke(ctx, kinesisJSON(b64(`{"a":1}`))); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var doc struct {
			AWS struct {
				CloudWatchMetrics []struct {
					Dimensions [][]string
					Metrics    []struct{ Name string }
				}
			} `json:"_aws"`
			Pipeline, Version, Target, Reason string
		}
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatal(err)
		}
		cw := doc.AWS.CloudWatchMetrics[0]
		if doc.Version == "" {
			continue // the invocation's own document
		}
		got = append(got, fmt.Sprintf("%v %s %s=%s %s %s", cw.Dimensions, cw.Metrics[0].Name, doc.Pipeline, doc.Version, doc.Target, doc.Reason))
	}
	want := []string{
		"[[Pipeline Version]] VersionSwappedIn p=abababababababab pipeline ",
		"[[Pipeline Version]] VersionRefused p=cdcdcdcdcdcdcdcd tag smoke",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("version documents:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
