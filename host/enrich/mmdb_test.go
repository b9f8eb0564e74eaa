package enrich

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/source"
)

// fakeS3 is gofakes3 on loopback with a bucket; it counts the GETs it
// answers with a body and can be made to fail.
type fakeS3 struct {
	client *s3.Client
	gets   atomic.Int64 // GetObject answered 200
	down   atomic.Bool  // answer 503 to everything
}

func newFakeS3(t *testing.T, bucket string) *fakeS3 {
	t.Helper()
	f := &fakeS3{}
	s3h := gofakes3.New(s3mem.New()).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.down.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		s3h.ServeHTTP(rec, r)
		if r.Method == http.MethodGet && rec.status == http.StatusOK && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 {
			f.gets.Add(1)
		}
	}))
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
	if _, err := f.client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return f
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (f *fakeS3) put(t *testing.T, bucket, key string, data []byte, meta map[string]string) {
	t.Helper()
	if _, err := f.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: bytes.NewReader(data), Metadata: meta}); err != nil {
		t.Fatal(err)
	}
}

// asnOf looks ip up in env's "asn" database and returns the record.
func asnOf(t *testing.T, env *Env, ip string) string {
	t.Helper()
	rs := results(t, env.Call(context.Background(), FuncMMDB, []byte(`{"db":"asn","ips":["`+ip+`"]}`)))
	if rs[0].Status != StatusOK {
		t.Fatalf("%s: status %d %q", ip, rs[0].Status, rs[0].Value)
	}
	return string(rs[0].Value)
}

// TestMMDBFromS3 loads MMDB databases from s3:// references: loaded once
// per version and shared, a new version loaded for the Envs created after
// it, the loaded version kept when S3 fails, bad objects refused.
func TestMMDBFromS3(t *testing.T) {
	f := newFakeS3(t, "geo")
	f.put(t, "geo", "asn.mmdb", buildASN(t), nil)
	caps := engine.Capabilities{MMDB: map[string]string{"asn": "s3://geo/asn.mmdb"}}
	opts := Options{Sources: source.Options{S3: f.client}}
	newEnv := func() (*Env, error) { return New(caps, opts) }

	first, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	if got := asnOf(t, first, "192.0.2.0"); !strings.Contains(got, `"autonomous_system_number":7922`) {
		t.Fatalf("192.0.2.0: %s", got)
	}
	second, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	if second.mmdb["asn"] != first.mmdb["asn"] || f.gets.Load() != 1 {
		t.Fatalf("an unchanged object was loaded again (%d downloads)", f.gets.Load())
	}

	// A new version: the Envs created from now on use it.
	f.put(t, "geo", "asn.mmdb", buildMMDB(t, map[string]mmdbtype.Map{
		"192.0.2.0/24": {"autonomous_system_number": mmdbtype.Uint32(65000), "autonomous_system_organization": mmdbtype.String("New AS")},
	}), nil)
	third, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	if got := asnOf(t, third, "192.0.2.0"); !strings.Contains(got, `"autonomous_system_number":65000`) {
		t.Fatalf("new version: %s", got)
	}
	if got := asnOf(t, first, "192.0.2.0"); !strings.Contains(got, `7922`) {
		t.Fatalf("an existing Env changed database: %s", got)
	}

	// S3 down: the loaded version serves.
	f.down.Store(true)
	fourth, err := newEnv()
	if err != nil {
		t.Fatalf("with S3 down and a version loaded: %v", err)
	}
	if fourth.mmdb["asn"] != third.mmdb["asn"] {
		t.Fatal("with S3 down, the loaded version was not used")
	}
	f.down.Store(false)

	tests := []struct {
		name string
		ref  string
		put  func()
		want string
	}{
		{"missing object", "s3://geo/none.mmdb", func() {}, "unavailable"},
		{"not a database", "s3://geo/junk.mmdb", func() { f.put(t, "geo", "junk.mmdb", []byte("junk"), nil) }, "junk.mmdb"},
		{"digest mismatch", "s3://geo/bad.mmdb", func() {
			f.put(t, "geo", "bad.mmdb", buildASN(t), map[string]string{"sha256": strings.Repeat("0", 64)})
		}, "digest mismatch"},
		{"bad reference", "s3://", func() {}, "bad reference"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.put()
			_, err := New(engine.Capabilities{MMDB: map[string]string{"asn": tc.ref}}, opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
