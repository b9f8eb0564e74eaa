;; views.wat: a weir fast-path module whose manifest declares the path
;; "user.name". For each record it returns the input document edited with
;; one operation (set "name_seen" to the view's value, as a string), left
;; to the host to apply (OutputEdit); a record without user.name is dropped.
(module
  (memory (export "memory") 2)
  (data (i32.const 800) "{\"abi\":1,\"sdk\":\"wat/0\",\"paths\":[\"user.name\"]}")
  (data (i32.const 900) "name_seen")

  (func (export "weir_abi_version") (result i32) (i32.const 1))

  (func (export "weir_manifest") (result i64)
    (i64.or (i64.shl (i64.const 800) (i64.const 32)) (i64.const 45)))

  (func (export "weir_alloc") (param $size i32) (result i32)
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

  (func $skip (param $p i32) (result i32)
    (i32.add (local.get $p) (i32.add (i32.const 4) (i32.load (local.get $p)))))

  (func (export "weir_transform") (param $ptr i32) (param $len i32) (result i64)
    (local $n i32) (local $k i32) (local $out i32) (local $o i32)
    (local $p i32) (local $i i32) (local $j i32) (local $t i32) (local $vl i32) (local $vp i32)
    (local.set $n (i32.load offset=8 (local.get $ptr)))
    (local.set $k (i32.load offset=12 (local.get $ptr)))
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
      (local.set $p (call $skip (local.get $p)))
      (local.set $p (call $skip (local.get $p)))
      (local.set $p (call $skip (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $p (call $skip (local.get $p)))
      ;; the first view
      (local.set $t (i32.load8_u (local.get $p)))
      (local.set $vl (i32.load offset=1 (local.get $p)))
      (local.set $vp (i32.add (local.get $p) (i32.const 5)))
      ;; skip every view
      (local.set $j (i32.const 0))
      (block $vd (loop $vv
        (br_if $vd (i32.ge_u (local.get $j) (local.get $k)))
        (local.set $p (call $skip (i32.add (local.get $p) (i32.const 1))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $vv)))
      (if (i32.eqz (local.get $t))
        (then
          (i32.store8 (local.get $o) (i32.const 1))
          (local.set $o (i32.add (local.get $o) (i32.const 1))))
        (else
          (i32.store8 (local.get $o) (i32.const 0))
          (i32.store offset=1 (local.get $o) (i32.const 1))
          (i32.store8 offset=5 (local.get $o) (i32.const 2))
          (i32.store offset=6 (local.get $o) (i32.const 0))
          (i32.store offset=10 (local.get $o) (i32.add (i32.const 18) (local.get $vl)))
          (i32.store8 offset=14 (local.get $o) (i32.const 2))
          (i32.store offset=15 (local.get $o) (i32.const 9))
          (memory.copy (i32.add (local.get $o) (i32.const 19)) (i32.const 900) (i32.const 9))
          (i32.store offset=28 (local.get $o) (local.get $vl))
          (memory.copy (i32.add (local.get $o) (i32.const 32)) (local.get $vp) (local.get $vl))
          (local.set $o (i32.add (local.get $o) (i32.add (i32.const 32) (local.get $vl))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $rec)))
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
      (i64.extend_i32_u (i32.sub (local.get $o) (local.get $out)))))
)
