package host

import (
	"context"
	"slices"
	"strconv"
	"testing"

	extism "github.com/extism/go-sdk"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/frame"
)

// TestExtismCompat runs the same modules on the official Extism host
// (go-sdk) and on weir, and compares what they make of the same inputs:
// record-mode plugins (WAT and go-pdk) and weir_batch (a weir module on a
// plain Extism host).
func TestExtismCompat(t *testing.T) {
	ctx := context.Background()
	h, _ := newHost(t)
	config := map[string]string{"greeting": "hi there"}
	for _, tc := range []struct {
		name   string
		wasm   func(t *testing.T) []byte
		inputs []string
	}{
		{"record.wat", func(t *testing.T) []byte { return wat(t, "record") }, []string{"hello", "!f", "!d", "!c", "MiXeD 123", "!r"}},
		{"go-pdk", func(t *testing.T) []byte { return goPDKModule(t) }, []string{"hello", "wörld", "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wasm := tc.wasm(t)
			plugin := newExtismPlugin(t, wasm, config)
			var want []string
			for _, in := range tc.inputs {
				rc, out, err := plugin.Call("transform", []byte(in))
				switch {
				case err != nil:
					want = append(want, "failed:"+err.Error())
				case rc != 0:
					want = append(want, "failed:transform returned "+strconv.Itoa(int(rc)))
				case len(out) == 0:
					want = append(want, "dropped")
				default:
					want = append(want, "ok:"+string(out))
				}
			}
			s := load(t, h, tc.name, wasm, engine.StageConfig{Config: config})
			res, err := s.Process(ctx, records(tc.inputs...))
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(res); !slices.Equal(got, want) {
				t.Errorf("weir   %q\ngo-sdk %q", got, want)
			}
		})
	}

	t.Run("weir_batch", func(t *testing.T) {
		wasm := wat(t, "passthrough")
		plugin := newExtismPlugin(t, wasm, nil)
		in := frame.NewInput(nil, frame.FlagHostOps, nil)
		payloads := []string{"a", `{"b":2}`, ""}
		for _, p := range payloads {
			in.AddRecord([]byte(p), "pk", "seq", 0, 0, "src")
		}
		rc, out, err := plugin.Call("weir_batch", in.Finish())
		if err != nil || rc != 0 {
			t.Fatalf("go-sdk weir_batch: rc %d, %v", rc, err)
		}
		or, err := frame.ReadOutput(out, len(payloads))
		if err != nil {
			t.Fatal(err)
		}
		var rec frame.OutRecord
		for _, p := range payloads {
			if err := or.Next(&rec); err != nil {
				t.Fatal(err)
			}
			if rec.Status != frame.StatusOK || len(rec.Outputs) != 1 || string(rec.Outputs[0].Body) != p {
				t.Errorf("go-sdk output %+v, want %q", rec, p)
			}
		}
	})
}

func newExtismPlugin(t *testing.T, wasm []byte, config map[string]string) *extism.Plugin {
	t.Helper()
	manifest := extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: wasm}}, Config: config}
	plugin, err := extism.NewPlugin(context.Background(), manifest, extism.PluginConfig{EnableWasi: true}, nil)
	if err != nil {
		t.Fatalf("go-sdk: %v", err)
	}
	t.Cleanup(func() { plugin.Close(context.Background()) })
	return plugin
}
