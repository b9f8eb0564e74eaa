package source

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/hosttest"
)

// TestS3AssumeRole: with AssumeRoleARN an s3:// reference is fetched
// with the role's credentials (loopback STS, real stscreds); without it,
// with the client's own.
func TestS3AssumeRole(t *testing.T) {
	hosttest.SetAWSEnv(t)
	sts := hosttest.STS(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	fake := gofakes3.New(s3mem.New()).Server()
	var mu sync.Mutex
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, hosttest.AccessKeyOf(r))
		mu.Unlock()
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx := context.Background()
	cfg, err := awsconf.Load(ctx, "us-east-1", 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(srv.URL); o.UsePathStyle = true })
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("modules")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("modules"), Key: aws.String("m.wasm"), Body: bytes.NewReader([]byte("\x00asm\x01\x00\x00\x00"))}); err != nil {
		t.Fatal(err)
	}
	const role = "arn:aws:iam::210987654321:role/weir-modules"
	for _, tc := range []struct{ role, key string }{{"", "test"}, {role, hosttest.RoleKey(role)}} {
		mu.Lock()
		keys = nil
		mu.Unlock()
		src, err := Open(ctx, "s3://modules/m.wasm", Options{S3: client, AssumeRoleARN: tc.role})
		if err != nil {
			t.Fatal(err)
		}
		obj, err := src.Fetch(ctx, "")
		if err != nil || len(obj.Data) != 8 {
			t.Fatalf("role %q: fetch: %v", tc.role, err)
		}
		mu.Lock()
		if len(keys) != 1 || keys[0] != tc.key {
			t.Errorf("role %q: requests signed with %v, want %s", tc.role, keys, tc.key)
		}
		mu.Unlock()
	}
	if got := sts.Assumed(); len(got) != 1 || got[0] != role {
		t.Errorf("STS assumed %v", got)
	}
}
