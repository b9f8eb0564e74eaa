package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/weirhq/weir/bench/baseline"
	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/kpl"
	"github.com/weirhq/weir/host/sinks"
)

// The benchmarks compare weir with baselines that must produce the same
// documents, and move records through paths that must not change them.
// The tests below run each benchmarked configuration once, on a few
// records, and check its outputs, so that `make test` catches a benchmark
// that measures a wrong result.

// sameDocument fails unless got and want are the same JSON document
// (object key order aside).
func sameDocument(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: output is not JSON: %v\n%s", what, err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: baseline output is not JSON: %v\n%s", what, err, want)
	}
	gj, _ := json.Marshal(g)
	wj, _ := json.Marshal(w)
	if !bytes.Equal(gj, wj) {
		t.Fatalf("%s differs from the baseline\n got: %s\nwant: %s", what, got, want)
	}
}

// TestCloudTrailECSMatchesBaselines: BenchmarkCloudTrailECS's Wasm
// configurations turn the reference record, and the ~1.5 KB corpus
// records BenchmarkLambdaKinesis sends, into exactly the documents the two
// native baselines produce (byte for byte for gjson/sjson, which writes
// the module's key order).
func TestCloudTrailECSMatchesBaselines(t *testing.T) {
	recs := append([][]byte{reference(t)}, ctCorpus(t, 1300, 1800)...)
	batch := make([]engine.Record, len(recs))
	for i, r := range recs {
		batch[i] = engine.Record{Data: r}
	}
	preempt := false
	for _, tc := range []struct {
		name string
		sc   engine.StageConfig
	}{
		{"weir-wasm", engine.StageConfig{Entry: "fast", Instances: 1}},
		{"weir-wasm-no-preempt", engine.StageConfig{Entry: "fast", Instances: 1, Limits: engine.Limits{Preempt: &preempt}}},
		{"weir-wasm-plain-extism", engine.StageConfig{Entry: "batch", Instances: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := weirStageConfig(t, "modules/cloudtrail-ecs", tc.sc)
			res, err := st.Process(context.Background(), batch)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != len(recs) {
				t.Fatalf("%d results for %d records", len(res), len(recs))
			}
			for i, r := range res {
				if r.Status != engine.StatusOK || len(r.Outputs) != 1 {
					t.Fatalf("record %d: status %v, %d outputs, err %v", i, r.Status, len(r.Outputs), r.Err)
				}
				got := r.Outputs[0].Data
				gj, err := baseline.GJSON(recs[i])
				if err != nil {
					t.Fatalf("record %d: gjson baseline: %v", i, err)
				}
				if !bytes.Equal(got, gj) {
					t.Fatalf("record %d differs from the gjson/sjson baseline\n got: %s\nwant: %s", i, got, gj)
				}
				st, err := baseline.Structs(recs[i])
				if err != nil {
					t.Fatalf("record %d: encoding/json baseline: %v", i, err)
				}
				sameDocument(t, fmt.Sprintf("record %d (encoding/json baseline)", i), got, st)
			}
			t.Logf("%d records, same documents as both baselines", len(recs))
		})
	}
}

// TestPassthroughOutputsEqualInputs: every passthrough configuration of
// BenchmarkCall, BenchmarkPassthrough and BenchmarkDataPath returns each
// record unchanged, for each record shape they measure.
func TestPassthroughOutputsEqualInputs(t *testing.T) {
	shapes := map[string][]engine.Record{
		"empty-object": repeat([]byte("{}"), 1),
		"reference":    repeat(reference(t), 3),
		"64KiB":        repeat(bytes.Repeat([]byte("x"), 64<<10), 2),
		"1KiB":         repeat(bytes.Repeat([]byte("y"), 1<<10), 5),
	}
	stages := map[string]func(t *testing.T) engine.Stage{
		"weir-fast":         func(t *testing.T) engine.Stage { return weirStage(t, "modules/passthrough", "fast") },
		"weir-plain-extism": func(t *testing.T) engine.Stage { return weirStage(t, "modules/passthrough", "batch") },
		"weir-fast-assemblyscript": func(t *testing.T) engine.Stage {
			return weirStageFile(t, asPassthrough(t), engine.StageConfig{Entry: "fast", Instances: 1})
		},
	}
	for name, open := range stages {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			for shape, recs := range shapes {
				res, err := st.Process(context.Background(), recs)
				if err != nil {
					t.Fatalf("%s: %v", shape, err)
				}
				if len(res) != len(recs) {
					t.Fatalf("%s: %d results for %d records", shape, len(res), len(recs))
				}
				for i, r := range res {
					if r.Status != engine.StatusOK || len(r.Outputs) != 1 || !bytes.Equal(r.Outputs[0].Data, recs[i].Data) {
						t.Fatalf("%s record %d: status %v, %d outputs, err %v: not the input", shape, i, r.Status, len(r.Outputs), r.Err)
					}
				}
			}
		})
	}
	t.Run("extism-go-sdk", func(t *testing.T) {
		p := goSDKPlugin(t, "modules/passthrough")
		for shape, recs := range shapes {
			rc, out, err := p.Call("weir_batch", frameOf(recs))
			if err != nil || rc != 0 {
				t.Fatalf("%s: weir_batch: rc %d, %v", shape, rc, err)
			}
			or, err := frame.ReadOutput(out, len(recs))
			if err != nil {
				t.Fatalf("%s: %v", shape, err)
			}
			var o frame.OutRecord
			for i := 0; or.More(); i++ {
				if err := or.Next(&o); err != nil {
					t.Fatalf("%s: %v", shape, err)
				}
				if o.Status != frame.StatusOK || len(o.Outputs) != 1 || !bytes.Equal(o.Outputs[0].Body, recs[i].Data) {
					t.Fatalf("%s record %d: status %d, %d outputs: not the input", shape, i, o.Status, len(o.Outputs))
				}
			}
		}
	})
}

