// Package swap keeps modules and pipeline configurations up to date
// without a restart.
//
// A Stage is an engine.Stage whose current module version sits behind an
// atomic pointer with a reference count. Process takes a reference to the
// version current when the batch starts and runs the whole batch on it; a
// swap stores the new version and drops the "current" reference of the
// old one, which is closed when its last batch ends. A batch in flight
// therefore finishes on the version it started with, and no batch ever
// waits for a swap (nor a swap for a batch).
//
// A Pipeline does the same for a whole engine.Pipeline built from a
// configuration that can itself come from a source (a file, S3 or
// AppConfig).
//
// A Loader builds both. For every module with a poll interval (and every
// watched configuration) it runs one watcher goroutine that polls the
// source (conditionally: ETag, AppConfig version, empty AppConfigData
// body), fetches a new version, checks its size, digest and signature,
// compiles it and checks its imports, exports and ABI version, runs the
// stage's smoke tests on it, and only then swaps it in. All of that runs
// on the watcher's goroutine, never on a batch's: the old version serves
// while the new one compiles. A version that fails any step is refused,
// logged (one slog line with the step and the reason) and counted in
// Metrics; the last good version keeps serving. A refusal is keyed by
// everything that decided it (the module's version, its signature's
// version, the stage's pin and public key): the refused version is not
// tried again until one of them changes, so a module refused because it
// landed before its new signature (or with a bad one) is swapped in as
// soon as the right signature is published. Source failures (5xx,
// timeouts, a missing signature) back off exponentially with jitter,
// capped, and are counted.
package swap
