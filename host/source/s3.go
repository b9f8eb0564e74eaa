package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3Source reads an S3 object with a conditional GET on its ETag.
type s3Source struct {
	ref, bucket, key, versionID string
	client                      *s3.Client
	max                         int64
}

func (s *s3Source) Ref() string                { return s.ref }
func (s *s3Source) MinInterval() time.Duration { return 0 }

func (s *s3Source) Fetch(ctx context.Context, prev string) (*Object, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key)}
	if s.versionID != "" {
		in.VersionId = aws.String(s.versionID)
	}
	if prev != "" {
		in.IfNoneMatch = aws.String(prev)
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		var re *awshttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotModified {
			return nil, ErrNotModified
		}
		return nil, unavailable(s.ref, err)
	}
	defer out.Body.Close()
	etag := aws.ToString(out.ETag)
	if prev != "" && etag == prev { // a server that ignores If-None-Match
		return nil, ErrNotModified
	}
	obj := &Object{Version: etag, VersionID: aws.ToString(out.VersionId)}
	for k, v := range out.Metadata {
		if strings.EqualFold(k, "sha256") {
			obj.SHA256 = v
		}
	}
	if n := aws.ToInt64(out.ContentLength); n > s.max {
		return obj, fmt.Errorf("source %s: %w: %d bytes, the cap is %d", s.ref, ErrTooLarge, n, s.max)
	}
	b, err := readCapped(out.Body, s.max)
	if errors.Is(err, ErrTooLarge) {
		return obj, fmt.Errorf("source %s: %w", s.ref, err)
	}
	if err != nil {
		return nil, unavailable(s.ref, err)
	}
	obj.Data = b
	return obj, nil
}
