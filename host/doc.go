// Package host runs weir's WebAssembly transform modules on wazero and
// implements engine.Stage for them.
//
// A Host owns a compilation cache and the compiled modules; NewStage (a
// module file) and LoadModule (bytes in memory) return stages that run a
// module over batches of records.
//
// # Compilation and runtimes
//
// Every distinct module (sha256 digest, memory limit, deadline mechanism)
// gets its own wazero runtime, so the memory limit is enforced per module
// by the runtime itself (RuntimeConfig.WithMemoryLimitPages). A module that
// runs past its deadline is stopped by a fuel check the host adds to every
// loop header at load (package wasmrewrite; see preempt.go), or by wazero's
// WithCloseOnContextDone for a module the rewriter cannot handle or when
// Options.WazeroPreempt asks for it; a module of a stage with
// limits.preempt false has no check and its calls run detached (see
// detach.go). All runtimes share one compilation cache (in memory, or on
// disk when Options.CacheDir is set), and a module is compiled once per
// (digest, memory limit, mechanism) however many stages use it; it is
// released with its last stage. Each
// runtime links the host modules a module may import:
// wasi_snapshot_preview1 (only when imported), extism:host/env (the Extism
// kernel, implemented natively in Go) and weir:host/v1 (intrinsics).
//
// # Instances
//
// A stage keeps a pool of instances (StageConfig.Instances, default the
// number of CPUs), created lazily and reused across batches. Instances are
// anonymous, start functions are not run, and a Go reactor's _initialize is
// called once per instance. Exported functions are looked up once per
// instance. An instance that trapped, timed out, exited, returned a bad
// output, or grew its memory past 75% of its limit is closed and never
// reused.
//
// # Call modes
//
// StageConfig.Entry selects how a batch crosses the boundary (auto picks the
// first the module exports):
//
//   - fast: weir_abi_version, weir_alloc and weir_transform. The host writes
//     the whole input frame into guest memory with one copy and reads the
//     output frame back with one read. When the module's manifest
//     (weir_manifest) declares paths, the host parses every record natively
//     into a frame.Doc (a flat tape of the record), fails records that are
//     not JSON itself, and sends each record with the values of the
//     declared paths (frame.FlagViews).
//   - batch: the plain Extism export weir_batch, which takes the input frame
//     as its Extism input and returns the output frame as its output. Works
//     the same on other Extism hosts.
//   - record: an unmodified Extism plugin export (default "transform")
//     called once per record: input is the record, output is the new record,
//     an empty output drops the record, a non-zero return or an Extism error
//     fails it.
//
// The host always sets frame.FlagHostOps and applies document operations
// (OutputOps, OutputEdit) natively with frame.Applier, reusing the parse it
// made for the views.
//
// A batch is split into contiguous chunks run in parallel on up to
// StageConfig.Instances instances; results are merged in input order.
//
// # Containment
//
// Every batch runs under StageConfig.Limits.Timeout. A module that loops,
// traps, exits, exceeds its memory, misuses the Extism kernel, or returns an
// out-of-range, oversized (Limits.MaxOutputBytes) or corrupt output fails
// only that batch: Process returns a *ModuleError naming the module and its
// digest, wrapping one of the Err* sentinels, and the next batch runs on a
// fresh instance. Panics in host code during a call are recovered and turned
// into batch errors; the host never crashes because of a module.
//
// # Per-call state
//
// Host functions find the calling instance's state (Extism kernel memory,
// input, output, error, vars, config) through the context.Context wazero
// passes to them: the host calls every export with its own context type
// (callCtx, one allocation per chunk), and host functions recover the state
// with a type assertion on that context, falling back to ctx.Value when a
// caller wrapped it. This is cheaper than a map from api.Module to state
// (a lock and a hash per host call) and needs no per-instance host module.
package host
