package builtin_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
)

// An aggregate spans the batch: each array is an output of the first
// record it holds, which names the other records it holds in
// Result.Joined; those have no output of their own (and are not
// dropped: their data travels in the aggregate).
func ExampleCompile_aggregate() {
	plan, err := builtin.Compile([]json.RawMessage{
		json.RawMessage(`{"type": "time_from_string", "settings": {"object": {"source_key": "t", "target_key": "ns"}, "format": "2006-01-02"}}`),
		json.RawMessage(`{"type": "aggregate_to_array", "settings": {"object": {"batch_key": "user"}, "batch": {"count": 2}}}`),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := plan.Process(context.Background(), []engine.Record{
		{Data: []byte(`{"user":"a","t":"2024-01-01"}`)},
		{Data: []byte(`{"user":"b","t":"2024-01-02"}`)},
		{Data: []byte(`{"user":"a","t":"2024-01-03"}`)},
		{Data: []byte(`{"user":"a","t":"someday"}`)},
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
		if len(r.Joined) > 0 {
			fmt.Print(" joined ", r.Joined)
		}
		if r.Err != nil {
			fmt.Print(" ", r.Err)
		}
		fmt.Println()
	}
	// Output:
	// 0 ok [{"user":"a","t":"2024-01-01","ns":1704067200000000000},{"user":"a","t":"2024-01-03","ns":1704240000000000000}] joined [2]
	// 1 ok [{"user":"b","t":"2024-01-02","ns":1704153600000000000}]
	// 2 ok
	// 3 failed step 0 (time_from_string): format 2006-01-02: parsing time "someday" as "2006-01-02": cannot parse "someday" as "2006"
}
