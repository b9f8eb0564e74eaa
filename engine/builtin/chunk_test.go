package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/weirhq/weir/engine"
)

// TestChunkedPlan: a plan of record-local steps runs a batch in chunks
// (reusing the batch's parsers and arena from one chunk to the next) and
// gives, record by record, what each record gives alone (drops, failures,
// outputs and routes across chunk boundaries); a plan with an
// aggregating step is not chunked.
func TestChunkedPlan(t *testing.T) {
	raws := []json.RawMessage{
		json.RawMessage(`{"type":"object_copy","settings":{"object":{"source_key":"n","target_key":"meta n"}}}`),
		json.RawMessage(`{"type":"meta_switch","settings":{"cases":[
			{"condition":{"type":"string_ends_with","settings":{"object":{"source_key":"n"},"value":"3"}},
			 "transforms":[{"type":"utility_drop"}]},
			{"condition":{"type":"string_ends_with","settings":{"object":{"source_key":"n"},"value":"7"}},
			 "transforms":[{"type":"utility_err","settings":{"message":"seven"}}]},
			{"condition":{"type":"string_ends_with","settings":{"object":{"source_key":"n"},"value":"5"}},
			 "transforms":[{"type":"object_insert","settings":{"object":{"target_key":"meta route"},"value":"five"}}]},
			{"transforms":[{"type":"string_capture","settings":{"object":{"source_key":"s","target_key":"meta c"},"pattern":"^[^:]*:(.*)$"}}]}]}}`),
		json.RawMessage(`{"type":"object_copy","settings":{"object":{"source_key":"meta @this"}}}`),
	}
	var recs []engine.Record
	for i := range 3*chunkSize + 5 {
		recs = append(recs, engine.Record{Data: fmt.Appendf(nil, `{"n":"%d","s":"k:v%d"}`, i, i)})
	}
	// Data edited in its tree (not replaced by bytes) must be serialized
	// before the next chunk reuses the parsers and the arena.
	edit, err := Compile([]json.RawMessage{json.RawMessage(`{"type":"object_copy","settings":{"object":{"source_key":"s","target_key":"t.u"}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := edit.Process(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if want := fmt.Sprintf(`{"n":"%d","s":"k:v%d","t":{"u":"k:v%d"}}`, i, i, i); r.Status != engine.StatusOK || string(r.Outputs[0].Data) != want {
			t.Fatalf("record %d: %+v, want %s", i, r, want)
		}
	}
	p, err := Compile(raws)
	if err != nil {
		t.Fatal(err)
	}
	if !p.chunked {
		t.Fatal("plan of record-local steps is not chunked")
	}
	got, err := p.Process(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		alone, err := p.Process(context.Background(), []engine.Record{r})
		if err != nil {
			t.Fatal(err)
		}
		g, w := got[i], alone[0]
		if g.Status != w.Status || fmt.Sprint(g.Err) != fmt.Sprint(w.Err) || !reflect.DeepEqual(g.Outputs, w.Outputs) {
			t.Errorf("record %d: in the batch %+v, alone %+v", i, g, w)
		}
	}
	if got[3].Status != engine.StatusDropped || got[7].Status != engine.StatusFailed || string(got[20].Outputs[0].Data) != `{"n":"20","c":"v20"}` || got[35].Outputs[0].Route != "five" {
		t.Errorf("unexpected results: %+v %+v %s", got[3], got[7], got[20].Outputs[0].Data)
	}
	agg, err := Compile(append(raws[:1:1], json.RawMessage(`{"type":"aggregate_to_array","settings":{"object":{"target_key":"a"}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	if agg.chunked {
		t.Error("plan with aggregate_to_array is chunked")
	}
}
