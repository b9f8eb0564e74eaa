package engine_test

import (
	"os"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
)

// TestREADMEOutputsExample: the outputs example of the README is a valid
// configuration, so that what a newcomer copies works.
func TestREADMEOutputsExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "Outputs (also usable by `weir run`):\n\n```yaml\n")
	if !ok {
		t.Fatal("README: no outputs example")
	}
	block, _, _ := strings.Cut(after, "```")
	cfg, err := engine.ParseConfig([]byte("version: 1\nstages: [{module: a.wasm}]\n"+block), "README.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Outputs) < 10 || cfg.Outputs["lake"].Batch == nil || cfg.Outputs["alerts"].MessageGroupKey == "" || cfg.Outputs["central"].AssumeRoleARN == "" {
		t.Errorf("outputs read from the README: %+v", cfg.Outputs)
	}
}
