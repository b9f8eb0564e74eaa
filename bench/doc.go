// Package bench is weir's benchmark suite. Everything runs in one process
// so that ratios between weir and its baselines hold on a shared, noisy
// machine: run it with `make bench` and record the numbers, with the
// machine they ran on, in RESULTS.md.
//
// The native baselines in bench/baseline produce the same ECS document as
// the cloudtrail-ecs module: one with gjson/sjson (one get and one set per
// field, the way Substation works) and one with encoding/json structs.
package bench
