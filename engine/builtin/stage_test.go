package builtin_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
)

func buildBuiltin(_ context.Context, sc engine.StageConfig, _ string) (engine.Stage, error) {
	return builtin.NewStage(sc.RawTransforms())
}

// builtinPipeline builds the pipeline of built-in stages that the YAML
// configuration yml describes, closed when the test ends.
func builtinPipeline(t *testing.T, yml string) *engine.Pipeline {
	t.Helper()
	cfg, err := engine.ParseConfig([]byte(yml), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, err := engine.NewPipeline(ctx, cfg, buildBuiltin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(ctx) })
	return p
}

func TestStageKindYAML(t *testing.T) {
	cfg, err := engine.ParseConfig([]byte(`version: 1
stages:
  - transforms:
      - type: object_copy
        settings: {object: {source_key: a, target_key: b.c}}
      - type: meta_switch
        settings:
          cases:
            - condition: {type: string_equal_to, settings: {object: {source_key: a}, value: drop}}
              transforms: [{type: utility_drop}]
      - {"type": "object_delete", "settings": {"object": {"source_key": "x"}}}
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Stages[0].Name; got != "transforms-0" {
		t.Errorf("default name %q, want transforms-0", got)
	}
	p, err := engine.NewPipeline(context.Background(), cfg, buildBuiltin)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	res, err := p.Run(context.Background(), []engine.Record{
		{Data: []byte(`{"a":"v","x":1,"y":[1,2]}`)},
		{Data: []byte(`{"a":"drop"}`)},
		{Data: []byte(`not json`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 3 {
		t.Fatalf("%d results", len(res.Records))
	}
	if got := string(res.Records[0].Outputs[0].Data); got != `{"a":"v","y":[1,2],"b":{"c":"v"}}` {
		t.Errorf("record 0: %s", got)
	}
	if len(res.Records[1].Outputs) != 0 || res.Records[1].Err != nil {
		t.Errorf("record 1 not dropped: %+v", res.Records[1])
	}
	// A record that is not JSON has nothing to copy or compare, but
	// object_delete cannot edit it: the record fails, naming the step.
	if err := res.Records[2].Err; err == nil || !strings.Contains(err.Error(), `step 2 (object_delete): delete "x": not a JSON document`) {
		t.Errorf("record 2: %v", err)
	}
}

func TestStageKindErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"both", "version: 1\nstages:\n  - module: m.wasm\n    transforms: [{type: utility_drop}]\n", "either a module or transforms"},
		{"neither", "version: 1\nstages:\n  - name: x\n", "a stage has a module or transforms"},
		{"not an object", "version: 1\nstages:\n  - transforms: [utility_drop]\n", "must be an object"},
		{"empty", "version: 1\nstages:\n  - transforms: []\n", "at least one transform"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := engine.ParseConfig([]byte(tc.yaml), "p.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if !errors.Is(err, engine.ErrInvalidConfig) {
				t.Errorf("not an ErrInvalidConfig: %v", err)
			}
		})
	}
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"refused", "{type: send_aws_kinesis_data_stream, settings: {}}", `transform "send_aws_kinesis_data_stream" is not supported by weir: weir delivers records through outputs`},
		{"unknown type", "{type: object_frobnicate}", `unknown transform type "object_frobnicate"`},
		{"nested", "{type: meta_switch, settings: {cases: [{condition: {type: string_equal_to, settings: {value: [x]}}, transforms: []}]}}", `transforms[0] (meta_switch): cases[0]: condition (string_equal_to): settings: "value" must be a string, not a JSON array`},
		{"wrong type", "{type: object_copy, settings: {object: {source_key: 3}}}", `"object.source_key" must be a string, not a JSON number`},
		{"unknown key", "{type: object_copy, setting: {}}", `transforms[0]: unknown key "setting"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := engine.ParseConfig([]byte("version: 1\nstages:\n  - transforms: ["+tc.yaml+"]\n"), "p.yaml")
			if err != nil {
				t.Fatal(err)
			}
			_, err = engine.NewPipeline(context.Background(), cfg, buildBuiltin)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant %q", err, tc.want)
			}
		})
	}
}

