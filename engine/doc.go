// Package engine is weir's pipeline core: the batch and record model, the
// stage contract, the pipeline configuration, record-level error policy,
// input codecs and output sinks.
//
// The engine knows nothing about WebAssembly or AWS Lambda: a Stage is any
// value that turns a batch of records into one Result per record. The Wasm
// host (package host) implements Stage; the Lambda adapters (package cmd and
// host subpackages) feed batches in and read results out.
//
// # The stage contract
//
// A stage receives a batch of records and returns exactly one Result per
// input record, in input order. A Result is one of:
//
//   - StatusOK with zero or more outputs (zero outputs is a legitimate
//     "consumed, nothing to emit"; an output may carry a route name that
//     selects a named pipeline output);
//   - StatusDropped: the record is filtered out on purpose;
//   - StatusFailed with an error: this record could not be transformed.
//
// An error returned by Process itself means the whole batch failed (the
// module trapped, timed out, returned a corrupt frame...). The pipeline then
// treats every record of the batch as failed with that error, and the stage's
// error policy applies to each.
//
// # Batch memory (arenas)
//
// A caller that runs batch after batch can give each batch an Arena
// through the context (NewArena, WithArena) and Release it once it has
// finished with the batch's outputs (written them to the sinks, built its
// response). The pipeline and the stages (built-in and Wasm) then take the
// outputs' bytes and their Output/Result slices from it (ArenaFrom) instead
// of allocating them, and the next batch reuses the same memory: the
// steady state allocates almost nothing, so the Go collector stops running
// during batches. weir run, weir consume, weir bench and the Lambda
// handler (Invoke) do this. Without an arena (or when Release is never
// called) every batch has memory of its own, as before; the one rule is
// that nothing reads or keeps an output after its arena's Release, which is
// why a Sink must copy what it holds past its Write call.
package engine
