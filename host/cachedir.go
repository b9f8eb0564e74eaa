package host

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
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
// /var/task) is copied once to the temporary folder (/tmp on Lambda) and
// the copy is used: wazero writes every module it compiles and the cache
// files are read at startup anyway. A missing folder is created.
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
	if err := copyTree(abs, dst); err != nil {
		return "", fmt.Errorf("copy the read-only cache %s to %s: %w", abs, dst, err)
	}
	return dst, nil
}

// copyTree copies the regular files under src to dst, skipping files
// already there with the same size (a warm container's earlier copy).
func copyTree(src, dst string) error {
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
		info, err := d.Info()
		if err != nil {
			return err
		}
		if t, err := os.Stat(target); err == nil && t.Size() == info.Size() {
			return nil
		}
		return copyFile(p, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".copy-*")
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, in); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
