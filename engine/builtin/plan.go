package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/valyala/fastjson"
	"github.com/weirhq/weir/engine"
)

// Steps is a compiled list of transforms, run in order. Nested
// transforms (meta_switch cases, meta_for_each) are Steps too.
type Steps struct {
	steps []step
}

type step struct {
	label string // "step 2 (object_copy)"
	t     Transform
}

// StepError is the error of a message failed by a step: the step's index
// and type, and the cause (itself a StepError for nested steps).
type StepError struct {
	// Step names the step: "step 2 (object_copy)".
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }

func (e *StepError) Unwrap() error { return e.Err }

// Len returns the number of steps.
func (s *Steps) Len() int { return len(s.steps) }

// recordLocal is implemented by transforms that handle each message on
// its own (no state across the messages of a batch, nothing made from
// the control message), so that a plan of them may run a batch in
// chunks of records.
type recordLocal interface{ recordLocal() bool }

func (perMessage) recordLocal() bool { return true }

func (t *metaSwitch) recordLocal() bool {
	for _, cs := range t.cases {
		if !cs.steps.recordLocal() {
			return false
		}
	}
	return true
}

func (t *metaErr) recordLocal() bool { return t.steps.recordLocal() }

// recordLocal reports whether every step is record-local.
func (s *Steps) recordLocal() bool {
	for _, st := range s.steps {
		if r, ok := st.t.(recordLocal); !ok || !r.recordLocal() {
			return false
		}
	}
	return true
}

// Run applies every step to msgs in order and appends the survivors, then
// the messages failed on the way (their Err wrapped in a StepError naming
// the step), to out. msgs is not modified.
func (s *Steps) Run(ctx context.Context, msgs, out []*Message) ([]*Message, error) {
	if len(s.steps) == 0 || len(msgs) == 0 {
		return append(out, msgs...), nil
	}
	first := 0
	if len(msgs) == 1 && msgs[0].ctrl && msgs[0].err == nil {
		// The control message alone (a meta_switch runs it through every
		// case, and each case passes it on, so a pipeline of switches
		// sees thousands of copies per batch): perMessage steps pass it
		// through untouched, so the leading ones are skipped.
		for first < len(s.steps) {
			if _, ok := s.steps[first].t.(perMessage); !ok {
				break
			}
			first++
		}
		if first == len(s.steps) {
			return append(out, msgs[0]), nil
		}
	} else if len(msgs) == 1 && !msgs[0].ctrl {
		// One message (a meta_switch case runs each record alone): the
		// leading per-message steps are called directly, without the
		// message slices the general loop passes between steps.
		m := msgs[0]
		for ; first < len(s.steps); first++ {
			st := &s.steps[first]
			f, ok := st.t.(perMessage)
			if !ok {
				break
			}
			drop, err := f(ctx, m)
			if err != nil {
				m.Fail(err)
			}
			if m.err != nil {
				m.err = &StepError{Step: st.label, Err: m.err}
				return append(out, m), nil
			}
			if drop {
				return out, nil
			}
		}
		if first == len(s.steps) {
			return append(out, m), nil
		}
	}
	b := msgs[0].b
	bufs := [2][]*Message{b.getBuf(), b.getBuf()}
	var used [2]int // how much of each buffer the steps wrote
	failed := b.getBuf()
	defer func() {
		b.putUsed(bufs[0][:used[0]])
		b.putUsed(bufs[1][:used[1]])
		b.putUsed(failed)
	}()
	cur := msgs
	for i, st := range s.steps[first:] {
		if len(cur) == 0 {
			break
		}
		next, err := st.t.Transform(ctx, cur, bufs[i%2][:0])
		if cap(next) != cap(bufs[i%2]) {
			used[i%2] = 0 // a new array: the old one goes back cleared
			b.putUsed(bufs[i%2][:cap(bufs[i%2])])
		}
		bufs[i%2] = next
		used[i%2] = max(used[i%2], len(next))
		if err != nil {
			return out, fmt.Errorf("%s: %w", st.label, err)
		}
		live := next[:0]
		for _, m := range next {
			if m.err != nil {
				m.err = &StepError{Step: st.label, Err: m.err}
				failed = append(failed, m)
				continue
			}
			live = append(live, m)
		}
		cur = live
	}
	out = append(out, cur...)
	return append(out, failed...), nil
}

