package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// StageBuilder turns one stage's configuration into a running Stage.
// baseDir is the configuration's folder (Config.Dir), against which a
// relative module path is resolved. The Wasm host provides the real
// builder; tests provide fakes.
type StageBuilder func(ctx context.Context, sc StageConfig, baseDir string) (Stage, error)

// ErrResultCount is the batch error a stage gets when it returns a number
// of results different from the number of records it was given.
var ErrResultCount = errors.New("stage returned a wrong number of results")

// ErrPipelineClosed is returned by Run after Close.
var ErrPipelineClosed = errors.New("pipeline: closed")

// Pipeline runs batches through a configuration's stages, in order.
//
// Records flow like this: stage 1 receives the batch; every output of
// stage k (for every record) becomes one input record of stage k+1,
// carrying the metadata of the original input record it descends from;
// the outputs of the last stage are the pipeline's outputs. Every output
// stays attributed to its original input record, and outputs keep input
// order.
//
// An output's route is sticky: an output with an empty route inherits the
// route of the record it was made from, so a stage can route a record and
// later stages still transform it.
//
// When a stage fails a record (or a whole batch), the stage's on_error
// policy decides: "fail" reports the original record failed (its
// RecordResult.Err is set); "drop" drops it and counts it; "dead_letter"
// replaces it with a dead-letter entry (see DeadLetterEntry) routed to the
// stage's dead_letter output, which skips the remaining stages.
//
// When one original record has several outputs in flight and only some of
// them fail in a later stage under "fail", the original record is
// reported failed AND its successful outputs are still listed in
// RecordResult.Outputs: the failure must be visible (so a Lambda source
// retries or dead-letters the record), and the outputs that did succeed
// are reported rather than silently lost. The caller decides whether to
// deliver them; RouteOutputs does.
//
// A Pipeline is safe for concurrent use: several batches may run at once.
type Pipeline struct {
	mu     sync.RWMutex
	closed bool
	stages []*pipelineStage
	// redact hides resolved secret values (Config.Redact) in dead letters
	// and errors.
	redact func(string) string
}

type pipelineStage struct {
	name       string
	onError    string
	deadLetter string
	stage      Stage
}

// describe returns the stage's module and digest, asked at the moment of
// an error: a hot-swapped stage reports the version that ran.
func (ps *pipelineStage) describe() (module, digest string) {
	if d, ok := ps.stage.(Describer); ok {
		return d.Describe()
	}
	return "", ""
}

// NewPipeline validates cfg and builds its stages in order with build.
// If a stage fails to build, the stages already built are closed and the
// error names the failing stage. cfg is not modified: defaults are applied
// to a copy of each stage's configuration before it is passed to build.
func NewPipeline(ctx context.Context, cfg *Config, build StageBuilder) (*Pipeline, error) {
	if cfg == nil {
		return nil, errors.New("pipeline: nil configuration")
	}
	if build == nil {
		return nil, errors.New("pipeline: nil stage builder")
	}
	if err := cfg.Validate(); err != nil {
		return nil, cfg.redactErr(fmt.Errorf("pipeline: %w", err))
	}
	p := &Pipeline{redact: cfg.Redact}
	for i, sc := range cfg.Stages {
		if sc.Name == "" && sc.IsBuiltin() {
			sc.Name = builtinStageName(i)
		}
		sc = sc.withDefaults()
		st, err := build(ctx, sc, cfg.Dir)
		if err == nil && st == nil {
			err = errors.New("builder returned no stage")
		}
		if err != nil {
			cerr := p.closeStages(ctx)
			return nil, cfg.redactErr(errors.Join(fmt.Errorf("pipeline: build stage %d %q: %w", i, sc.Name, err), cerr))
		}
		p.stages = append(p.stages, &pipelineStage{
			name:       sc.Name,
			onError:    sc.OnError,
			deadLetter: sc.DeadLetter,
			stage:      st,
		})
	}
	return p, nil
}

// Close closes every stage, last first, and returns their errors joined.
// It waits for running batches to finish. Closing twice is a no-op.
func (p *Pipeline) Close(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	return p.closeStages(ctx)
}

func (p *Pipeline) closeStages(ctx context.Context) error {
	var errs []error
	for i := len(p.stages) - 1; i >= 0; i-- {
		if err := p.stages[i].stage.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("pipeline: close stage %q: %w", p.stages[i].name, err))
		}
	}
	return errors.Join(errs...)
}

