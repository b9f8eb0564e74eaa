package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/weirhq/weir/engine"
)

// fakeStage is a Stage driven by a function; it counts Close calls and
// can describe itself.
type fakeStage struct {
	process        func(ctx context.Context, recs []engine.Record) ([]engine.Result, error)
	closed         atomic.Int32
	closeErr       error
	onClose        func()
	module, digest string
}

func (s *fakeStage) Process(ctx context.Context, recs []engine.Record) ([]engine.Result, error) {
	return s.process(ctx, recs)
}

func (s *fakeStage) Close(context.Context) error {
	s.closed.Add(1)
	if s.onClose != nil {
		s.onClose()
	}
	return s.closeErr
}

// describedStage adds Describer to a fakeStage.
type describedStage struct{ *fakeStage }

func (s describedStage) Describe() (string, string) { return s.module, s.digest }

var (
	_ engine.Stage     = (*fakeStage)(nil)
	_ engine.Describer = describedStage{}
)

// perRecord makes a stage from a function of (batch index, record).
func perRecord(f func(i int, r engine.Record) engine.Result) *fakeStage {
	return &fakeStage{process: func(_ context.Context, recs []engine.Record) ([]engine.Result, error) {
		out := make([]engine.Result, len(recs))
		for i, r := range recs {
			out[i] = f(i, r)
		}
		return out, nil
	}}
}

func ok(data ...string) engine.Result {
	r := engine.Result{Status: engine.StatusOK}
	for _, d := range data {
		route, body, found := strings.Cut(d, "=")
		if !found {
			route, body = "", d
		}
		r.Outputs = append(r.Outputs, engine.Output{Route: route, Data: []byte(body)})
	}
	return r
}

func failed(msg string) engine.Result {
	return engine.Result{Status: engine.StatusFailed, Err: errors.New(msg)}
}

// The fake stages of the pipeline tests.
func upperStage() *fakeStage {
	return perRecord(func(_ int, r engine.Record) engine.Result { return ok(strings.ToUpper(string(r.Data))) })
}

// failOnIndex fails the records at the given batch positions.
func failOnIndex(idx ...int) *fakeStage {
	return perRecord(func(i int, r engine.Record) engine.Result {
		for _, j := range idx {
			if i == j {
				return failed(fmt.Sprintf("invalid JSON at byte offset %d", i))
			}
		}
		return ok(string(r.Data))
	})
}

// failOnData fails the records containing s.
func failOnData(s string) *fakeStage {
	return perRecord(func(_ int, r engine.Record) engine.Result {
		if strings.Contains(string(r.Data), s) {
			return failed("cannot handle " + string(r.Data))
		}
		return ok(string(r.Data))
	})
}

func batchErrorStage(msg string) *fakeStage {
	return &fakeStage{process: func(context.Context, []engine.Record) ([]engine.Result, error) {
		return nil, errors.New(msg)
	}}
}

// multiStage emits each record twice, suffixed #1 and #2.
func multiStage() *fakeStage {
	return perRecord(func(_ int, r engine.Record) engine.Result {
		return ok(string(r.Data)+"#1", string(r.Data)+"#2")
	})
}

// routeStage routes records containing "alert" to the "alerts" output.
func routeStage() *fakeStage {
	return perRecord(func(_ int, r engine.Record) engine.Result {
		if strings.Contains(string(r.Data), "alert") {
			return ok("alerts=" + string(r.Data))
		}
		return ok(string(r.Data))
	})
}

// dropStage drops records containing "drop" and consumes (no output, no
// drop) records containing "eat".
func dropStage() *fakeStage {
	return perRecord(func(_ int, r engine.Record) engine.Result {
		switch {
		case strings.Contains(string(r.Data), "drop"):
			return engine.Result{Status: engine.StatusDropped}
		case strings.Contains(string(r.Data), "eat"):
			return ok()
		}
		return ok(string(r.Data))
	})
}

// seqStage prefixes each record with its metadata's sequence number,
// proving that derived records carry their original's metadata.
func seqStage() *fakeStage {
	return perRecord(func(_ int, r engine.Record) engine.Result {
		return ok(r.Meta.SequenceNumber + ":" + string(r.Data))
	})
}

