//go:build !wasip1

package assemblyscript_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host"
	"github.com/weirhq/weir/host/hosttest"
)

// TestConfigAndLog runs a module that reads the stage's config with
// config() and logs with logInfo() under weir: the value set in the stage
// config reaches the module (null when unset), and the log line reaches
// weir's log.
func TestConfigAndLog(t *testing.T) {
	wasm, err := os.ReadFile(hosttest.AssemblyScript(t, "testdata/config.ts", "--runtime", "stub"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		config map[string]string
		want   string
		log    string
	}{
		{map[string]string{"suffix": "!é"}, "x!é", "config-module: suffix !é"},
		{nil, "x|none", "config-module: suffix unset"},
	} {
		ctx := context.Background()
		var logs bytes.Buffer
		h, err := host.New(ctx, host.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		if err != nil {
			t.Fatal(err)
		}
		st, err := h.LoadModule(ctx, "config", wasm, engine.StageConfig{Config: tc.config, Instances: 1})
		if err != nil {
			t.Fatal(err)
		}
		res, err := st.Process(ctx, []engine.Record{{Data: []byte("x")}})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Status != engine.StatusOK || len(res[0].Outputs) != 1 || string(res[0].Outputs[0].Data) != tc.want {
			t.Errorf("config %v: %+v, want %q", tc.config, res[0], tc.want)
		}
		if !strings.Contains(logs.String(), tc.log) {
			t.Errorf("config %v: the log lacks %q:\n%s", tc.config, tc.log, logs.String())
		}
		st.Close(ctx)
		h.Close(ctx)
	}
}