// RecordResult is what the pipeline made of one original input record.
type RecordResult struct {
	// Index is the record's position in the batch given to Run.
	Index int
	// Outputs are the record's outputs, in order, including dead-letter
	// entries (routed to their stage's dead_letter output). Outputs can be
	// non-empty even when Err is set: see Pipeline.
	Outputs []Output
	// Dropped is true when the record produced no output and a stage
	// dropped it (or its on_error policy was "drop"). A record that a
	// stage consumed without output, without dropping it, has neither
	// Outputs nor Dropped.
	Dropped bool
	// Err is the first failure of the record under the "fail" policy.
	Err *RecordError
}

// StageStats counts what one stage did with one batch.
type StageStats struct {
	// Name is the stage's name.
	Name string
	// Duration is the time spent in the stage's Process call.
	Duration time.Duration
	// In is the number of records given to the stage (0 when none
	// reached it: Process is then not called).
	In int
	// Out is the number of outputs the stage produced.
	Out int
	// Dropped counts records the stage dropped, or failed under "drop".
	Dropped int
	// Failed counts records the stage failed, whatever the policy.
	Failed int
	// DeadLettered counts dead-letter entries the stage emitted.
	DeadLettered int
}

// BatchResult is the outcome of Pipeline.Run: one RecordResult per input
// record, in input order, plus counters.
type BatchResult struct {
	// Records holds one result per input record: Records[i].Index == i.
	Records []RecordResult
	// In is the number of input records.
	In int
	// Out is the number of outputs, dead-letter entries excluded.
	Out int
	// Dropped counts input records with Dropped set.
	Dropped int
	// Failed counts input records with Err set.
	Failed int
	// DeadLettered counts dead-letter entries among the outputs.
	DeadLettered int
	// Stages holds per-stage counters and durations, in stage order.
	Stages []StageStats
	// Duration is the wall time of Run.
	Duration time.Duration
}

// Failures returns the errors of the failed records, in input order.
func (b *BatchResult) Failures() []*RecordError {
	var out []*RecordError
	for i := range b.Records {
		if b.Records[i].Err != nil {
			out = append(out, b.Records[i].Err)
		}
	}
	return out
}

// RecordError is the failure of one input record in one stage.
type RecordError struct {
	// Index is the original record's position in the batch.
	Index int
	// SequenceNumber is the original record's Meta.SequenceNumber.
	SequenceNumber string
	// Stage names the stage that failed the record.
	Stage string
	// Module and Digest identify the module the stage ran (from
	// Describer; empty when the stage does not describe itself).
	Module, Digest string
	// Err is the stage's error for the record, or its batch error.
	Err error
}

// Error formats the failure as
//
//	record 3 (seq 4959...): stage "normalize" (module file://x.wasm sha256:abcd1234…): <error>
//
// omitting the parts that are empty.
func (e *RecordError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "record %d", e.Index)
	if e.SequenceNumber != "" {
		fmt.Fprintf(&b, " (seq %s)", e.SequenceNumber)
	}
	fmt.Fprintf(&b, ": stage %q", e.Stage)
	var desc []string
	if e.Module != "" {
		desc = append(desc, "module "+e.Module)
	}
	if e.Digest != "" {
		desc = append(desc, shortDigest(e.Digest))
	}
	if len(desc) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(desc, " "))
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("failed")
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *RecordError) Unwrap() error { return e.Err }

// shortDigest renders "sha256:" and the first 8 hex digits of a digest.
func shortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 8 {
		return "sha256:" + d[:8] + "…"
	}
	return "sha256:" + d
}

// DeadLetterEntry is the JSON document the pipeline routes to a stage's
// dead_letter output in place of a record that failed there. It is
// encoded with its keys in this order. Record is the ORIGINAL input
// record's data (not the intermediate record the failing stage saw), as a
// JSON string, so the entry can be replayed through the whole pipeline;
// bytes that are not valid UTF-8 are replaced with U+FFFD.
type DeadLetterEntry struct {
	// Error is the stage's error message for the record.
	Error string `json:"error"`
	// Stage names the stage that failed the record.
	Stage string `json:"stage"`
	// Module and Digest identify the module (empty when the stage is not
	// a Describer).
	Module string `json:"module"`
	Digest string `json:"digest"`
	// Index is the original record's position in its batch.
	Index int `json:"index"`
	// SequenceNumber, PartitionKey and Source are the original record's
	// metadata: with Index they trace the entry back to its input.
	SequenceNumber string `json:"sequence_number"`
	PartitionKey   string `json:"partition_key"`
	Source         string `json:"source"`
	// Record is the original record's data.
	Record string `json:"record"`
	// RecordBase64 holds the original data, base64-encoded, in place of
	// Record when that data is not valid UTF-8 (a binary payload that
	// could not be decoded, such as a corrupt KPL record); omitted
	// otherwise.
	RecordBase64 string `json:"record_base64,omitempty"`
}

