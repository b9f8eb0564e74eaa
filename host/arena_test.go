package host

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/weirhq/weir/engine"
)

// TestArenaPieces: batches cut into pieces that run on several instances
// at once take their results, outputs and bytes from one shared arena
// (engine.Arena), several batches at once, each arena released (its
// memory poisoned) and reused by the next batch: every output is what
// the module made for its record. Run with -race.
func TestArenaPieces(t *testing.T) {
	defer engine.SetArenaPoison(engine.SetArenaPoison(true))
	h, _ := newHost(t)
	mods := []struct {
		name string
		wasm []byte
		want func(in string) string
	}{
		{"passthrough", wat(t, "passthrough"), func(in string) string { return "ok:" + in }},
		// Operation lists applied by the host into the arena (decode).
		{"views", wat(t, "views"), func(in string) string {
			name := in[len(`{"user":{"name":"`):strings.Index(in, `"},`)]
			return "ok:" + strings.TrimSuffix(in, "}") + `,"name_seen":"` + name + `"}`
		}},
		// Record mode (runRecords).
		{"record", wat(t, "record"), func(in string) string { return "ok:" + strings.ToUpper(in) }},
	}
	for _, m := range mods {
		t.Run(m.name, func(t *testing.T) {
			s := load(t, h, m.name, m.wasm, engine.StageConfig{Instances: 3})
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					for i := range 15 {
						in := make([]string, 5+(g*7+i*13)%90)
						for j := range in {
							in[j] = fmt.Sprintf(`{"user":{"name":"g%db%dr%d"},"pad":"%s"}`, g, i, j, strings.Repeat("p", (i+j)%40))
						}
						a := engine.NewArena()
						res, err := s.Process(engine.WithArena(context.Background(), a), records(in...))
						if err != nil {
							t.Error(err)
							a.Release()
							return
						}
						for j, r := range summary(res) {
							if w := m.want(in[j]); r != w {
								t.Errorf("batch %d/%d record %d: %s\nwant %s", g, i, j, r, w)
							}
						}
						a.Release()
					}
				})
			}
			wg.Wait()
		})
	}
}
