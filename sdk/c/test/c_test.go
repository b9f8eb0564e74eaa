//go:build !wasip1

package test_test

import (
	"os"
	"testing"

	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/sdk/conformance"
)

// TestGoldenFrames runs the golden frames (sdk/testdata/frames) through
// the SDK's conformance module, built with clang for wasm32-wasi: input
// frames decoded, output frames written byte for byte (edit outputs and
// raw op bytes included), op lists applied in the guest without
// FlagHostOps compared with the hand-written documents, corrupt frames
// answered with error frames.
func TestGoldenFrames(t *testing.T) {
	wasm, err := os.ReadFile(hosttest.C(t, "../testdata/conformance.c"))
	if err != nil {
		t.Fatal(err)
	}
	conformance.Run(t, wasm, conformance.Options{Edit: true, ApplyOps: true, RawOps: true})
}
