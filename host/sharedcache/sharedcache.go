// Package sharedcache keeps weir's compilation cache in S3, shared by the
// machines that run the same modules: Lambda containers start with an
// empty /tmp, on CPUs that may not be the one a shipped cache was built
// on. The first container to compile a module stores the compiled code
// (and the rewritten module) under the prefix; the others download it
// instead of compiling (host.Options.Shared; the bootstrap's
// WEIR_CACHE_S3).
//
// Objects are named prefix + the file's path relative to the local cache
// folder + ".zst", for example
//
//	weir-cache/wazero-v1.12.0-arm64-linux/4f0c…e1.zst
//	weir-cache/weir-rewrite-v3-a3a2e86b/abb2…ea.wasm.zst
//
// wazero's file name is a hash of the module's bytes, the CPU features it
// compiled for and (by its folder) the wazero version, architecture and OS,
// so containers on another CPU or weir version use other objects. Contents
// are zstd-compressed (the Go reference module's 12 MB of machine code
// shrinks ~4x, and a download is that much shorter).
//
// Compiled code runs as native code, outside the Wasm sandbox, and module
// signatures do not cover it: only the function's own role should be able
// to write under the prefix.
package sharedcache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/klauspost/compress/zstd"
)

// maxObject bounds what Get reads (compiled code of very large modules is
// tens of MB).
const maxObject = 1 << 30

// S3 is a host.SharedCache in an S3 bucket under a prefix.
type S3 struct {
	// Client is the S3 client (its region and endpoint).
	Client *s3.Client
	// Bucket and Prefix locate the objects; Prefix ends with "/" or is
	// empty.
	Bucket, Prefix string
}

// Parse splits an s3://bucket/prefix URI. The prefix gets a trailing
// slash when it has none.
func Parse(uri string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", "", fmt.Errorf("sharedcache: %q is not an s3://bucket/prefix URI", uri)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("sharedcache: %q has no bucket", uri)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return bucket, prefix, nil
}

func (c *S3) key(name string) string { return c.Prefix + name + ".zst" }

// Get downloads and decompresses the object of name; a missing object is
// an error wrapping fs.ErrNotExist.
func (c *S3) Get(ctx context.Context, name string) ([]byte, error) {
	out, err := c.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.Bucket), Key: aws.String(c.key(name))})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound") {
			return nil, fmt.Errorf("sharedcache: s3://%s/%s: %w", c.Bucket, c.key(name), fs.ErrNotExist)
		}
		return nil, fmt.Errorf("sharedcache: get s3://%s/%s: %w", c.Bucket, c.key(name), err)
	}
	defer out.Body.Close()
	d, err := zstd.NewReader(out.Body, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("sharedcache: s3://%s/%s: %w", c.Bucket, c.key(name), err)
	}
	defer d.Close()
	var buf bytes.Buffer
	if n := aws.ToInt64(out.ContentLength); n > 0 && n < maxObject {
		buf.Grow(int(n) * 4)
	}
	if _, err := io.Copy(&buf, io.LimitReader(d, maxObject+1)); err != nil {
		return nil, fmt.Errorf("sharedcache: s3://%s/%s: %w", c.Bucket, c.key(name), err)
	}
	if buf.Len() > maxObject {
		return nil, fmt.Errorf("sharedcache: s3://%s/%s: larger than %d bytes", c.Bucket, c.key(name), maxObject)
	}
	return buf.Bytes(), nil
}

// Put compresses data and uploads it as the object of name.
func (c *S3) Put(ctx context.Context, name string, data []byte) error {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return err
	}
	body := enc.EncodeAll(data, nil)
	_, err = c.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(c.Bucket), Key: aws.String(c.key(name)),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
		ContentType: aws.String("application/zstd"),
	})
	if err != nil {
		return fmt.Errorf("sharedcache: put s3://%s/%s: %w", c.Bucket, c.key(name), err)
	}
	return nil
}
