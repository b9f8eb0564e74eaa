package swap

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/appconfigdata"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/weirhq/weir/host"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/source"
)

// tagModule builds a module that prefixes records with tag.
func tagModule(t testing.TB, tag string, trap bool, imp string) []byte {
	t.Helper()
	wat := hosttest.TagWAT(t, tag, trap, imp)
	sum := source.Digest(wat)
	dir := filepath.Join(os.TempDir(), "weir-swap-wat")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, sum[:16]+".wat")
	if err := os.WriteFile(p, wat, 0o644); err != nil {
		t.Fatal(err)
	}
	wasm, err := os.ReadFile(hosttest.WAT(t, p))
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// testLogger returns a logger writing to the test log on failure only.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newLoader(t testing.TB, so source.Options) (*Loader, *host.Host, *syncBuffer) {
	t.Helper()
	ctx := context.Background()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h, err := host.New(ctx, host.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(Options{Host: h, Sources: so, Logger: logger, FetchTimeout: 500 * time.Millisecond,
		BackoffMin: 10 * time.Millisecond, BackoffMax: 80 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		_ = h.Close(ctx)
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	return l, h, logs
}

// fault is how a faulty server answers: 0 normally, faultError with a
// 503, faultHang by waiting for the client to give up.
type fault = atomic.Int32

const (
	faultNone = iota
	faultError
	faultHang
)

func faulty(f *fault, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			next.ServeHTTP(w, r) // faults hit reads only: the publisher can still write
			return
		}
		switch f.Load() {
		case faultError:
			http.Error(w, "<Error><Code>ServiceUnavailable</Code><Message>down</Message></Error>", http.StatusServiceUnavailable)
			return
		case faultHang:
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

// fakeS3 is gofakes3 on a loopback port, with versioning and faults.
type fakeS3 struct {
	client *s3.Client
	fault  fault
	bucket string
}

func newFakeS3(t testing.TB) *fakeS3 {
	t.Helper()
	f := &fakeS3{bucket: "mods"}
	faker := gofakes3.New(s3mem.New())
	srv := httptest.NewServer(faulty(&f.fault, faker.Server()))
	t.Cleanup(srv.Close)
	f.client = s3.New(s3.Options{
		BaseEndpoint:               aws.String(srv.URL),
		UsePathStyle:               true,
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		RetryMaxAttempts:           1,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
	})
	ctx := context.Background()
	if _, err := f.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(f.bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(f.bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeS3) put(t testing.TB, key string, data []byte, meta map[string]string) {
	t.Helper()
	if _, err := f.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(key),
		Body: bytes.NewReader(data), Metadata: meta}); err != nil {
		t.Fatal(err)
	}
}

// appConfig is a loopback AppConfig: the agent's endpoint and the
// AppConfigData API, serving one deployed version per profile.
type appConfig struct {
	mu       sync.Mutex
	deployed map[string]deployed // "app/env/profile"
	tokens   map[string]tokenState
	next     int
	interval int // Next-Poll-Interval-In-Seconds
	fault    fault
	url      string
	gets     atomic.Int64
}

type deployed struct {
	data    []byte
	version string
}

type tokenState struct {
	key, seen string // the profile and the version the session last returned
}

func newAppConfig(t testing.TB) *appConfig {
	t.Helper()
	a := &appConfig{deployed: map[string]deployed{}, tokens: map[string]tokenState{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /applications/{app}/environments/{env}/configurations/{prof}", a.agent)
	mux.HandleFunc("POST /configurationsessions", a.startSession)
	mux.HandleFunc("GET /configuration", a.latest)
	srv := httptest.NewServer(faulty(&a.fault, mux))
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

func (a *appConfig) deploy(key string, data []byte, version string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deployed[key] = deployed{data: data, version: version}
}

func (a *appConfig) agent(w http.ResponseWriter, r *http.Request) {
	a.gets.Add(1)
	a.mu.Lock()
	d, ok := a.deployed[r.PathValue("app")+"/"+r.PathValue("env")+"/"+r.PathValue("prof")]
	a.mu.Unlock()
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Configuration-Version", d.version)
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(d.data)
}

func (a *appConfig) newToken(key, seen string) string {
	a.next++
	tok := "tok-" + strconv.Itoa(a.next)
	a.tokens[tok] = tokenState{key: key, seen: seen}
	return tok
}

func (a *appConfig) startSession(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ApplicationIdentifier, EnvironmentIdentifier, ConfigurationProfileIdentifier string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	tok := a.newToken(in.ApplicationIdentifier+"/"+in.EnvironmentIdentifier+"/"+in.ConfigurationProfileIdentifier, "")
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"InitialConfigurationToken": tok})
}

func (a *appConfig) latest(w http.ResponseWriter, r *http.Request) {
	a.gets.Add(1)
	a.mu.Lock()
	defer a.mu.Unlock()
	tok := r.URL.Query().Get("configuration_token")
	st, ok := a.tokens[tok]
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", "BadRequestException")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"Message":"Token is invalid or was already used"}`)
		return
	}
	delete(a.tokens, tok) // one use
	d := a.deployed[st.key]
	w.Header().Set("Next-Poll-Configuration-Token", a.newToken(st.key, d.version))
	w.Header().Set("Next-Poll-Interval-In-Seconds", strconv.Itoa(a.interval))
	w.Header().Set("Content-Type", "application/octet-stream")
	if d.version == st.seen {
		return // unchanged: empty body
	}
	w.Header().Set("Version-Label", d.version)
	_, _ = w.Write(d.data)
}

func (a *appConfig) dataClient() *appconfigdata.Client {
	return appconfigdata.New(appconfigdata.Options{
		BaseEndpoint:     aws.String(a.url),
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		RetryMaxAttempts: 1,
	})
}

func (a *appConfig) agentAddress() string { return strings.TrimPrefix(a.url, "http://") }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustKey(t testing.TB) (string, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := source.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := source.ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pub, k
}

var _ = fmt.Sprint

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }

func mustPub(t testing.TB, s string) ed25519.PublicKey {
	t.Helper()
	k, err := source.ParsePublicKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
