package builtin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
)

// TestArenaStages: a pipeline of built-in stages (a record-local,
// chunked one, then one aggregating the first's outputs, which are its
// records, then a pass-through) gives, batch after batch, the same
// results in a batch arena (engine.Arena, released and poisoned after
// every batch, its memory reused by the next) as without one; aggregates
// hold their records' bytes only within the batch.
func TestArenaStages(t *testing.T) {
	defer engine.SetArenaPoison(engine.SetArenaPoison(true))
	p := builtinPipeline(t, `version: 1
stages:
  - name: shape
    transforms:
      - {type: object_copy, settings: {object: {source_key: n, target_key: m.n}}}
      - type: meta_switch
        settings:
          cases:
            - condition: {type: string_ends_with, settings: {object: {source_key: n}, value: "3"}}
              transforms: [{type: utility_drop}]
            - condition: {type: string_ends_with, settings: {object: {source_key: n}, value: "5"}}
              transforms: [{type: object_insert, settings: {object: {target_key: meta route}, value: five}}]
  - name: group
    transforms:
      - {type: aggregate_to_array, settings: {object: {batch_key: k}, batch: {count: 3}}}
  - name: pass
    transforms:
      - {type: object_copy, settings: {object: {source_key: "@this"}}}
`)
	ctx := context.Background()
	render := func(res *engine.BatchResult) string {
		var b strings.Builder
		for _, rr := range res.Records {
			fmt.Fprintf(&b, "%d dropped=%v err=%v:", rr.Index, rr.Dropped, rr.Err)
			for _, o := range rr.Outputs {
				fmt.Fprintf(&b, " [%s]%s", o.Route, o.Data)
			}
			b.WriteByte('\n')
		}
		return b.String()
	}
	for batch := range 5 {
		recs := make([]engine.Record, 20+batch*17)
		for i := range recs {
			recs[i].Data = fmt.Appendf(nil, `{"n":"%d","k":"k%d","pad":"%s"}`, i, i%3, strings.Repeat("x", (i*batch)%50))
		}
		plain, err := p.Run(ctx, recs)
		if err != nil {
			t.Fatal(err)
		}
		want := render(plain)
		if !strings.Contains(want, `[{"n":"0","k":"k0","pad":"","m":{"n":"0"}},{"n":"6"`) {
			t.Fatalf("batch %d: unexpected results without an arena:\n%s", batch, want)
		}
		a := engine.NewArena()
		res, err := p.Run(engine.WithArena(ctx, a), recs)
		if err != nil {
			t.Fatal(err)
		}
		if got := render(res); got != want {
			t.Errorf("batch %d in an arena:\n%s\nwant\n%s", batch, got, want)
		}
		a.Release()
	}
}
