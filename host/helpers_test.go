package host

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/hosttest"
)

var wasmCache sync.Map // path -> []byte

// readWasm reads a built module once per run.
func readWasm(t testing.TB, path string) []byte {
	t.Helper()
	if b, ok := wasmCache.Load(path); ok {
		return b.([]byte)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wasmCache.Store(path, b)
	return b
}

// wat assembles testdata/<name>.wat with wat2wasm (once per run; skipped,
// or failed in CI, when wabt is missing) and returns the module.
func wat(t testing.TB, name string) []byte {
	t.Helper()
	return readWasm(t, hosttest.WAT(t, filepath.Join("testdata", name+".wat")))
}

// lookupsPassthrough is testdata/passthrough.wat importing an enrichment
// host function (extism:host/user weir_cache) it never calls: a stage
// that makes lookups, so that the host never chunks its batches.
func lookupsPassthrough(t testing.TB) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "passthrough.wat"))
	if err != nil {
		t.Fatal(err)
	}
	withImport := strings.Replace(string(src), "(module\n", "(module\n  (import \"extism:host/user\" \"weir_cache\" (func $weir_cache (param i64) (result i64)))\n", 1)
	if withImport == string(src) {
		t.Fatal("passthrough.wat does not start its module as expected")
	}
	path := filepath.Join(testDir(t), "lookups-passthrough.wat")
	if err := os.WriteFile(path, []byte(withImport), 0o644); err != nil {
		t.Fatal(err)
	}
	return readWasm(t, hosttest.WAT(t, path))
}

var (
	runDirOnce sync.Once
	runDir     string
	runDirErr  error
)

// testDir is a folder shared by the tests of one run (removed by
// TestMain); it holds the on-disk compilation cache.
func testDir(t testing.TB) string {
	t.Helper()
	runDirOnce.Do(func() { runDir, runDirErr = os.MkdirTemp("", "weir-host-test-") })
	if runDirErr != nil {
		t.Fatal(runDirErr)
	}
	return runDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if runDir != "" {
		os.RemoveAll(runDir)
	}
	os.Exit(code)
}

// goPDKModule builds testdata/gopdk-upper, an unmodified go-pdk v1.1.3
// plugin, with the standard Go toolchain (wasip1, c-shared), once per run.
func goPDKModule(t testing.TB) []byte {
	t.Helper()
	return readWasm(t, hosttest.GoModule(t, "host/testdata/gopdk-upper"))
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newHost returns a Host closed with the test, logging at debug level into
// the returned buffer.
func newHost(t testing.TB) (*Host, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// One on-disk compilation cache for the whole run: a module compiled
	// by one test's Host loads from the cache in the next.
	h, err := New(context.Background(), Options{Logger: logger, CacheDir: filepath.Join(testDir(t), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return h, logs
}

// load makes a stage from an in-memory module, closed with the test.
func load(t testing.TB, h *Host, name string, wasm []byte, sc engine.StageConfig) *stage {
	t.Helper()
	st, err := h.LoadModule(context.Background(), name, wasm, sc)
	if err != nil {
		t.Fatalf("LoadModule(%s): %v", name, err)
	}
	t.Cleanup(func() { st.Close(context.Background()) })
	return st.(*stage)
}

// records makes a batch with metadata from payloads.
func records(data ...string) []engine.Record {
	rs := make([]engine.Record, len(data))
	for i, d := range data {
		rs[i] = engine.Record{Data: []byte(d), Meta: engine.Metadata{
			PartitionKey:   fmt.Sprintf("pk-%d", i),
			SequenceNumber: fmt.Sprintf("%d", 1000+i),
			ArrivalTime:    time.Unix(1700000000, int64(i)),
			Source:         "test",
		}}
	}
	return rs
}

// summary renders results compactly: "ok:A|B", "dropped", "failed:msg".
func summary(res []engine.Result) []string {
	out := make([]string, len(res))
	for i, r := range res {
		switch r.Status {
		case engine.StatusOK:
			s := "ok:"
			for j, o := range r.Outputs {
				if j > 0 {
					s += "|"
				}
				if o.Route != "" {
					s += o.Route + "="
				}
				s += string(o.Data)
			}
			out[i] = s
		case engine.StatusDropped:
			out[i] = "dropped"
		default:
			out[i] = "failed:" + r.Err.Error()
		}
	}
	return out
}
