package host

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
)

// TestPreemptOff loads a module without deadline checks: it runs, the host
// warns that its deadline is not enforced, and it is compiled apart from
// the same module with checks (the compiled code differs).
func TestPreemptOff(t *testing.T) {
	h, logs := newHost(t)
	wasm := wat(t, "passthrough")
	off := false
	s1 := load(t, h, "trusted", wasm, engine.StageConfig{Instances: 1, Limits: engine.Limits{Preempt: &off}})
	s2 := load(t, h, "default", wasm, engine.StageConfig{Instances: 1})
	for _, s := range []*stage{s1, s2} {
		res, err := s.Process(context.Background(), records("a", "b"))
		if err != nil {
			t.Fatal(err)
		}
		if got := summary(res); !slices.Equal(got, []string{"ok:a", "ok:b"}) {
			t.Fatalf("outcomes %v", got)
		}
	}
	if s1.cm == s2.cm {
		t.Error("the module with and without deadline checks share compiled code")
	}
	if !strings.Contains(logs.String(), "cannot be stopped, only abandoned") || !strings.Contains(logs.String(), "stage=trusted") {
		t.Errorf("no warning for the stage without preemption; logs:\n%s", logs.String())
	}
}
