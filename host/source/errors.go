package source

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotModified: the object is the version the caller already holds.
	ErrNotModified = errors.New("not modified")
	// ErrTooLarge: the object is larger than the size cap.
	ErrTooLarge = errors.New("object larger than the size cap")
	// ErrDigest: the object's sha256 differs from the expected one.
	ErrDigest = errors.New("digest mismatch")
	// ErrSignature: the signature is missing, malformed or does not verify.
	ErrSignature = errors.New("bad signature")
	// ErrNotWasm: the object is not a core WebAssembly module.
	ErrNotWasm = errors.New("not a WebAssembly module")
	// ErrRef: the reference is malformed, uses an unknown scheme, or names
	// a host that is not allowed.
	ErrRef = errors.New("bad reference")
	// ErrUnavailable: the source failed (network error, timeout, 5xx,
	// throttling, access denied, not found). A watcher backs off and
	// retries.
	ErrUnavailable = errors.New("source unavailable")
)

// unavailable wraps err as an ErrUnavailable naming the reference.
func unavailable(ref string, err error) error {
	return fmt.Errorf("source %s: %w: %w", ref, ErrUnavailable, err)
}