// batch is the memory of one Process call, reused across calls.
type batch struct {
	arena   fastjson.Arena
	parsers []*fastjson.Parser
	np      int
	msgs    []Message
	nm      int
	extra   []*Message // messages beyond msgs' capacity
	scratch []byte
	num     []byte
	in, out []*Message
	free    [][]*Message // spare message slices for Steps.Run
	counts  []int
	state   map[any]any // per-batch state of stateful transforms (aggregate_*)
	keys    [64]keyInfo // Message.resolve's table, kept across batches
	gen     uint64      // the last doc.gen given (next)
}

// stateOf returns the state a stateful transform keeps for this batch
// (key is the transform itself), made by mk on first use. A compiled
// Transform is shared by concurrent batches, and a nested one (inside
// meta_switch) sees one message per call, so state that spans the batch
// lives here and is dropped when the batch ends.
func (b *batch) stateOf(key any, mk func() any) any {
	if s, ok := b.state[key]; ok {
		return s
	}
	if b.state == nil {
		b.state = map[any]any{}
	}
	s := mk()
	b.state[key] = s
	return s
}

func (b *batch) getBuf() []*Message {
	if n := len(b.free); n > 0 {
		s := b.free[n-1]
		b.free = b.free[:n-1]
		return s[:0]
	}
	return make([]*Message, 0, 16)
}

func (b *batch) putBuf(s []*Message) { b.putUsed(s[:cap(s)]) }

// putUsed is putBuf for a slice whose elements beyond its length were
// never written: only its length is cleared.
func (b *batch) putUsed(s []*Message) {
	clear(s)
	b.free = append(b.free, s[:0])
}

func (b *batch) reset() {
	b.arena.Reset()
	b.np = 0
	for i := 0; i < b.nm && i < len(b.msgs); i++ {
		b.msgs[i] = Message{}
	}
	b.nm = 0
	b.extra = b.extra[:0]
	b.scratch = b.scratch[:0]
	clear(b.in)
	clear(b.out)
	b.in, b.out = b.in[:0], b.out[:0]
	clear(b.state)
}

func (b *batch) newMessage(origin int) *Message {
	var m *Message
	if b.nm < len(b.msgs) {
		m = &b.msgs[b.nm]
		b.nm++
	} else {
		m = &Message{}
		b.extra = append(b.extra, m)
	}
	m.b, m.origin = b, origin
	return m
}

func (b *batch) parser() *fastjson.Parser {
	if b.np == len(b.parsers) {
		b.parsers = append(b.parsers, &fastjson.Parser{})
	}
	p := b.parsers[b.np]
	b.np++
	return p
}

// tree returns d's parsed tree, parsing it on first use; nil when d is
// empty or not JSON.
func (b *batch) tree(d *doc) *fastjson.Value {
	if d.parsed {
		return d.v
	}
	d.parsed = true
	if len(d.raw) == 0 {
		return nil
	}
	if d.p == nil {
		d.p = b.parser()
	}
	v, err := d.p.ParseBytes(d.raw)
	if err != nil {
		return nil
	}
	d.v, d.gen = v, b.next()
	return v
}

// next returns a number no document of the batch had (doc.gen): the
// count is kept across Process calls, as are the lookups cached under
// it.
func (b *batch) next() uint64 {
	b.gen++
	return b.gen
}

