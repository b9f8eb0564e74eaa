package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/host/enrich"
)

// callMode is how a stage calls its module.
type callMode int

const (
	modeFast callMode = iota
	modeBatch
	modeRecord
)

func (m callMode) String() string {
	switch m {
	case modeFast:
		return engine.EntryFast
	case modeBatch:
		return engine.EntryBatch
	}
	return engine.EntryRecord
}

// highWaterPercent: an instance whose memory grew past this share of its
// limit after a call is discarded.
const highWaterPercent = 75

// maxKeptBuffer bounds the worker buffers an instance keeps between calls.
const maxKeptBuffer = 16 << 20

// stage runs one module over batches. It implements engine.Stage and
// engine.Describer.
type stage struct {
	h       *Host
	entry   *cacheEntry
	cm      *compiled
	sc      engine.StageConfig
	env     callEnv
	mode    callMode
	memHigh uint64
	pool    *pool
	// chunked: a call carries at most chunkRecords records (frameChunk),
	// for modules that make no enrichment lookups (those are batched
	// per call: sdk/ABI.md, "Host functions").
	chunked bool

	// mu is held for reading by Process and for writing by Close, so Close
	// waits for batches in flight.
	mu      sync.RWMutex
	closed  bool
	created atomic.Int64 // instances made for this stage
	calls   atomic.Int64 // transform calls (one per chunk, one per record in record mode)
}

