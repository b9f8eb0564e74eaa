package main

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/lambda"
)

// TestSharedCacheEnv: with WEIR_CACHE_S3 (and no cache in the package),
// the first container's setup compiles the pipeline's module and stores
// its rewritten bytes and compiled code under the prefix (gofakes3, the
// real AWS SDK); a second container, with a new empty temporary folder,
// downloads them into it (its folder then holds the same files).
func TestSharedCacheEnv(t *testing.T) {
	ctx := context.Background()
	sc := sharedCacheContainer(t)
	t.Setenv("CACHE_KEY_FOR_TEST", "a-cache-key-of-32-bytes-for-test")
	t.Setenv(lambda.EnvCacheS3Key, "${env:CACHE_KEY_FOR_TEST}")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	container := func() []string { // the cache files of a new container
		t.Helper()
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		if _, err := setup(ctx, logger); err != nil {
			t.Fatal(err)
		}
		var files []string
		_ = filepath.WalkDir(filepath.Join(tmp, "weir-cache"), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, d.Name())
			}
			return nil
		})
		return files
	}
	first := container()
	keys := slices.Sorted(maps.Keys(hosttest.S3Objects(t, sc, "artifacts")))
	if len(keys) != 2 || len(first) != 2 {
		t.Fatalf("after the first container: objects %v, local files %v; want the rewrite and the compiled code", keys, first)
	}
	for i, k := range keys {
		if !strings.HasPrefix(k, "weir-cache/") || !strings.Contains(strings.Join(keys, " "), first[i]) {
			t.Fatalf("object %s does not mirror the local files %v", k, first)
		}
	}
	if second := container(); strings.Join(second, " ") != strings.Join(first, " ") {
		t.Fatalf("the second container's cache %v, want the downloaded %v", second, first)
	}
}

// TestSharedCacheKey: the shared cache is refused at setup without a key,
// or with one shorter than 16 bytes, or with a reference that does not
// resolve, each with an error naming WEIR_CACHE_S3_KEY; objects written
// under another key are not used (the container compiles and replaces
// them, so its local files are its own).
func TestSharedCacheKey(t *testing.T) {
	ctx := context.Background()
	sc := sharedCacheContainer(t)
	t.Setenv("TMPDIR", t.TempDir())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct{ key, want string }{
		{"", "WEIR_CACHE_S3_KEY is not"},
		{"short", "at least 16"},
		{"${env:WEIR_TEST_UNSET_CACHE_KEY}", "WEIR_TEST_UNSET_CACHE_KEY is unset"},
	} {
		t.Setenv(lambda.EnvCacheS3Key, tc.key)
		_, err := setup(ctx, logger)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), lambda.EnvCacheS3Key) {
			t.Errorf("key %q: setup error %v, want one naming %s and saying %q", tc.key, err, lambda.EnvCacheS3Key, tc.want)
		}
	}

	t.Setenv(lambda.EnvCacheS3Key, "the-first-key-0123456789")
	if _, err := setup(ctx, logger); err != nil {
		t.Fatal(err)
	}
	first := hosttest.S3Objects(t, sc, "artifacts")
	t.Setenv(lambda.EnvCacheS3Key, "the-other-key-0123456789")
	t.Setenv("TMPDIR", t.TempDir())
	if _, err := setup(ctx, logger); err != nil {
		t.Fatal(err)
	}
	second := hosttest.S3Objects(t, sc, "artifacts")
	if len(first) != 2 || len(second) != 2 {
		t.Fatalf("objects %v then %v, want the rewrite and the compiled code", first, second)
	}
	for k, etag := range first {
		if second[k] == etag {
			t.Errorf("%s: a container with another key used it instead of compiling and replacing it", k)
		}
	}
}

// sharedCacheContainer sets up the environment of a container whose
// package holds a one-stage pipeline and no cache, with WEIR_CACHE_S3 on
// a gofakes3 bucket "artifacts", and returns that bucket's client.
func sharedCacheContainer(t *testing.T) *s3.Client {
	t.Helper()
	hosttest.SetAWSEnv(t)
	fakeURL, sc := hosttest.FakeS3(t, "artifacts")
	root := t.TempDir()
	module := hosttest.WAT(t, "../../host/testdata/record.wat")
	pipeline := "version: 1\nstages:\n  - name: up\n    module: " + module + "\n    entry: record\noutputs:\n  default: {type: stdout}\n"
	if err := os.WriteFile(filepath.Join(root, "pipeline.yaml"), []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LAMBDA_TASK_ROOT", root)
	t.Setenv(lambda.EnvCacheS3, "s3://artifacts/weir-cache")
	t.Setenv(lambda.EnvS3Endpoint, fakeURL)
	t.Setenv(lambda.EnvMetrics, "off")
	return sc
}
