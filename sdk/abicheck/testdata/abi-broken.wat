;; abi-broken: a module that breaks the ABI on purpose, for weir
;; abi-check's test. It answers every input frame with the same empty
;; output frame: right for an empty batch, wrong (0 outcomes) for any
;; other, and an output frame where a corrupt input frame needs an error
;; frame.
(module
  (memory (export "memory") 20)
  (data (i32.const 64) "WEIR\02\01\00\00\00\00\00\00\00\00\00\00")
  (data (i32.const 128) "{\22abi\22:1,\22paths\22:[]}")
  (func (export "weir_abi_version") (result i32) (i32.const 1))
  (func (export "weir_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "weir_manifest") (result i64) (i64.const 549755813908))
  (func (export "weir_transform") (param i32 i32) (result i64) (i64.const 274877906960)))
