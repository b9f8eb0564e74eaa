package weir

import (
	"fmt"
	"unsafe"

	"github.com/weirhq/weir/engine/frame"
)

// ABIVersion is the frame format and export set this SDK implements.
const ABIVersion = frame.Version

// SDKVersion names this SDK in the module's manifest.
const SDKVersion = "go/0.1.0"

// Handler transforms one record. It emits zero or more outputs (Emit,
// EmitTo, Doc().Emit, Edit().Emit), or calls Drop. A non-nil error fails
// the record with the error's message, and so does a panic ("panic: ...");
// in both cases the record's outputs are discarded. A handler that returns
// nil without emitting leaves the record transformed into nothing (which
// the host counts as ok, not dropped).
type Handler func(r *Record) error

// state is the module's one and only batch runner. A Wasm instance is
// single-threaded and runs one batch at a time.
var state runner

type runner struct {
	handler  Handler
	prepare  func(*Records) error
	recs     []frame.InRecord
	records  Records
	paths    []string
	manifest []byte

	in      frame.InputReader
	rd      recordReader
	out     frame.OutputWriter
	outBuf  []byte
	rec     Record
	applier frame.Applier
	// viewIdx maps a declared path to its view index in the current frame
	// (-1: the frame carries no view for it).
	viewIdx []int
	hint    int // where view starts looking
	// identity is true when the frame's views are exactly the declared
	// paths, in order.
	identity bool
	split    map[string][]string
	// mark is where the current record's outcome starts in out;
	// inHandler is set while the handler runs (run recovers only
	// its panics).
	mark      frame.Mark
	inHandler bool
}

// Handle registers the record handler. Call it once, from an init
// function; a later call replaces the handler.
func Handle(h Handler) { state.handler = h }

// Paths declares the JSON paths the handler reads with Record.Get. On weir,
// the host parses each record natively and hands the module these values
// (views), so the guest never parses JSON; Get on any other path, or on a
// host that sends no views, parses the record in the guest. Paths are
// dot-separated object keys (write a literal dot as `\.`); a numeric
// segment indexes an array. Call it from an init function; later calls add
// paths.
func Paths(paths ...string) {
	state.paths = append(state.paths, paths...)
	state.manifest = nil
}

// Manifest returns the module's manifest, as the weir_manifest export does:
// {"abi":1,"sdk":"go/0.1.0","paths":[...]}.
func Manifest() []byte {
	if state.manifest == nil {
		b := fmt.Appendf(nil, `{"abi":%d,"sdk":`, ABIVersion)
		b = frame.AppendString(b, []byte(SDKVersion))
		b = append(b, `,"paths":[`...)
		for i, p := range state.paths {
			if i > 0 {
				b = append(b, ',')
			}
			b = frame.AppendString(b, []byte(p))
		}
		state.manifest = append(b, "]}"...)
	}
	return state.manifest
}

// Batch runs the registered handler over an input frame and returns the
// output frame (or an error frame), exactly as the weir_transform export
// does. The result is valid until the next call. Modules never call it;
// native tests do, with frames built by engine/frame.
func Batch(in []byte) []byte { return state.batch(in) }

func (st *runner) errorFrame(msg string) []byte {
	st.outBuf = frame.AppendError(st.outBuf[:0], msg)
	return st.outBuf
}

func (st *runner) batch(in []byte) []byte {
	if st.handler == nil {
		return st.errorFrame("weir: no handler registered: call weir.Handle from an init function")
	}
	if err := st.in.Reset(in); err != nil {
		return st.errorFrame("weir: reading the input frame: " + err.Error())
	}
	st.mapViews()
	st.out.Reset(st.outBuf)
	r := &st.rec
	r.st = st
	r.hostOps = st.in.Flags&frame.FlagHostOps != 0
	nViews := 0
	if st.in.Flags&frame.FlagViews != 0 {
		nViews = len(st.in.Paths)
	}
	if cap(r.vals) < nViews {
		r.vals = make([]Value, nViews)
	}
	r.vals = r.vals[:nViews]
	// With a Prepare function, every record is read first, then Prepare
	// sees them all, then the handler runs per record.
	prepared := st.prepare != nil
	var prepErr error
	if prepared {
		st.recs = st.recs[:0]
		for i := 0; st.in.More(); i++ {
			if len(st.recs) < cap(st.recs) {
				st.recs = st.recs[:i+1]
			} else {
				st.recs = append(st.recs, frame.InRecord{})
			}
			if err := st.in.Next(&st.recs[i]); err != nil {
				st.outBuf = st.out.Buf()
				return st.errorFrame(fmt.Sprintf("weir: reading record %d of the input frame: %v", i, err))
			}
		}
		prepErr = st.callPrepare()
	}
	st.rd.start(in, st.in.Paths)
	n := st.in.Count
	if prepared {
		n = len(st.recs)
	}
	for i := 0; i < n; {
		var readErr error
		if i, readErr = st.run(in, i, n, prepErr); readErr != nil {
			st.outBuf = st.out.Buf()
			return st.errorFrame(readErr.Error())
		}
	}
	if prepared {
		r.in = frame.InRecord{}
	}
	st.outBuf = st.out.Finish()
	return st.outBuf
}

