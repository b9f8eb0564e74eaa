;; record.wat: an Extism plugin (record mode) written against the raw
;; extism:host/env imports. "transform" upper-cases its input (ASCII) into
;; its output. Inputs starting with '!' select another behaviour:
;;   !f error_set + return 1     !r return 3 without an error
;;   !d no output (dropped)      !o load_u8 far outside kernel memory
;;   !c output config "greeting" !v a per-instance counter kept in a var
;;   !l log_info, then upper-case
;;   !x output "bye", then WASI proc_exit(0)
;;   !X WASI proc_exit(3)
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/env" "config_get" (func $config_get (param i64) (result i64)))
  (import "extism:host/env" "var_get" (func $var_get (param i64) (result i64)))
  (import "extism:host/env" "var_set" (func $var_set (param i64 i64)))
  (import "extism:host/env" "log_info" (func $log_info (param i64)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "record failed on purpose")
  (data (i32.const 32) "greeting")
  (data (i32.const 48) "hello from wat")
  (data (i32.const 64) "n")
  (data (i32.const 80) "bye")

  ;; to_kernel copies n bytes of linear memory at p into a new kernel block.
  (func $to_kernel (param $p i32) (param $n i32) (result i64)
    (local $off i64) (local $i i32)
    (local.set $off (call $alloc (i64.extend_i32_u (local.get $n))))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (call $store_u8 (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))
        (i32.load8_u (i32.add (local.get $p) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.get $off))

  (func (export "transform") (result i32)
    (local $n i64) (local $i i64) (local $off i64) (local $c i32) (local $cmd i32)
    (local.set $n (call $input_length))
    (if (i64.eqz (local.get $n)) (then (return (i32.const 0))))
    (if (i32.and (i64.ge_u (local.get $n) (i64.const 2))
                 (i32.eq (call $input_load_u8 (i64.const 0)) (i32.const 33)))
      (then
        (local.set $cmd (call $input_load_u8 (i64.const 1)))
        (if (i32.eq (local.get $cmd) (i32.const 102))
          (then
            (call $error_set (call $to_kernel (i32.const 0) (i32.const 24)))
            (return (i32.const 1))))
        (if (i32.eq (local.get $cmd) (i32.const 114)) (then (return (i32.const 3))))
        (if (i32.eq (local.get $cmd) (i32.const 100)) (then (return (i32.const 0))))
        (if (i32.eq (local.get $cmd) (i32.const 111))
          (then
            (drop (call $load_u8 (i64.const 0x7fffffffffff)))
            (return (i32.const 0))))
        (if (i32.eq (local.get $cmd) (i32.const 99))
          (then
            (local.set $off (call $config_get (call $to_kernel (i32.const 32) (i32.const 8))))
            (if (i64.eqz (local.get $off)) (then (return (i32.const 0))))
            (call $output_set (local.get $off) (call $length (local.get $off)))
            (return (i32.const 0))))
        (if (i32.eq (local.get $cmd) (i32.const 118))
          (then
            (local.set $off (call $var_get (call $to_kernel (i32.const 64) (i32.const 1))))
            (local.set $c (i32.const 48))
            (if (i64.ne (local.get $off) (i64.const 0))
              (then (local.set $c (call $load_u8 (local.get $off)))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (local.set $off (call $alloc (i64.const 1)))
            (call $store_u8 (local.get $off) (local.get $c))
            (call $var_set (call $to_kernel (i32.const 64) (i32.const 1)) (local.get $off))
            (local.set $off (call $alloc (i64.const 1)))
            (call $store_u8 (local.get $off) (local.get $c))
            (call $output_set (local.get $off) (i64.const 1))
            (return (i32.const 0))))
        (if (i32.eq (local.get $cmd) (i32.const 120))
          (then
            (call $output_set (call $to_kernel (i32.const 80) (i32.const 3)) (i64.const 3))
            (call $proc_exit (i32.const 0))))
        (if (i32.eq (local.get $cmd) (i32.const 88)) (then (call $proc_exit (i32.const 3))))
        (if (i32.eq (local.get $cmd) (i32.const 108))
          (then (call $log_info (call $to_kernel (i32.const 48) (i32.const 14)))))))
    (local.set $off (call $alloc (local.get $n)))
    (block $d (loop $l
      (br_if $d (i64.ge_u (local.get $i) (local.get $n)))
      (local.set $c (call $input_load_u8 (local.get $i)))
      (if (i32.and (i32.ge_u (local.get $c) (i32.const 97)) (i32.le_u (local.get $c) (i32.const 122)))
        (then (local.set $c (i32.sub (local.get $c) (i32.const 32)))))
      (call $store_u8 (i64.add (local.get $off) (local.get $i)) (local.get $c))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $l)))
    (call $output_set (local.get $off) (local.get $n))
    (i32.const 0))
)