// joinStage aggregates the records of a batch into one output of the
// first, their data joined with "+"; the others are joined to it
// (Result.Joined) and dropped, as aggregate_to_string does.
func joinStage() *fakeStage {
	return &fakeStage{process: func(_ context.Context, recs []engine.Record) ([]engine.Result, error) {
		out := make([]engine.Result, len(recs))
		var parts []string
		for i, r := range recs {
			parts = append(parts, string(r.Data))
			if i > 0 {
				out[i] = engine.Result{Status: engine.StatusDropped}
				out[0].Joined = append(out[0].Joined, i)
			}
		}
		if len(recs) > 0 {
			out[0].Status = engine.StatusOK
			out[0].Outputs = []engine.Output{{Data: []byte(strings.Join(parts, "+"))}}
		}
		return out, nil
	}}
}

func shortStage() *fakeStage {
	return &fakeStage{process: func(_ context.Context, recs []engine.Record) ([]engine.Result, error) {
		return make([]engine.Result, len(recs)-1), nil
	}}
}

// builderOf builds stages by module name from a fixed set.
func builderOf(stages map[string]engine.Stage) engine.StageBuilder {
	return func(_ context.Context, sc engine.StageConfig, _ string) (engine.Stage, error) {
		st, found := stages[sc.Module]
		if !found {
			return nil, fmt.Errorf("no module %q", sc.Module)
		}
		return st, nil
	}
}

func records(data ...string) []engine.Record {
	out := make([]engine.Record, len(data))
	for i, d := range data {
		out[i] = engine.Record{Data: []byte(d), Meta: engine.Metadata{SequenceNumber: fmt.Sprintf("seq%d", i), PartitionKey: "pk"}}
	}
	return out
}

// want describes one RecordResult: outputs as "data" or "route=data",
// Dropped, and a fragment of Err.
type want struct {
	out     []string
	dropped bool
	err     string
}

func outputs(rr engine.RecordResult) []string {
	var out []string
	for _, o := range rr.Outputs {
		if o.Route != "" {
			out = append(out, o.Route+"="+string(o.Data))
		} else {
			out = append(out, string(o.Data))
		}
	}
	return out
}

type counts struct{ in, out, dropped, failed, deadLettered int }