// callPrepare runs the Prepare function, turning a panic into its error.
func (st *runner) callPrepare() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("prepare: panic: %v", p)
		}
	}()
	st.records.st = st
	return st.prepare(&st.records)
}

// run runs the handler over records i to n-1 under one recover: a
// defer per record cost ~500 instructions in Wasm. When the handler
// panics, the record fails with "panic: ..." and run returns the index
// of the next one, for the caller to go on from there. A panic outside the
// handler is not recovered. readErr is set when a record does not decode.
func (st *runner) run(in []byte, i, n int, prepErr error) (next int, readErr error) {
	r := &st.rec
	defer func() {
		if !st.inHandler {
			return
		}
		p := recover()
		st.inHandler = false
		st.finish(r, fmt.Errorf("panic: %v", p))
		next = r.index + 1
	}()
	prepared := st.prepare != nil
	for ; i < n; i++ {
		if prepared {
			r.in = st.recs[i]
			for k := range r.vals {
				v := r.in.Views[k]
				r.vals[k] = bytesValue(v.Type, v.Raw)
			}
		} else if !st.rd.next(&r.in, r.vals) || (i == n-1 && !st.rd.end()) {
			k, err := st.rd.err(in, i)
			return n, fmt.Errorf("weir: reading record %d of the input frame: %v", k, err)
		}
		r.reset(i)
		st.mark = st.out.Mark()
		st.out.OK()
		err := prepErr
		if err == nil {
			st.inHandler = true
			err = st.handler(r)
			st.inHandler = false
		}
		st.finish(r, err)
	}
	return n, nil
}

// finish ends the outcome of the record started at st.mark: failed with
// err (or the error a Doc recorded), dropped, or left as written.
func (st *runner) finish(r *Record, err error) {
	if err == nil {
		err = r.err
	}
	switch {
	case err != nil:
		st.out.Rewind(st.mark)
		st.out.Failed(err.Error())
	case r.dropped:
		st.out.Rewind(st.mark)
		st.out.Dropped()
	}
}

// mapViews matches the frame's declared paths with the module's.
func (st *runner) mapViews() {
	st.viewIdx = st.viewIdx[:0]
	st.identity = false
	if st.in.Flags&frame.FlagViews == 0 {
		return
	}
	st.identity = len(st.in.Paths) == len(st.paths)
	for i, p := range st.paths {
		if st.identity && string(st.in.Paths[i]) != p {
			st.identity = false
		}
		if st.identity {
			// weir sends the declared paths in order: no search (a
			// search per path cost ~400 instructions per record in
			// Wasm, in 32-record calls).
			st.viewIdx = append(st.viewIdx, i)
			continue
		}
		idx := -1
		for j, fp := range st.in.Paths {
			if string(fp) == p {
				idx = j
				break
			}
		}
		st.viewIdx = append(st.viewIdx, idx)
	}
}

// viewIndex returns the index in the frame's views of a declared path, or
// -1 when the frame carries no view for it.
func (st *runner) viewIndex(path string) int {
	// Handlers usually read paths in declaration order, passing the very
	// string constants they declared: try the path after the last one
	// found first, and compare pointers before bytes.
	n := len(st.paths)
	for k, i := 0, st.hint; k < n; k, i = k+1, i+1 {
		if i >= n {
			i = 0
		}
		p := st.paths[i]
		if len(p) != len(path) || (unsafe.StringData(p) != unsafe.StringData(path) && p != path) {
			continue
		}
		st.hint = i + 1
		if i < len(st.viewIdx) {
			return st.viewIdx[i]
		}
		return -1
	}
	return -1
}

// splitPath returns the cached split form of a path.
func (st *runner) splitPath(path string) []string {
	if segs, ok := st.split[path]; ok {
		return segs
	}
	if st.split == nil {
		st.split = make(map[string][]string)
	}
	segs := frame.SplitPath(path)
	if len(st.split) < 1024 {
		st.split[path] = segs
	}
	return segs
}
