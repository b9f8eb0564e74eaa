package host

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tetratelabs/wazero"

	"github.com/weirhq/weir/host/wasmrewrite"
)

// caches are where compiled code and rewritten modules are kept: wazero's
// compilation cache and, with a cache folder, the rewriter's output.
type caches struct {
	code     wazero.CompilationCache
	rewrites *rewriteCache // nil: rewrite at every load
	shared   *shared       // nil: no shared cache
}

// compilationCache returns the wazero cache, nil when there is none.
func (c *caches) compilationCache() wazero.CompilationCache {
	if c == nil {
		return nil
	}
	return c.code
}

// rewriteCache keeps the rewriter's output (package wasmrewrite) in the
// compilation cache folder, one file per original module digest, so that
// a load whose compiled code is cached skips the rewrite too (27 ms for
// the 3.3 MB Go reference module). The folder's name holds
// wasmrewrite.Version and the fuel options: a new rewriter or new options
// never read an old file. The bytes are only as trusted as the compiled
// code beside them (which runs as it is); wazero validates them anyway.
type rewriteCache struct {
	dir string
}

// rewriteDirName is the cache folder's subfolder for rewritten modules.
func rewriteDirName() string {
	opts := fmt.Sprintf("%s\x00%s\x00%s\x00%d", fuelModule, fuelFunc, fuelExport, fuelRefill)
	sum := sha256.Sum256([]byte(opts))
	return fmt.Sprintf("weir-rewrite-v%d-%s", wasmrewrite.Version, hex.EncodeToString(sum[:4]))
}

func newRewriteCache(cacheDir string) *rewriteCache {
	return &rewriteCache{dir: filepath.Join(cacheDir, rewriteDirName())}
}

func (rc *rewriteCache) path(digest string) string {
	return filepath.Join(rc.dir, digest+".wasm")
}

// name is the file's name relative to the cache folder (SharedCache).
func (rc *rewriteCache) name(digest string) string {
	return rewriteDirName() + "/" + digest + ".wasm"
}

// get returns the rewritten module of digest, nil when there is none.
func (rc *rewriteCache) get(digest string) []byte {
	if rc == nil {
		return nil
	}
	b, err := os.ReadFile(rc.path(digest))
	if err != nil || checkMagic(b) != nil {
		return nil
	}
	return b
}

// put stores the rewritten module of digest (written to a temporary file
// and renamed: readers never see half a module).
func (rc *rewriteCache) put(digest string, code []byte) error {
	if rc == nil {
		return nil
	}
	return writeAtomic(rc.path(digest), code)
}

// drop removes the rewritten module of digest (it did not compile).
func (rc *rewriteCache) drop(digest string) {
	if rc != nil {
		_ = os.Remove(rc.path(digest))
	}
}