func (e *DeadLetterEntry) encode() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(e) // only strings and an int: cannot fail
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// item is one record in flight: it descends from input record orig.
type item struct {
	orig  int
	data  []byte
	route string
	// final items (dead-letter entries) skip the remaining stages.
	final bool
}

// origins returns the input record of each item a stage is given (the
// items not final), in order.
func origins(items []item) []int {
	o := make([]int, 0, len(items))
	for _, it := range items {
		if !it.final {
			o = append(o, it.orig)
		}
	}
	return o
}

// joins tracks the records whose data rides in another record's outputs
// (Result.Joined): the record an aggregate is attributed to (its owner)
// and the others it holds (its members). Ownership is transitive: an
// aggregate of aggregates owns the members of each.
type joins struct {
	owner   map[int]int   // member -> the record it joined
	members map[int][]int // owner -> every record joined to it, transitively
}

// join records that the results of stage inputs at positions pos (the
// indexes of in, mapped to input records by inOrig) ride in owner's.
func (j *joins) join(owner int, pos []int, inOrig []int) {
	if j.owner == nil {
		j.owner, j.members = map[int]int{}, map[int][]int{}
	}
	for _, p := range pos {
		if p < 0 || p >= len(inOrig) {
			continue
		}
		m := inOrig[p]
		if m == owner {
			continue
		}
		if _, done := j.owner[m]; done {
			continue
		}
		j.owner[m] = owner
		j.members[owner] = append(j.members[owner], m)
		// The member's own members now ride in owner's outputs too.
		for _, mm := range j.members[m] {
			j.owner[mm] = owner
			j.members[owner] = append(j.members[owner], mm)
		}
		delete(j.members, m)
	}
}

// fail fails every member whose owner failed, naming the owner.
func (j *joins) fail(res []RecordResult, records []Record) {
	for owner, ms := range j.members {
		oe := res[owner].Err
		if oe == nil {
			continue
		}
		for _, m := range ms {
			rr := &res[m]
			if rr.Err != nil {
				continue // failed on its own first
			}
			rr.Err = &RecordError{
				Index:          m,
				SequenceNumber: records[m].Meta.SequenceNumber,
				Stage:          oe.Stage,
				Module:         oe.Module,
				Digest:         oe.Digest,
				Err:            fmt.Errorf("joined to record %d (an aggregate), which failed: %w", owner, oe.Err),
			}
		}
	}
}

