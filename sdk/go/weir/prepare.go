package weir

import "github.com/valyala/fastjson"

// Prepare registers a function that sees the whole batch before the
// handler runs on each of its records: collect the batch's keys (IP
// addresses, user names), resolve them with one batched host call
// (sdk/go/weir/enrich), keep the answers in package variables, and let
// the per-record handler read them. A non-nil error (or a panic) fails
// every record of the batch with its message. Call it once, from an init
// function.
func Prepare(f func(b *Records) error) { state.prepare = f }

// Records are the records of the batch being prepared. They, and the
// Values they return, are valid until the batch is done.
type Records struct {
	st     *runner
	parser fastjson.Parser
}

// Len is the number of records in the batch.
func (b *Records) Len() int { return len(b.st.recs) }

// Data returns record i's bytes (aliasing the batch: do not modify).
func (b *Records) Data(i int) []byte { return b.st.recs[i].Data }

// Get returns the value at path in record i: from the host's view for a
// path declared with Paths, else from a guest-side parse of the record
// (the slow path; such a Value is valid only until the next Get).
func (b *Records) Get(i int, path string) Value {
	rec := &b.st.recs[i]
	if j := b.st.viewIndex(path); j >= 0 && j < len(rec.Views) {
		v := rec.Views[j]
		return bytesValue(v.Type, v.Raw)
	}
	root, err := b.parser.ParseBytes(rec.Data)
	if err != nil {
		return Value{}
	}
	return JSONValue(root.Get(b.st.splitPath(path)...))
}
