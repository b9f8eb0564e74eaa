// Package s3out is weir's S3 output: every Write (one batch of one route)
// becomes one NDJSON object, gzip- or zstd-compressed, under a key made
// from a template ({date}, {hour}, {uuid}, {route}, {ext}, and {key}, the
// value of the output's batch_key: one object per value). Objects get
// the configured storage class and checksum algorithm.
package s3out

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/klauspost/compress/zstd"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
)

// Options configure a Sink.
type Options struct {
	// Bucket receives the objects.
	Bucket string
	// Key is the key template (default engine.DefaultS3Key).
	Key string
	// Compression is "gzip" (default), "zstd" or "none".
	Compression string
	// Route names the output, for {route}.
	Route string
	// Now returns the time used by {date} and {hour} (default time.Now,
	// in UTC).
	Now func() time.Time
	// StorageClass of the objects (default: the bucket's, STANDARD).
	StorageClass string
	// ChecksumAlgorithm the SDK computes and S3 verifies for each upload
	// (default: the SDK's, CRC32).
	ChecksumAlgorithm string
}

// Sink writes one object per Write. It is safe for concurrent use.
type Sink struct {
	client *s3.Client
	opts   Options
}

// New returns a sink writing to opts.Bucket with client.
func New(client *s3.Client, opts Options) *Sink {
	if opts.Key == "" {
		opts.Key = engine.DefaultS3Key
	}
	if opts.Compression == "" {
		opts.Compression = engine.CompressionGzip
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Sink{client: client, opts: opts}
}

// Open is the engine.SinkFactory of the "s3" output type. An endpoint
// implies path-style addressing (local servers, gofakes3).
func Open(ctx context.Context, name string, oc engine.OutputConfig, _ *engine.Config) (engine.Sink, error) {
	cfg, err := awsconf.LoadRole(ctx, oc.Region, oc.MaxAttempts, 0, oc.AssumeRoleARN)
	if err != nil {
		return nil, fmt.Errorf("s3 output %q: %w", name, err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = awsconf.Endpoint(oc.Endpoint, o.BaseEndpoint)
		o.UsePathStyle = oc.Endpoint != ""
	})
	key := oc.Key
	if key == "" && oc.BatchKey != "" {
		key = DefaultKeyedKey
	}
	return New(client, Options{Bucket: oc.Bucket, Key: key, Compression: oc.Compression, Route: name,
		StorageClass: oc.StorageClass, ChecksumAlgorithm: oc.ChecksumAlgorithm}), nil
}

// DefaultKeyedKey is the key template of an output with a batch_key and
// no key: the batch key first, so that each value is a prefix.
const DefaultKeyedKey = "{key}/" + engine.DefaultS3Key

// KeySegment turns a batch_key value into text for {key}: characters
// other than letters, digits and !-_.*'()=@+,/ become "_", empty path
// segments, "." and ".." are dropped, and an empty result is "_none".
func KeySegment(v string) string {
	mapped := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("!-_.*'()=@+,/", r):
			return r
		}
		return '_'
	}, v)
	var parts []string
	for _, p := range strings.Split(mapped, "/") {
		if p != "" && p != "." && p != ".." {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "_none"
	}
	return strings.Join(parts, "/")
}

// Key expands the key template for time t ({key} is "_none").
func (s *Sink) Key(t time.Time) string { return s.keyFor(t, "") }

// keyFor expands the key template for time t and batch key value key.
func (s *Sink) keyFor(t time.Time, key string) string {
	t = t.UTC()
	ext := map[string]string{engine.CompressionGzip: ".gz", engine.CompressionZstd: ".zst"}[s.opts.Compression]
	return strings.NewReplacer(
		"{date}", t.Format("2006-01-02"),
		"{hour}", t.Format("15"),
		"{uuid}", newUUID(),
		"{route}", s.opts.Route,
		"{ext}", ext,
		"{key}", KeySegment(key),
	).Replace(s.opts.Key)
}

// Write puts outputs as one object. An empty batch writes nothing.
func (s *Sink) Write(ctx context.Context, outputs []engine.Output) error {
	return s.WriteKey(ctx, "", outputs)
}

// WriteKey puts outputs whose batch_key value is key as one object, key
// replacing {key} in the template (see KeySegment).
func (s *Sink) WriteKey(ctx context.Context, batchKey string, outputs []engine.Output) error {
	if len(outputs) == 0 {
		return nil
	}
	var raw bytes.Buffer
	w := engine.NewWriterSink("s3", &raw)
	if err := w.Write(ctx, outputs); err != nil {
		return fmt.Errorf("s3 %s: %w", s.opts.Bucket, err)
	}
	body, encoding, err := compress(raw.Bytes(), s.opts.Compression)
	if err != nil {
		return fmt.Errorf("s3 %s: %w", s.opts.Bucket, err)
	}
	key := s.keyFor(s.opts.Now(), batchKey)
	in := &s3.PutObjectInput{
		Bucket:      aws.String(s.opts.Bucket),
		Key:         aws.String(key),
		Body:        bytes.NewReader(body),
		ContentType: aws.String("application/x-ndjson"),
	}
	if encoding != "" {
		in.ContentEncoding = aws.String(encoding)
	}
	if s.opts.StorageClass != "" {
		in.StorageClass = types.StorageClass(s.opts.StorageClass)
	}
	if s.opts.ChecksumAlgorithm != "" {
		in.ChecksumAlgorithm = types.ChecksumAlgorithm(s.opts.ChecksumAlgorithm)
	}
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return fmt.Errorf("s3 %s: PutObject %s (%d outputs): %w", s.opts.Bucket, key, len(outputs), err)
	}
	return nil
}

// compress encodes data; it returns the Content-Encoding to set.
func compress(data []byte, how string) ([]byte, string, error) {
	var buf bytes.Buffer
	switch how {
	case engine.CompressionNone:
		return data, "", nil
	case engine.CompressionZstd:
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			return nil, "", err
		}
		out := zw.EncodeAll(data, nil)
		_ = zw.Close()
		return out, "zstd", nil
	default:
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(data); err != nil {
			return nil, "", err
		}
		if err := zw.Close(); err != nil {
			return nil, "", err
		}
		return buf.Bytes(), "gzip", nil
	}
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Close does nothing: every Write is complete when it returns.
func (s *Sink) Close(context.Context) error { return nil }

var _ engine.KeyedSink = (*Sink)(nil)
