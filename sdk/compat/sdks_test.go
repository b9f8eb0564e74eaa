package compat_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/hosttest"
)

// tagDropCases are records with the outcome the tag-and-drop examples
// must give: read-only events dropped, the others edited in place with
// "weir_tag":"write" (an existing weir_tag replaced where it stands).
var tagDropCases = []struct {
	in   string
	want outcome
}{
	{`{"readOnly":true,"eventName":"GetObject"}`, outcome{status: "dropped"}},
	{`{"a":1,"readOnly":false}`, outcome{status: "ok", outputs: []string{`|{"a":1,"readOnly":false,"weir_tag":"write"}`}}},
	{`{"weir_tag":"old","b":"\u00e9\u2028","n":[1,{"x":null}]}`, outcome{status: "ok", outputs: []string{`|{"weir_tag":"write","b":"é\u2028","n":[1,{"x":null}]}`}}},
	{`{"readOnly":"true"}`, outcome{status: "ok", outputs: []string{`|{"readOnly":"true","weir_tag":"write"}`}}},
	{`[1,2]`, outcome{status: "failed"}},
}

// TestTagDropExamples builds the Rust (wasm32-unknown-unknown and
// wasm32-wasi) and C SDKs' tag-and-drop examples with their real
// toolchains and runs them under weir's fast path, weir's
// plain Extism path (weir_batch), extism go-sdk and the official Extism JS
// host in Node (weir_batch without FlagHostOps: the SDK applies its edits
// itself): known outcomes on hand-written records, and the same outputs
// on every host for the compat corpus.
func TestTagDropExamples(t *testing.T) {
	root := hosttest.RepoRoot(t)
	builds := map[string]func(t *testing.T) string{
		"rust": func(t *testing.T) string {
			return hosttest.Rust(t, filepath.Join(root, "sdk", "rust", "example", "tag_drop.rs"))
		},
		"rust-wasi": func(t *testing.T) string {
			return hosttest.RustWASI(t, filepath.Join(root, "sdk", "rust", "example", "tag_drop.rs"))
		},
		"c": func(t *testing.T) string {
			return hosttest.C(t, filepath.Join(root, "sdk", "c", "example", "tag_drop.c"))
		},
	}
	for _, lang := range []string{"rust", "rust-wasi", "c"} {
		t.Run(lang, func(t *testing.T) {
			wasm, err := os.ReadFile(builds[lang](t))
			if err != nil {
				t.Fatal(err)
			}
			var recs []engine.Record
			for _, c := range tagDropCases {
				recs = append(recs, engine.Record{Data: []byte(c.in)})
			}
			for _, host := range []string{"fast", "batch", "node"} {
				var got []outcome
				if host == "node" {
					got = underNode(t, wasm, recs)
				} else {
					got = underWeir(t, wasm, host, recs)
				}
				for i, c := range tagDropCases {
					g := got[i]
					if g.status != c.want.status || fmt.Sprint(g.outputs) != fmt.Sprint(c.want.outputs) {
						t.Errorf("%s: record %d %s: %v, want %v", host, i, c.in, g, c.want)
					}
				}
			}

			recs = corpus(t)
			fast := underWeir(t, wasm, "fast", recs)
			n := map[string]int{}
			for _, o := range fast {
				n[o.status]++
			}
			if n["ok"] < 3 || n["dropped"] < 3 || n["failed"] != 1 {
				t.Fatalf("fast path outcomes %v: want several ok and dropped, one failed (the truncated record)", n)
			}
			sameOutcomes(t, "weir plain (weir_batch)", fast, underWeir(t, wasm, "batch", recs))
			sameOutcomes(t, "extism go-sdk", fast, underGoSDK(t, wasm, recs))
			sameOutcomes(t, "extism js (node)", fast, underNode(t, wasm, recs))
		})
	}
}