func TestRecordErrorNamesStep(t *testing.T) {
	cfg, err := engine.ParseConfig([]byte(`version: 1
stages:
  - name: b
    on_error: drop
    transforms:
      - {type: object_insert, settings: {object: {target_key: x}, value: 1}}
      - {type: meta_switch, settings: {cases: [{transforms: [{type: utility_err, settings: {message: boom}}]}]}}
`), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.NewPipeline(context.Background(), cfg, buildBuiltin)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := builtin.NewStage(cfg.Stages[0].RawTransforms())
	res, err := st.Process(context.Background(), []engine.Record{{Data: []byte(`{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != engine.StatusFailed || res[0].Err.Error() != "step 1 (meta_switch): cases[0]: step 0 (utility_err): boom" {
		t.Fatalf("result %+v", res[0])
	}
	if builtin.Cause(res[0].Err).Error() != "boom" {
		t.Errorf("cause %v", builtin.Cause(res[0].Err))
	}
	br, err := p.Run(context.Background(), []engine.Record{{Data: []byte(`{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(br.Records[0].Outputs) != 0 || br.Records[0].Err != nil {
		t.Errorf("on_error drop: %+v", br.Records[0])
	}
}

func TestCatalog(t *testing.T) {
	if n := len(builtin.TransformTypes()); n < 80 {
		t.Errorf("%d transform types", n)
	}
	for _, name := range []string{"object_copy", "meta_switch", "utility_drop"} {
		if s, _, ok := builtin.TransformStatus(name); !ok || s != builtin.Implemented {
			t.Errorf("%s: %s", name, s)
		}
	}
	if s, why, _ := builtin.TransformStatus("enrich_dns_ip_lookup"); s != builtin.Refused || !strings.Contains(why, "DNS host function") {
		t.Errorf("enrich_dns_ip_lookup: %s %s", s, why)
	}
	if s, _, _ := builtin.ConditionStatus("utility_random"); s != builtin.Implemented {
		t.Errorf("utility_random: %s", s)
	}
	if _, _, ok := builtin.TransformStatus("nope"); ok {
		t.Error("nope is known")
	}
}

// TestConcurrentBatches runs one plan from several goroutines (a stage
// is shared by concurrent batches); run with -race.
func TestConcurrentBatches(t *testing.T) {
	st, err := builtin.NewStage(engine.StageConfig{Transforms: []engine.RawTransform{
		engine.RawTransform(`{"type":"object_insert","settings":{"object":{"target_key":"c"},"value":{"k":["v"]}}}`),
		engine.RawTransform(`{"type":"object_copy","settings":{"object":{"source_key":"a","target_key":"c.k.-1"}}}`),
	}}.RawTransforms())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				recs := []engine.Record{{Data: []byte(`{"a":"x"}`)}, {Data: []byte(`{"a":"y"}`)}}
				res, err := st.Process(context.Background(), recs)
				if err != nil {
					done <- err
					return
				}
				if got := string(res[1].Outputs[0].Data); got != `{"a":"y","c":{"k":["v","y"]}}` {
					done <- errors.New(got)
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestAggregateJoinedFailsTogether: the records an aggregate holds are
// joined to the record it is attributed to (engine.Result.Joined), so
// when the aggregate fails in a later step or stage, every one of them
// fails (an SQS source retries them all), and none is reported dropped.
func TestAggregateJoinedFailsTogether(t *testing.T) {
	p := builtinPipeline(t, `version: 1
stages:
  - name: aggregate
    transforms:
      - {type: aggregate_to_array, settings: {object: {batch_key: k}, batch: {count: 2}}}
  - name: check
    transforms:
      - type: meta_switch
        settings:
          cases:
            - condition: {type: string_contains, settings: {object: {source_key: '@this'}, value: poison}}
              transforms: [{type: utility_err, settings: {message: poisoned aggregate}}]
`)
	ctx := context.Background()
	res, err := p.Run(ctx, []engine.Record{
		{Data: []byte(`{"k":"x","n":1}`)},
		{Data: []byte(`{"k":"y","n":2}`)},
		{Data: []byte(`{"k":"x","n":"poison"}`)},
		{Data: []byte(`{"k":"y","n":4}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"poisoned aggregate", "", "joined to record 0 (an aggregate), which failed", ""} {
		rr := res.Records[i]
		switch {
		case want == "" && rr.Err != nil:
			t.Errorf("record %d: unexpected error %v", i, rr.Err)
		case want != "" && (rr.Err == nil || !strings.Contains(rr.Err.Error(), want)):
			t.Errorf("record %d: error %v, want %q", i, rr.Err, want)
		}
	}
	if got := string(res.Records[1].Outputs[0].Data); got != `[{"k":"y","n":2},{"k":"y","n":4}]` {
		t.Errorf("record 1's aggregate: %s", got)
	}
	if r3 := res.Records[3]; r3.Dropped || len(r3.Outputs) != 0 || r3.Err != nil || res.Dropped != 0 || res.Failed != 2 {
		t.Errorf("record 3 %+v (it rides in record 1's aggregate: neither dropped nor failed, no outputs of its own); %d dropped, %d failed, want 0 and 2", r3, res.Dropped, res.Failed)
	}
}
