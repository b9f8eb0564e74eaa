package weir

import (
	"fmt"

	"github.com/weirhq/weir/engine/frame"
)

// recordReader decodes the records of an input frame for the handler
// loop: the fixed fields into a frame.InRecord (without Views) and the
// views straight into the Record's Values, which Record.Values then copies
// in one go. frame.InputReader decodes views into Views, which Values
// copied again one by one: in Go compiled to Wasm every branch, append and
// call is expensive, and the two passes were a quarter of cloudtrail-ecs's
// guest instructions. Anything unusual (a record that does not fit, an
// unknown view type) makes next return false; err then decodes the frame
// again with frame.InputReader, whose error names the problem.
type recordReader struct {
	b   []byte
	off int
}

// start positions the reader on the first record of in, whose header and
// declared paths st.in has read.
func (rd *recordReader) start(in []byte, paths [][]byte) {
	off := frame.HeaderSize
	for _, p := range paths {
		off += 4 + len(p)
	}
	rd.b, rd.off = in, off
}

// next decodes the record at the cursor into rec (its Views are left
// alone) and its views into vals (one per declared path of the frame). It
// returns false, without moving, when the record is not well formed.
func (rd *recordReader) next(rec *frame.InRecord, vals []Value) bool {
	off, ok := frame.ReadRecordHead(rd.b, rd.off, rec)
	if !ok {
		return false
	}
	b := rd.b
	for k := range vals {
		if off >= len(b) {
			return false
		}
		t := frame.ValueType(b[off])
		var raw []byte
		if raw, off, ok = frame.Field(b, off+1); !ok || !frame.ValidView(t, raw) {
			return false
		}
		vals[k] = bytesValue(t, raw)
	}
	rd.off = off
	return true
}

// end reports whether the cursor is at the end of the frame.
func (rd *recordReader) end() bool { return rd.off == len(rd.b) }

// err names what is wrong with record i of the frame in (or with what
// follows the last record), decoding the frame again with
// frame.InputReader; it returns the index of the record that fails.
func (rd *recordReader) err(in []byte, i int) (int, error) {
	ir, err := frame.ReadInput(in)
	if err != nil {
		return i, err
	}
	var rec frame.InRecord
	for k := 0; k <= i && ir.More(); k++ {
		if err := ir.Next(&rec); err != nil {
			return k, err
		}
	}
	return i, fmt.Errorf("the SDK's record reader and frame.InputReader disagree")
}
