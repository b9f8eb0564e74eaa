// Command bootstrap is weir's AWS Lambda function (runtime
// provided.al2023, arm64 or amd64; build with -tags lambda.norpc). It
// builds the pipeline once per container and runs every invocation's
// event through it (see host/lambda).
//
// Environment:
//
//	WEIR_PIPELINE      pipeline: a path (relative to the package,
//	                   $LAMBDA_TASK_ROOT), file://path, or appconfig://, s3://,
//	                   https:// (watched every WEIR_PIPELINE_POLL); default pipeline.yaml
//	WEIR_PIPELINE_POLL how often a remote pipeline is checked for a new version
//	                   (a duration, e.g. 30s; default 0: read once per container)
//	WEIR_SOURCE        kinesis|sqs|sns|s3|dynamodb|firehose|apigw|auto (default auto:
//	                   detected from each event's shape)
//	WEIR_DEAD_LETTER   output receiving records that failed WEIR_MAX_ATTEMPTS times
//	WEIR_MAX_ATTEMPTS  failures before dead-lettering (default 3)
//	WEIR_ATTEMPTS_TABLE DynamoDB table (hash key "id", S) counting failures across
//	                   containers; default: in memory, per container (best-effort)
//	WEIR_ATTEMPTS_ENDPOINT endpoint of that table's service (tests)
//	WEIR_S3_ENDPOINT   S3 endpoint for reading objects named by S3 notifications
//	WEIR_LOG_LEVEL     debug|info|warn|error (default info); JSON logs on stderr
//	WEIR_CACHE_DIR     wazero compilation cache (default $LAMBDA_TASK_ROOT/cache
//	                   when it exists, else in memory; with WEIR_CACHE_S3, /tmp)
//	WEIR_CACHE_S3      s3://bucket/prefix: a compilation cache shared by
//	                   containers (the first compiles and uploads, the others
//	                   download; WEIR_S3_ENDPOINT applies)
//	WEIR_CACHE_S3_KEY  required with WEIR_CACHE_S3: the key that authenticates
//	                   its objects (HMAC tags), a ${secret:ID} reference or
//	                   the key itself (16 bytes or more)
//	WEIR_METRICS       "off" disables the EMF metrics on stdout
//
// lambda.Env lists them; a test checks that this command reads no other.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	awslambda "github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/aws/ddbattempts"
	"github.com/weirhq/weir/host/lambda"
	"github.com/weirhq/weir/host/lambda/gctune"
	"github.com/weirhq/weir/host/metrics"
	"github.com/weirhq/weir/host/secrets"
	"github.com/weirhq/weir/host/sharedcache"
	"github.com/weirhq/weir/host/sinks"
	"github.com/weirhq/weir/host/swap"
)

// redactor sits under the logger: resolved secret values never reach the
// function's logs.
var redactor = &logRedactor{w: os.Stderr}

func main() {
	ctx := context.Background()
	logger, err := newLogger(os.Getenv(lambda.EnvLogLevel))
	if err != nil {
		fmt.Fprintln(os.Stderr, "weir bootstrap:", err)
		os.Exit(2)
	}
	if limit := gctune.Tune(); limit > 0 {
		logger.Debug("weir bootstrap: garbage collector memory limit set", "memory_limit_bytes", limit)
	}
	h, err := setup(ctx, logger)
	if err != nil {
		// Failing the init phase makes Lambda report it on every invoke.
		logger.Error("weir bootstrap: setup failed", "error", err.Error())
		os.Exit(1)
	}
	awslambda.Start(h)
}

func newLogger(level string) (*slog.Logger, error) {
	var lvl slog.Level
	if level != "" {
		if err := lvl.UnmarshalText([]byte(level)); err != nil {
			return nil, fmt.Errorf("WEIR_LOG_LEVEL: %q is not one of debug, info, warn, error", level)
		}
	}
	return slog.New(slog.NewJSONHandler(redactor, &slog.HandlerOptions{Level: lvl})), nil
}

// taskRoot is the folder of the deployment package.
func taskRoot() string {
	if d := os.Getenv("LAMBDA_TASK_ROOT"); d != "" {
		return d
	}
	if exe, err := os.Executable(); err == nil {
		return filepath.Dir(exe)
	}
	return "."
}

