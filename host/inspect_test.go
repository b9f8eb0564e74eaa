package host

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestInspect(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name                   string
		wasm                   func(t *testing.T) []byte
		fast, batch, reactor   bool
		abi                    int
		entry                  string
		sdk                    string
		paths                  []string
		wantImport, wantExport string
		wantErr                error
	}{
		{name: "passthrough", wasm: func(t *testing.T) []byte { return wat(t, "passthrough") },
			fast: true, batch: true, reactor: true, abi: 1, entry: "fast", sdk: "wat/0", paths: []string{},
			wantImport: "extism:host/env.input_load_u64 func(i64) -> i64", wantExport: "weir_transform func(i32, i32) -> i64"},
		{name: "views", wasm: func(t *testing.T) []byte { return wat(t, "views") },
			fast: true, abi: 1, entry: "fast", sdk: "wat/0", paths: []string{"user.name"},
			wantExport: "memory memory(2)"},
		{name: "record", wasm: func(t *testing.T) []byte { return wat(t, "record") },
			entry: "record", wantImport: "extism:host/env.log_info func(i64)", wantExport: "transform func() -> i32"},
		{name: "go-pdk", wasm: func(t *testing.T) []byte { return goPDKModule(t) },
			reactor: true, entry: "record", wantImport: "wasi_snapshot_preview1.fd_write func(i32, i32, i32, i32) -> i32",
			wantExport: "_initialize func()"},
		{name: "bad imports", wasm: func(t *testing.T) []byte { return wat(t, "badimport") },
			entry: "record", wantImport: "env.abort func(i32, i32, i32, i32)", wantErr: ErrInvalidModule},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wasm := tc.wasm(t)
			info, err := Inspect(ctx, wasm)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if info == nil {
				t.Fatal("no info")
			}
			if info.FastPath != tc.fast || info.PlainBatch != tc.batch || info.Reactor != tc.reactor || info.ABIVersion != tc.abi || info.Entry != tc.entry {
				t.Errorf("info %+v", info)
			}
			if info.Size != len(wasm) || len(info.Digest) != 64 {
				t.Errorf("size %d digest %q", info.Size, info.Digest)
			}
			if tc.sdk != "" {
				if info.Manifest == nil || info.Manifest.SDK != tc.sdk || info.Manifest.ABI != 1 || !slices.Equal(info.Manifest.Paths, tc.paths) {
					t.Errorf("manifest %+v", info.Manifest)
				}
			} else if info.Manifest != nil {
				t.Errorf("manifest %+v", info.Manifest)
			}
			var imports, exports []string
			for _, im := range info.Imports {
				imports = append(imports, im.Module+"."+im.Name+" "+im.Type)
			}
			for _, ex := range info.Exports {
				exports = append(exports, ex.Name+" "+ex.Type)
			}
			if tc.wantImport != "" && !slices.Contains(imports, tc.wantImport) {
				t.Errorf("imports %q lack %q", imports, tc.wantImport)
			}
			if tc.wantExport != "" && !slices.Contains(exports, tc.wantExport) {
				t.Errorf("exports %q lack %q", exports, tc.wantExport)
			}
		})
	}
	for _, bad := range [][]byte{nil, []byte("text"), []byte("\x00asm\x01\x00\x00\x00\xff")} {
		if info, err := Inspect(ctx, bad); err == nil || info != nil || !errors.Is(err, ErrInvalidModule) {
			t.Errorf("Inspect(%q) = %v, %v", bad, info, err)
		}
	}
}