// settle ends the messages of a chunk that went through every step:
// each live message's data is serialized (into the scratch buffer, which
// lives until the batch ends) and its route read, its trees are dropped,
// and the batch's parsers and arena are reused by the next chunk, whose
// trees then land in memory that is still in the CPU caches.
func (b *batch) settle(msgs []*Message) {
	for _, m := range msgs {
		if m.err == nil && !m.ctrl {
			m.routeName = m.route()
			m.data = doc{raw: m.Data()}
			m.settled = true
		}
		m.meta = doc{}
	}
	b.arena.Reset()
	b.np = 0
}

// serialize returns d's bytes, writing the tree if it changed.
func (b *batch) serialize(d *doc) []byte {
	if !d.dirty {
		return d.raw
	}
	start := len(b.scratch)
	b.scratch = appendJSON(b.scratch, d.v)
	d.raw = b.scratch[start:len(b.scratch):len(b.scratch)]
	d.dirty = false
	return d.raw
}

// Plan is a compiled transforms list: built once, safe for concurrent
// Process calls.
type Plan struct {
	steps    *Steps
	pool     sync.Pool
	warnings []string
	// chunked: every step is record-local, so Process runs the records
	// through all the steps chunkSize at a time (then the control
	// message alone): a chunk's parsed trees and new values stay in the
	// CPU caches from one step to the next, where a whole batch of
	// 1000 records would be read back from memory at every step.
	chunked bool
}

// chunkSize is the number of records a chunked plan runs through its
// steps together.
const chunkSize = 16

// Compile compiles a list of Substation transform objects into a plan.
// Errors name the transform by index and type ("transforms[2]
// (object_copy): settings: \"object.source_key\" must be a string, not a
// JSON number"); unknown settings are accepted and listed by Warnings.
func Compile(transforms []json.RawMessage) (*Plan, error) {
	c := &Compiler{}
	s, err := c.Transforms("transforms", transforms)
	if err != nil {
		return nil, err
	}
	p := &Plan{steps: s, warnings: c.Warnings(), chunked: s.recordLocal()}
	p.pool.New = func() any { return &batch{} }
	return p, nil
}

// Warnings returns what compiling accepted but a user should know, one
// line each, naming the transform: settings Substation ignores (unknown
// keys), which weir ignores too.
func (p *Plan) Warnings() []string { return p.warnings }

