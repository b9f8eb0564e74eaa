package sharedcache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/zstd"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/sharedcache"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct{ in, bucket, prefix, err string }{
		{in: "s3://b/weir-cache", bucket: "b", prefix: "weir-cache/"},
		{in: "s3://b/a/b/", bucket: "b", prefix: "a/b/"},
		{in: "s3://b", bucket: "b"},
		{in: "s3:///x", err: "no bucket"},
		{in: "https://b/x", err: "not an s3://"},
	} {
		b, p, err := sharedcache.Parse(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || b != tc.bucket || p != tc.prefix {
			t.Errorf("Parse(%q) = %q, %q, %v; want %q, %q", tc.in, b, p, err, tc.bucket, tc.prefix)
		}
	}
}

// TestSharedCache: a Host with an empty cache folder compiles and stores
// the rewritten module and the compiled code under the prefix (gofakes3,
// the real AWS SDK); a second Host with another empty folder downloads
// both instead of compiling (it stores nothing, and its folder then holds
// exactly the first one's files); a damaged object is recompiled and
// replaced. It runs with an untagged store, where wazero's own checksum
// finds the damage, and with a keyed one, which refuses the damaged
// object because it has no valid tag.
func TestSharedCache(t *testing.T) {
	for _, key := range [][]byte{nil, []byte("0123456789abcdef-cache-key")} {
		t.Run(fmt.Sprintf("key=%t", key != nil), func(t *testing.T) { testSharedCache(t, key) })
	}
}

