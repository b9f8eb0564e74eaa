// Package secrets resolves the ${secret:ID}, ${secret:ID:KEY} and
// ${env:NAME} references of a pipeline configuration (engine.Ref): secrets
// from AWS Secrets Manager (GetSecretValue, AWSCURRENT), cached and
// refreshed on an interval, and environment variables.
//
// A value never leaves a Store except as the result of Resolve: errors and
// log lines name the reference (${secret:ID}), never what it holds. A
// refresh that fails keeps the last value and logs a warning.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
)

// DefaultRefresh is how often cached secrets are fetched again when
// Options.Refresh is zero.
const DefaultRefresh = 5 * time.Minute

// ErrNotFound is matched by errors.Is when an environment variable is
// unset or a JSON key is absent from its secret.
var ErrNotFound = errors.New("not found")

// Options configure a Store.
type Options struct {
	// Client is the Secrets Manager client. Nil: one is built on the first
	// secret reference from the default AWS configuration, Region,
	// Endpoint and AssumeRoleARN.
	Client *secretsmanager.Client
	// Region overrides the AWS region (default AWS_REGION).
	Region string
	// Endpoint overrides the Secrets Manager endpoint URL (default: the
	// SDK's resolution, which honours AWS_ENDPOINT_URL_SECRETS_MANAGER).
	Endpoint string
	// AssumeRoleARN, when set, reads secrets with credentials of this role
	// (STS AssumeRole from the default credentials): a secret in another
	// account.
	AssumeRoleARN string
	// Refresh is how long a fetched secret is used before it is fetched
	// again (default DefaultRefresh; negative: never refreshed).
	Refresh time.Duration
	// Logger receives refresh failures (default slog.Default()).
	Logger *slog.Logger
	// LookupEnv reads ${env:NAME} (default os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Store resolves references; it implements engine.Resolver. It is safe
// for concurrent use.
type Store struct {
	opts Options

	clientOnce sync.Once
	client     *secretsmanager.Client
	clientErr  error

	mu    sync.Mutex
	cache map[string]*entry // by secret ID
	gen   atomic.Uint64     // grows when a fetch changes a cached value

	stop chan struct{}
	done chan struct{}
}

// entry is one fetched secret.
type entry struct {
	value   string
	fetched time.Time
}

// New returns a Store.
func New(opts Options) *Store {
	if opts.Refresh == 0 {
		opts.Refresh = DefaultRefresh
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{opts: opts, client: opts.Client, cache: map[string]*entry{}}
}

// Resolve returns the value of ref. A secret is fetched on first use and
// again once it is older than the refresh interval; when that fetch
// fails, the last value is returned and the failure logged.
func (s *Store) Resolve(ctx context.Context, ref engine.Ref) (string, error) {
	switch ref.Kind {
	case engine.RefEnv:
		v, ok := s.opts.LookupEnv(ref.ID)
		if !ok {
			return "", fmt.Errorf("environment variable %s is unset: %w", ref.ID, ErrNotFound)
		}
		return v, nil
	case engine.RefSecret:
		v, err := s.secret(ctx, ref.ID)
		if err != nil {
			return "", err
		}
		if ref.Key == "" {
			return v, nil
		}
		return field(v, ref.Key)
	}
	return "", fmt.Errorf("unknown reference kind %q", ref.Kind)
}

// field returns key of the JSON object text v: a string as is, any other
// value as its JSON text. Errors never quote v.
func field(v, key string) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &obj); err != nil {
		return "", fmt.Errorf("key %q: the secret's value is not a JSON object", key)
	}
	raw, ok := obj[key]
	if !ok {
		return "", fmt.Errorf("key %q is not in the secret's JSON object: %w", key, ErrNotFound)
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str, nil
	}
	return string(raw), nil
}

// secret returns the cached value of id, fetching it when absent or
// stale.
func (s *Store) secret(ctx context.Context, id string) (string, error) {
	s.mu.Lock()
	e := s.cache[id]
	s.mu.Unlock()
	if e != nil && (s.opts.Refresh < 0 || s.opts.Now().Sub(e.fetched) < s.opts.Refresh) {
		return e.value, nil
	}
	v, err := s.fetch(ctx, id)
	if err != nil {
		if e != nil {
			s.opts.Logger.Warn("secret refresh failed; keeping the last value", "secret", engine.Ref{Kind: engine.RefSecret, ID: id}.String(), "err", err)
			return e.value, nil
		}
		return "", err
	}
	s.store(id, v)
	return v, nil
}

