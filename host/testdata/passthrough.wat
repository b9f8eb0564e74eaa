;; passthrough.wat: a weir fast-path module that copies every record
;; through as one raw output, and also exports the plain Extism entry point
;; weir_batch (same transform, frame moved through the Extism kernel).
;;
;; Hostile behaviours for containment tests, chosen by the first record's
;; data when it starts with '!':
;;   !L loop forever         !G grow memory until refused, then trap
;;   !U unreachable          !O out-of-bounds load
;;   !S stack overflow       !P out-of-range output pointer
;;   !C corrupt frame        !N wrong outcome count
;;   !B 40000-byte output    !E error frame ("boom")
;;   !Z return 0
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 2)
  (global $init_count (export "init_count") (mut i32) (i32.const 0))

  (data (i32.const 512) "JUNKJUNKJUNKJUNKJUNK")
  ;; output frame announcing 2 outcomes (both dropped)
  (data (i32.const 600) "WEIR\02\01\00\00\02\00\00\00\00\00\00\00\01\01")
  ;; error frame "boom"
  (data (i32.const 700) "WEIR\03\01\00\00\00\00\00\00\00\00\00\00\04\00\00\00boom")
  (data (i32.const 800) "{\"abi\":1,\"sdk\":\"wat/0\",\"paths\":[]}")

  (func (export "_initialize")
    (global.set $init_count (i32.add (global.get $init_count) (i32.const 1))))

  (func (export "weir_abi_version") (result i32) (i32.const 1))

  (func (export "weir_manifest") (result i64)
    (i64.or (i64.shl (i64.const 800) (i64.const 32)) (i64.const 34)))

  ;; The input frame goes at 64 KiB; the output frame right after it.
  (func $weir_alloc (export "weir_alloc") (param $size i32) (result i32)
    (local $need i32) (local $have i32)
    (if (i32.gt_u (local.get $size) (i32.const 0x3fff0000)) (then (return (i32.const 0))))
    (local.set $need (i32.add (i32.const 65600) (i32.shl (local.get $size) (i32.const 1))))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $need) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $need) (local.get $have)) (i32.const 65535)) (i32.const 16)))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 65536))

  (func $recurse (param $n i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get $n) (i32.const 1))) (i32.const 1)))

  (func $hostile (param $c i32) (result i64)
    (if (i32.eq (local.get $c) (i32.const 76)) (then (loop $l (br $l))))
    (if (i32.eq (local.get $c) (i32.const 71))
      (then
        (loop $g (br_if $g (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
        (unreachable)))
    (if (i32.eq (local.get $c) (i32.const 85)) (then (unreachable)))
    (if (i32.eq (local.get $c) (i32.const 79))
      (then (return (i64.extend_i32_u (i32.load (i32.const 0xfffffff0))))))
    (if (i32.eq (local.get $c) (i32.const 83))
      (then (return (i64.extend_i32_u (call $recurse (i32.const 0))))))
    (if (i32.eq (local.get $c) (i32.const 80)) (then (return (i64.const 0xffff000000000040))))
    (if (i32.eq (local.get $c) (i32.const 67))
      (then (return (i64.or (i64.shl (i64.const 512) (i64.const 32)) (i64.const 20)))))
    (if (i32.eq (local.get $c) (i32.const 78))
      (then (return (i64.or (i64.shl (i64.const 600) (i64.const 32)) (i64.const 18)))))
    (if (i32.eq (local.get $c) (i32.const 66)) (then (return (i64.const 40000))))
    (if (i32.eq (local.get $c) (i32.const 69))
      (then (return (i64.or (i64.shl (i64.const 700) (i64.const 32)) (i64.const 24)))))
    (if (i32.eq (local.get $c) (i32.const 90)) (then (return (i64.const 0))))
    (unreachable))

  ;; skip: the offset after a u32-length-prefixed field at $p.
  (func $skip (param $p i32) (result i32)
    (i32.add (local.get $p) (i32.add (i32.const 4) (i32.load (local.get $p)))))

  (func $weir_transform (export "weir_transform") (param $ptr i32) (param $len i32) (result i64)
    (local $n i32) (local $k i32) (local $views i32) (local $out i32) (local $o i32)
    (local $p i32) (local $i i32) (local $j i32) (local $dl i32)
    (local.set $n (i32.load offset=8 (local.get $ptr)))
    (local.set $k (i32.load offset=12 (local.get $ptr)))
    (local.set $views (i32.and (i32.load16_u offset=6 (local.get $ptr)) (i32.const 1)))
    (local.set $out (i32.and (i32.add (i32.add (local.get $ptr) (local.get $len)) (i32.const 7)) (i32.const -8)))
    (i32.store (local.get $out) (i32.const 0x52494557))
    (i32.store8 offset=4 (local.get $out) (i32.const 2))
    (i32.store8 offset=5 (local.get $out) (i32.const 1))
    (i32.store16 offset=6 (local.get $out) (i32.const 0))
    (i32.store offset=8 (local.get $out) (local.get $n))
    (i32.store offset=12 (local.get $out) (i32.const 0))
    (local.set $o (i32.add (local.get $out) (i32.const 16)))
    (local.set $p (i32.add (local.get $ptr) (i32.const 16)))
    (block $pd (loop $pl
      (br_if $pd (i32.ge_u (local.get $j) (local.get $k)))
      (local.set $p (call $skip (local.get $p)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $pl)))
    (block $done (loop $rec
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (local.set $dl (i32.load (local.get $p)))
      (if (i32.and (i32.eqz (local.get $i))
                   (i32.and (i32.ge_u (local.get $dl) (i32.const 2))
                            (i32.eq (i32.load8_u offset=4 (local.get $p)) (i32.const 33))))
        (then (return (call $hostile (i32.load8_u offset=5 (local.get $p))))))
      (i32.store8 (local.get $o) (i32.const 0))
      (i32.store offset=1 (local.get $o) (i32.const 1))
      (i32.store8 offset=5 (local.get $o) (i32.const 0))
      (i32.store offset=6 (local.get $o) (i32.const 0))
      (i32.store offset=10 (local.get $o) (local.get $dl))
      (memory.copy (i32.add (local.get $o) (i32.const 14)) (i32.add (local.get $p) (i32.const 4)) (local.get $dl))
      (local.set $o (i32.add (local.get $o) (i32.add (i32.const 14) (local.get $dl))))
      (local.set $p (call $skip (local.get $p)))
      (local.set $p (call $skip (local.get $p)))
      (local.set $p (call $skip (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $p (call $skip (local.get $p)))
      (if (local.get $views)
        (then
          (local.set $j (i32.const 0))
          (block $vd (loop $vl
            (br_if $vd (i32.ge_u (local.get $j) (local.get $k)))
            (local.set $p (call $skip (i32.add (local.get $p) (i32.const 1))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $vl)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $rec)))
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
      (i64.extend_i32_u (i32.sub (local.get $o) (local.get $out)))))

  ;; Plain Extism entry point: the input frame is the Extism input, the
  ;; output frame the Extism output.
  (func (export "weir_batch") (result i32)
    (local $n i32) (local $ptr i32) (local $i i32) (local $packed i64)
    (local $optr i32) (local $olen i32) (local $off i64)
    (local.set $n (i32.wrap_i64 (call $input_length)))
    (local.set $ptr (call $weir_alloc (local.get $n)))
    (if (i32.eqz (local.get $ptr)) (then (return (i32.const 1))))
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (if (i32.le_u (i32.add (local.get $i) (i32.const 8)) (local.get $n))
        (then
          (i64.store (i32.add (local.get $ptr) (local.get $i))
            (call $input_load_u64 (i64.extend_i32_u (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 8))))
        (else
          (i32.store8 (i32.add (local.get $ptr) (local.get $i))
            (call $input_load_u8 (i64.extend_i32_u (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))))
      (br $l)))
    (local.set $packed (call $weir_transform (local.get $ptr) (local.get $n)))
    (if (i64.eqz (local.get $packed)) (then (return (i32.const 1))))
    (local.set $optr (i32.wrap_i64 (i64.shr_u (local.get $packed) (i64.const 32))))
    (local.set $olen (i32.wrap_i64 (local.get $packed)))
    (local.set $off (call $alloc (i64.extend_i32_u (local.get $olen))))
    (local.set $i (i32.const 0))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $i) (local.get $olen)))
      (if (i32.le_u (i32.add (local.get $i) (i32.const 8)) (local.get $olen))
        (then
          (call $store_u64 (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))
            (i64.load (i32.add (local.get $optr) (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 8))))
        (else
          (call $store_u8 (i64.add (local.get $off) (i64.extend_i32_u (local.get $i)))
            (i32.load8_u (i32.add (local.get $optr) (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))))
      (br $l2)))
    (call $output_set (local.get $off) (i64.extend_i32_u (local.get $olen)))
    (i32.const 0))
)
