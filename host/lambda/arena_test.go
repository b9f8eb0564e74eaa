package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/weirhq/weir/engine"
)

// arenaStage writes each record's output (its data with "!" appended)
// into the batch's arena, as the built-in and Wasm stages do.
type arenaStage struct{}

func (arenaStage) Process(ctx context.Context, recs []engine.Record) ([]engine.Result, error) {
	a := engine.ArenaFrom(ctx)
	res := a.Results(len(recs))
	outs := a.Outputs(len(recs))
	for i, r := range recs {
		b := append(append(a.Bytes(len(r.Data)+1), r.Data...), '!')
		outs[i] = engine.Output{Data: b}
		res[i] = engine.Result{Outputs: outs[i : i+1 : i+1]}
	}
	return res, nil
}

func (arenaStage) Close(context.Context) error { return nil }

// copySink keeps copies of what it is given (a sink may not keep an
// output's bytes past Write).
type copySink struct{ got []string }

func (s *copySink) Write(_ context.Context, o []engine.Output) error {
	for _, x := range o {
		s.got = append(s.got, string(x.Data))
	}
	return nil
}
func (s *copySink) Close(context.Context) error { return nil }

// TestInvokeArena: Invoke runs the invocation in a batch arena and gives
// it back only after the outputs are delivered and the response is
// encoded: with released memory poisoned, invocation after invocation,
// what the sinks got and the Firehose response built from the outputs
// are intact (a release before delivery fails this test).
func TestInvokeArena(t *testing.T) {
	defer engine.SetArenaPoison(engine.SetArenaPoison(true))
	cfg := &engine.Config{Version: 1, Stages: []engine.StageConfig{{Name: "s", Module: "x.wasm"}}}
	p, err := engine.NewPipeline(context.Background(), cfg, func(context.Context, engine.StageConfig, string) (engine.Stage, error) { return arenaStage{}, nil })
	if err != nil {
		t.Fatal(err)
	}
	out := &copySink{}
	h := &Handler{Pipeline: p, Sinks: map[string]engine.Sink{"default": out}, Attempts: &MemoryAttempts{}}
	for i := range 3 {
		a, b := fmt.Sprintf(`{"a":%d}`, i), fmt.Sprintf(`{"b":%d}`, i)
		fh := fmt.Sprintf(`{"invocationId":"i","deliveryStreamArn":"arn","records":[{"recordId":"r1","data":%q},{"recordId":"r2","data":%q}]}`, b64(a), b64(b))
		resp, err := h.Invoke(context.Background(), []byte(fh))
		if err != nil {
			t.Fatal(err)
		}
		var fr struct {
			Records []struct{ Data []byte } `json:"records"`
		}
		if err := json.Unmarshal(resp, &fr); err != nil {
			t.Fatal(err)
		}
		if len(fr.Records) != 2 || string(fr.Records[0].Data) != a+"!\n" || string(fr.Records[1].Data) != b+"!\n" {
			t.Fatalf("firehose response %d: %s", i, resp)
		}
		n := len(out.got)
		resp, err = h.Invoke(context.Background(), kinesisJSON(b64(a), b64(b)))
		if err != nil || !bytes.Equal(resp, []byte(`{"batchItemFailures":[]}`)) {
			t.Fatalf("kinesis %d: %s %v", i, resp, err)
		}
		if got := out.got[n:]; len(got) != 2 || got[0] != a+"!" || got[1] != b+"!" {
			t.Fatalf("kinesis %d delivered %q", i, got)
		}
	}
}
