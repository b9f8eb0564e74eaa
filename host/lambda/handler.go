// Package lambda adapts AWS Lambda events to weir's engine: it decodes an
// event (Kinesis, SQS, SNS, S3 notifications, DynamoDB Streams, Firehose
// data transformation, API Gateway / Function URL) into engine.Records,
// runs them through the pipeline in ONE Pipeline.Run per invocation,
// delivers the outputs to the pipeline's sinks, and builds the response
// the event source expects (partial batch failures, Firehose results, an
// HTTP response).
//
// # Failures, retries and the dead-letter output
//
// Every event is cut into units: the items Lambda can retry on their own
// (a Kinesis or DynamoDB Streams record, an SQS message, a Firehose
// record). A unit fails when it cannot be decoded (bad base64, a KPL
// record with a bad MD5 or a corrupt protobuf, a corrupt gzip payload) or
// when any record it holds fails in the pipeline: a failure of one KPL
// sub-record fails its whole Kinesis record.
//
// A failed unit's attempts are counted (SQS gives its receive count;
// other sources use an AttemptStore: DynamoDB, surviving retries and
// containers, or a per-container memory map, best-effort). When a unit has
// failed MaxAttempts times and a dead-letter output is configured, its
// failed records go there as engine.DeadLetterEntry documents (error,
// stage, module, digest, original record) and the unit counts as done.
//
// For ordered sources (Kinesis, DynamoDB Streams), Lambda checkpoints at
// the lowest failed sequence number and re-delivers everything after it,
// so the handler delivers the outputs of the units BEFORE the first
// failed unit only, and reports every failed unit: nothing after the
// checkpoint is written twice by this invocation. For SQS, each message
// stands alone: outputs of every successful message are delivered.
//
// A sink that cannot deliver (after its own retries) fails the
// invocation with an error, so that Lambda retries the batch: nothing is
// lost, at the price of duplicates downstream (delivery is at least once).
//
// # Every core
//
// One invocation uses every CPU the Go runtime has (GOMAXPROCS): a Kinesis
// event's records are decoded (base64, KPL, split) by one worker per CPU;
// the pipeline's stages run their instances (default one per CPU) over
// pieces of the batch; the Kinesis output aggregates and sends in
// parallel. None of it changes what is reported or delivered: units keep
// their order, outputs are delivered in input order, and the failures,
// dead letters and ordered-source cut-off above are the same.
package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/metrics"
)

// DefaultMaxAttempts is Handler.MaxAttempts when unset (env
// WEIR_MAX_ATTEMPTS in the bootstrap).
const DefaultMaxAttempts = 3

// Handler runs Lambda events through a pipeline. Build it once per
// container; it is safe for concurrent use.
type Handler struct {
	// Redact, when set, is applied to the error text of dead letters
	// (engine.Config.Redact: resolved secret values back to their
	// references).
	Redact func(string) string
	// Pipeline runs the records: an *engine.Pipeline, or a pipeline whose
	// configuration hot-swaps (the bootstrap adapts *swap.Pipeline).
	Pipeline Runner
	// Sinks are the pipeline's outputs, by route.
	Sinks map[string]engine.Sink
	// Source forces the event type (SourceKinesis, ...); empty or
	// SourceAuto detects it from the event's shape.
	Source string
	// DeadLetter names the output that receives units which failed
	// MaxAttempts times; empty: such units keep being reported failed
	// (the event source mapping's own retry limit and on-failure
	// destination then apply).
	DeadLetter string
	// MaxAttempts is the number of failures after which a unit is
	// dead-lettered (default DefaultMaxAttempts).
	MaxAttempts int
	// Attempts counts failures across invocations (default: a
	// per-container MemoryAttempts).
	Attempts AttemptStore
	// Objects reads S3 objects named by S3 notifications (nil: S3
	// notifications are refused).
	Objects ObjectReader
	// Metrics receives EMF documents (nil: none).
	Metrics *metrics.Emitter
	// SwapCounters, when set, returns how many module versions were
	// swapped in, refused and failed to fetch since its previous call
	// (SwapDeltas makes one from running totals such as swap.Metrics).
	// Each invocation's EMF document carries them (ModuleSwaps,
	// SwapsRefused, ModuleSourceErrors), so a refused release shows as a
	// metric.
	SwapCounters func() SwapCounts
	// Logger logs failures (nil: slog.Default()).
	Logger *slog.Logger
}

// Runner runs one batch through a pipeline. *engine.Pipeline is one.
type Runner interface {
	Run(ctx context.Context, records []engine.Record) (*engine.BatchResult, error)
}

// ObjectReader opens an S3 object.
type ObjectReader func(ctx context.Context, bucket, key string) (io.ReadCloser, error)

