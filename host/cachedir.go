package host

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// writableDir reports whether files can be created in dir. A variable so
// tests (which often run as root, for whom permissions do not apply) can
// simulate a read-only file system.
var writableDir = func(dir string) bool {
	f, err := os.CreateTemp(dir, ".weir-write-test-*")
	if err != nil {
		return false
	}
	name := f.Name()
	_ = f.Close()
	_ = os.Remove(name)
	return true
}

// usableCacheDir returns a compilation cache folder weir can write to.
// A shipped cache in a read-only location (a Lambda package under
// /var/task) is mirrored in the temporary folder (/tmp on Lambda) by
// symbolic links to its files, and the mirror is used: wazero writes every
// module it compiles, and reads a cached one through the link, without a
// copy (copying the 12 MB of the Go reference module's code took ~10 ms
// of every cold start). A missing folder is created.
func usableCacheDir(dir string) (string, error) {
	fi, err := os.Stat(dir)
	if os.IsNotExist(err) {
		return dir, nil // wazero creates it
	}
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a folder", dir)
	}
	if writableDir(dir) {
		return dir, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(abs))
	dst := filepath.Join(os.TempDir(), "weir-cache-"+hex.EncodeToString(sum[:6]))
	if err := linkTree(abs, dst); err != nil {
		return "", fmt.Errorf("mirror the read-only cache %s in %s: %w", abs, dst, err)
	}
	return dst, nil
}

// linkTree mirrors src's folders in dst and links dst's files to src's.
// Files already in dst are kept.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if _, err := os.Lstat(target); err == nil {
			return nil
		}
		return os.Symlink(p, target)
	})
}
