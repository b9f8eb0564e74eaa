package hosttest

import (
	"bytes"
	"testing"
	"text/template"
)

// TagWAT returns the WebAssembly text of a record-mode Extism module whose
// output is tag followed by the input record. With trap it traps on every
// call; a non-empty imp adds an import "env" imp that weir does not
// provide, so every container refuses the module. Compile it with WAT.
func TagWAT(t testing.TB, tag string, trap bool, imp string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tagWAT.Execute(&b, map[string]any{"Tag": tag, "Trap": trap, "Import": imp}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var tagWAT = template.Must(template.New("tag").Parse(`(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  {{if .Import}}(import "env" "{{.Import}}" (func $missing)){{end}}
  (memory (export "memory") 1)
  (data (i32.const 0) "{{.Tag}}")
  (func (export "transform") (result i32)
    (local $n i64) (local $i i64) (local $off i64)
    {{if .Trap}}(unreachable){{end}}
    (local.set $n (call $input_length))
    (local.set $off (call $alloc (i64.add (local.get $n) (i64.const {{len .Tag}}))))
    (block $d (loop $l
      (br_if $d (i64.ge_u (local.get $i) (i64.const {{len .Tag}})))
      (call $store_u8 (i64.add (local.get $off) (local.get $i)) (i32.load8_u (i32.wrap_i64 (local.get $i))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $l)))
    (local.set $i (i64.const 0))
    (block $d (loop $l
      (br_if $d (i64.ge_u (local.get $i) (local.get $n)))
      (call $store_u8 (i64.add (local.get $off) (i64.add (local.get $i) (i64.const {{len .Tag}}))) (call $input_load_u8 (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $l)))
    (call $output_set (local.get $off) (i64.add (local.get $n) (i64.const {{len .Tag}})))
    (i32.const 0)))
`))