func newStage(h *Host, e *cacheEntry, sc engine.StageConfig) (*stage, error) {
	cm := e.c
	mode, err := resolveMode(cm.info, sc.Entry, sc.Function)
	if err != nil {
		return nil, err
	}
	s := &stage{
		h:     h,
		entry: e,
		cm:    cm,
		sc:    sc,
		mode:  mode,
		env: callEnv{
			label:    sc.Name,
			logger:   h.logger,
			logLevel: cm.env.logLevel,
			config:   sc.Config,
			maxOut:   sc.Limits.MaxOutputBytes,
			timeout:  time.Duration(sc.Limits.Timeout),
		},
		memHigh: cm.memLimit() * highWaterPercent / 100,
		pool:    newPool(sc.Instances),
		chunked: !slices.ContainsFunc(cm.info.Imports, func(im Import) bool { return im.Module == extismUserModule }),
	}
	if !sc.Capabilities.Empty() {
		if s.env.enrich, err = enrich.New(sc.Capabilities, enrich.Options{Stage: sc.Name, Logger: h.logger}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// resolveMode picks the call mode for entry ("auto" or one of the modes).
func resolveMode(info *ModuleInfo, entry, function string) (callMode, error) {
	abiOK := func() error {
		if info.ABIVersion != ABIVersion {
			return fmt.Errorf("%w: the module speaks weir ABI version %d; this host speaks %d", ErrInvalidModule, info.ABIVersion, ABIVersion)
		}
		return nil
	}
	switch entry {
	case "", engine.EntryAuto:
		switch {
		case info.FastPath:
			return modeFast, abiOK()
		case info.PlainBatch:
			return modeBatch, nil
		case info.hasRecordExport(function):
			return modeRecord, nil
		}
		return 0, fmt.Errorf("%w: the module exports no entry point: neither %s (fast path), %s (batch) nor %q (record mode)", ErrInvalidModule, exportTransform, exportBatch, function)
	case engine.EntryFast:
		if !info.FastPath {
			return 0, fmt.Errorf("%w: entry %q needs exports %s() -> i32, %s(i32) -> i32 and %s(i32, i32) -> i64", ErrInvalidModule, entry, exportABIVersion, exportAlloc, exportTransform)
		}
		return modeFast, abiOK()
	case engine.EntryBatch:
		if !info.PlainBatch {
			return 0, fmt.Errorf("%w: entry %q needs export %s() -> i32", ErrInvalidModule, entry, exportBatch)
		}
		return modeBatch, nil
	case engine.EntryRecord:
		if !info.hasRecordExport(function) {
			return 0, fmt.Errorf("%w: entry %q needs export %q with type func() -> i32", ErrInvalidModule, entry, function)
		}
		return modeRecord, nil
	}
	return 0, fmt.Errorf("host: unknown entry %q (want auto, fast, batch or record)", entry)
}

// Describe returns the module reference and its sha256 digest (hex).
func (s *stage) Describe() (module, digest string) { return s.sc.Module, s.cm.digest }

// Close closes the stage's instances, after the batches in flight, and
// releases the compiled module when no other stage uses it.
func (s *stage) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.pool.close(ctx)
	return s.h.release(ctx, s.entry)
}

// fail wraps a batch error with the module's name and digest.
func (s *stage) fail(err error) error {
	return &ModuleError{Module: s.env.label, Digest: s.cm.digest, Err: err}
}

// batch is the state the chunks of one batch share.
type batch struct {
	spent atomic.Int64
	max   int64
	// arena holds the batch's output bytes and slices when the caller
	// gave one (engine.ArenaFrom); nil: ordinary memory.
	arena *engine.Arena
}

// spend counts n output bytes against the batch's budget.
func (b *batch) spend(n int) error {
	if b.spent.Add(int64(n)) > b.max {
		return fmt.Errorf("%w: the module returned more than %d bytes for the batch", ErrOutputTooLarge, b.max)
	}
	return nil
}

// acquire returns an instance for one chunk: idle, the compiled module's
// spare, or new.
func (s *stage) acquire(ctx context.Context) (*instance, error) {
	inst, err := s.pool.get(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: waiting for an instance: %w", ErrCanceled, err)
	}
	if inst == nil {
		inst, err = s.newInstance(ctx)
		if err != nil {
			s.pool.put(ctx, nil, false)
			return nil, err
		}
	}
	if s.mode == modeRecord {
		inst.setRecordFunc(s.sc.Function)
	}
	return inst, nil
}

func (s *stage) newInstance(ctx context.Context) (*instance, error) {
	if inst := s.cm.takeSpare(&s.env); inst != nil {
		s.created.Add(1)
		return inst, nil
	}
	inst, err := s.cm.newInstance(ctx, &s.env)
	if err != nil {
		return nil, err
	}
	s.created.Add(1)
	return inst, nil
}

// release gives inst back to the pool, or discards it when it failed or
// its memory grew past the high-water mark.
func (s *stage) release(ctx context.Context, inst *instance, err error) {
	reason, level := "", slog.LevelDebug
	switch {
	case inst.bad:
		reason = "its call failed"
	case err != nil && !errors.Is(err, ErrModuleFailed):
		reason = "its batch failed"
	case inst.memSize() > s.memHigh:
		// Worth a warning: the limit is too tight, or the module leaks.
		reason, level = fmt.Sprintf("its memory grew to %d bytes, past the high-water mark of %d", inst.memSize(), s.memHigh), slog.LevelWarn
	}
	if reason != "" {
		s.env.logger.LogAttrs(ctx, level, "host: discarding module instance",
			slog.String("module", s.env.label), slog.String("reason", reason))
	} else {
		inst.trim()
	}
	s.pool.put(ctx, inst, reason == "")
}

// trim drops worker buffers that grew too large to keep.
func (inst *instance) trim() {
	if cap(inst.inBuf) > maxKeptBuffer {
		inst.inBuf = nil
	}
	if cap(inst.output) > maxKeptBuffer {
		inst.output = nil
	}
	inst.input = nil
	// The docs refer to the batch's records: let them go.
	for _, d := range inst.parsed {
		if d != nil {
			d.Reset()
		}
	}
	clear(inst.parsed)
}

// runOnce runs records on one instance and fills res.
func (s *stage) runOnce(ctx context.Context, b *batch, base int, recs []engine.Record, res []engine.Result) (err error) {
	inst, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	cctx := &callCtx{Context: ctx, inst: inst}
	defer func() {
		if r := recover(); r != nil {
			cctx.inst.bad = true
			err = fmt.Errorf("%w: host panic: %v", ErrTrap, r)
		}
		s.release(ctx, cctx.inst, err)
	}()
	if s.mode == modeRecord {
		return s.runRecords(cctx, b, base, recs, res)
	}
	return s.runFrame(cctx, b, base, recs, res)
}

// runFrame builds the input frame, calls the module once, and decodes the
// output frame.
func (s *stage) runFrame(cctx *callCtx, b *batch, base int, recs []engine.Record, res []engine.Result) error {
	inst := cctx.inst
	in := s.buildFrame(inst, base, recs, res)
	if in == nil {
		return nil
	}
	s.calls.Add(1)
	var out []byte
	var err error
	if s.mode == modeFast {
		out, err = s.callFast(cctx, in)
	} else {
		out, err = s.callBatch(cctx, in)
	}
	if err != nil {
		return err
	}
	if err := b.spend(len(out)); err != nil {
		return err
	}
	return s.decode(cctx, b, base, out, recs, res)
}

// buildFrame parses the records (when the module declares views), fills
// inst.sent and inst.parsed, and returns the input frame; nil when no
// record is left to send. Records that are not JSON get their result here.
func (s *stage) buildFrame(inst *instance, base int, recs []engine.Record, res []engine.Result) []byte {
	views := len(s.cm.paths) > 0
	flags := frame.FlagHostOps
	if views {
		flags |= frame.FlagViews
	}
	inst.in.Reset(inst.inBuf, flags, s.cm.paths)
	inst.sent = inst.sent[:0]
	inst.parsed = inst.parsed[:0]
	for i := range recs {
		r := &recs[i]
		if s.notSent(base+i, r.Data, &res[i]) {
			continue
		}
		var d *frame.Doc
		if views {
			d = inst.doc(len(inst.sent))
			if err := d.Parse(r.Data); err != nil {
				res[i] = engine.Result{Status: engine.StatusFailed, Err: invalidJSON(r.Data, err)}
				continue
			}
		}
		var arrival int64
		if !r.Meta.ArrivalTime.IsZero() {
			arrival = r.Meta.ArrivalTime.UnixNano()
		}
		inst.in.AddRecord(r.Data, r.Meta.PartitionKey, r.Meta.SequenceNumber, r.Meta.SubSequenceNumber, arrival, r.Meta.Source)
		for _, segs := range s.cm.pathSegs {
			inst.in.AddDocValue(d, d.Get(segs...))
		}
		inst.sent = append(inst.sent, i)
		inst.parsed = append(inst.parsed, d)
	}
	if len(inst.sent) == 0 {
		return nil
	}
	in := inst.in.Finish()
	inst.inBuf = in
	return in
}

// doc returns the i-th Doc of the worker: each record of a chunk keeps
// its parse until its outputs are applied.
func (inst *instance) doc(i int) *frame.Doc {
	for len(inst.docs) <= i {
		inst.docs = append(inst.docs, new(frame.Doc))
	}
	return inst.docs[i]
}

// callFast runs the fast path: one write of the input frame at the
// pointer weir_alloc returns, one weir_transform call, and the output
// frame read in place (valid until the instance's next call).
func (s *stage) callFast(cctx *callCtx, in []byte) ([]byte, error) {
	inst := cctx.inst
	if inst.mem == nil {
		inst.bad = true
		return nil, fmt.Errorf("%w: the module has no memory", ErrInvalidModule)
	}
	if err := s.frameFits(in); err != nil {
		return nil, err
	}
	inst.beginCall(nil)
	st := inst.stack[:]
	// The region weir_alloc returned stays the module's input buffer until
	// the next weir_alloc (sdk/ABI.md), so a frame that fits is written
	// there without calling the module twice per batch.
	if inst.inPtr == 0 || uint32(len(in)) > inst.inCap {
		size := max(uint64(len(in)), 64<<10, 2*uint64(inst.inCap))
		size = min(size, max(uint64(len(in)), s.cm.memLimit()/4))
		st[0] = size
		if err := inst.call(cctx, inst.fnAlloc, exportAlloc, st[:1]); err != nil {
			return nil, err
		}
		inst.inPtr, inst.inCap = 0, 0
		ptr := uint32(st[0])
		if ptr == 0 {
			inst.bad = true
			return nil, &memoryError{fmt.Errorf("%w: %s(%d) returned 0", ErrBadOutput, exportAlloc, size)}
		}
		if _, ok := inst.mem.Read(ptr, uint32(size)); !ok {
			inst.bad = true
			return nil, fmt.Errorf("%w: %s(%d) returned 0x%x, outside the module's %d-byte memory", ErrBadOutput, exportAlloc, size, ptr, inst.memSize())
		}
		inst.inPtr, inst.inCap = ptr, uint32(size)
	}
	ptr := inst.inPtr
	if !inst.mem.Write(ptr, in) {
		inst.bad = true
		return nil, fmt.Errorf("%w: %s returned 0x%x, outside the module's %d-byte memory", ErrBadOutput, exportAlloc, ptr, inst.memSize())
	}
	st[0], st[1] = uint64(ptr), uint64(len(in))
	if err := inst.call(cctx, inst.fnTransform, exportTransform, st); err != nil {
		return nil, err
	}
	packed := st[0]
	if packed == 0 {
		inst.bad = true
		return nil, fmt.Errorf("%w: %s returned 0 (failed without a frame)", ErrBadOutput, exportTransform)
	}
	optr, olen := uint32(packed>>32), uint32(packed)
	if int64(olen) > s.env.maxOut {
		return nil, fmt.Errorf("%w: %s returned %d bytes (max %d)", ErrOutputTooLarge, exportTransform, olen, s.env.maxOut)
	}
	out, ok := inst.guest(optr, olen)
	if !ok {
		inst.bad = true
		return nil, fmt.Errorf("%w: %s returned %d bytes at 0x%x, outside the module's %d-byte memory", ErrBadOutput, exportTransform, olen, optr, inst.memSize())
	}
	return out, nil
}

// callBatch runs the plain Extism batch export: the frame is the Extism
// input, the output frame the Extism output.
func (s *stage) callBatch(cctx *callCtx, in []byte) ([]byte, error) {
	inst := cctx.inst
	if err := s.frameFits(in); err != nil {
		return nil, err
	}
	inst.beginCall(in)
	inst.stack[0] = 0
	if err := inst.call(cctx, inst.fnBatch, exportBatch, inst.stack[:1]); err != nil {
		return nil, err
	}
	if int64(inst.outputLen) > s.env.maxOut || int64(inst.outputLen) < 0 {
		return nil, fmt.Errorf("%w: %s set a %d-byte output (max %d)", ErrOutputTooLarge, exportBatch, inst.outputLen, s.env.maxOut)
	}
	if rc := int32(inst.stack[0]); rc != 0 || inst.errMsg != "" {
		msg := inst.errMsg
		if msg == "" {
			msg = fmt.Sprintf("%s returned %d", exportBatch, rc)
		}
		return nil, fmt.Errorf("%w: %s", ErrModuleFailed, msg)
	}
	return inst.output, nil
}

// decode turns the output frame into results, copying everything it keeps
// (out aliases guest or kernel memory) and applying document operations.
//
// Applying is bounded like the module's own output: the frame was counted
// against the batch's max_output_bytes, and every document built from an
// operation list counts in place of its list, checked as it is written
// (a few bytes of operations can ask for megabytes), under the batch
// deadline.
func (s *stage) decode(cctx *callCtx, b *batch, base int, out []byte, recs []engine.Record, res []engine.Result) error {
	inst := cctx.inst
	or, err := frame.ReadOutput(out, len(inst.sent))
	if err != nil {
		var be *frame.BatchError
		if errors.As(err, &be) {
			return fmt.Errorf("%w: %s", ErrModuleFailed, be.Message)
		}
		inst.bad = true
		return fmt.Errorf("%w: %w", ErrBadOutput, err)
	}
	// Documents built from operation lists (modules that declare views
	// build documents) are about the size of their input plus its escaped
	// copy: size the slab once so applying them never regrows it.
	size := len(out)
	if len(s.cm.paths) > 0 {
		for _, i := range inst.sent {
			size += 2*len(recs[i].Data) + 256
		}
	}
	slab := b.arena.Bytes(min(size, int(b.max)+len(out)))
	defer func() { b.arena.Shrink(slab) }()
	outs := b.arena.Outputs(len(inst.sent))[:0]
	rec := &inst.outRec
	inst.applyCtx = cctx
	defer func() { inst.applyCtx = nil }()
	for j, i := range inst.sent {
		if err := or.Next(rec); err != nil {
			inst.bad = true
			return fmt.Errorf("%w: %w", ErrBadOutput, err)
		}
		switch rec.Status {
		case frame.StatusDropped:
			res[i] = engine.Result{Status: engine.StatusDropped}
			continue
		case frame.StatusFailed:
			res[i] = engine.Result{Status: engine.StatusFailed, Err: errors.New(string(rec.Message))}
			continue
		}
		first := len(outs)
		var recErr error
		for k, o := range rec.Outputs {
			start := len(slab)
			if o.Kind == frame.OutputRaw {
				slab = append(slab, o.Body...)
			} else {
				// The list's bytes were counted with the frame; its
				// document counts instead.
				inst.applier.Max = int(max(b.max-b.spent.Load()+int64(len(o.Body)), 1))
				slab, err = inst.applier.ApplyDoc(slab, o.Kind, o.Body, recs[i].Data, inst.parsed[j])
				switch {
				case errors.Is(err, frame.ErrTooLarge):
					return fmt.Errorf("%w: record %d, output %d: its %d-byte operation list builds a document that takes the batch past %d bytes", ErrOutputTooLarge, base+i, k, len(o.Body), b.max)
				case errors.Is(err, errApplyTimeout):
					return fmt.Errorf("%w (applying the operations of record %d, output %d)", inst.ctxError(cctx), base+i, k)
				case err != nil:
					recErr = fmt.Errorf("output %d: %w", k, err)
				}
				if recErr != nil {
					break
				}
				if err := b.spend(len(slab) - start - len(o.Body)); err != nil {
					return fmt.Errorf("record %d, output %d: %w", base+i, k, err)
				}
			}
			outs = append(outs, engine.Output{Route: string(o.Route), Data: slab[start:len(slab):len(slab)]})
		}
		if recErr != nil {
			outs = outs[:first]
			res[i] = engine.Result{Status: engine.StatusFailed, Err: recErr}
			continue
		}
		res[i] = engine.Result{Status: engine.StatusOK, Outputs: outs[first:len(outs):len(outs)]}
	}
	return nil
}

// errApplyTimeout marks the batch context's end seen while applying
// operations.
var errApplyTimeout = errors.New("the batch ended while applying operations")

// applyCheck is the applier's Check: the batch's deadline or
// cancellation, while decode runs.
func (inst *instance) applyCheck() error {
	if c := inst.applyCtx; c != nil && c.Err() != nil {
		return errApplyTimeout
	}
	return nil
}

// runRecords calls the record-mode export once per record.
func (s *stage) runRecords(cctx *callCtx, b *batch, base int, recs []engine.Record, res []engine.Result) error {
	total := 0
	for i := range recs {
		total += len(recs[i].Data)
	}
	slab := b.arena.Bytes(total)
	defer func() { b.arena.Shrink(slab) }()
	outs := b.arena.Outputs(len(recs))[:0]
	name := s.sc.Function
	for i := range recs {
		inst := cctx.inst
		if inst.bad {
			// The previous record exited the module cleanly: continue on a
			// fresh instance in the same pool slot.
			fresh, err := s.newInstance(cctx.Context)
			if err != nil {
				return err
			}
			fresh.setRecordFunc(name)
			inst.close(cctx.Context)
			cctx.inst, inst = fresh, fresh
		}
		if s.notSent(base+i, recs[i].Data, &res[i]) {
			continue
		}
		inst.beginCall(recs[i].Data)
		inst.stack[0] = 0
		s.calls.Add(1)
		if err := inst.call(cctx, inst.fnRecord, name, inst.stack[:1]); err != nil {
			if isMemoryError(err) && len(recs[i].Data) >= s.suspectBytes() && cctx.Err() == nil {
				// This record alone ran the module out of memory; the
				// next one runs on a fresh instance.
				res[i] = engine.Result{Status: engine.StatusFailed, Err: s.tooBig(base+i, len(recs[i].Data), err)}
				continue
			}
			if !errors.Is(err, errCleanExit) {
				return err
			}
			inst.stack[0] = 0
		}
		if int64(inst.outputLen) > s.env.maxOut || int64(inst.outputLen) < 0 {
			return fmt.Errorf("%w: %s set a %d-byte output (max %d)", ErrOutputTooLarge, name, inst.outputLen, s.env.maxOut)
		}
		if err := b.spend(len(inst.output)); err != nil {
			return err
		}
		rc := int32(inst.stack[0])
		if !inst.recordResult {
			rc = 0
		}
		switch {
		case rc != 0 || inst.errMsg != "":
			msg := inst.errMsg
			if msg == "" {
				msg = fmt.Sprintf("%s returned %d", name, rc)
			}
			res[i] = engine.Result{Status: engine.StatusFailed, Err: errors.New(msg)}
		case len(inst.output) == 0:
			res[i] = engine.Result{Status: engine.StatusDropped}
		default:
			start := len(slab)
			slab = append(slab, inst.output...)
			outs = append(outs, engine.Output{Data: slab[start:len(slab):len(slab)]})
			res[i] = engine.Result{Status: engine.StatusOK, Outputs: outs[len(outs)-1 : len(outs) : len(outs)]}
		}
	}
	return nil
}

// invalidJSON explains why data is not JSON, with the byte offset of the
// problem.
func invalidJSON(data []byte, parseErr error) error {
	var raw json.RawMessage
	var se *json.SyntaxError
	if err := json.Unmarshal(data, &raw); errors.As(err, &se) {
		off := se.Offset - 1
		if strings.HasPrefix(se.Error(), "unexpected end") || off < 0 {
			off = int64(len(data))
		}
		return fmt.Errorf("invalid JSON at byte offset %d: %s", off, se.Error())
	}
	return fmt.Errorf("invalid JSON: %w", parseErr)
}

// Interface guards.
var (
	_ engine.Stage     = (*stage)(nil)
	_ engine.Describer = (*stage)(nil)
)
