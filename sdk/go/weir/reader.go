package weir

import (
	"encoding/binary"
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

// field reads a u32-length-prefixed field at off; ok is false when it
// does not fit. Small enough to inline.
func field(b []byte, off int) (v []byte, next int, ok bool) {
	if len(b)-off < 4 {
		return nil, off, false
	}
	end := uint64(off) + 4 + uint64(binary.LittleEndian.Uint32(b[off:]))
	if end > uint64(len(b)) {
		return nil, off, false
	}
	return b[off+4 : end : end], int(end), true
}

// next decodes the record at the cursor into rec (its Views are left
// alone) and its views into vals (one per declared path of the frame). It
// returns false, without moving, when the record is not well formed.
func (rd *recordReader) next(rec *frame.InRecord, vals []Value) bool {
	b, off := rd.b, rd.off
	if len(b)-off < 4 {
		return false
	}
	off += 4 // record flags, reserved
	var ok bool
	if rec.Data, off, ok = field(b, off); !ok {
		return false
	}
	if rec.PartitionKey, off, ok = field(b, off); !ok {
		return false
	}
	if rec.SequenceNumber, off, ok = field(b, off); !ok {
		return false
	}
	if len(b)-off < 16 {
		return false
	}
	rec.SubSequence = binary.LittleEndian.Uint64(b[off:])
	rec.ArrivalUnixNano = int64(binary.LittleEndian.Uint64(b[off+8:]))
	if rec.Source, off, ok = field(b, off+16); !ok {
		return false
	}
	for k := range vals {
		if off >= len(b) {
			return false
		}
		t := frame.ValueType(b[off])
		var raw []byte
		if raw, off, ok = field(b, off+1); !ok {
			return false
		}
		// Known types only; missing, true, false and null carry no bytes.
		if t > frame.Array || (len(raw) != 0 && (t == frame.Missing || (t >= frame.True && t <= frame.Null))) {
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
