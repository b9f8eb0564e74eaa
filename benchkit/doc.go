// Package benchkit measures weir pipelines: it is the library behind
// "weir bench", which only parses flags, loads the targets and the input,
// and wires them here.
//
// Run measures one Target (a module as a one-stage pipeline, or a
// pipeline) over an Input held in memory, for every batch size x workers
// combination of the Options; Compare measures two or more targets in
// interleaved rounds, checks that their outputs are the first's (A's), and
// reports the ratio of each one's throughput to A's with a 95% confidence
// interval (with more than two: and each module's size and, with
// Options.ColdStarts, cold starts). Both return a Report, which WriteText, WriteJSON and WriteHTML
// render; the JSON is the format of "weir bench --json".
//
// # What is measured
//
// A first pass runs every batch once through the pipeline and hashes the
// outputs exactly as "weir run" would write them (nothing is written); it
// also finds failed records. Then a warm-up, then the measurement: a
// duration, or a number of passes over the input. Every batch is timed
// around engine.Pipeline.Run; the report has throughput (in total and per
// core), latency percentiles, the share of each stage, host and guest
// memory, startup (compile, instantiate, cold start in a new process) and
// a Lambda compute cost estimate.
//
// # Failures
//
// A record that fails is not an error of Run or Compare: the report is
// then Partial, its Error says which record failed and why, and the
// numbers cover only the batches before the first failure. Errors are for
// what stops the measurement (a module that cannot be built, a canceled
// context).
//
// # Statistics
//
// Percentiles are nearest-rank; medians take the lower middle. Compare
// alternates the targets (A B, B A, ...; with more, in rotating order: A B
// C, B C A, C A B, ...) and summarizes each target's per-round ratios to A
// of events/s by their geometric mean and a Student t 95% interval
// on their logarithms (stats.go).
package benchkit
