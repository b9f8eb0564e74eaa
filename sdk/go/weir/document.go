package weir

import "github.com/weirhq/weir/engine/frame"

// Doc builds a JSON document from operations (frame.Ops): SetString,
// SetStringBytes, SetJSON, SetInt, Copy (from the input record), SetOriginal
// (the input record as a string), SetDigest / SetSHA256 (the hex digest of
// the input record's bytes) and Delete. Keys keep the order in which they
// are first set. Paths are dot-separated (write a literal dot as `\.`).
//
// On weir (FlagHostOps) the operations go to the host, which applies them
// natively; elsewhere the SDK applies them in the guest. Either way the
// output bytes are the same.
type Doc struct {
	frame.Ops
	rec  *Record
	kind byte
}

// SetSHA256 sets path to the lower-case hex SHA-256 of the input record.
func (d *Doc) SetSHA256(path string) { d.SetDigest(path, frame.DigestSHA256) }

// Emit outputs the document to the pipeline's default output.
func (d *Doc) Emit() error { return d.EmitTo("") }

// EmitTo outputs the document to the named pipeline output (route). An
// error (an invalid operation, or Edit on a record that is not a JSON
// object, found when the SDK applies the operations itself) also fails the
// record, whatever the handler returns; on weir the host finds the same
// errors and fails the record the same way.
func (d *Doc) EmitTo(route string) error {
	r := d.rec
	if r == nil || r.st == nil {
		return errNoRecord
	}
	st := r.st
	if r.hostOps {
		st.out.Output(d.kind, route, d.B)
		return nil
	}
	st.out.BeginOutput(frame.OutputRaw, route)
	buf, err := st.applier.Apply(st.out.Buf(), d.kind, d.B, r.in.Data, r.parsed)
	st.out.SetBuf(buf)
	st.out.EndOutput()
	if err != nil {
		if r.err == nil {
			r.err = err
		}
		return err
	}
	return nil
}
