package frame

import "encoding/binary"

// field reads a u32-length-prefixed field at off (0 <= off <= len(b))
// without building errors, small enough to inline: a guest SDK compiled to
// Wasm pays dearly for every call. ok is false when it does not fit.
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

// nextFast decodes the record at the cursor into rec when it is well
// formed, with inlined reads and no error building. It returns false when
// anything is off; Next then decodes the record again, carefully, to name
// the problem.
func (ir *InputReader) nextFast(rec *InRecord) bool {
	b, off := ir.r.b, ir.r.off
	if ir.r.err != nil || len(b)-off < 4 {
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
	rec.Views = rec.Views[:0]
	if ir.Flags&FlagViews != 0 {
		for range len(ir.Paths) {
			if off >= len(b) {
				return false
			}
			t := ValueType(b[off])
			var raw []byte
			if raw, off, ok = field(b, off+1); !ok || !validView(t, raw) {
				return false
			}
			rec.Views = append(rec.Views, View{Type: t, Raw: raw})
		}
	}
	ir.r.off = off
	return true
}

// validView reports whether a view's type is known and its bytes fit it:
// missing, true, false and null carry none.
func validView(t ValueType, raw []byte) bool {
	switch t {
	case Missing, True, False, Null:
		return len(raw) == 0
	}
	return t <= Array
}