func testSharedCache(t *testing.T, key []byte) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	_, client := hosttest.FakeS3(t, "cache")
	store := &sharedcache.S3{Client: client, Bucket: "cache", Prefix: "weir/", Key: key}
	wasm, err := os.ReadFile(hosttest.WAT(t, "../testdata/record.wat"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, dir string) {
		t.Helper()
		h, err := host.New(ctx, host.Options{CacheDir: dir, Shared: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close(ctx)
		st, err := h.LoadModule(ctx, "rec", wasm, engine.StageConfig{Entry: engine.EntryRecord, Instances: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close(ctx)
		res, err := st.Process(ctx, []engine.Record{{Data: []byte("abc")}})
		if err != nil || len(res) != 1 || len(res[0].Outputs) != 1 || string(res[0].Outputs[0].Data) != "ABC" {
			t.Fatalf("Process: %+v, %v", res, err)
		}
	}

	first := t.TempDir()
	run(t, first)
	stored := hosttest.S3Objects(t, client, "cache")
	files := cacheFiles(t, first)
	var want []string
	for _, f := range files {
		want = append(want, "weir/"+f+".zst")
	}
	if got := slices.Sorted(maps.Keys(stored)); !slices.Equal(got, want) || len(want) != 2 {
		t.Fatalf("objects %v, want the first folder's 2 files %v", got, want)
	}
	for _, f := range files { // each object is its file, compressed
		data, err := store.Get(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		local, _ := os.ReadFile(filepath.Join(first, f))
		if !bytes.Equal(data, local) {
			t.Fatalf("%s: the object is not the local file", f)
		}
	}

	second := t.TempDir()
	run(t, second)
	if got := hosttest.S3Objects(t, client, "cache"); !maps.Equal(got, stored) {
		t.Fatalf("the second host stored objects (it compiled): %v, before %v", got, stored)
	}
	if got := cacheFiles(t, second); !slices.Equal(got, files) {
		t.Fatalf("second folder %v, want %v", got, files)
	}

	// A damaged download: compiled again, and the object replaced.
	var compiled string
	for _, f := range files {
		if strings.HasPrefix(f, "wazero-") {
			compiled = f
		}
	}
	enc, _ := zstd.NewWriter(nil)
	bad, _ := os.ReadFile(filepath.Join(first, compiled))
	bad = bytes.Clone(bad)
	bad[len(bad)/2] ^= 0xff
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cache"), Key: aws.String("weir/" + compiled + ".zst"), Body: bytes.NewReader(enc.EncodeAll(bad, nil))}); err != nil {
		t.Fatal(err)
	}
	run(t, t.TempDir())
	data, err := store.Get(ctx, compiled)
	good, _ := os.ReadFile(filepath.Join(first, compiled))
	if err != nil || !bytes.Equal(data, good) {
		t.Fatalf("the damaged object was not replaced by fresh code (%v)", err)
	}
}

// TestAuthenticated: a keyed store reads back what it stored, and refuses
// (ErrUnauthenticated) what someone without its key could have written:
// an untagged object, one tagged by another key, one tagged for another
// name, and one whose contents were altered after tagging. A keyless
// store still reads tagged objects, and a key shorter than MinKeyBytes
// is refused.
func TestAuthenticated(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	_, client := hosttest.FakeS3(t, "cache")
	key := []byte("0123456789abcdef-cache-key")
	store := &sharedcache.S3{Client: client, Bucket: "cache", Prefix: "weir/", Key: key}
	other := &sharedcache.S3{Client: client, Bucket: "cache", Prefix: "weir/", Key: []byte("another-key-0123456789")}
	plain := &sharedcache.S3{Client: client, Bucket: "cache", Prefix: "weir/"}
	code := bytes.Repeat([]byte("compiled code "), 100)
	put := func(s *sharedcache.S3, name string, data []byte) {
		t.Helper()
		if err := s.Put(ctx, name, data); err != nil {
			t.Fatal(err)
		}
	}
	raw := func(name string) []byte {
		t.Helper()
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("cache"), Key: aws.String("weir/" + name + ".zst")})
		if err != nil {
			t.Fatal(err)
		}
		defer out.Body.Close()
		b, _ := io.ReadAll(out.Body)
		return b
	}
	putRaw := func(name string, body []byte) {
		t.Helper()
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cache"), Key: aws.String("weir/" + name + ".zst"), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}

	put(store, "good", code)
	if got, err := store.Get(ctx, "good"); err != nil || !bytes.Equal(got, code) {
		t.Fatalf("keyed round trip: %v", err)
	}
	if got, err := plain.Get(ctx, "good"); err != nil || !bytes.Equal(got, code) {
		t.Fatalf("a keyless store reading a tagged object: %v", err)
	}
	put(plain, "untagged", code)
	put(other, "otherkey", code)
	putRaw("moved", raw("good")) // tagged for "good", stored as "moved"
	altered := raw("good")
	enc, _ := zstd.NewWriter(nil)
	altered = enc.EncodeAll(bytes.ToUpper(code), altered[:8+32]) // the tag of code, other contents
	putRaw("altered", altered)
	for _, name := range []string{"untagged", "otherkey", "moved", "altered"} {
		if _, err := store.Get(ctx, name); !errors.Is(err, sharedcache.ErrUnauthenticated) {
			t.Errorf("%s: Get error %v, want ErrUnauthenticated", name, err)
		}
	}
	if _, err := store.Get(ctx, "absent"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("absent: Get error %v, want fs.ErrNotExist", err)
	}
	short := &sharedcache.S3{Client: client, Bucket: "cache", Prefix: "weir/", Key: []byte("short")}
	if err := short.Put(ctx, "x", code); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("a 5-byte key: Put error %v, want a refusal", err)
	}
}

// TestRefusedBeforeDecompressing: a keyed store authenticates an
// object's stored bytes before it decompresses them, so that someone who
// can write under the prefix but lacks the key cannot make a container
// decompress what they wrote (a zstd bomb of a few KB expands to the
// 1 GiB read limit, and the buffer was sized from the object's length
// times four, both before the tag was checked: a container that runs out
// of memory at startup stops the pipeline). The forged objects here are
// not valid zstd: decompressing them fails with a zstd error, refusing
// them first gives ErrUnauthenticated.
func TestRefusedBeforeDecompressing(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	_, client := hosttest.FakeS3(t, "cache")
	store := &sharedcache.S3{Client: client, Bucket: "cache", Prefix: "weir/", Key: []byte("0123456789abcdef-cache-key")}
	tag := bytes.Repeat([]byte{0x5a}, 32) // a forged tag
	garbage := bytes.Repeat([]byte("not zstd "), 1000)
	for _, tc := range []struct{ name, magic string }{
		{"v1", "weirmac1"},
		{"v2", "weirmac2"},
	} {
		body := append(append([]byte(tc.magic), tag...), garbage...)
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("cache"), Key: aws.String("weir/" + tc.name + ".zst"), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Get(ctx, tc.name); !errors.Is(err, sharedcache.ErrUnauthenticated) {
			t.Errorf("%s: a forged tag in front of bytes that are not zstd: Get error %v, want ErrUnauthenticated (refused before decompressing)", tc.name, err)
		}
	}
}

// TestStoredBound: Get refuses an object larger than the stored bound
// before reading it (someone who can write under the prefix cannot make
// a container read an object of any size into memory), and reads one
// within the bound.
func TestStoredBound(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	_, client := hosttest.FakeS3(t, "cache")
	store := &sharedcache.S3{Client: client, Bucket: "cache", Prefix: "weir/", Key: []byte("0123456789abcdef-cache-key")}
	big := make([]byte, 8<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32()) // random: zstd cannot shrink it
	}
	if err := store.Put(ctx, "big", big); err != nil {
		t.Fatal(err)
	}
	defer sharedcache.SetMaxStored(1 << 10)()
	if _, err := store.Get(ctx, "big"); err == nil || !strings.Contains(err.Error(), "more than 1024") {
		t.Fatalf("an object over the bound: Get error %v, want a refusal naming the bound", err)
	}
	sharedcache.SetMaxStored(1 << 20)
	if got, err := store.Get(ctx, "big"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("an object within the bound: %v", err)
	}
}

// cacheFiles lists the files under dir (slash-separated, sorted).
func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
