package enrich

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/source"
)

// Options configure an Env.
type Options struct {
	// Stage names the stage in logs and error messages.
	Stage string
	// Logger receives denials and failures; nil means slog.Default().
	Logger *slog.Logger
	// Sources configures how remote MMDB references (s3://) are fetched;
	// the zero value uses the default AWS configuration.
	Sources source.Options
}

// Env is one stage's enrichment environment: its granted capabilities,
// clients and caches. It is safe for concurrent use by the stage's
// instances.
type Env struct {
	caps   engine.Capabilities
	stage  string
	logger *slog.Logger

	dns    *dnsService
	http   *httpService
	ddb    *ddbService
	kv     *kvService
	mmdb   map[string]*mmdbDB
	tables map[string]*localTable

	stats map[string]*counters

	warnOnce sync.Map // function name -> struct{} (first denial logged at warn)
}

// New checks caps and loads what it names (static DNS answers, table
// files, MMDB databases: once per version and process). Network clients
// are created on first use.
func New(caps engine.Capabilities, opts Options) (*Env, error) {
	e := &Env{caps: caps, stage: opts.Stage, logger: opts.Logger, stats: map[string]*counters{}}
	if e.logger == nil {
		e.logger = slog.Default()
	}
	for _, f := range Functions {
		e.stats[f] = new(counters)
	}
	var err error
	if caps.DNS != nil {
		if e.dns, err = newDNS(*caps.DNS, e.stats[FuncDNS]); err != nil {
			return nil, err
		}
	}
	if caps.HTTP != nil {
		if e.http, err = newHTTP(*caps.HTTP, e.stats[FuncHTTP]); err != nil {
			return nil, err
		}
	}
	if len(caps.Tables) > 0 {
		e.tables = map[string]*localTable{}
		for name, tf := range caps.Tables {
			t, err := loadTable(tf)
			if err != nil {
				return nil, fmt.Errorf("enrich: table %q: %w", name, err)
			}
			e.tables[name] = t
		}
	}
	if caps.DynamoDB != nil || len(caps.Tables) > 0 {
		var dc engine.DynamoDBCapability
		if caps.DynamoDB != nil {
			dc = *caps.DynamoDB
		}
		e.ddb = newDDB(dc, e.tables, e.stats[FuncDynamoDB])
	}
	if caps.Cache != nil {
		e.kv = newKV(*caps.Cache, opts.Stage, e.stats[FuncCache])
	}
	if len(caps.MMDB) > 0 {
		e.mmdb = map[string]*mmdbDB{}
		so := opts.Sources
		if caps.MMDBAssumeRoleARN != "" {
			so.AssumeRoleARN = caps.MMDBAssumeRoleARN
		}
		for name, path := range caps.MMDB {
			db, err := openMMDB(path, so)
			if err != nil {
				return nil, fmt.Errorf("enrich: mmdb %q: %w", name, err)
			}
			e.mmdb[name] = db
		}
	}
	return e, nil
}

// Close releases nothing: the caches, clients and databases an Env uses
// are shared (see the package documentation) and released once no Env
// holds them. Local tables stay loaded for the process.
func (e *Env) Close() error { return nil }

// Stats returns the counters of every host function, by name.
func (e *Env) Stats() map[string]FuncStats {
	out := make(map[string]FuncStats, len(e.stats))
	if e == nil {
		return out
	}
	for k, c := range e.stats {
		out[k] = c.snapshot()
	}
	return out
}

// Call serves one host function call: req is the request the guest
// stored in kernel memory (not retained), the result the response bytes
// (sdk/ABI.md, "Host functions"). A nil Env denies everything. Call never
// panics.
func (e *Env) Call(ctx context.Context, fn string, req []byte) (resp []byte) {
	defer func() {
		if p := recover(); p != nil {
			resp = AppendCallError(nil, CallInternal, fmt.Sprintf("%s: internal error: %v", fn, p))
		}
	}()
	var c *counters
	if e != nil {
		c = e.stats[fn]
	}
	if c == nil {
		return AppendCallError(nil, CallBadRequest, fmt.Sprintf("unknown host function %q", fn))
	}
	c.calls.Add(1)
	var (
		a   answer
		rs  []Result
		err error
	)
	switch fn {
	case FuncDNS:
		if e.dns == nil {
			return e.deny(ctx, fn, "dns")
		}
		a, err = e.dns.call(ctx, req)
	case FuncHTTP:
		if e.http == nil {
			return e.deny(ctx, fn, "http")
		}
		rs, err = e.http.call(ctx, req)
	case FuncDynamoDB:
		if e.ddb == nil {
			return e.deny(ctx, fn, "dynamodb (or tables)")
		}
		rs, err = e.ddb.call(ctx, req)
	case FuncCache:
		if e.kv == nil {
			return e.deny(ctx, fn, "cache")
		}
		rs, err = e.kv.call(ctx, req)
	case FuncMMDB:
		if e.mmdb == nil {
			return e.deny(ctx, fn, "mmdb")
		}
		a, err = e.mmdbCall(ctx, req)
	}
	if err != nil {
		c.errors.Add(1)
		e.logger.LogAttrs(ctx, slog.LevelDebug, "enrich: bad request", slog.String("stage", e.stage), slog.String("function", fn), slog.String("error", err.Error()))
		return AppendCallError(nil, CallBadRequest, fmt.Sprintf("%s: %v", fn, err))
	}
	if rs != nil {
		a = inOrder(rs)
	}
	c.keys.Add(int64(a.count()))
	if slices.ContainsFunc(a.rs, func(r Result) bool { return r.Status == StatusDenied }) {
		var denied int64
		for _, r := range a.expand() {
			if r.Status == StatusDenied {
				denied++
			}
		}
		c.denied.Add(denied)
	}
	resp = appendAnswer(nil, a)
	putKeySet(a.keys)
	return resp
}

// deny answers a call the stage was not granted, logging it (at warn the
// first time per function) and counting it.
func (e *Env) deny(ctx context.Context, fn, capability string) []byte {
	e.stats[fn].denied.Add(1)
	msg := fmt.Sprintf("%s denied: stage %q has no capabilities.%s in the pipeline configuration", fn, e.stage, capability)
	level := slog.LevelDebug
	if _, loaded := e.warnOnce.LoadOrStore(fn, struct{}{}); !loaded {
		level = slog.LevelWarn
	}
	e.logger.LogAttrs(ctx, level, "enrich: host function denied", slog.String("stage", e.stage), slog.String("function", fn))
	return AppendCallError(nil, CallDenied, msg)
}

// DenyAll is the response to any call from a module whose stage has no
// Env (the probe instance).
func DenyAll(fn string) []byte {
	return AppendCallError(nil, CallDenied, fmt.Sprintf("%s denied: no capabilities granted", fn))
}

// decode unmarshals a JSON request.
func decode(req []byte, v any) error {
	if err := json.Unmarshal(req, v); err != nil {
		return fmt.Errorf("request is not valid JSON: %w", err)
	}
	return nil
}

// durationOr returns d, or def when d is zero; a negative d gives 0.
func durationOr(d engine.Duration, def time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return def
	}
	return time.Duration(d)
}
