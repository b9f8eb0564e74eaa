package builtin_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
)

// A Substation config with a setting Substation ignores ("type" on
// string_to_lower) compiles, with a warning naming it; the text
// transforms then normalize a record.
func ExamplePlan_Warnings() {
	plan, err := builtin.Compile([]json.RawMessage{
		json.RawMessage(`{"type": "string_to_lower", "settings": {"object": {"source_key": "host", "target_key": "host"}, "type": "x"}}`),
		json.RawMessage(`{"type": "network_domain_registered_domain", "settings": {"object": {"source_key": "host", "target_key": "domain"}}}`),
		json.RawMessage(`{"type": "string_split", "settings": {"object": {"source_key": "path", "target_key": "path"}, "separator": "/"}}`),
		json.RawMessage(`{"type": "number_math_addition", "settings": {"object": {"source_key": "bytes", "target_key": "bytes"}}}`),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range plan.Warnings() {
		fmt.Println("warning:", w)
	}
	res, err := plan.Process(context.Background(), []engine.Record{
		{Data: []byte(`{"host":"WWW.Example.CO.UK","path":"a/b","bytes":[512,1024.5]}`)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(res[0].Outputs[0].Data))
	// Output:
	// warning: transforms[0] (string_to_lower): settings: unknown setting "type" ignored (Substation ignores it too)
	// {"host":"www.example.co.uk","path":["a","b"],"bytes":1536.5,"domain":"example.co.uk"}
}
