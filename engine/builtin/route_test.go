package builtin_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
)

// A string at "meta route" becomes the output's route; anything else
// (absent, not a string) leaves the route empty (the default output).
func TestRouteFromMetadata(t *testing.T) {
	p, err := builtin.Compile([]json.RawMessage{
		json.RawMessage(`{"type":"meta_switch","settings":{"cases":[
			{"condition":{"type":"string_equal_to","settings":{"object":{"source_key":"sev"},"value":"high"}},
			 "transforms":[{"type":"object_insert","settings":{"object":{"target_key":"meta route"},"value":"alerts"}}]},
			{"condition":{"type":"string_equal_to","settings":{"object":{"source_key":"sev"},"value":"num"}},
			 "transforms":[{"type":"object_insert","settings":{"object":{"target_key":"meta route"},"value":7}}]}
		]}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Process(context.Background(), []engine.Record{
		{Data: []byte(`{"sev":"high"}`)},
		{Data: []byte(`{"sev":"low"}`)},
		{Data: []byte(`{"sev":"num"}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"alerts", "", ""} {
		r := res[i]
		if r.Status != engine.StatusOK || len(r.Outputs) != 1 {
			t.Fatalf("record %d: %+v", i, r)
		}
		if got := r.Outputs[0].Route; got != want {
			t.Errorf("record %d: route %q, want %q", i, got, want)
		}
	}
}
