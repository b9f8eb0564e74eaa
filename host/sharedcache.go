package host

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/sys/cpu"
)

// SharedCache is a compilation cache shared by machines, such as an S3
// prefix (package host/sharedcache): Lambda containers start with an empty
// /tmp on CPUs that may differ from the one that built the package, so a
// cache shipped in the package is not always usable, while a shared one
// is filled by the first container that compiles a module and read by
// the others. Names are the paths of files relative to the local cache
// folder ("wazero-v1.12.0-arm64-linux/<key>", "weir-rewrite-v3-…/<digest>.wasm"):
// wazero's key already covers its version, the architecture, the CPU
// features it compiled for and the module's bytes, so a name never
// denotes two different contents. Its compiled code is run as it is,
// outside the sandbox, so an implementation must authenticate what it
// returns (host/sharedcache tags each object with an HMAC): a store
// others can write to, read without authentication, can run code in this
// process.
type SharedCache interface {
	// Get returns the file's content, or an error wrapping fs.ErrNotExist
	// when it is not there.
	Get(ctx context.Context, name string) ([]byte, error)
	// Put stores the file's content.
	Put(ctx context.Context, name string, data []byte) error
}

// sharedTimeout bounds one shared cache transfer: a slow store must not
// hold up a cold start longer than compiling would.
const sharedTimeout = 10 * time.Second

// shared is a SharedCache in front of a local cache folder.
type shared struct {
	store  SharedCache
	dir    string // the local cache folder (wazero's and the rewrites' parent)
	logger *slog.Logger
}

// fetch makes sure the file name is in the local folder, downloading it
// when it is not. It reports whether the file is there afterwards.
func (s *shared) fetch(ctx context.Context, name string) bool {
	if s == nil {
		return false
	}
	local := filepath.Join(s.dir, filepath.FromSlash(name))
	if _, err := os.Stat(local); err == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, sharedTimeout)
	defer cancel()
	start := time.Now()
	data, err := s.store.Get(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		s.logger.LogAttrs(ctx, slog.LevelDebug, "host: not in the shared compilation cache", slog.String("name", name))
		return false
	}
	if err != nil {
		s.logger.LogAttrs(ctx, slog.LevelWarn, "host: cannot read the shared compilation cache; compiling", slog.String("name", name), slog.String("error", err.Error()))
		return false
	}
	if err := writeAtomic(local, data); err != nil {
		s.logger.LogAttrs(ctx, slog.LevelWarn, "host: cannot keep a file of the shared compilation cache", slog.String("name", name), slog.String("error", err.Error()))
		return false
	}
	s.logger.LogAttrs(ctx, slog.LevelDebug, "host: read from the shared compilation cache",
		slog.String("name", name), slog.Int("bytes", len(data)), slog.Duration("took", time.Since(start)))
	return true
}

// publish uploads the local file name to the shared cache. Failures are
// logged: the module runs anyway, and the next container compiles it.
func (s *shared) publish(ctx context.Context, name string) {
	if s == nil {
		return
	}
	data, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(name)))
	if err != nil {
		s.logger.LogAttrs(ctx, slog.LevelWarn, "host: compiled code not found in the cache folder; not shared", slog.String("name", name), slog.String("error", err.Error()))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, sharedTimeout)
	defer cancel()
	start := time.Now()
	if err := s.store.Put(ctx, name, data); err != nil {
		s.logger.LogAttrs(ctx, slog.LevelWarn, "host: cannot write to the shared compilation cache", slog.String("name", name), slog.String("error", err.Error()))
		return
	}
	s.logger.LogAttrs(ctx, slog.LevelInfo, "host: stored compiled code in the shared compilation cache",
		slog.String("name", name), slog.Int("bytes", len(data)), slog.Duration("took", time.Since(start)))
}

// writeAtomic writes data to path through a temporary file in its folder.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// wazeroCacheName is the name (relative to the cache folder) of the file
// in which wazero's compilation cache keeps code compiled from the bytes
// code in this process, as wazero v1.12 computes it
// (internal/engine/wazevo/engine_cache.go fileCacheKey and
// wasm.Module.AssignModuleID, cache.go ensuresFileCache):
//
//	wazero-<version>-<GOARCH>-<GOOS>/hex(sha256(moduleID || "WAZEVO" || cpu))
//	moduleID = sha256(code || ensureTermination)
//	cpu      = the CPU feature bits the compiler used, 8 bytes little-endian
//
// A cache file therefore only serves the same wazero version, OS,
// architecture and CPU features: another CPU computes another name, misses
// and compiles (no crash, no error). TestWazeroCacheName checks this
// against wazero's own files, so a wazero upgrade that changes the scheme
// fails there rather than silently sharing nothing.
func wazeroCacheName(code []byte, ensureTermination bool) string {
	h := sha256.New()
	h.Write(code)
	if ensureTermination {
		h.Write([]byte{1})
	} else {
		h.Write([]byte{0})
	}
	id := h.Sum(nil)
	h = sha256.New()
	h.Write(id)
	h.Write([]byte("WAZEVO"))
	var features [8]byte
	binary.LittleEndian.PutUint64(features[:], wazeroCPUFeatures())
	h.Write(features[:])
	return wazeroCacheDirName() + "/" + hex.EncodeToString(h.Sum(nil))
}

// wazeroCacheDirName is wazero's subfolder of the cache folder.
func wazeroCacheDirName() string {
	return "wazero-" + wazeroVersion() + "-" + runtime.GOARCH + "-" + runtime.GOOS
}

// wazeroVersion is the version wazero reports for itself: its module's
// version in the build information, "dev" when there is none (tests).
func wazeroVersion() string {
	v := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if strings.Contains(dep.Path, "github.com/tetratelabs/wazero") {
				v = dep.Version
			}
		}
		if v == "" || v == "(devel)" {
			v = info.Main.Version
		}
	}
	if v == "" || v == "(devel)" {
		return "dev"
	}
	return v
}

// wazeroCPUFeatures are the CPU feature bits wazero's compiler uses and
// keys its cache by (internal/platform/cpuid_*.go): on amd64 SSE4.1,
// BMI1 and ABM (LZCNT, taken as BMI1+BMI2+POPCNT); on arm64 the LSE
// atomics.
func wazeroCPUFeatures() uint64 {
	var f uint64
	switch runtime.GOARCH {
	case "amd64":
		if cpu.X86.HasSSE41 {
			f |= 1
		}
		if cpu.X86.HasBMI1 {
			f |= 2
		}
		if cpu.X86.HasBMI1 && cpu.X86.HasBMI2 && cpu.X86.HasPOPCNT {
			f |= 4
		}
	case "arm64":
		if cpu.ARM64.HasATOMICS {
			f |= 1
		}
	}
	return f
}

// CacheFeatures describes the platform compiled code is cached for:
// wazero's cache folder name (version, architecture, OS) and the CPU
// feature bits in its keys. weir precompile prints it, so a cache built
// for a Lambda package can be compared with the functions' CPUs.
func CacheFeatures() string {
	return fmt.Sprintf("%s cpu-features=%#x", wazeroCacheDirName(), wazeroCPUFeatures())
}
