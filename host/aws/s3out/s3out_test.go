package s3out

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/hosttest"
)

// fakeS3 starts gofakes3 with a bucket and returns its URL and a client.
func fakeS3(t *testing.T, bucket string) (string, *s3.Client) {
	t.Helper()
	hosttest.SetAWSEnv(t)
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	cfg, err := awsconf.Load(context.Background(), "us-east-1", 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(srv.URL); o.UsePathStyle = true })
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return srv.URL, c
}

func outputs(prefix string, n int) []engine.Output {
	out := make([]engine.Output, n)
	for i := range out {
		out[i] = engine.Output{Data: []byte(fmt.Sprintf(`{"%s":%d}`, prefix, i))}
	}
	return out
}

// objects returns every object of bucket: key -> (decoded body, content
// encoding).
func objects(t *testing.T, c *s3.Client, bucket string) map[string][2]string {
	t.Helper()
	ctx := context.Background()
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]string{}
	for _, o := range list.Contents {
		obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		recs, err := engine.DecodeRecords(bytes.NewReader(raw), *o.Key) // gzip and zstd by content
		if err != nil {
			t.Fatalf("object %s: %v", *o.Key, err)
		}
		var lines []string
		for _, r := range recs {
			lines = append(lines, string(r.Data))
		}
		out[*o.Key] = [2]string{strings.Join(lines, "\n"), aws.ToString(obj.ContentEncoding)}
	}
	return out
}

// TestS3Output writes batches of two routes to gofakes3 with each
// compression: one object per batch and route, keys from the template,
// the content compressed as configured.
func TestS3Output(t *testing.T) {
	endpoint, c := fakeS3(t, "logs")
	ctx := context.Background()
	now := time.Now().UTC()
	for _, comp := range []string{"gzip", "zstd", "none"} {
		for _, route := range []string{"ecs", "raw"} {
			s, err := Open(ctx, route, engine.OutputConfig{Type: "s3", Bucket: "logs", Key: comp + "/{route}/{date}/{hour}/{uuid}.ndjson{ext}", Compression: comp, Endpoint: endpoint}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for batch := 0; batch < 2; batch++ {
				if err := s.Write(ctx, outputs(fmt.Sprint(comp, route, batch), 3)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Write(ctx, nil); err != nil { // an empty batch writes nothing
				t.Fatal(err)
			}
		}
	}
	got := objects(t, c, "logs")
	if len(got) != 12 {
		t.Fatalf("%d objects, want 12 (3 compressions x 2 routes x 2 batches): %v", len(got), got)
	}
	ext := map[string]string{"gzip": ".gz", "zstd": ".zst", "none": ""}
	seen := map[string]int{}
	for key, v := range got {
		m := regexp.MustCompile(`^(gzip|zstd|none)/(ecs|raw)/(\d{4}-\d\d-\d\d)/(\d\d)/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.ndjson(\.gz|\.zst)?$`).FindStringSubmatch(key)
		if m == nil {
			t.Errorf("key %s does not follow the template", key)
			continue
		}
		comp, route := m[1], m[2]
		if m[3] != now.Format("2006-01-02") || m[5] != ext[comp] {
			t.Errorf("key %s: date or extension", key)
		}
		if enc := map[string]string{"gzip": "gzip", "zstd": "zstd", "none": ""}[comp]; v[1] != enc {
			t.Errorf("key %s: Content-Encoding %q, want %q", key, v[1], enc)
		}
		batch := -1
		for b := 0; b < 2; b++ {
			want := fmt.Sprintf(`{"%s%s%d":0}`+"\n"+`{"%s%s%d":1}`+"\n"+`{"%s%s%d":2}`, comp, route, b, comp, route, b, comp, route, b)
			if v[0] == want {
				batch = b
			}
		}
		if batch < 0 {
			t.Errorf("key %s: content %q", key, v[0])
		}
		seen[fmt.Sprint(comp, route, batch)]++
	}
	if len(seen) != 12 {
		t.Errorf("objects per compression, route and batch: %v", seen)
	}
}

// TestS3OutputSlowDown puts a proxy answering the first two PutObject
// calls with S3's 503 SlowDown error in front of gofakes3: the SDK's
// retryer re-sends, and the object lands once.
func TestS3OutputSlowDown(t *testing.T) {
	endpoint, c := fakeS3(t, "logs")
	target, _ := url.Parse(endpoint)
	var puts, refused atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Count(strings.Trim(r.URL.Path, "/"), "/") > 0 {
			if n := puts.Add(1); n <= 2 {
				_, _ = io.Copy(io.Discard, r.Body) // the SDK sends the body before reading the answer
				refused.Add(1)
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>1</RequestId><HostId>h</HostId></Error>`)
				return
			}
		}
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	defer proxy.Close()
	cfg, err := awsconf.Load(context.Background(), "us-east-1", 5, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(proxy.URL); o.UsePathStyle = true })
	s := New(client, Options{Bucket: "logs", Key: "k/{uuid}{ext}", Compression: "gzip"})
	if err := s.Write(context.Background(), outputs("x", 5)); err != nil {
		t.Fatal(err)
	}
	if puts.Load() != 3 || refused.Load() != 2 {
		t.Errorf("%d PutObject calls (%d refused), want 3 (2)", puts.Load(), refused.Load())
	}
	got := objects(t, c, "logs")
	if len(got) != 1 {
		t.Fatalf("%d objects, want 1", len(got))
	}
	for _, v := range got {
		if strings.Count(v[0], "\n") != 4 {
			t.Errorf("content %q", v[0])
		}
	}

	// Out of attempts: the error names the bucket, the key and the
	// service's code.
	puts.Store(-100) // every call refused
	cfg2, _ := awsconf.Load(context.Background(), "us-east-1", 2, 10*time.Millisecond)
	client2 := s3.NewFromConfig(cfg2, func(o *s3.Options) { o.BaseEndpoint = aws.String(proxy.URL); o.UsePathStyle = true })
	err = New(client2, Options{Bucket: "logs", Key: "k/{uuid}{ext}"}).Write(context.Background(), outputs("y", 2))
	if err == nil || !strings.Contains(err.Error(), "SlowDown") || !strings.Contains(err.Error(), "PutObject k/") || !strings.Contains(err.Error(), "2 outputs") {
		t.Errorf("error %v", err)
	}
}
