//go:build !wasip1

package assemblyscript_test

import (
	"os"
	"testing"

	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/sdk/conformance"
)

// TestGoldenFrames runs the golden frames (sdk/testdata/frames) through
// the SDK's conformance module, built with asc: input frames decoded,
// output frames written byte for byte, corrupt frames answered with error
// frames, edit outputs and raw op bytes included, and every op list
// applied by the SDK itself in frames without FlagHostOps.
func TestGoldenFrames(t *testing.T) {
	wasm, err := os.ReadFile(hosttest.AssemblyScript(t, "testdata/conformance.ts", "--runtime", "stub"))
	if err != nil {
		t.Fatal(err)
	}
	conformance.Run(t, wasm, conformance.Options{Edit: true, ApplyOps: true, RawOps: true})
}
