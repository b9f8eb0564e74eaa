// Package bench is weir's benchmark suite. The Go benchmarks in
// bench_test.go run in one process so that ratios between weir and its
// baselines hold on a shared, noisy machine: run them with `make bench` and
// record the numbers, with the machine they ran on, in RESULTS.md.
//
// The native baselines in bench/baseline produce the same ECS document as
// the cloudtrail-ecs module: one with gjson/sjson (one get and one set per
// field, the way Substation works) and one with encoding/json structs.
//
// The tests in correctness_test.go run in `make test`: each benchmarked
// configuration once, on a few records, checking its outputs (the
// cloudtrail-ecs module, on the fast path, without preemption, through
// weir_batch and behind the Lambda handler, produces the baselines'
// documents; every passthrough path returns its input), so a benchmark
// never measures a wrong result.
//
// End-to-end numbers come from `weir bench` (cmd/weir), run as a user runs
// it (cli_test.go): BenchmarkCLI measures the shipped modules as whole
// pipelines over the Stratus Red Team corpus (throughput, latency, memory,
// compile, instantiate and cold start, Lambda cost), and BenchmarkCLIEntry
// compares the fast path with the plain Extism batch export with
// `weir bench --compare` (interleaved rounds, ratio with a confidence
// interval, outputs checked identical). For a one-off measurement, run
// `weir bench` directly; see the README.
package bench
