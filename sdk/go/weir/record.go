package weir

import (
	"errors"
	"time"

	"github.com/valyala/fastjson"
	"github.com/weirhq/weir/engine/frame"
)

// Record is one input record of the batch being transformed. The SDK reuses
// it: it is valid only until the handler returns, and so are the slices
// and Values it hands out.
type Record struct {
	st *runner
	in frame.InRecord
	// vals are the record's views (indexed like the frame's declared
	// paths), decoded by recordReader.
	vals    []Value
	index   int
	hostOps bool

	parser   fastjson.Parser
	parsed   *fastjson.Value
	parseErr error
	tried    bool

	docs    []*Doc
	ndocs   int
	dropped bool
	err     error
}

func (r *Record) reset(index int) {
	r.index = index
	r.parsed, r.parseErr, r.tried = nil, nil, false
	r.ndocs = 0
	r.dropped = false
	r.err = nil
}

// Index is the record's position in this call's frame, from 0 (the host
// may carry a batch in several calls: see sdk/ABI.md).
func (r *Record) Index() int { return r.index }

// Data returns the record's bytes. The slice aliases the batch: copy it to
// keep it past the handler, and do not modify it.
func (r *Record) Data() []byte { return r.in.Data }

// PartitionKey is the record's partition key (Kinesis), or "".
func (r *Record) PartitionKey() string { return string(r.in.PartitionKey) }

// SequenceNumber identifies the record in its source, or "".
func (r *Record) SequenceNumber() string { return string(r.in.SequenceNumber) }

// SubSequence is the record's index inside a KPL-aggregated record.
func (r *Record) SubSequence() uint64 { return r.in.SubSequence }

// ArrivalTime is when the source received the record; the zero Time when
// unknown.
func (r *Record) ArrivalTime() time.Time {
	if r.in.ArrivalUnixNano == 0 {
		return time.Time{}
	}
	return time.Unix(0, r.in.ArrivalUnixNano).UTC()
}

// Source names where the record came from (a stream ARN, a file...), or "".
func (r *Record) Source() string { return string(r.in.Source) }

// Get returns the value at path. A path declared with Paths is read from
// the host's view when the host sent one; any other path is read from the
// record parsed in the guest (parsed once per record, on first use). A
// record that is not JSON yields missing values; Parsed reports why.
func (r *Record) Get(path string) Value {
	if j := r.st.viewIndex(path); j >= 0 && j < len(r.vals) {
		return r.vals[j]
	}
	root, err := r.Parsed()
	if err != nil {
		return Value{}
	}
	return JSONValue(root.Get(r.st.splitPath(path)...))
}

// Values appends the values of all the paths declared with Paths, in
// declaration order, to dst and returns it: what Get returns for each, in
// one call. Hot modules use it (with a reused dst) instead of one Get per
// path: calls are expensive in Go compiled to Wasm.
func (r *Record) Values(dst []Value) []Value {
	st := r.st
	if st.identity && len(r.vals) == len(st.paths) {
		return append(dst, r.vals...)
	}
	for _, p := range st.paths {
		dst = append(dst, r.Get(p))
	}
	return dst
}

// CheckJSON returns an error when the record is not valid JSON. When the
// host sent views it has already checked every record, and this costs
// nothing; otherwise the record is parsed in the guest (once: Get and
// Parsed reuse the result).
func (r *Record) CheckJSON() error {
	if r.st.in.Flags&frame.FlagViews != 0 {
		return nil
	}
	_, err := r.Parsed()
	return err
}

// Parsed returns the record parsed as JSON in the guest (once per record).
// Guest-side parsing is the slow path of a Go module: prefer Paths and Get.
// The value is valid until the handler returns.
func (r *Record) Parsed() (*fastjson.Value, error) {
	if !r.tried {
		r.tried = true
		r.parsed, r.parseErr = r.parser.ParseBytes(r.in.Data)
		if r.parseErr != nil {
			r.parsed = nil
		}
	}
	return r.parsed, r.parseErr
}

// Emit outputs data to the pipeline's default output.
func (r *Record) Emit(data []byte) { r.st.out.Output(frame.OutputRaw, "", data) }

// EmitTo outputs data to the named pipeline output (route).
func (r *Record) EmitTo(route string, data []byte) {
	r.st.out.Output(frame.OutputRaw, route, data)
}

// Drop filters the record out: its outputs, before or after, are
// discarded, and the host counts it as dropped.
func (r *Record) Drop() { r.dropped = true }

// Doc starts a new JSON document (an empty object) built from operations.
// Several documents may be built for one record.
func (r *Record) Doc() *Doc { return r.newDoc(frame.OutputOps) }

// Edit starts a document that is the input record (a JSON object) edited by
// operations: fields set, copied or deleted; the others are kept.
func (r *Record) Edit() *Doc { return r.newDoc(frame.OutputEdit) }

func (r *Record) newDoc(kind byte) *Doc {
	if r.ndocs == len(r.docs) {
		r.docs = append(r.docs, new(Doc))
	}
	d := r.docs[r.ndocs]
	r.ndocs++
	d.Reset()
	d.rec = r
	d.kind = kind
	return d
}

// errNoRecord is returned by a Doc that no Record made.
var errNoRecord = errors.New("weir: Doc not made by Record.Doc or Record.Edit")
