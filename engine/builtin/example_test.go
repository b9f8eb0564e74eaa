package builtin_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
)

func Example() {
	plan, err := builtin.Compile([]json.RawMessage{
		json.RawMessage(`{"type": "object_copy", "settings": {"object": {"source_key": "user.name", "target_key": "actor"}}}`),
		json.RawMessage(`{"type": "object_insert", "settings": {"object": {"target_key": "meta seen"}, "value": true}}`),
		json.RawMessage(`{"type": "meta_switch", "settings": {"cases": [{
			"condition": {"type": "string_equal_to", "settings": {"object": {"source_key": "actor"}, "value": "robot"}},
			"transforms": [{"type": "utility_drop"}]
		}]}}`),
		json.RawMessage(`{"type": "object_delete", "settings": {"object": {"source_key": "user"}}}`),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := plan.Process(context.Background(), []engine.Record{
		{Data: []byte(`{"user":{"name":"alice"},"n":1}`)},
		{Data: []byte(`{"user":{"name":"robot"}}`)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, r := range res {
		fmt.Print(i, " ", r.Status)
		for _, o := range r.Outputs {
			fmt.Print(" ", string(o.Data))
		}
		fmt.Println()
	}
	// Output:
	// 0 ok {"n":1,"actor":"alice"}
	// 1 dropped
}
