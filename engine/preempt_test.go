package engine

import "testing"

func TestPreemptLimit(t *testing.T) {
	for _, tc := range []struct {
		y    string
		want bool
	}{{"", true}, {"      preempt: false\n", false}, {"      preempt: true\n", true}} {
		c, err := ParseConfig([]byte("version: 1\nstages:\n  - module: m.wasm\n    limits:\n"+tc.y+"      timeout: 1s\n"), "p.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Stages[0].Limits.Preempts(); got != tc.want {
			t.Fatalf("%q: %v", tc.y, got)
		}
	}
	if _, err := ParseConfig([]byte("version: 1\nstages:\n  - module: m.wasm\n    limits:\n      preempt: maybe\n"), "p.yaml"); err == nil {
		t.Fatal("accepted preempt: maybe")
	} else {
		t.Log(err)
	}
}
