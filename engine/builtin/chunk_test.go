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
// and gives, record by record, what each record gives alone (drops,
// failures and outputs across chunk boundaries); a plan with an
// aggregating step is not chunked.
func TestChunkedPlan(t *testing.T) {
	raws := []json.RawMessage{
		json.RawMessage(`{"type":"object_copy","settings":{"object":{"source_key":"n","target_key":"meta n"}}}`),
		json.RawMessage(`{"type":"meta_switch","settings":{"cases":[
			{"condition":{"type":"string_ends_with","settings":{"object":{"source_key":"n"},"value":"3"}},
			 "transforms":[{"type":"utility_drop"}]},
			{"condition":{"type":"string_ends_with","settings":{"object":{"source_key":"n"},"value":"7"}},
			 "transforms":[{"type":"utility_err","settings":{"message":"seven"}}]},
			{"transforms":[{"type":"string_capture","settings":{"object":{"source_key":"s","target_key":"meta c"},"pattern":"^[^:]*:(.*)$"}}]}]}}`),
		json.RawMessage(`{"type":"object_copy","settings":{"object":{"source_key":"meta @this"}}}`),
	}
	p, err := Compile(raws)
	if err != nil {
		t.Fatal(err)
	}
	if !p.chunked {
		t.Fatal("plan of record-local steps is not chunked")
	}
	var recs []engine.Record
	for i := range 3*chunkSize + 5 {
		recs = append(recs, engine.Record{Data: fmt.Appendf(nil, `{"n":"%d","s":"k:v%d"}`, i, i)})
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
	if got[3].Status != engine.StatusDropped || got[7].Status != engine.StatusFailed || string(got[20].Outputs[0].Data) != `{"n":"20","c":"v20"}` {
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