// Run sends records through every stage and reports, for each input
// record, its outputs, whether it was dropped, or why it failed.
//
// A record-level failure never makes Run return an error: it is in the
// BatchResult. Run returns an error only when ctx ends (a stage's batch
// error while ctx is done is taken to be the cancellation, not a module
// fault) or when the pipeline is closed.
func (p *Pipeline) Run(ctx context.Context, records []Record) (*BatchResult, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return nil, ErrPipelineClosed
	}
	start := time.Now()
	arena := ArenaFrom(ctx)
	res := &BatchResult{
		In:      len(records),
		Records: arena.recordResults(len(records)),
		Stages:  make([]StageStats, len(p.stages)),
	}
	dropped := arena.Bytes(len(records))[:len(records)] // 1: dropped
	clear(dropped)
	var joins joins // records whose data rides in another record's outputs
	items := arena.items(len(records))
	for i, r := range records {
		res.Records[i].Index = i
		items[i] = item{orig: i, data: r.Data}
	}
	for si, ps := range p.stages {
		stats := &res.Stages[si]
		stats.Name = ps.name
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("pipeline: before stage %q: %w", ps.name, err)
		}
		in := arena.inputs(len(items))[:0]
		for _, it := range items {
			if !it.final {
				in = append(in, Record{Data: it.data, Meta: records[it.orig].Meta})
			}
		}
		stats.In = len(in)
		if len(in) == 0 {
			continue
		}
		t0 := time.Now()
		results, batchErr := ps.stage.Process(ctx, in)
		stats.Duration = time.Since(t0)
		if batchErr != nil {
			// Something of the batch may still run (a module call
			// abandoned at its deadline): its memory is not reused.
			arena.Taint()
		}
		if batchErr != nil && ctx.Err() != nil {
			return nil, p.redactErr(fmt.Errorf("pipeline: stage %q: %w", ps.name, batchErr))
		}
		if batchErr == nil && len(results) != len(in) {
			batchErr = fmt.Errorf("%w: %d results for %d records", ErrResultCount, len(results), len(in))
		}
		var module, digest string
		described := false
		// Room for every output (more for dead-letter entries of
		// joined records, rare, grows the slice).
		size := len(items)
		if batchErr == nil {
			for i := range results {
				size += len(results[i].Outputs)
			}
		}
		next := arena.items(size)[:0]
		var inOrig []int // the input record of each of in, when a result joins
		k := 0
		for _, it := range items {
			if it.final {
				next = append(next, it)
				continue
			}
			var r Result
			if batchErr != nil {
				r = Result{Status: StatusFailed, Err: batchErr}
			} else {
				r = results[k]
			}
			k++
			if len(r.Joined) > 0 {
				if inOrig == nil {
					inOrig = origins(items)
				}
				joins.join(it.orig, r.Joined, inOrig)
			}
			switch r.Status {
			case StatusOK:
				for _, o := range r.Outputs {
					route := o.Route
					if route == "" {
						route = it.route
					}
					next = append(next, item{orig: it.orig, data: o.Data, route: route})
				}
				stats.Out += len(r.Outputs)
				continue
			case StatusDropped:
				dropped[it.orig] = 1
				stats.Dropped++
				continue
			}
			err := r.Err
			switch {
			case r.Status != StatusFailed:
				err = fmt.Errorf("unknown result status %d", r.Status)
			case err == nil:
				err = errors.New("failed without an error message")
			}
			stats.Failed++
			if !described {
				module, digest = ps.describe()
				described = true
			}
			orig := records[it.orig]
			switch ps.onError {
			case OnErrorDrop:
				dropped[it.orig] = 1
				stats.Dropped++
			case OnErrorDeadLetter:
				entry := &DeadLetterEntry{
					Error:          p.redactText(err.Error()),
					Stage:          ps.name,
					Module:         module,
					Digest:         digest,
					Index:          it.orig,
					SequenceNumber: orig.Meta.SequenceNumber,
					PartitionKey:   orig.Meta.PartitionKey,
					Source:         orig.Meta.Source,
					Record:         string(orig.Data),
				}
				next = append(next, item{orig: it.orig, data: entry.encode(), route: ps.deadLetter, final: true})
				stats.DeadLettered++
				for _, j := range joins.members[it.orig] {
					// The records this one's data carried, each with its
					// own bytes: a dead letter loses none of them.
					m := records[j]
					e := *entry
					e.Error = p.redactText(fmt.Sprintf("joined to record %d (an aggregate), which failed: %s", it.orig, err))
					e.Index, e.SequenceNumber, e.PartitionKey, e.Source, e.Record = j, m.Meta.SequenceNumber, m.Meta.PartitionKey, m.Meta.Source, string(m.Data)
					next = append(next, item{orig: j, data: e.encode(), route: ps.deadLetter, final: true})
					stats.DeadLettered++
				}
				// Once: another failed output of the same record does not
				// dead-letter its joined records again.
				delete(joins.members, it.orig)
			default: // OnErrorFail
				if res.Records[it.orig].Err == nil {
					res.Records[it.orig].Err = &RecordError{
						Index:          it.orig,
						SequenceNumber: orig.Meta.SequenceNumber,
						Stage:          ps.name,
						Module:         module,
						Digest:         digest,
						Err:            err,
					}
				}
			}
		}
		items = next
	}
	// Each record's outputs are a window of one slice: count them first.
	counts := arena.ints(len(records))
	for _, it := range items {
		counts[it.orig]++
	}
	outs := arena.Outputs(len(items))
	off := 0
	for i, c := range counts {
		if c > 0 {
			res.Records[i].Outputs = outs[off : off : off+c]
			off += c
		}
	}
	for _, it := range items {
		rr := &res.Records[it.orig]
		rr.Outputs = append(rr.Outputs, Output{Route: it.route, Data: it.data})
		if it.final {
			res.DeadLettered++
		} else {
			res.Out++
		}
	}
	joins.fail(res.Records, records)
	for i := range res.Records {
		rr := &res.Records[i]
		switch {
		case rr.Err != nil:
			res.Failed++
		case len(rr.Outputs) == 0 && dropped[i] != 0:
			rr.Dropped = true
			res.Dropped++
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}