func TestPipelineRun(t *testing.T) {
	const normalizeDigest = "abcd1234ef567890abcd1234ef567890abcd1234ef567890abcd1234ef567890"
	described := describedStage{failOnIndex(1)}
	described.module, described.digest = "file://normalize.wasm", normalizeDigest
	stageSet := func() map[string]engine.Stage {
		return map[string]engine.Stage{
			"upper":     upperStage(),
			"fail1":     failOnIndex(1),
			"failbad":   failOnData("bad"),
			"fail#2":    failOnData("#2"),
			"batcherr":  batchErrorStage("module trapped: unreachable"),
			"multi":     multiStage(),
			"route":     routeStage(),
			"drop":      dropStage(),
			"seq":       seqStage(),
			"short":     shortStage(),
			"join":      joinStage(),
			"fail+":     failOnData("+"),
			"described": described,
			"nostatus": perRecord(func(int, engine.Record) engine.Result {
				return engine.Result{Status: engine.StatusFailed}
			}),
			"badstatus": perRecord(func(int, engine.Record) engine.Result { return engine.Result{Status: 9} }),
		}
	}
	st := func(module, onError string) engine.StageConfig {
		sc := engine.StageConfig{Name: module, Module: module, OnError: onError}
		if onError == engine.OnErrorDeadLetter {
			sc.DeadLetter = "dlq"
		}
		return sc
	}
	tests := []struct {
		name   string
		stages []engine.StageConfig
		in     []string
		want   []want
		counts counts
	}{
		{
			name:   "one stage keeps order",
			stages: []engine.StageConfig{st("upper", "")},
			in:     []string{"a", "b", "c"},
			want:   []want{{out: []string{"A"}}, {out: []string{"B"}}, {out: []string{"C"}}},
			counts: counts{in: 3, out: 3},
		},
		{
			name:   "empty batch",
			stages: []engine.StageConfig{st("upper", "")},
			counts: counts{},
		},
		{
			name:   "fail policy",
			stages: []engine.StageConfig{st("fail1", "fail"), st("upper", "")},
			in:     []string{"a", "b", "c"},
			want:   []want{{out: []string{"A"}}, {err: `record 1 (seq seq1): stage "fail1": invalid JSON at byte offset 1`}, {out: []string{"C"}}},
			counts: counts{in: 3, out: 2, failed: 1},
		},
		{
			name:   "drop policy",
			stages: []engine.StageConfig{st("fail1", "drop"), st("upper", "")},
			in:     []string{"a", "b", "c"},
			want:   []want{{out: []string{"A"}}, {dropped: true}, {out: []string{"C"}}},
			counts: counts{in: 3, out: 2, dropped: 1},
		},
		{
			name:   "dead letter policy skips later stages",
			stages: []engine.StageConfig{st("fail1", "dead_letter"), st("upper", "")},
			in:     []string{"a", "b", "c"},
			want: []want{{out: []string{"A"}}, {out: []string{
				`dlq={"error":"invalid JSON at byte offset 1","stage":"fail1","module":"","digest":"","index":1,"sequence_number":"seq1","partition_key":"pk","source":"","record":"b"}`,
			}}, {out: []string{"C"}}},
			counts: counts{in: 3, out: 2, deadLettered: 1},
		},
		{
			name:   "an aggregate that is delivered",
			stages: []engine.StageConfig{st("join", ""), st("upper", "")},
			in:     []string{"a", "b", "c"},
			want:   []want{{out: []string{"A+B+C"}}, {dropped: true}, {dropped: true}},
			counts: counts{in: 3, out: 1, dropped: 2},
		},
		{
			name:   "an aggregate that fails later fails every record it holds",
			stages: []engine.StageConfig{st("join", ""), st("failbad", "fail")},
			in:     []string{"a", "bad", "c"},
			want: []want{
				{err: `record 0 (seq seq0): stage "failbad": cannot handle a+bad+c`},
				{err: `record 1 (seq seq1): stage "failbad": joined to record 0 (an aggregate), which failed: cannot handle a+bad+c`},
				{err: `record 2 (seq seq2): stage "failbad": joined to record 0`},
			},
			counts: counts{in: 3, failed: 3},
		},
		{
			name:   "an aggregate of aggregates fails them all",
			stages: []engine.StageConfig{st("join", ""), st("multi", ""), {Name: "join again", Module: "join"}, st("fail#2", "fail")},
			in:     []string{"a", "b"},
			want:   []want{{err: "cannot handle a+b#1+a+b#2"}, {err: "joined to record 0"}},
			counts: counts{in: 2, failed: 2},
		},
		{
			name:   "a dead-lettered aggregate dead-letters every record it holds, each with its own bytes",
			stages: []engine.StageConfig{st("join", ""), st("failbad", "dead_letter")},
			in:     []string{"bad", "x"},
			want: []want{{out: []string{
				`dlq={"error":"cannot handle bad+x","stage":"failbad","module":"","digest":"","index":0,"sequence_number":"seq0","partition_key":"pk","source":"","record":"bad"}`,
			}}, {out: []string{
				`dlq={"error":"joined to record 0 (an aggregate), which failed: cannot handle bad+x","stage":"failbad","module":"","digest":"","index":1,"sequence_number":"seq1","partition_key":"pk","source":"","record":"x"}`,
			}}},
			counts: counts{in: 2, deadLettered: 2},
		},
		{
			name:   "a joined record is dead-lettered once when several outputs of its aggregate fail",
			stages: []engine.StageConfig{st("join", ""), st("multi", ""), st("fail+", "dead_letter")},
			in:     []string{"a", "b"},
			want: []want{{out: []string{
				`dlq={"error":"cannot handle a+b#1","stage":"fail+","module":"","digest":"","index":0,"sequence_number":"seq0","partition_key":"pk","source":"","record":"a"}`,
				`dlq={"error":"cannot handle a+b#2","stage":"fail+","module":"","digest":"","index":0,"sequence_number":"seq0","partition_key":"pk","source":"","record":"a"}`,
			}}, {out: []string{
				`dlq={"error":"joined to record 0 (an aggregate), which failed: cannot handle a+b#1","stage":"fail+","module":"","digest":"","index":1,"sequence_number":"seq1","partition_key":"pk","source":"","record":"b"}`,
			}}},
			counts: counts{in: 2, deadLettered: 3},
		},
		{
			name:   "describer names module and digest",
			stages: []engine.StageConfig{{Name: "normalize", Module: "described"}},
			in:     []string{"a", "b"},
			want:   []want{{out: []string{"a"}}, {err: `record 1 (seq seq1): stage "normalize" (module file://normalize.wasm sha256:abcd1234…): invalid JSON at byte offset 1`}},
			counts: counts{in: 2, out: 1, failed: 1},
		},
		{
			name:   "dead letter carries module, digest and the original record",
			stages: []engine.StageConfig{st("upper", ""), {Name: "normalize", Module: "described", OnError: "dead_letter", DeadLetter: "dlq"}},
			in:     []string{"a", `{"x":"<b>"}`},
			want: []want{{out: []string{"A"}}, {out: []string{
				`dlq={"error":"invalid JSON at byte offset 1","stage":"normalize","module":"file://normalize.wasm","digest":"` + normalizeDigest + `","index":1,"sequence_number":"seq1","partition_key":"pk","source":"","record":"{\"x\":\"<b>\"}"}`,
			}}},
			counts: counts{in: 2, out: 1, deadLettered: 1},
		},
		{
			name:   "batch error fails every record",
			stages: []engine.StageConfig{st("batcherr", "")},
			in:     []string{"a", "b"},
			want:   []want{{err: `record 0 (seq seq0): stage "batcherr": module trapped: unreachable`}, {err: "record 1 (seq seq1)"}},
			counts: counts{in: 2, failed: 2},
		},
		{
			name:   "batch error under drop",
			stages: []engine.StageConfig{st("batcherr", "drop")},
			in:     []string{"a", "b"},
			want:   []want{{dropped: true}, {dropped: true}},
			counts: counts{in: 2, dropped: 2},
		},
		{
			name:   "batch error under dead letter",
			stages: []engine.StageConfig{st("upper", ""), st("batcherr", "dead_letter")},
			in:     []string{"a"},
			want: []want{{out: []string{
				`dlq={"error":"module trapped: unreachable","stage":"batcherr","module":"","digest":"","index":0,"sequence_number":"seq0","partition_key":"pk","source":"","record":"a"}`,
			}}},
			counts: counts{in: 1, deadLettered: 1},
		},
		{
			name:   "wrong result count is a batch error naming the stage",
			stages: []engine.StageConfig{st("short", "")},
			in:     []string{"a", "b", "c"},
			want: []want{
				{err: `stage "short": stage returned a wrong number of results: 2 results for 3 records`},
				{err: `stage "short"`}, {err: `stage "short"`},
			},
			counts: counts{in: 3, failed: 3},
		},
		{
			name:   "multi output then uppercase: traceability",
			stages: []engine.StageConfig{st("multi", ""), st("upper", "")},
			in:     []string{"a", "b"},
			want:   []want{{out: []string{"A#1", "A#2"}}, {out: []string{"B#1", "B#2"}}},
			counts: counts{in: 2, out: 4},
		},
		{
			name:   "derived records keep their original's metadata",
			stages: []engine.StageConfig{st("multi", ""), st("seq", "")},
			in:     []string{"a", "b"},
			want:   []want{{out: []string{"seq0:a#1", "seq0:a#2"}}, {out: []string{"seq1:b#1", "seq1:b#2"}}},
			counts: counts{in: 2, out: 4},
		},
		{
			name:   "partial failure in a later stage: failed, successful outputs kept",
			stages: []engine.StageConfig{st("multi", ""), st("fail#2", "fail"), st("upper", "")},
			in:     []string{"a", "b"},
			want: []want{
				{out: []string{"A#1"}, err: `record 0 (seq seq0): stage "fail#2": cannot handle a#2`},
				{out: []string{"B#1"}, err: `record 1 (seq seq1): stage "fail#2": cannot handle b#2`},
			},
			counts: counts{in: 2, out: 2, failed: 2},
		},
		{
			name:   "partial failure under drop is not a dropped record",
			stages: []engine.StageConfig{st("multi", ""), st("fail#2", "drop")},
			in:     []string{"a"},
			want:   []want{{out: []string{"a#1"}}},
			counts: counts{in: 1, out: 1},
		},
		{
			name:   "failure positions shift after a multi-output stage",
			stages: []engine.StageConfig{st("multi", ""), st("fail1", "fail")},
			in:     []string{"a", "b"},
			want:   []want{{out: []string{"a#1"}, err: "record 0 (seq seq0)"}, {out: []string{"b#1", "b#2"}}},
			counts: counts{in: 2, out: 3, failed: 1},
		},
		{
			name:   "routes are sticky through later stages",
			stages: []engine.StageConfig{st("route", ""), st("upper", "")},
			in:     []string{"x", "alert!", "y"},
			want:   []want{{out: []string{"X"}}, {out: []string{"alerts=ALERT!"}}, {out: []string{"Y"}}},
			counts: counts{in: 3, out: 3},
		},
		{
			name:   "dropped and consumed records",
			stages: []engine.StageConfig{st("drop", ""), st("upper", "")},
			in:     []string{"keep", "drop me", "eat me"},
			want:   []want{{out: []string{"KEEP"}}, {dropped: true}, {}},
			counts: counts{in: 3, out: 1, dropped: 1},
		},
		{
			name:   "stage after everything was dropped is not called",
			stages: []engine.StageConfig{st("drop", ""), st("batcherr", "")},
			in:     []string{"drop"},
			want:   []want{{dropped: true}},
			counts: counts{in: 1, dropped: 1},
		},
		{
			name:   "failure without error",
			stages: []engine.StageConfig{st("nostatus", "")},
			in:     []string{"a"},
			want:   []want{{err: "failed without an error message"}},
			counts: counts{in: 1, failed: 1},
		},
		{
			name:   "unknown status",
			stages: []engine.StageConfig{st("badstatus", "")},
			in:     []string{"a"},
			want:   []want{{err: "unknown result status 9"}},
			counts: counts{in: 1, failed: 1},
		},
		{
			name:   "several failures: first is reported",
			stages: []engine.StageConfig{st("multi", ""), st("failbad", "fail"), st("fail1", "fail")},
			in:     []string{"bad", "x"},
			want:   []want{{err: `record 0 (seq seq0): stage "failbad": cannot handle bad#1`}, {out: []string{"x#1"}, err: `record 1 (seq seq1): stage "fail1"`}},
			counts: counts{in: 2, out: 1, failed: 2},
		},
	}
	// Every case runs without and with a batch arena (reused from case to
	// case, so what one leaves in it must not show in the next).
	for _, tt := range tests {
		for _, withArena := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/arena=%v", tt.name, withArena), func(t *testing.T) {
				cfg := &engine.Config{Version: 1, Stages: tt.stages, Outputs: map[string]engine.OutputConfig{
					"default": {Type: "stdout"}, "dlq": {Type: "discard"},
				}}
				ctx := context.Background()
				p, err := engine.NewPipeline(ctx, cfg, builderOf(stageSet()))
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close(ctx)
				if withArena {
					a := engine.NewArena()
					defer a.Release()
					ctx = engine.WithArena(ctx, a)
				}
				res, err := p.Run(ctx, records(tt.in...))
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Records) != len(tt.in) {
					t.Fatalf("%d results for %d records", len(res.Records), len(tt.in))
				}
				for i, w := range tt.want {
					rr := res.Records[i]
					if rr.Index != i {
						t.Errorf("record %d: Index %d", i, rr.Index)
					}
					if got := outputs(rr); strings.Join(got, "\n") != strings.Join(w.out, "\n") {
						t.Errorf("record %d outputs:\n got %q\nwant %q", i, got, w.out)
					}
					if rr.Dropped != w.dropped {
						t.Errorf("record %d: Dropped %v, want %v", i, rr.Dropped, w.dropped)
					}
					switch {
					case w.err == "" && rr.Err != nil:
						t.Errorf("record %d: unexpected error %v", i, rr.Err)
					case w.err != "" && rr.Err == nil:
						t.Errorf("record %d: no error, want %q", i, w.err)
					case w.err != "" && !strings.Contains(rr.Err.Error(), w.err):
						t.Errorf("record %d: error %q, want %q", i, rr.Err, w.err)
					case rr.Err != nil && rr.Err.Index != i:
						t.Errorf("record %d: error Index %d", i, rr.Err.Index)
					}
				}
				got := counts{res.In, res.Out, res.Dropped, res.Failed, res.DeadLettered}
				if got != tt.counts {
					t.Errorf("counts %+v, want %+v", got, tt.counts)
				}
				if len(res.Stages) != len(tt.stages) {
					t.Errorf("%d stage stats, want %d", len(res.Stages), len(tt.stages))
				}
				for i, s := range res.Stages {
					if s.Name != tt.stages[i].Name {
						t.Errorf("stage stats %d named %q", i, s.Name)
					}
				}
				if len(res.Failures()) != tt.counts.failed {
					t.Errorf("Failures() has %d errors, want %d", len(res.Failures()), tt.counts.failed)
				}
				for _, o := range res.Records {
					for _, out := range o.Outputs {
						if out.Route == "dlq" && !json.Valid(out.Data) {
							t.Errorf("dead-letter entry is not JSON: %s", out.Data)
						}
					}
				}
			})
		}
	}
}

