package host

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is. Batch failures are returned as a
// *ModuleError wrapping one of the first group.
var (
	// ErrTimeout: the batch ran past Limits.Timeout.
	ErrTimeout = errors.New("batch call timed out")
	// ErrTrap: the module trapped (unreachable, out-of-bounds access, stack
	// overflow, a Go guest's panic...) or host code panicked during the call.
	ErrTrap = errors.New("module trapped")
	// ErrExit: the module exited (WASI proc_exit; code 0 is a success only
	// in record mode).
	ErrExit = errors.New("module exited")
	// ErrBadOutput: the module returned an out-of-range pointer or length,
	// no frame, or a corrupt frame (which also matches frame.ErrFrame).
	ErrBadOutput = errors.New("module returned a bad output")
	// ErrOutputTooLarge: the module's output exceeds Limits.MaxOutputBytes.
	ErrOutputTooLarge = errors.New("module output exceeds max_output_bytes")
	// ErrKernel: the module misused the Extism kernel (out-of-range offset,
	// var store full...).
	ErrKernel = errors.New("module misused the Extism kernel")
	// ErrModuleFailed: the module reported a batch-level failure (an error
	// frame, or weir_batch returned non-zero).
	ErrModuleFailed = errors.New("module failed the batch")
	// ErrOutOfMemory: the batch's input frame does not fit the module's
	// memory limit (a module that traps with its memory at the limit fails
	// with ErrTrap). A record larger than the limit fails alone with it,
	// unsent, while the rest of its batch runs.
	ErrOutOfMemory = errors.New("out of module memory")
	// ErrCanceled: the caller's context ended before the batch finished.
	ErrCanceled = errors.New("batch canceled")

	// ErrUnsupportedSource: the module reference uses a scheme this host
	// cannot load yet.
	ErrUnsupportedSource = errors.New("module source not supported yet")
	// ErrDigestMismatch: the module's sha256 differs from StageConfig.SHA256.
	ErrDigestMismatch = errors.New("module digest mismatch")
	// ErrInvalidModule: the bytes are not a usable WebAssembly module.
	ErrInvalidModule = errors.New("invalid module")
	// ErrClosed: the Host or stage is closed.
	ErrClosed = errors.New("closed")
)

// ModuleError is a batch failure caused by a module. Error() reads
// `host: module "name" (sha256:0123456789ab): <cause>`.
type ModuleError struct {
	// Module is the stage name, or the module reference.
	Module string
	// Digest is the module's sha256 in hex.
	Digest string
	// Err is the cause; it wraps one of the package's sentinels.
	Err error
}

// Error formats the failure with the module's name and short digest.
func (e *ModuleError) Error() string {
	return fmt.Sprintf("host: module %q (sha256:%s): %v", e.Module, shortDigest(e.Digest), e.Err)
}

// Unwrap returns the cause.
func (e *ModuleError) Unwrap() error { return e.Err }

func shortDigest(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}
