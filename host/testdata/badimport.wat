;; badimport.wat: imports what the host does not provide.
(module
  (import "extism:host/user" "lookup" (func (param i64) (result i64)))
  (import "env" "abort" (func (param i32 i32 i32 i32)))
  (import "extism:host/env" "alloc" (func (param i32) (result i32)))
  (func (export "transform") (result i32) (i32.const 0))
)