// setup builds the handler from the environment.
func setup(ctx context.Context, logger *slog.Logger) (*lambda.Handler, error) {
	sinks.Register()
	path := os.Getenv(lambda.EnvPipeline)
	if path == "" {
		path = "pipeline.yaml"
	}
	if !isRemote(path) {
		path = strings.TrimPrefix(path, "file://")
		if !filepath.IsAbs(path) {
			path = filepath.Join(taskRoot(), path)
		}
	}
	source, err := lambda.ParseSource(os.Getenv(lambda.EnvSource))
	if err != nil {
		return nil, fmt.Errorf("WEIR_SOURCE: %w", err)
	}
	maxAttempts := lambda.DefaultMaxAttempts
	if v := os.Getenv(lambda.EnvMaxAttempts); v != "" {
		if maxAttempts, err = strconv.Atoi(v); err != nil || maxAttempts < 1 {
			return nil, fmt.Errorf("WEIR_MAX_ATTEMPTS: %q is not a positive integer", v)
		}
	}
	var poll time.Duration
	if v := os.Getenv(lambda.EnvPipelinePoll); v != "" {
		if poll, err = time.ParseDuration(v); err != nil || poll < 0 {
			return nil, fmt.Errorf("%s: %q is not a duration such as 30s", lambda.EnvPipelinePoll, v)
		}
	}
	cacheDir := os.Getenv(lambda.EnvCacheDir)
	if cacheDir == "" {
		if d := filepath.Join(taskRoot(), "cache"); isDir(d) {
			cacheDir = d
		}
	}
	// The AWS configuration and the S3 client are made when first needed
	// (the shared cache, an S3 notification): loading them costs a few
	// milliseconds of every cold start that uses neither.
	objects := sync.OnceValues(func() (*s3.Client, error) {
		awsCfg, err := awsconf.Load(ctx, "", 0, 0)
		if err != nil {
			return nil, err
		}
		endpoint := os.Getenv(lambda.EnvS3Endpoint)
		return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
			o.BaseEndpoint = awsconf.Endpoint(endpoint, o.BaseEndpoint)
			o.UsePathStyle = endpoint != ""
		}), nil
	})
	opts := host.Options{CacheDir: cacheDir, Logger: logger}
	if uri := os.Getenv(lambda.EnvCacheS3); uri != "" {
		bucket, prefix, err := sharedcache.Parse(uri)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", lambda.EnvCacheS3, err)
		}
		client, err := objects()
		if err != nil {
			return nil, err
		}
		key, err := cacheKey(ctx, logger)
		if err != nil {
			return nil, err
		}
		opts.Shared = &sharedcache.S3{Client: client, Bucket: bucket, Prefix: prefix, Key: key}
		if opts.CacheDir == "" {
			opts.CacheDir = filepath.Join(os.TempDir(), "weir-cache")
		}
	}
	hst, err := host.New(ctx, opts)
	if err != nil {
		return nil, err
	}
	// Modules are fetched through the swap loader: file paths, s3://,
	// appconfig:// and https:// references, digest pins, signatures and
	// smoke tests; a stage with a poll interval keeps watching its source
	// for the container's life and swaps new versions in between batches.
	// ${secret:...} and ${env:...} references are resolved after parsing,
	// for the zip's pipeline and every version of a remote one.
	secretPool := &secrets.Pool{Logger: logger}
	loader, err := swap.NewLoader(swap.Options{Host: hst, Logger: logger, Resolve: secretPool.Resolve})
	if err != nil {
		return nil, err
	}
	var (
		cfg    *engine.Config // references resolved
		rawCfg *engine.Config // references in place
		pipe   lambda.Runner
	)
	if isRemote(path) {
		// A remote configuration (AppConfig, S3, HTTPS) is watched every
		// WEIR_PIPELINE_POLL: a new version (say, one pinning a new module
		// version) is built in the background and swapped in between
		// batches; one that fails is refused and counted (SwapsRefused).
		// The outputs are opened once, from the first version.
		sp, err := loader.OpenPipeline(ctx, path, poll)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", lambda.EnvPipeline, err)
		}
		cfg, rawCfg = sp.Current().Config, sp.Current().Unresolved
		redactor.add(cfg)
		pipe = &swapRunner{p: sp, outputs: cfg.Outputs, logger: logger}
	} else {
		if rawCfg, err = engine.LoadConfig(path); err != nil {
			return nil, err
		}
		if cfg, err = secretPool.Resolve(ctx, rawCfg); err != nil {
			return nil, err
		}
		redactor.add(cfg)
		ep, err := engine.NewPipeline(ctx, cfg, loader.Builder(cfg))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		pipe = ep
	}
	deadLetter := os.Getenv(lambda.EnvDeadLetter)
	if _, ok := cfg.Outputs[deadLetter]; deadLetter != "" && !ok {
		return nil, fmt.Errorf("WEIR_DEAD_LETTER: %s has no output named %q", path, deadLetter)
	}
	// Outputs holding ${secret:...} references are reopened with the new
	// value when the secret rotates (the store refreshes in the
	// background).
	var store *secrets.Store
	if len(rawCfg.Refs()) > 0 {
		store = secretPool.Store(ctx, rawCfg.Secrets)
	}
	outs, err := secrets.OpenSinks(ctx, rawCfg, cfg, store, secrets.SinkOptions{Stdout: os.Stdout, Stderr: os.Stderr, OnResolve: redactor.add})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	h := &lambda.Handler{
		Pipeline:    pipe,
		Sinks:       outs,
		Source:      source,
		DeadLetter:  deadLetter,
		MaxAttempts: maxAttempts,
		Logger:      logger,
		Redact:      redactor.redact,
	}
	if os.Getenv(lambda.EnvMetrics) != "off" {
		name := cfg.Name
		if name == "" {
			name = "weir"
		}
		h.Metrics = metrics.New(os.Stdout, lambda.MetricsNamespace, map[string]string{lambda.MetricsDimension: name})
		m := loader.Metrics()
		h.SwapCounters = lambda.SwapDeltas(func() lambda.SwapCounts {
			s := m.Snapshot()
			var srcErrs int64
			for _, n := range s.SourceErrors {
				srcErrs += n
			}
			var versions []lambda.VersionEvent
			for _, e := range m.DrainEvents() {
				versions = append(versions, lambda.VersionEvent{Target: e.Target, Digest: e.Digest, Refused: e.Refused, Reason: e.Reason})
			}
			return lambda.SwapCounts{Swaps: s.Swaps, Refused: s.RefusedTotal(), SourceErrors: srcErrs, Versions: versions}
		})
	}
	if table := os.Getenv(lambda.EnvAttemptsTable); table != "" {
		awsCfg, err := awsconf.Load(ctx, "", 0, 0)
		if err != nil {
			return nil, err
		}
		client := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
			o.BaseEndpoint = awsconf.Endpoint(os.Getenv(lambda.EnvAttemptsEndpoint), o.BaseEndpoint)
		})
		h.Attempts = ddbattempts.New(client, table)
	}
	h.Objects = func(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
		client, err := objects()
		if err != nil {
			return nil, err
		}
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
		if err != nil {
			return nil, err
		}
		return out.Body, nil
	}
	logger.Info("weir bootstrap: ready", "pipeline", path, "source", source, "stages", len(cfg.Stages), "dead_letter", deadLetter, "max_attempts", maxAttempts)
	return h, nil
}