// Process runs every record through the plan: each record is parsed once
// (when a step reads it), every step applies to the parsed document, and
// each output is serialized once. It returns one Result per record: its
// outputs (StatusOK; none for a record joined into another's aggregate,
// which that record's Result.Joined names), StatusDropped when it
// produced none, or
// StatusFailed with a StepError naming the step that failed it. After
// the records, a control message runs through the steps so that
// aggregating transforms flush; what it produces is attributed to the
// last record. A non-nil error fails the whole batch.
func (p *Plan) Process(ctx context.Context, records []engine.Record) ([]engine.Result, error) {
	b := p.pool.Get().(*batch)
	defer func() { b.reset(); p.pool.Put(b) }()
	if cap(b.msgs) < len(records)+1 {
		b.msgs = make([]Message, len(records)+1)
	}
	b.msgs = b.msgs[:cap(b.msgs)]
	in := b.in[:0]
	for i := range records {
		m := b.newMessage(i)
		m.data.raw = records[i].Data
		in = append(in, m)
	}
	ctrl := b.newMessage(-1)
	ctrl.ctrl = true
	in = append(in, ctrl)
	b.in = in
	out := b.out[:0]
	var err error
	if p.chunked {
		for start := 0; start < len(in) && err == nil; start += chunkSize {
			first := len(out)
			out, err = p.steps.Run(ctx, in[start:min(start+chunkSize, len(in))], out)
			if err == nil {
				b.settle(out[first:])
			}
		}
	} else {
		out, err = p.steps.Run(ctx, in, out)
	}
	b.out = out
	if err != nil {
		return nil, err
	}
	// The results, their Output slices and bytes come from the batch's
	// arena when the caller gave one (engine.Arena), fresh memory
	// otherwise.
	arena := engine.ArenaFrom(ctx)
	results := arena.Results(len(records))
	if len(records) == 0 {
		return results, nil
	}
	// Count the outputs of every record, then give each its window of
	// one Output slice and one byte buffer: two allocations per batch.
	last := len(records) - 1
	if cap(b.counts) < len(records) {
		b.counts = make([]int, len(records))
	}
	counts := b.counts[:len(records)]
	clear(counts)
	size, n := 0, 0
	for _, m := range out {
		o := m.origin
		if o < 0 {
			o = last
		}
		if len(m.joined) > 0 {
			results[o].Joined = append(results[o].Joined, m.joined...)
		}
		if m.err != nil {
			if results[o].Status != engine.StatusFailed {
				results[o].Status, results[o].Err = engine.StatusFailed, m.err
			}
			continue
		}
		if m.ctrl {
			continue
		}
		counts[o]++
		n++
		size += len(m.Data())
	}
	// A record joined into another's aggregate has no output of its own
	// but was not dropped: its data travels in the aggregate (StatusOK
	// without outputs; the owner's Result.Joined names it).
	for i := range results {
		for _, j := range results[i].Joined {
			if j >= 0 && j < len(counts) && counts[j] == 0 {
				counts[j] = -1
			}
		}
	}
	buf := arena.Bytes(size)
	outs := arena.Outputs(n)
	off := 0
	for i := range results {
		r := &results[i]
		if r.Status == engine.StatusFailed || counts[i] < 0 {
			continue
		}
		if counts[i] == 0 {
			r.Status = engine.StatusDropped
			continue
		}
		r.Outputs = outs[off : off : off+counts[i]]
		off += counts[i]
	}
	for _, m := range out {
		o := m.origin
		if o < 0 {
			o = last
		}
		r := &results[o]
		if m.err != nil || m.ctrl || r.Status == engine.StatusFailed {
			continue
		}
		start := len(buf)
		buf = append(buf, m.Data()...)
		r.Outputs = append(r.Outputs, engine.Output{Route: m.route(), Data: buf[start:len(buf):len(buf)]})
	}
	return results, nil
}

// RouteKey is the metadata key that routes a record: when a message
// leaves the plan with a string at "meta route", it goes to the pipeline
// output of that name (engine.Output.Route), as a module's output does.
// It is how a built-in stage routes, e.g. a meta_switch case inserting
// {"object": {"target_key": "meta route"}, "value": "alerts"}.
const RouteKey = "meta route"

// route returns the string at RouteKey, or "" (the metadata is only read
// when a step wrote it).
func (m *Message) route() string {
	if m.settled {
		return m.routeName
	}
	if len(m.meta.raw) == 0 && !m.meta.parsed {
		return ""
	}
	v := m.GetValue(RouteKey)
	if !v.Exists() || !v.IsString() {
		return ""
	}
	return v.String()
}

// Stage is a built-in stage: an engine.Stage running a Plan.
type Stage struct {
	plan *Plan
}

// NewStage compiles a stage's transforms list.
func NewStage(transforms []json.RawMessage) (*Stage, error) {
	p, err := Compile(transforms)
	if err != nil {
		return nil, err
	}
	return &Stage{plan: p}, nil
}

// Warnings returns the plan's compile warnings (Plan.Warnings).
func (s *Stage) Warnings() []string { return s.plan.Warnings() }

// Process implements engine.Stage.
func (s *Stage) Process(ctx context.Context, records []engine.Record) ([]engine.Result, error) {
	return s.plan.Process(ctx, records)
}

// Close implements engine.Stage; a built-in stage holds no resources.
func (s *Stage) Close(context.Context) error { return nil }

// Describe implements engine.Describer: built-in stages name themselves
// "builtin:transforms".
func (s *Stage) Describe() (module, digest string) { return "builtin:transforms", "" }