// recordingKinesis is discardKinesis that keeps the user records of every
// PutRecords call (de-aggregated).
type recordingKinesis struct {
	mu    sync.Mutex
	users [][]byte
}

func (k *recordingKinesis) serve(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var records [][]byte
		if isCBORRequest(r) {
			var err error
			if records, err = cborPutRecords(body); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
		} else {
			var in struct{ Records []struct{ Data []byte } }
			if err := json.Unmarshal(body, &in); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			for _, rec := range in.Records {
				records = append(records, rec.Data)
			}
		}
		k.mu.Lock()
		for _, data := range records {
			if !kpl.IsAggregated(data) {
				k.users = append(k.users, bytes.Clone(data))
				continue
			}
			users, err := kpl.Deaggregate(data)
			if err != nil {
				k.mu.Unlock()
				http.Error(w, err.Error(), 400)
				return
			}
			for _, u := range users {
				k.users = append(k.users, bytes.Clone(u.Data))
			}
		}
		k.mu.Unlock()
		answerPutRecords(w, isCBORRequest(r), len(records))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestLambdaKinesisOutputs: the handler BenchmarkLambdaKinesis measures
// (a KPL-aggregated Kinesis event through cloudtrail-ecs to a Kinesis
// output) reports no failure and delivers, for each of 200 user records,
// the document the gjson/sjson baseline produces, with its PutRecords
// calls over CBOR and over JSON.
func TestLambdaKinesisOutputs(t *testing.T) {
	sinks.Register()
	hosttest.SetAWSEnv(t)
	corpus := ctCorpus(t, 1300, 1800)
	const n = 200
	event, _ := kinesisLambdaEvent(t, corpus, n)
	for _, proto := range []string{"cbor", "json"} {
		t.Run(proto, func(t *testing.T) {
			var sink recordingKinesis
			h := lambdaHandler(t, hosttest.GoModule(t, "modules/cloudtrail-ecs"), sink.serve(t), proto)
			resp, err := h.Handle(context.Background(), event)
			if err != nil {
				t.Fatal(err)
			}
			if r, ok := resp.(*events.KinesisEventResponse); !ok || len(r.BatchItemFailures) != 0 {
				t.Fatalf("response %+v", resp)
			}
			if len(sink.users) != n {
				t.Fatalf("the output received %d records, want %d", len(sink.users), n)
			}
			want := map[string]int{}
			for i := range n {
				doc, err := baseline.GJSON(corpus[i%len(corpus)])
				if err != nil {
					t.Fatal(err)
				}
				want[string(doc)]++
			}
			for i, u := range sink.users {
				if want[string(u)] == 0 {
					t.Fatalf("output record %d is no baseline document (or one too many):\n%s", i, u)
				}
				want[string(u)]--
			}
		})
	}
}

// TestPreemptModesSameOutputs: BenchmarkPreempt's configurations return
// the same bytes for every record of the reference corpus: the module
// rewritten with loop fuel (the default) and compiled with wazero's check
// give exactly what the unmodified module gives with no deadline check,
// for the Go and the AssemblyScript modules.
func TestPreemptModesSameOutputs(t *testing.T) {
	recs := append([][]byte{reference(t)}, ctCorpus(t, 1300, 1800)...)
	batch := make([]engine.Record, len(recs))
	for i, r := range recs {
		batch[i] = engine.Record{Data: r}
	}
	for _, m := range []struct {
		name string
		path string
	}{
		{"go", hosttest.GoModule(t, "modules/cloudtrail-ecs")},
		{"assemblyscript", asCloudTrailECS(t)},
	} {
		t.Run(m.name, func(t *testing.T) {
			var want []engine.Result
			for _, mode := range slices.Backward(preemptModes) { // "off" first: the unmodified module
				preempt := mode.preempt
				st := weirStageHost(t, m.path, engine.StageConfig{Entry: "fast", Instances: 1, Limits: engine.Limits{Preempt: &preempt}}, mode.opts)
				res, err := st.Process(context.Background(), batch)
				if err != nil {
					t.Fatalf("%s: %v", mode.name, err)
				}
				if want == nil {
					want = res
					continue
				}
				for i := range res {
					if res[i].Status != want[i].Status || len(res[i].Outputs) != len(want[i].Outputs) {
						t.Fatalf("%s: record %d: status %v with %d outputs, unmodified module: %v with %d", mode.name, i, res[i].Status, len(res[i].Outputs), want[i].Status, len(want[i].Outputs))
					}
					for j := range res[i].Outputs {
						if !bytes.Equal(res[i].Outputs[j].Data, want[i].Outputs[j].Data) {
							t.Fatalf("%s: record %d output %d differs\n got: %s\nwant: %s", mode.name, i, j, res[i].Outputs[j].Data, want[i].Outputs[j].Data)
						}
					}
				}
			}
			t.Logf("%d records, same outputs under every deadline mechanism", len(recs))
		})
	}
}