// isRemote reports whether ref names a remote pipeline configuration
// (appconfig://, s3://, https://) rather than a file.
func isRemote(ref string) bool {
	scheme, _, ok := strings.Cut(ref, "://")
	return ok && !strings.EqualFold(scheme, "file")
}

// swapRunner runs batches on a hot-swapped pipeline. The sinks are the
// first version's outputs: a version whose outputs differ is logged once
// (its new outputs take effect in new containers).
type swapRunner struct {
	p       *swap.Pipeline
	outputs map[string]engine.OutputConfig
	logger  *slog.Logger
	warned  sync.Map // version string -> struct{}
}

func (r *swapRunner) Run(ctx context.Context, recs []engine.Record) (*engine.BatchResult, error) {
	res, pv, err := r.p.Run(ctx, recs)
	redactor.add(pv.Config)
	if pv.Config != nil && !reflect.DeepEqual(pv.Config.Outputs, r.outputs) {
		if _, seen := r.warned.LoadOrStore(pv.String(), struct{}{}); !seen {
			r.logger.Warn("weir bootstrap: this pipeline version changes the outputs; they take effect in new containers", "version", pv.String())
		}
	}
	return res, err
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// cacheKey reads WEIR_CACHE_S3_KEY: the shared compilation cache's
// objects run as native code in this process, so they are used only when
// tagged with this key (host/sharedcache). The value may be a
// ${secret:...} reference, read once from Secrets Manager.
func cacheKey(ctx context.Context, logger *slog.Logger) ([]byte, error) {
	v := os.Getenv(lambda.EnvCacheS3Key)
	if v == "" {
		return nil, fmt.Errorf("%s is set but %s is not: the shared cache's compiled code runs outside the sandbox, so it is only used when authenticated by a key (a ${secret:ID} reference or at least %d bytes)",
			lambda.EnvCacheS3, lambda.EnvCacheS3Key, sharedcache.MinKeyBytes)
	}
	store := secrets.New(secrets.Options{Logger: logger, Refresh: -1})
	defer store.Close()
	key, err := engine.Expand(ctx, v, store)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", lambda.EnvCacheS3Key, err)
	}
	if len(key) < sharedcache.MinKeyBytes {
		return nil, fmt.Errorf("%s: the key has %d bytes; at least %d are needed", lambda.EnvCacheS3Key, len(key), sharedcache.MinKeyBytes)
	}
	return []byte(key), nil
}
