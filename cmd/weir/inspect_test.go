package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weirhq/weir/host/hosttest"
)

// hostTestdata is a module source of host/testdata.
func hostTestdata(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(hosttest.RepoRoot(t), "host", "testdata", name)
}

// TestInspect checks "weir inspect", in text and JSON, on the reference
// module (fast path), a record-mode Extism plugin, and a module whose
// imports this host cannot satisfy.
func TestInspect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		module func(t *testing.T) string
		code   int
		lines  []string // lines of the text output
		fast   bool
		abi    int
		entry  string
		export string
		extism bool // imports extism:host/env
		err    string
	}{
		{name: "cloudtrail-ecs", module: func(t *testing.T) string { return ctModule(t) },
			lines: []string{"fast path:    yes", "abi:          weir frame v1", "entry (auto): fast", "  weir_transform  func(i32, i32) -> i64",
				"  extism:host/env.output_set  func(i64, i64)", "reactor:      yes (_initialize runs once per instance)",
				"views:        errorCode, errorMessage, responseElements.ConsoleLogin, eventSource, sourceIPAddress, tlsDetails.tlsVersion, userIdentity.principalId, eventTime, eventName, userIdentity.userName, userIdentity.type, additionalEventData.UserName, requestParameters.userName, requestParameters.newUserName"},
			fast: true, abi: 1, entry: "fast", export: "weir_transform", extism: true},
		{name: "record.wat", module: func(t *testing.T) string { return hosttest.WAT(t, hostTestdata(t, "record.wat")) },
			lines: []string{"fast path:    no", "abi:          none (not a weir module)", "entry (auto): record", "plain batch:  no",
				"  transform  func() -> i32", "  extism:host/env.input_length  func() -> i64"},
			entry: "record", export: "transform", extism: true},
		{name: "badimport.wat", module: func(t *testing.T) string { return hosttest.WAT(t, hostTestdata(t, "badimport.wat")) },
			code:  2,
			lines: []string{"fast path:    no", "  env.abort  func(i32, i32, i32, i32)"},
			entry: "record", export: "transform", extism: true, err: "unsatisfied imports"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.module(t)
			wasm, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			digest := sha256Hex(wasm)

			r := weir(t, nil, "inspect", path)
			if r.code != tc.code {
				t.Fatal(r)
			}
			lines := strings.Split(r.stdout, "\n")
			want := append([]string{"module:       " + path, "digest:       sha256:" + digest}, tc.lines...)
			for _, w := range want {
				if !slices.Contains(lines, w) {
					t.Errorf("output lacks line %q:\n%s", w, r.stdout)
				}
			}
			if tc.err == "" && r.stderr != "" || !strings.Contains(r.stderr, tc.err) {
				t.Errorf("stderr %q, want %q", r.stderr, tc.err)
			}

			r = weir(t, nil, "inspect", "--json", path)
			if r.code != tc.code {
				t.Fatal(r)
			}
			var info struct {
				Module     string `json:"module"`
				Size       int    `json:"size"`
				Digest     string `json:"digest"`
				ABIVersion int    `json:"abi_version"`
				FastPath   bool   `json:"fast_path"`
				Entry      string `json:"entry"`
				Imports    []struct{ Module, Name, Type string }
				Exports    []struct{ Name, Type string }
				Error      string `json:"error"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
				t.Fatalf("--json output does not parse: %v\n%s", err, r.stdout)
			}
			if info.Module != path || info.Size != len(wasm) || info.Digest != "sha256:"+digest || info.ABIVersion != tc.abi ||
				info.FastPath != tc.fast || info.Entry != tc.entry || !strings.Contains(info.Error, tc.err) || (tc.err == "") != (info.Error == "") {
				t.Errorf("--json: %+v", info)
			}
			hasExtism := slices.ContainsFunc(info.Imports, func(i struct{ Module, Name, Type string }) bool { return i.Module == "extism:host/env" })
			hasExport := slices.ContainsFunc(info.Exports, func(e struct{ Name, Type string }) bool { return e.Name == tc.export })
			if hasExtism != tc.extism || !hasExport {
				t.Errorf("--json: imports %v exports %v", info.Imports, info.Exports)
			}
		})
	}
	t.Run("not wasm", func(t *testing.T) {
		p := writeFile(t, t.TempDir(), "m.wasm", []byte("not wasm"))
		r := weir(t, nil, "inspect", p)
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "not a WebAssembly binary") {
			t.Fatal(r)
		}
	})
}
