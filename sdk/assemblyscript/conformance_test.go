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
// frames. The SDK writes no edit outputs and does not apply op lists
// itself (a frame without FlagHostOps in which a module writes a document
// must give an error frame): the vectors that need those are logged as
// not run.
func TestGoldenFrames(t *testing.T) {
	wasm, err := os.ReadFile(hosttest.AssemblyScript(t, "testdata/conformance.ts", "--runtime", "stub"))
	if err != nil {
		t.Fatal(err)
	}
	conformance.Run(t, wasm, conformance.Options{})
}