func TestPipelineStageStats(t *testing.T) {
	ctx := context.Background()
	cfg := &engine.Config{Version: 1, Stages: []engine.StageConfig{
		{Module: "multi"}, {Module: "fail1", OnError: "drop"}, {Module: "drop"},
	}}
	p, err := engine.NewPipeline(ctx, cfg, builderOf(map[string]engine.Stage{
		"multi": multiStage(), "fail1": failOnIndex(1), "drop": dropStage(),
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	res, err := p.Run(ctx, records("a", "drop"))
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.StageStats{
		{Name: "multi", In: 2, Out: 4},
		{Name: "fail1", In: 4, Out: 3, Dropped: 1, Failed: 1},
		{Name: "drop", In: 3, Out: 1, Dropped: 2},
	}
	for i, w := range want {
		got := res.Stages[i]
		got.Duration = 0
		if got != w {
			t.Errorf("stage %d: %+v, want %+v", i, got, w)
		}
	}
	if res.Duration <= 0 {
		t.Errorf("Duration = %v", res.Duration)
	}
}

func TestRecordErrorFormat(t *testing.T) {
	base := errors.New("invalid JSON at byte offset 17: unexpected '}'")
	tests := []struct {
		name string
		err  engine.RecordError
		want string
	}{
		{"full", engine.RecordError{Index: 3, SequenceNumber: "49590338271490256608559692538361571095921575989136588898", Stage: "normalize", Module: "file://x.wasm", Digest: "abcd1234ffff", Err: base},
			`record 3 (seq 49590338271490256608559692538361571095921575989136588898): stage "normalize" (module file://x.wasm sha256:abcd1234…): invalid JSON at byte offset 17: unexpected '}'`},
		{"prefixed digest", engine.RecordError{Index: 0, Stage: "s", Digest: "sha256:abcd1234ffff", Err: base}, `record 0: stage "s" (sha256:abcd1234…): invalid JSON`},
		{"short digest", engine.RecordError{Index: 0, Stage: "s", Module: "m", Digest: "abcd", Err: base}, `record 0: stage "s" (module m sha256:abcd): invalid JSON`},
		{"no seq, no module", engine.RecordError{Index: 7, Stage: "s", Err: base}, `record 7: stage "s": invalid JSON`},
		{"nil error", engine.RecordError{Index: 1, Stage: "s"}, `record 1: stage "s": failed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	re := &engine.RecordError{Stage: "s", Err: base}
	if !errors.Is(re, base) {
		t.Error("RecordError does not unwrap")
	}
}

func TestNewPipelineErrors(t *testing.T) {
	ctx := context.Background()
	var order []string
	var mu sync.Mutex
	track := func(name string, s *fakeStage) *fakeStage {
		s.onClose = func() { mu.Lock(); order = append(order, name); mu.Unlock() }
		return s
	}
	first, second := track("first", upperStage()), track("second", upperStage())
	stages := map[string]engine.Stage{"first": first, "second": second}
	cfg := &engine.Config{Version: 1, Stages: []engine.StageConfig{{Module: "first"}, {Module: "second"}, {Module: "missing.wasm"}}}
	_, err := engine.NewPipeline(ctx, cfg, builderOf(stages))
	if err == nil || !strings.Contains(err.Error(), `pipeline: build stage 2 "missing": no module "missing.wasm"`) {
		t.Fatalf("error %v", err)
	}
	if strings.Join(order, ",") != "second,first" {
		t.Errorf("built stages closed in order %v, want second,first", order)
	}

	_, err = engine.NewPipeline(ctx, &engine.Config{Version: 1}, builderOf(stages))
	if !errors.Is(err, engine.ErrInvalidConfig) || !strings.HasPrefix(err.Error(), "pipeline: config: stages") {
		t.Errorf("invalid config: %v", err)
	}
	if _, err := engine.NewPipeline(ctx, nil, builderOf(stages)); err == nil {
		t.Error("nil config accepted")
	}
	if _, err := engine.NewPipeline(ctx, cfg, nil); err == nil {
		t.Error("nil builder accepted")
	}
	nilBuilder := func(context.Context, engine.StageConfig, string) (engine.Stage, error) { return nil, nil }
	if _, err := engine.NewPipeline(ctx, &engine.Config{Version: 1, Stages: []engine.StageConfig{{Module: "a"}}}, nilBuilder); err == nil {
		t.Error("nil stage accepted")
	}
}

func TestNewPipelinePassesDefaultsAndDir(t *testing.T) {
	ctx := context.Background()
	cfg := &engine.Config{Version: 1, Dir: "/etc/weir", Stages: []engine.StageConfig{{Module: "mods/x.wasm"}}}
	var got engine.StageConfig
	var gotDir string
	_, err := engine.NewPipeline(ctx, cfg, func(_ context.Context, sc engine.StageConfig, dir string) (engine.Stage, error) {
		got, gotDir = sc, dir
		return upperStage(), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "x" || got.OnError != "fail" || got.Limits.MemoryPages != engine.DefaultMemoryPages || gotDir != "/etc/weir" {
		t.Errorf("builder got %+v in %q", got, gotDir)
	}
	if cfg.Stages[0].Name != "" {
		t.Error("NewPipeline modified the caller's configuration")
	}
}

func TestPipelineCloseAndCancel(t *testing.T) {
	ctx := context.Background()
	a, b := upperStage(), upperStage()
	b.closeErr = errors.New("boom")
	cfg := &engine.Config{Version: 1, Stages: []engine.StageConfig{{Module: "a"}, {Module: "b"}}}
	p, err := engine.NewPipeline(ctx, cfg, builderOf(map[string]engine.Stage{"a": a, "b": b}))
	if err != nil {
		t.Fatal(err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Run(cctx, records("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context: %v", err)
	}

	err = p.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), `pipeline: close stage "b": boom`) {
		t.Errorf("Close: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if a.closed.Load() != 1 || b.closed.Load() != 1 {
		t.Errorf("stages closed %d and %d times, want once", a.closed.Load(), b.closed.Load())
	}
	if _, err := p.Run(ctx, records("x")); !errors.Is(err, engine.ErrPipelineClosed) {
		t.Errorf("Run after Close: %v", err)
	}
}

func TestPipelineCancelledDuringStage(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := &fakeStage{process: func(ctx context.Context, recs []engine.Record) ([]engine.Result, error) {
		cancel()
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	cfg := &engine.Config{Version: 1, Stages: []engine.StageConfig{{Module: "slow"}}}
	p, err := engine.NewPipeline(context.Background(), cfg, builderOf(map[string]engine.Stage{"slow": slow}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	_, err = p.Run(ctx, records("x"))
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `pipeline: stage "slow"`) {
		t.Errorf("Run: %v", err)
	}
}

func TestPipelineConcurrentRuns(t *testing.T) {
	ctx := context.Background()
	cfg := &engine.Config{Version: 1, Stages: []engine.StageConfig{{Module: "multi"}, {Module: "upper"}}}
	p, err := engine.NewPipeline(ctx, cfg, builderOf(map[string]engine.Stage{"multi": multiStage(), "upper": upperStage()}))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			in := fmt.Sprintf("g%d", g)
			res, err := p.Run(ctx, records(in))
			if err != nil {
				t.Error(err)
				return
			}
			if got := outputs(res.Records[0]); len(got) != 2 || got[0] != strings.ToUpper(in)+"#1" {
				t.Errorf("goroutine %d got %q", g, got)
			}
		}(g)
	}
	wg.Wait()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkPipelineRun(b *testing.B) {
	ctx := context.Background()
	cfg := &engine.Config{Version: 1, Stages: []engine.StageConfig{{Module: "upper"}, {Module: "route"}}}
	p, err := engine.NewPipeline(ctx, cfg, builderOf(map[string]engine.Stage{"upper": upperStage(), "route": routeStage()}))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(ctx)
	in := records(strings.Split(strings.Repeat("record,", 500), ",")...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Run(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}
