;; A module the loop-check rewriter refuses (it already exports the name
;; of the stop flag), so the host must fall back to wazero's check.
(module
  (global (export "weir:preempt/fuel") i32 (i32.const 0))
  (func (export "spin") (loop $l (br $l))))
