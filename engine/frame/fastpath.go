package frame

import "encoding/binary"

// Field reads a u32-length-prefixed field at off (0 <= off <= len(b))
// without building errors, small enough to inline (in a guest SDK too): Go
// compiled to Wasm pays dearly for every call. ok is false when it does
// not fit.
func Field(b []byte, off int) (v []byte, next int, ok bool) {
	if len(b)-off < 4 {
		return nil, off, false
	}
	end := uint64(off) + 4 + uint64(binary.LittleEndian.Uint32(b[off:]))
	if end > uint64(len(b)) {
		return nil, off, false
	}
	return b[off+4 : end : end], int(end), true
}

// ReadRecordHead decodes the fixed part of the input record at off in a
// frame's bytes b (flags, data, partition key, sequence number,
// subsequence, arrival time, source) into rec, leaving rec.Views alone,
// with inlined reads and no error building. It returns where the
// record's views start, and false when anything is off (InputReader then
// names the problem). InputReader.Next and the Go guest SDK use it, each
// reading the views after it with Field and ValidView.
func ReadRecordHead(b []byte, off int, rec *InRecord) (next int, ok bool) {
	if off < 0 || len(b)-off < 4 {
		return off, false
	}
	off += 4 // record flags, reserved
	if rec.Data, off, ok = Field(b, off); !ok {
		return off, false
	}
	if rec.PartitionKey, off, ok = Field(b, off); !ok {
		return off, false
	}
	if rec.SequenceNumber, off, ok = Field(b, off); !ok {
		return off, false
	}
	if len(b)-off < 16 {
		return off, false
	}
	rec.SubSequence = binary.LittleEndian.Uint64(b[off:])
	rec.ArrivalUnixNano = int64(binary.LittleEndian.Uint64(b[off+8:]))
	rec.Source, off, ok = Field(b, off+16)
	return off, ok
}

// nextFast decodes the record at the cursor into rec when it is well
// formed, with inlined reads and no error building. It returns false when
// anything is off; Next then decodes the record again, carefully, to name
// the problem.
func (ir *InputReader) nextFast(rec *InRecord) bool {
	if ir.r.err != nil {
		return false
	}
	off, ok := ReadRecordHead(ir.r.b, ir.r.off, rec)
	if !ok {
		return false
	}
	rec.Views = rec.Views[:0]
	if ir.Flags&FlagViews != 0 {
		b := ir.r.b
		for range len(ir.Paths) {
			if off >= len(b) {
				return false
			}
			t := ValueType(b[off])
			var raw []byte
			if raw, off, ok = Field(b, off+1); !ok || !ValidView(t, raw) {
				return false
			}
			rec.Views = append(rec.Views, View{Type: t, Raw: raw})
		}
	}
	ir.r.off = off
	return true
}

// ValidView reports whether a view's type is known and its bytes fit it:
// missing, true, false and null carry none.
func ValidView(t ValueType, raw []byte) bool {
	switch t {
	case Missing, True, False, Null:
		return len(raw) == 0
	}
	return t <= Array
}
