;; Constructs the rewriter must decode: every block kind, loops with
;; parameters and results (type-index block types), br_table, typed
;; select, memargs, bulk memory, saturating truncation, SIMD, reference
;; types, imported and defined globals, a start function and elements.
(module
  (type $pair (func (param i32) (result i32 i32)))
  (type $ii (func (param i32) (result i32)))
  (import "env2" "g" (global $imported i32))
  (import "env" "f" (func $f (param i32) (result i32)))
  (memory 1)
  (table 2 funcref)
  (global $counter (mut i32) (i32.const 0))
  (elem (i32.const 0) $sum $f)
  (data "\01\02\03\04")
  (start $init)
  (func $init (global.set $counter (i32.const 1)))
  ;; sum 0..n-1 with a loop that takes and returns values.
  (func $sum (export "sum") (param $n i32) (result i32)
    (local $i i32)
    (i32.const 0)
    (loop $l (param i32) (result i32)
      (i32.add (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  ;; br_table, typed select, f64 constants, saturating truncation.
  (func (export "mix") (param $x i32) (result i32)
    (block $a (block $b (block $c
      (br_table $a $b $c (local.get $x)))
      (return (i32.const 30)))
      (return (select (result i32) (i32.const 20) (i32.const 21) (local.get $x))))
    (i32.add (i32.trunc_sat_f64_s (f64.const 1.5)) (i32.const 9)))
  ;; memory, bulk memory, SIMD, references.
  (func (export "mem") (result i32)
    (memory.fill (i32.const 8) (i32.const 7) (i32.const 4))
    (memory.copy (i32.const 16) (i32.const 0) (i32.const 4))
    (v128.store offset=32 align=4 (i32.const 0)
      (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
        (v128.const i32x4 1 2 3 4) (v128.load (i32.const 0))))
    (drop (ref.is_null (ref.func $sum)))
    (drop (i32x4.extract_lane 2 (v128.load offset=32 (i32.const 0))))
    (i32.add (i32.load8_u offset=17 (i32.const 0)) (i32.load (i32.const 8))))
  ;; nested loops, if/else, a call through the table.
  (func (export "nested") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (loop $outer
      (if (i32.lt_u (local.get $i) (local.get $n))
        (then
          (local.set $acc (i32.add (local.get $acc)
            (call_indirect (type $ii) (local.get $i) (i32.const 0))))
          (loop $inner (br_if $inner (i32.const 0)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $outer))
        (else nop)))
    (i32.add (local.get $acc) (global.get $imported)))
  (func (export "spin") (loop $forever (br $forever))))
