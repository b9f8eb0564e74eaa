package author

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/weirhq/weir/sdk/abicheck"
)

// ABICheck runs the golden vectors of the module ABI (sdk/testdata/frames,
// sdk/ABI.md "Golden vectors") through the module's fast path with
// abicheck.Check and writes to w one line per check ("ok" or "FAIL" and
// the violation), the notes, and "N checks, M violations". It returns the
// number of violations; the error is for what kept the checks from
// running. When o.Dir is empty the frames are those of the weir checkout
// FindSDK(sdk) finds.
func ABICheck(ctx context.Context, w io.Writer, module string, o abicheck.Options, sdk string) (violations int, err error) {
	if o.Dir == "" {
		root, err := FindSDK(sdk)
		if err != nil {
			return 0, fmt.Errorf("abi-check: the golden frames: %w (or pass --frames)", err)
		}
		o.Dir = filepath.Join(root, "sdk", "testdata", "frames")
	}
	wasm, err := os.ReadFile(module)
	if err != nil {
		return 0, fmt.Errorf("abi-check: %w", err)
	}
	if err := refusePipeline(module, wasm); err != nil {
		return 0, fmt.Errorf("abi-check: %w", err)
	}
	rep, err := abicheck.Check(ctx, wasm, o)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(w, "weir: abi-check %s against the golden frames of %s\n", module, o.Dir)
	for _, r := range rep.Results {
		switch {
		case r.Violation != "":
			fmt.Fprintf(w, "FAIL  %s: %s\n", r.Name, r.Violation)
		case r.Note != "":
			fmt.Fprintf(w, "ok    %s: %s\n", r.Name, r.Note)
		default:
			fmt.Fprintf(w, "ok    %s\n", r.Name)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note  %s\n", n)
	}
	fmt.Fprintf(w, "%d checks, %d violations\n", len(rep.Results), rep.Violations())
	return rep.Violations(), nil
}
