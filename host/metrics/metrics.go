// Package metrics writes CloudWatch Embedded Metric Format (EMF) lines:
// one JSON document per line on stdout, which the Lambda service turns
// into CloudWatch metrics without any API call.
package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Units of EMF metrics used by weir.
const (
	Count        = "Count"
	Bytes        = "Bytes"
	Milliseconds = "Milliseconds"
)

// Metric is one value.
type Metric struct {
	// Name of the metric ("RecordsIn").
	Name string
	// Unit is Count, Bytes or Milliseconds.
	Unit string
	// Value is the measurement.
	Value float64
}

// Emitter writes EMF documents to W. It is safe for concurrent use.
type Emitter struct {
	// Namespace is the CloudWatch namespace ("weir").
	Namespace string
	// Dimensions are added to every document (pipeline name, source...).
	Dimensions map[string]string

	mu sync.Mutex
	w  io.Writer
}

// New returns an emitter writing to w (nil: metrics are discarded).
func New(w io.Writer, namespace string, dims map[string]string) *Emitter {
	return &Emitter{Namespace: namespace, Dimensions: dims, w: w}
}

// Emit writes one EMF document holding metrics, plus properties (logged
// as extra keys, not metrics) stamped with time t.
func (e *Emitter) Emit(t time.Time, metrics []Metric, properties map[string]any) error {
	return e.EmitDims(t, nil, metrics, properties)
}

// EmitDims is Emit with more dimensions than the emitter's: the metrics
// of this document are recorded under the emitter's dimensions and dims
// together (a release's version, say).
func (e *Emitter) EmitDims(t time.Time, dims map[string]string, metrics []Metric, properties map[string]any) error {
	if e == nil || e.w == nil || len(metrics) == 0 {
		return nil
	}
	doc := make(map[string]any, len(metrics)+len(e.Dimensions)+len(dims)+len(properties)+1)
	for k, v := range properties {
		doc[k] = v
	}
	dimNames := make([]string, 0, len(e.Dimensions)+len(dims))
	for _, set := range []map[string]string{e.Dimensions, dims} {
		for k, v := range set {
			doc[k] = v
			dimNames = append(dimNames, k)
		}
	}
	sort.Strings(dimNames)
	defs := make([]map[string]string, len(metrics))
	for i, m := range metrics {
		doc[m.Name] = m.Value
		defs[i] = map[string]string{"Name": m.Name, "Unit": m.Unit}
	}
	doc["_aws"] = map[string]any{
		"Timestamp": t.UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  e.Namespace,
			"Dimensions": [][]string{dimNames},
			"Metrics":    defs,
		}},
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}
