package swap

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/source"
)

// httpsFiles is a loopback TLS server of named files with ETags that
// answers If-None-Match with 304, as a static file server or CDN does.
type httpsFiles struct {
	mu    sync.Mutex
	files map[string][]byte
	srv   *httptest.Server
}

func newHTTPSFiles(t testing.TB) *httpsFiles {
	t.Helper()
	f := &httpsFiles{files: map[string][]byte{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		b, ok := f.files[r.URL.Path]
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		etag := `"` + source.Digest(b)[:16] + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *httpsFiles) put(name string, b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files["/"+name] = b
}

func (f *httpsFiles) remove(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.files, "/"+name)
}

// TestSignatureFixedLater: a module version refused for its signature is
// checked again when its signature changes, although the module did not:
// the module landing before its new signature (the old signature still
// in place), a bad signature replaced by a good one, and no signature yet.
// For file, S3 and HTTPS sources.
func TestSignatureFixedLater(t *testing.T) {
	s3f := newFakeS3(t)
	web := newHTTPSFiles(t)
	dir := t.TempDir()
	type store struct {
		ref    string
		put    func(t *testing.T, name string, b []byte)
		remove func(t *testing.T, name string)
	}
	stores := []struct {
		name string
		store
	}{
		{"file", store{filepath.Join(dir, "m.wasm"),
			func(t *testing.T, name string, b []byte) {
				// Written aside and renamed, as S3 replaces an object
				// whole: a watcher polling between os.WriteFile's
				// truncation and its write read an empty signature, and
				// counted one refusal more.
				tmp := filepath.Join(dir, "."+name+".tmp")
				if err := os.WriteFile(tmp, b, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
			},
			func(t *testing.T, name string) { _ = os.Remove(filepath.Join(dir, name)) }}},
		{"s3", store{"s3://mods/m.wasm",
			func(t *testing.T, name string, b []byte) { s3f.put(t, name, b, nil) },
			func(t *testing.T, name string) {
				if _, err := s3f.client.DeleteObject(context.Background(), deleteInput(s3f.bucket, name)); err != nil {
					t.Fatal(err)
				}
			}}},
		{"https", store{web.srv.URL + "/m.wasm",
			func(t *testing.T, name string, b []byte) { web.put(name, b) },
			func(t *testing.T, name string) { web.remove(name) }}},
	}
	for _, tc := range stores {
		t.Run(tc.name, func(t *testing.T) {
			l, _, logs := newLoader(t, source.Options{S3: s3f.client, HTTPClient: web.srv.Client(), HTTPSAllow: []string{"127.0.0.1"}})
			pub, key := mustKey(t)
			ctx := context.Background()
			v1 := tagModule(t, "one|", false, "")
			tc.put(t, "m.wasm", v1)
			tc.put(t, "m.wasm.sig", source.Sign(key, v1))
			st, err := l.Builder(&engine.Config{})(ctx, engine.StageConfig{Name: "m", Module: tc.ref, Entry: engine.EntryRecord,
				PublicKey: pub, Poll: engine.Duration(10 * time.Millisecond), Instances: 1}, "")
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close(ctx)
			serving := func(want []byte) func() bool {
				return func() bool { return st.(*Stage).Current().Digest == source.Digest(want) }
			}
			refusals := func() int64 { return l.Metrics().Snapshot().Refused[ReasonSignature] }

			// The module lands first; the old signature does not verify it.
			v2 := tagModule(t, "two|", false, "")
			tc.put(t, "m.wasm", v2)
			waitFor(t, "v2 refused for its signature", 10*time.Second, func() bool { return refusals() >= 1 })
			time.Sleep(50 * time.Millisecond) // several polls: no retry while nothing changed
			if n := refusals(); n != 1 {
				t.Fatalf("refused %d times while neither the module nor the signature changed", n)
			}
			tc.put(t, "m.wasm.sig", source.Sign(key, v2))
			waitFor(t, "v2 once its signature landed", 10*time.Second, serving(v2))

			// A bad signature replaced by a good one.
			v3 := tagModule(t, "three|", false, "")
			tc.put(t, "m.wasm.sig", []byte("garbage"))
			tc.put(t, "m.wasm", v3)
			waitFor(t, "v3 refused for its signature", 10*time.Second, func() bool { return refusals() >= 2 })
			if !strings.Contains(logs.String(), "signature_version=") {
				t.Error("the refusal does not name the signature version")
			}
			tc.put(t, "m.wasm.sig", source.Sign(key, v3))
			waitFor(t, "v3 once its signature was fixed", 10*time.Second, serving(v3))

			// No signature yet: a source error, retried.
			v4 := tagModule(t, "four|", false, "")
			tc.remove(t, "m.wasm.sig")
			tc.put(t, "m.wasm", v4)
			waitFor(t, "the missing signature", 10*time.Second, func() bool { return l.Metrics().Snapshot().SourceErrors["m"] >= 1 })
			tc.put(t, "m.wasm.sig", source.Sign(key, v4))
			waitFor(t, "v4 once its signature landed", 10*time.Second, serving(v4))

			res, err := st.Process(ctx, []engine.Record{{Data: []byte("x")}})
			if err != nil || string(res[0].Outputs[0].Data) != "four|x" {
				t.Fatalf("got %v %v", res, err)
			}
			if n := refusals(); n != 2 {
				t.Errorf("refused %d times for signatures, want 2", n)
			}
		})
	}
}

// TestPipelineRetriedWhenSignatureFixed: a pipeline configuration refused
// because a stage's module signature did not verify is built again when
// the signature is fixed, although the configuration did not change.
func TestPipelineRetriedWhenSignatureFixed(t *testing.T) {
	l, _, _ := newLoader(t, source.Options{})
	dir := t.TempDir()
	pub, key := mustKey(t)
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := func(module string) []byte {
		return fmt.Appendf(nil, "version: 1\nstages:\n  - name: tag\n    module: %s\n    entry: record\n    public_key: %q\n", filepath.Join(dir, module), pub)
	}
	a, b := tagModule(t, "a|", false, ""), tagModule(t, "b|", false, "")
	write("a.wasm", a)
	write("a.wasm.sig", source.Sign(key, a))
	write("pipeline.yaml", cfg("a.wasm"))
	ctx := context.Background()
	pipe, err := l.OpenPipeline(ctx, filepath.Join(dir, "pipeline.yaml"), 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close(ctx)
	write("b.wasm", b)
	write("b.wasm.sig", source.Sign(key, a)) // a's signature: wrong for b
	write("pipeline.yaml", cfg("b.wasm"))
	waitFor(t, "the configuration refused", 10*time.Second, func() bool { return l.Metrics().Snapshot().Refused[ReasonBuild] == 1 })
	write("b.wasm.sig", source.Sign(key, b))
	waitFor(t, "the configuration once b's signature was fixed", 10*time.Second, func() bool {
		return pipe.Current().Config.Stages[0].Module == filepath.Join(dir, "b.wasm")
	})
	res, _, err := pipe.Run(ctx, []engine.Record{{Data: []byte("x")}})
	if err != nil || string(res.Records[0].Outputs[0].Data) != "b|x" {
		t.Fatalf("got %+v %v", res, err)
	}
}

func deleteInput(bucket, key string) *s3.DeleteObjectInput {
	return &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
}

// TestPipelineRetryAfterSourceError: when the retry of a refused
// configuration (its module was fixed) fails at the source, the watcher
// tries again once the source heals, although the module does not change
// again.
func TestPipelineRetryAfterSourceError(t *testing.T) {
	// failGets is how many unconditional GETs of b.wasm (a build's
	// fetches; the watcher's checks are conditional) to fail.
	var failGets atomic.Int32
	faker := gofakes3.New(s3mem.New())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/b.wasm") && r.Header.Get("If-None-Match") == "" && failGets.Load() > 0 {
			failGets.Add(-1)
			http.Error(w, "<Error><Code>ServiceUnavailable</Code><Message>down</Message></Error>", http.StatusServiceUnavailable)
			return
		}
		faker.Server().ServeHTTP(w, r)
	}))
	defer srv.Close()
	f := &fakeS3{bucket: "mods", client: s3.New(s3.Options{BaseEndpoint: aws.String(srv.URL), UsePathStyle: true, Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), RetryMaxAttempts: 1,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired, RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired})}
	if _, err := f.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(f.bucket)}); err != nil {
		t.Fatal(err)
	}
	l, _, _ := newLoader(t, source.Options{S3: f.client})
	cfg := func(module string) []byte {
		return fmt.Appendf(nil, "version: 1\nstages:\n  - name: tag\n    module: s3://mods/%s\n    entry: record\n", module)
	}
	f.put(t, "a.wasm", tagModule(t, "a|", false, ""), nil)
	path := filepath.Join(t.TempDir(), "pipeline.yaml")
	if err := os.WriteFile(path, cfg("a.wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pipe, err := l.OpenPipeline(ctx, path, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close(ctx)
	f.put(t, "b.wasm", []byte("not a module yet"), nil)
	if err := os.WriteFile(path, cfg("b.wasm"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the configuration refused", 10*time.Second, func() bool { return l.Metrics().Snapshot().Refused[ReasonBuild] == 1 })
	// The fixed module: the watcher's check sees it, the rebuild's fetches
	// of it fail three times, then the source heals.
	failGets.Store(3)
	f.put(t, "b.wasm", tagModule(t, "b|", false, ""), nil)
	waitFor(t, "the configuration once the source healed", 10*time.Second, func() bool {
		return pipe.Current().Config.Stages[0].Module == "s3://mods/b.wasm"
	})
	if n := l.Metrics().Snapshot().SourceErrors[PipelineTarget]; n < 1 {
		t.Errorf("%d source errors counted, want at least 1 (the failed rebuild)", n)
	}
	res, _, err := pipe.Run(ctx, []engine.Record{{Data: []byte("x")}})
	if err != nil || string(res.Records[0].Outputs[0].Data) != "b|x" {
		t.Fatalf("got %+v %v", res, err)
	}
}
