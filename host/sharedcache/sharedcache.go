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
// signatures do not cover it; a rewritten module carries the fuel checks
// that bound a module's run time. So an object is trusted only when it is
// authenticated: with S3.Key set, Put prefixes the compressed contents with
// an HMAC-SHA256 tag over the object's name and compressed contents, and
// Get refuses an object whose tag does not match (one written without the
// key, by another key, or for another name) before it decompresses
// anything. Whoever can write under the prefix but does not hold the key
// cannot make a container run their code, nor make it decompress what
// they wrote (a zstd bomb); a refused object is compiled again and
// overwritten. The Lambda bootstrap requires the key (WEIR_CACHE_S3_KEY).
//
// An authenticated object is
//
//	"weirmac2" | HMAC-SHA256(key, name | 0x00 | zstd(contents)) | zstd(contents)
//
// (The first format, "weirmac1", tagged the decompressed contents, so the
// tag could only be checked after decompressing; its objects are refused
// and rewritten.)
package sharedcache

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
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

// maxObject bounds what Get decompresses (compiled code of very large
// modules is tens of MB).
const maxObject = 1 << 30

// maxStored bounds the object Get reads, before a keyed store can check
// its tag: whoever can write under the prefix without the key can make a
// container read this much into memory at startup, no more. zstd shrinks
// compiled code ~4-6x, so an object this size holds far more than any
// module compiles to. A variable for tests.
var maxStored int64 = 256 << 20

// maxPresize bounds the buffer Get sizes from the object's length before
// decompressing (it grows past that as needed).
const maxPresize = 64 << 20

// S3 is a host.SharedCache in an S3 bucket under a prefix.
type S3 struct {
	// Client is the S3 client (its region and endpoint).
	Client *s3.Client
	// Bucket and Prefix locate the objects; Prefix ends with "/" or is
	// empty.
	Bucket, Prefix string
	// Key authenticates the objects (HMAC-SHA256; at least MinKeyBytes
	// bytes): Put tags what it stores and Get refuses an object without a
	// valid tag. Nil stores and reads untagged objects, trusting whoever
	// can write under the prefix to run code in this process.
	Key []byte
}

// MinKeyBytes is the shortest S3.Key accepted.
const MinKeyBytes = 16

// magic starts an authenticated object; the tag follows.
const magic = "weirmac2"

// ErrUnauthenticated is matched by errors.Is when Get refuses an object
// whose tag is missing or wrong.
var ErrUnauthenticated = errors.New("not authenticated by this cache key")

func (c *S3) tag(name string, data []byte) []byte {
	m := hmac.New(sha256.New, c.Key)
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write(data)
	return m.Sum(nil)
}

func (c *S3) checkKey() error {
	if c.Key != nil && len(c.Key) < MinKeyBytes {
		return fmt.Errorf("sharedcache: the key has %d bytes; at least %d are needed", len(c.Key), MinKeyBytes)
	}
	return nil
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
	if err := c.checkKey(); err != nil {
		return nil, err
	}
	out, err := c.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.Bucket), Key: aws.String(c.key(name))})
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound") {
			return nil, fmt.Errorf("sharedcache: s3://%s/%s: %w", c.Bucket, c.key(name), fs.ErrNotExist)
		}
		return nil, fmt.Errorf("sharedcache: get s3://%s/%s: %w", c.Bucket, c.key(name), err)
	}
	defer out.Body.Close()
	where := fmt.Sprintf("s3://%s/%s", c.Bucket, c.key(name))
	if n := aws.ToInt64(out.ContentLength); n > maxStored {
		return nil, fmt.Errorf("sharedcache: %s: %d bytes, more than %d", where, n, maxStored)
	}
	body := io.Reader(out.Body)
	head := make([]byte, len(magic)+sha256.Size)
	n, err := io.ReadFull(out.Body, head)
	tagged := err == nil && string(head[:len(magic)]) == magic
	switch {
	case c.Key != nil && !tagged:
		return nil, fmt.Errorf("sharedcache: %s: untagged object: %w", where, ErrUnauthenticated)
	case c.Key != nil:
		// The stored bytes are authenticated before anything reads them
		// as zstd.
		stored, err := io.ReadAll(io.LimitReader(out.Body, maxStored+1))
		if err != nil {
			return nil, fmt.Errorf("sharedcache: %s: %w", where, err)
		}
		if int64(len(stored)) > maxStored {
			return nil, fmt.Errorf("sharedcache: %s: larger than %d bytes", where, maxStored)
		}
		if !hmac.Equal(head[len(magic):], c.tag(name, stored)) {
			return nil, fmt.Errorf("sharedcache: %s: wrong tag (another key, another name, or altered): %w", where, ErrUnauthenticated)
		}
		body = bytes.NewReader(stored)
	case !tagged: // an untagged object, read without a key
		body = io.MultiReader(bytes.NewReader(head[:n]), out.Body)
	}
	d, err := zstd.NewReader(body, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxObject))
	if err != nil {
		return nil, fmt.Errorf("sharedcache: %s: %w", where, err)
	}
	defer d.Close()
	var buf bytes.Buffer
	if n := aws.ToInt64(out.ContentLength); n > 0 {
		buf.Grow(int(min(n*4, maxPresize)))
	}
	if _, err := io.Copy(&buf, io.LimitReader(d, maxObject+1)); err != nil {
		return nil, fmt.Errorf("sharedcache: %s: %w", where, err)
	}
	if buf.Len() > maxObject {
		return nil, fmt.Errorf("sharedcache: %s: larger than %d bytes", where, maxObject)
	}
	return buf.Bytes(), nil
}

// Put compresses data and uploads it as the object of name, tagged when
// c.Key is set.
func (c *S3) Put(ctx context.Context, name string, data []byte) error {
	if err := c.checkKey(); err != nil {
		return err
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return err
	}
	var body []byte
	if c.Key != nil {
		// Room for the magic and the tag, written once the compressed
		// bytes they cover are known.
		body = make([]byte, len(magic)+sha256.Size)
	}
	body = enc.EncodeAll(data, body)
	if c.Key != nil {
		copy(body, magic)
		copy(body[len(magic):], c.tag(name, body[len(magic)+sha256.Size:]))
	}
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