// store caches v as the value of id; a value different from the one
// cached before advances the generation.
func (s *Store) store(id, v string) {
	s.mu.Lock()
	old := s.cache[id]
	s.cache[id] = &entry{value: v, fetched: s.opts.Now()}
	s.mu.Unlock()
	if old != nil && old.value != v {
		s.gen.Add(1)
	}
}

// Generation counts rotations: it grows each time a fetch returns a value
// different from the one cached for that secret. Holders of resolved
// values (OpenSinks) compare it with the generation they resolved at to
// know when to resolve again.
func (s *Store) Generation() uint64 { return s.gen.Load() }

// fetch calls GetSecretValue.
func (s *Store) fetch(ctx context.Context, id string) (string, error) {
	c, err := s.smClient(ctx)
	if err != nil {
		return "", err
	}
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return "", fmt.Errorf("secrets manager: %w", err)
	}
	switch {
	case out.SecretString != nil:
		return *out.SecretString, nil
	case out.SecretBinary != nil:
		return string(out.SecretBinary), nil
	}
	return "", errors.New("secrets manager: the secret has neither a string nor a binary value")
}

// smClient builds the client once.
func (s *Store) smClient(ctx context.Context) (*secretsmanager.Client, error) {
	s.clientOnce.Do(func() {
		if s.client != nil {
			return
		}
		cfg, err := awsconf.Load(ctx, s.opts.Region, 3, time.Second)
		if err != nil {
			s.clientErr = err
			return
		}
		cfg = awsconf.AssumeRole(cfg, s.opts.AssumeRoleARN)
		s.client = secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
			o.BaseEndpoint = awsconf.Endpoint(s.opts.Endpoint, o.BaseEndpoint)
		})
	})
	return s.client, s.clientErr
}

// Refresh fetches every cached secret again now; a failure keeps the last
// value, is logged and returned (joined), naming the secret only.
func (s *Store) Refresh(ctx context.Context) error {
	s.mu.Lock()
	ids := make([]string, 0, len(s.cache))
	for id := range s.cache {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	var errs []error
	for _, id := range ids {
		v, err := s.fetch(ctx, id)
		if err != nil {
			ref := engine.Ref{Kind: engine.RefSecret, ID: id}.String()
			s.opts.Logger.Warn("secret refresh failed; keeping the last value", "secret", ref, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", ref, err))
			continue
		}
		s.store(id, v)
	}
	return errors.Join(errs...)
}

// Start refreshes the cached secrets every refresh interval in the
// background until Close (or ctx ends). It does nothing when refreshing is
// off or Start was already called.
func (s *Store) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.Refresh < 0 || s.stop != nil {
		return
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go func(stop, done chan struct{}) {
		defer close(done)
		t := time.NewTicker(s.opts.Refresh)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				_ = s.Refresh(ctx)
			}
		}
	}(s.stop, s.done)
}

// Close stops the background refresh.
func (s *Store) Close() {
	s.mu.Lock()
	stop, done := s.stop, s.done
	s.stop = nil
	s.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// Pool keeps one Store per SecretsConfig (a configuration's "secrets"
// block), so that every version of a hot-swapped pipeline shares the
// cache of the versions before it. It is safe for concurrent use.
type Pool struct {
	// Logger is handed to the stores (default slog.Default()).
	Logger *slog.Logger

	mu     sync.Mutex
	stores map[engine.SecretsConfig]*Store
}

// Store returns the started Store for sc, creating it on first use.
func (p *Pool) Store(ctx context.Context, sc engine.SecretsConfig) *Store {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.stores[sc]; ok {
		return s
	}
	if p.stores == nil {
		p.stores = map[engine.SecretsConfig]*Store{}
	}
	s := New(Options{Region: sc.Region, Endpoint: sc.Endpoint, AssumeRoleARN: sc.AssumeRoleARN, Refresh: time.Duration(sc.Refresh), Logger: p.Logger})
	s.Start(ctx)
	p.stores[sc] = s
	return s
}

// Resolve resolves cfg's references with the Store of its secrets block
// (engine.Config.Resolved). A configuration without references is
// returned as is.
func (p *Pool) Resolve(ctx context.Context, cfg *engine.Config) (*engine.Config, error) {
	if len(cfg.Refs()) == 0 {
		return cfg, nil
	}
	return cfg.Resolved(ctx, p.Store(ctx, cfg.Secrets))
}

// Close stops every store's refresh.
func (p *Pool) Close() {
	p.mu.Lock()
	stores := p.stores
	p.stores = nil
	p.mu.Unlock()
	for _, s := range stores {
		s.Close()
	}
}