// Invoke handles one raw event and returns the raw response. It makes
// Handler an aws-lambda-go lambda.Handler.
//
// The invocation's outputs live in a batch arena (engine.Arena), given
// back once they are delivered (Handle returns after the sinks and
// FlushSinks) and the response, which may hold them, is encoded: the
// steady state allocates almost no garbage. Handle alone, without an
// arena in its context, returns outputs of their own.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	a := engine.NewArena()
	defer a.Release()
	resp, err := h.Handle(engine.WithArena(ctx, a), payload)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// Handle decodes payload by source (see Handler.Source), runs it and
// returns the response value to encode as JSON (nil for sources without
// a response).
func (h *Handler) Handle(ctx context.Context, payload []byte) (any, error) {
	src := h.Source
	if src == "" || src == SourceAuto {
		var err error
		if src, err = Detect(payload); err != nil {
			return nil, err
		}
	}
	switch src {
	case SourceKinesis:
		return h.kinesis(ctx, payload)
	case SourceSQS:
		return h.sqs(ctx, payload)
	case SourceSNS:
		return h.sns(ctx, payload)
	case SourceS3:
		return h.s3(ctx, payload)
	case SourceDynamoDB:
		return h.dynamodb(ctx, payload)
	case SourceFirehose:
		return h.firehose(ctx, payload)
	case SourceAPIGW:
		return h.apigw(ctx, payload)
	case SourceEventBridge:
		return h.eventBridge(ctx, payload)
	case SourceDirect:
		return h.direct(ctx, payload)
	}
	return nil, fmt.Errorf("lambda: unknown source %q (want one of %s)", src, sourceList)
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

func (h *Handler) maxAttempts() int {
	if h.MaxAttempts > 0 {
		return h.MaxAttempts
	}
	return DefaultMaxAttempts
}

// unit is one item an event source can retry on its own.
type unit struct {
	// id identifies the unit in the response (sequence number, message
	// id, record id).
	id string
	// key identifies the unit in the AttemptStore ("" when attempts is
	// known).
	key string
	// attempts is this delivery's attempt number when the source knows
	// it (SQS receive count); 0: ask the AttemptStore.
	attempts int
	// records are the unit's records.
	records []engine.Record
	// err is a decode error: the unit fails without running.
	err error
	// raw is the unit's data, dead-lettered with a decode error.
	raw []byte
	// meta describes the unit for dead-letter entries of decode errors.
	meta engine.Metadata
}

// unitResult is what became of a unit.
type unitResult struct {
	failed       bool
	err          error // the first failure, when failed
	deadLettered bool
	delivered    bool
	outputs      []engine.Output // the unit's outputs, dead-letter entries included
	dropped      bool
	attempts     int
}

// run runs every unit's records in one batch, counts and dead-letters
// failures, and delivers outputs to the sinks (all but the default route
// when keepDefault, whose outputs are left in the results for the caller
// to return). ordered stops delivery at the first failed unit.
func (h *Handler) run(ctx context.Context, source string, units []*unit, ordered, keepDefault bool) ([]unitResult, error) {
	start := time.Now()
	total := 0
	for _, u := range units {
		if u.err == nil {
			total += len(u.records)
		}
	}
	recs := make([]engine.Record, 0, total)
	owner := make([]int, 0, total)
	for ui, u := range units {
		if u.err != nil {
			continue
		}
		for _, r := range u.records {
			recs = append(recs, r)
			owner = append(owner, ui)
		}
	}
	res := &engine.BatchResult{}
	if len(recs) > 0 {
		var err error
		res, err = h.Pipeline.Run(ctx, recs)
		if err != nil {
			return nil, fmt.Errorf("lambda: %s: %w", source, err)
		}
	}
	out := make([]unitResult, len(units))
	failedRecs := make([][]*engine.RecordError, len(units))
	allDropped := make([]bool, len(units))
	for i := range units {
		allDropped[i] = units[i].err == nil && len(units[i].records) > 0
	}
	for i, rr := range res.Records {
		ui := owner[i]
		r := &out[ui]
		r.outputs = append(r.outputs, rr.Outputs...)
		if !rr.Dropped {
			allDropped[ui] = false
		}
		if rr.Err != nil {
			failedRecs[ui] = append(failedRecs[ui], rr.Err)
			if !r.failed {
				r.failed, r.err = true, rr.Err
			}
		}
	}
	for ui, u := range units {
		r := &out[ui]
		r.dropped = allDropped[ui] && !r.failed
		if u.err != nil {
			r.failed, r.err = true, u.err
		}
		if !r.failed {
			continue
		}
		n := u.attempts
		if n <= 0 {
			var err error
			n, err = h.attempts().Increment(ctx, u.key)
			if err != nil {
				// Counting is best-effort: a unit whose count is unknown
				// is retried, never dead-lettered early.
				h.logger().Warn("lambda: counting attempts failed", "unit", u.id, "error", err)
				n = 0
			}
		}
		r.attempts = n
		if h.DeadLetter == "" || n < h.maxAttempts() {
			continue
		}
		r.deadLettered = true
		r.failed = false
		r.outputs = append(r.outputs, h.deadLetters(u, failedRecs[ui], recs, n)...)
	}
	// Deliver.
	stop := len(units)
	if ordered {
		for ui := range out {
			if out[ui].failed {
				stop = ui
				break
			}
		}
	}
	deliver := &engine.BatchResult{}
	for ui := range out {
		r := &out[ui]
		if r.failed || ui >= stop {
			continue
		}
		r.delivered = true
		rr := engine.RecordResult{Index: ui}
		for _, o := range r.outputs {
			if keepDefault && (o.Route == "" || o.Route == engine.DefaultRoute) {
				continue
			}
			rr.Outputs = append(rr.Outputs, o)
		}
		deliver.Records = append(deliver.Records, rr)
	}
	if err := engine.RouteOutputs(ctx, deliver, h.Sinks); err != nil {
		return nil, fmt.Errorf("lambda: %s: delivering outputs: %w", source, err)
	}
	// Outputs with batch settings hold what they were given: write it
	// now, so that no output outlives this invocation (a failure fails it,
	// and the source retries its records).
	if err := engine.FlushSinks(ctx, h.Sinks); err != nil {
		return nil, fmt.Errorf("lambda: %s: delivering outputs: %w", source, err)
	}
	for ui, u := range units {
		if out[ui].deadLettered && out[ui].delivered && u.key != "" {
			if err := h.attempts().Delete(ctx, u.key); err != nil {
				h.logger().Warn("lambda: clearing attempts failed", "unit", u.id, "error", err)
			}
		}
	}
	for ui, r := range out {
		if r.failed {
			h.logger().Error("lambda: record failed", "source", source, "unit", units[ui].id, "attempt", r.attempts, "error", r.err.Error())
		} else if r.deadLettered && r.delivered {
			h.logger().Warn("lambda: record dead-lettered", "source", source, "unit", units[ui].id, "attempts", r.attempts, "output", h.DeadLetter, "error", r.err.Error())
		}
	}
	h.emit(source, units, out, res, start)
	return out, nil
}

// redact applies h.Redact.
func (h *Handler) redact(s string) string {
	if h.Redact == nil {
		return s
	}
	return h.Redact(s)
}

// deadLetters builds the dead-letter entries of a unit: one for a decode
// error (the unit's raw data), else one per failed record (its original
// data). recs is the batch the pipeline ran, which RecordError.Index
// points into.
func (h *Handler) deadLetters(u *unit, recErrs []*engine.RecordError, recs []engine.Record, attempts int) []engine.Output {
	var entries []engine.DeadLetterEntry
	if u.err != nil {
		entries = append(entries, engine.DeadLetterEntry{
			Error: h.redact(fmt.Sprintf("%v (after %d attempts)", u.err, attempts)), Stage: "decode",
			SequenceNumber: u.meta.SequenceNumber, PartitionKey: u.meta.PartitionKey, Source: u.meta.Source,
		})
		if utf8.Valid(u.raw) {
			entries[0].Record = string(u.raw)
		} else {
			entries[0].RecordBase64 = base64.StdEncoding.EncodeToString(u.raw)
		}
	}
	for _, re := range recErrs {
		rec := recs[re.Index]
		entries = append(entries, engine.DeadLetterEntry{
			Error: h.redact(fmt.Sprintf("%v (after %d attempts)", re.Err, attempts)), Stage: re.Stage, Module: re.Module, Digest: re.Digest,
			Index: int(rec.Meta.SubSequenceNumber), SequenceNumber: rec.Meta.SequenceNumber, PartitionKey: rec.Meta.PartitionKey,
			Source: rec.Meta.Source, Record: string(rec.Data),
		})
	}
	outs := make([]engine.Output, len(entries))
	for i := range entries {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(&entries[i]) // only strings and an int: cannot fail
		outs[i] = engine.Output{Route: h.DeadLetter, Data: bytes.TrimSuffix(buf.Bytes(), []byte("\n"))}
	}
	return outs
}

func (h *Handler) attempts() AttemptStore {
	if h.Attempts == nil {
		h.Attempts = defaultMemory
	}
	return h.Attempts
}

// emit writes the invocation's metrics.
func (h *Handler) emit(source string, units []*unit, out []unitResult, res *engine.BatchResult, start time.Time) {
	if h.Metrics == nil {
		return
	}
	var bytesIn int
	var oldest time.Time
	for _, u := range units {
		for _, r := range u.records {
			bytesIn += len(r.Data)
			if t := r.Meta.ArrivalTime; !t.IsZero() && (oldest.IsZero() || t.Before(oldest)) {
				oldest = t
			}
		}
	}
	failed, dead := 0, 0
	for _, r := range out {
		if r.failed {
			failed++
		}
		if r.deadLettered {
			dead++
		}
	}
	now := time.Now()
	m := []metrics.Metric{
		{Name: MetricRecordsIn, Unit: metrics.Count, Value: float64(res.In)},
		{Name: MetricRecordsOut, Unit: metrics.Count, Value: float64(res.Out)},
		{Name: MetricRecordsDropped, Unit: metrics.Count, Value: float64(res.Dropped)},
		{Name: MetricRecordsFailed, Unit: metrics.Count, Value: float64(res.Failed)},
		{Name: MetricUnitsFailed, Unit: metrics.Count, Value: float64(failed)},
		{Name: MetricUnitsDeadLetters, Unit: metrics.Count, Value: float64(dead)},
		{Name: MetricBytesIn, Unit: metrics.Bytes, Value: float64(bytesIn)},
		{Name: MetricBatchDuration, Unit: metrics.Milliseconds, Value: ms(now.Sub(start))},
	}
	if !oldest.IsZero() {
		m = append(m, metrics.Metric{Name: MetricIteratorAge, Unit: metrics.Milliseconds, Value: ms(now.Sub(oldest))})
	}
	for _, s := range res.Stages {
		m = append(m, metrics.Metric{Name: MetricStageDurationPrefix + s.Name, Unit: metrics.Milliseconds, Value: ms(s.Duration)})
	}
	var versions []VersionEvent
	if h.SwapCounters != nil {
		d := h.SwapCounters()
		m = append(m,
			metrics.Metric{Name: MetricModuleSwaps, Unit: metrics.Count, Value: float64(d.Swaps)},
			metrics.Metric{Name: MetricSwapsRefused, Unit: metrics.Count, Value: float64(d.Refused)},
			metrics.Metric{Name: MetricSourceErrors, Unit: metrics.Count, Value: float64(d.SourceErrors)})
		versions = d.Versions
	}
	if err := h.Metrics.Emit(now, m, map[string]any{"source": source, "units": len(units)}); err != nil {
		h.logger().Warn("lambda: metrics", "error", err)
	}
	for _, v := range versions {
		if v.Digest == "" {
			continue // refused before it was read whole (too large)
		}
		name, props := MetricVersionSwappedIn, map[string]any{"target": v.Target, "digest": v.Digest}
		if v.Refused {
			name, props["reason"] = MetricVersionRefused, v.Reason
		}
		dims := map[string]string{MetricsVersionDimension: VersionDimension(v.Digest)}
		if err := h.Metrics.EmitDims(now, dims, []metrics.Metric{{Name: name, Unit: metrics.Count, Value: 1}}, props); err != nil {
			h.logger().Warn("lambda: metrics", "error", err)
		}
	}
}

// SwapCounts are the module watchers' running totals (see
// Handler.SwapCounters).
type SwapCounts struct {
	Swaps, Refused, SourceErrors int64
	// Versions are the versions swapped in or refused since the previous
	// call, each emitted as its own document under the Version dimension.
	Versions []VersionEvent
}

// VersionEvent is one version swapped in or refused.
type VersionEvent struct {
	// Target is the stage name, or "pipeline" for the configuration.
	Target string
	// Digest is the sha256 (hex) of the version's bytes.
	Digest string
	// Refused is false for a version swapped in; Reason says why not.
	Refused bool
	Reason  string
}

// SwapDeltas turns running totals into a Handler.SwapCounters function:
// each call returns the increase since the previous call. It is safe for
// concurrent use.
func SwapDeltas(totals func() SwapCounts) func() SwapCounts {
	var mu sync.Mutex
	var seen SwapCounts
	return func() SwapCounts {
		mu.Lock()
		defer mu.Unlock()
		c := totals()
		d := SwapCounts{Swaps: c.Swaps - seen.Swaps, Refused: c.Refused - seen.Refused, SourceErrors: c.SourceErrors - seen.SourceErrors, Versions: c.Versions}
		c.Versions = nil
		seen = c
		return d
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// ErrNoRecords is returned for events without records.
var ErrNoRecords = errors.New("lambda: event has no records")
