package hosttest

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/weirhq/weir/host/aws/awsconf"
)

// FakeS3 starts an in-memory S3 server (gofakes3) on loopback for the
// test's life, creates the buckets, and returns its URL and a real AWS SDK
// client for it (path-style addressing). Call SetAWSEnv first.
func FakeS3(tb testing.TB, buckets ...string) (url string, client *s3.Client) {
	tb.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	tb.Cleanup(srv.Close)
	ctx := context.Background()
	cfg, err := awsconf.Load(ctx, "us-east-1", 1, 0)
	if err != nil {
		tb.Fatal(err)
	}
	client = s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(srv.URL); o.UsePathStyle = true })
	for _, b := range buckets {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			tb.Fatal(err)
		}
	}
	return srv.URL, client
}

// S3Objects lists the objects of bucket through client, as a map from
// each key to its ETag (a changed ETag means the object was written
// again).
func S3Objects(tb testing.TB, client *s3.Client, bucket string) map[string]string {
	tb.Helper()
	m := map[string]string{}
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		for _, o := range out.Contents {
			m[aws.ToString(o.Key)] = aws.ToString(o.ETag)
		}
	}
	return m
}
