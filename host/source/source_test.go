package source

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenRefs(t *testing.T) {
	ctx := context.Background()
	o := Options{HTTPSAllow: []string{"modules.example.com"}, S3: nil}
	for _, tc := range []struct {
		ref string
		err string // "" when Open succeeds
	}{
		{"mod.wasm", ""},
		{"file:///abs/mod.wasm", ""},
		{"appconfig://app/env/profile", ""},
		{"https://modules.example.com/m.wasm", ""},
		{"https://evil.example.com/m.wasm", "not in the allow list"},
		{"appconfig://app/env", "want appconfig://application/environment/profile"},
		{"s3://bucket", "want s3://bucket/key"},
		{"ftp://x/y", "unsupported scheme"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			_, err := Open(ctx, tc.ref, o)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrRef)) {
				t.Fatalf("Open(%q) = %v, want %q", tc.ref, err, tc.err)
			}
		})
	}
	if got := SignatureRef("s3://b/k.wasm?versionId=3"); got != "s3://b/k.wasm.sig" {
		t.Errorf("SignatureRef = %q", got)
	}
}

func TestCheckWasm(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    string
		err  string
	}{
		{"core", "\x00asm\x01\x00\x00\x00", ""},
		{"empty", "", "empty"},
		{"text", "(module)", "starts with"},
		{"component", "\x00asm\x0d\x00\x01\x00", "component"},
		{"future version", "\x00asm\x02\x00\x00\x00", "unknown binary version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckWasm([]byte(tc.b))
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrNotWasm)) {
				t.Fatalf("CheckWasm = %v, want %q", err, tc.err)
			}
		})
	}
}

// TestHTTPS: ETag conditional GETs, size cap, server errors.
func TestHTTPS(t *testing.T) {
	body := "\x00asm\x01\x00\x00\x00"
	status := http.StatusOK
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status != http.StatusOK {
			w.WriteHeader(status)
			return
		}
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	ctx := context.Background()
	src, err := Open(ctx, srv.URL+"/m.wasm", Options{HTTPSAllow: []string{u.Host}, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := src.Fetch(ctx, "")
	if err != nil || string(obj.Data) != body || obj.Version != `"v1"` {
		t.Fatalf("fetch: %v %+v", err, obj)
	}
	if _, err := src.Fetch(ctx, obj.Version); !errors.Is(err, ErrNotModified) {
		t.Fatalf("conditional: %v", err)
	}
	status = http.StatusBadGateway
	if _, err := src.Fetch(ctx, ""); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("502: %v", err)
	}
	status = http.StatusOK
	small, _ := Open(ctx, srv.URL+"/m.wasm", Options{HTTPSAllow: []string{u.Hostname()}, HTTPClient: srv.Client(), MaxBytes: 4})
	if _, err := small.Fetch(ctx, ""); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("cap: %v", err)
	}
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "m.wasm"), []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src, _ := Open(ctx, "m.wasm", Options{BaseDir: dir})
	obj, err := src.Fetch(ctx, "")
	if err != nil || string(obj.Data) != "one" {
		t.Fatalf("fetch: %v", err)
	}
	if _, err := src.Fetch(ctx, obj.Version); !errors.Is(err, ErrNotModified) {
		t.Fatalf("unchanged: %v", err)
	}
	if _, err := Open(ctx, "missing.wasm", Options{BaseDir: dir}); err != nil {
		t.Fatal(err)
	}
	missing, _ := Open(ctx, "missing.wasm", Options{BaseDir: dir})
	if _, err := missing.Fetch(ctx, ""); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("missing: %v", err)
	}
}

func TestSignatures(t *testing.T) {
	pub, priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := ParsePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("module bytes")
	sig := Sign(sk, data)
	if err := VerifySignature(pk, data, sig); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{nil, []byte("!!"), Sign(sk, []byte("other"))} {
		if err := VerifySignature(pk, data, bad); !errors.Is(err, ErrSignature) {
			t.Errorf("VerifySignature(%q) = %v", bad, err)
		}
	}
	if _, err := ParsePublicKey("rsa:abc"); !errors.Is(err, ErrSignature) {
		t.Errorf("bad key: %v", err)
	}
	if err := CheckDigest(data, "sha256:"+Digest(data)); err != nil {
		t.Error(err)
	}
	if err := CheckDigest(data, Digest([]byte("x"))); !errors.Is(err, ErrDigest) {
		t.Errorf("digest: %v", err)
	}
}
