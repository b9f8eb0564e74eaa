package frame

import (
	"encoding/binary"

	"github.com/valyala/fastjson"
)

// InputWriter builds an input frame. The zero value is not usable: call
// NewInput. Records are appended one at a time; Finish patches the count.
type InputWriter struct {
	buf   []byte
	flags uint16
	paths int
	count uint32
}

// NewInput starts an input frame in buf (reused, truncated to zero) with
// the given flags. When flags has FlagViews, paths lists the declared paths
// whose values every record carries, and each AddRecord must be followed by
// exactly len(paths) AddView calls.
func NewInput(buf []byte, flags uint16, paths []string) *InputWriter {
	w := &InputWriter{}
	w.Reset(buf, flags, paths)
	return w
}

// Reset starts a new frame, reusing the writer and buf.
func (w *InputWriter) Reset(buf []byte, flags uint16, paths []string) {
	if flags&FlagViews == 0 {
		paths = nil
	}
	w.buf = appendHeader(buf[:0], TypeInput, flags, 0, uint32(len(paths)))
	for _, p := range paths {
		w.buf = appendString(w.buf, p)
	}
	w.flags = flags
	w.paths = len(paths)
	w.count = 0
}

// AddRecord appends a record and its metadata. arrivalUnixNano is 0 when
// unknown.
func (w *InputWriter) AddRecord(data []byte, partitionKey, sequenceNumber string, subSequence uint64, arrivalUnixNano int64, source string) {
	w.buf = binary.LittleEndian.AppendUint32(w.buf, 0) // record flags, reserved
	w.buf = appendBytes(w.buf, data)
	w.buf = appendString(w.buf, partitionKey)
	w.buf = appendString(w.buf, sequenceNumber)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, subSequence)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, uint64(arrivalUnixNano))
	w.buf = appendString(w.buf, source)
	w.count++
}

// AddView appends the value of the next declared path for the record just
// added. raw is the unescaped string for String, the JSON text for Number,
// Object and Array, and empty otherwise.
func (w *InputWriter) AddView(t ValueType, raw []byte) {
	w.buf = append(w.buf, byte(t))
	w.buf = appendBytes(w.buf, raw)
}

// Len is the number of bytes written so far.
func (w *InputWriter) Len() int { return len(w.buf) }

// Count is the number of records added so far.
func (w *InputWriter) Count() int { return int(w.count) }

// Finish patches the record count and returns the frame.
func (w *InputWriter) Finish() []byte {
	binary.LittleEndian.PutUint32(w.buf[8:], w.count)
	return w.buf
}

// InRecord is one decoded input record. Its slices alias the frame.
type InRecord struct {
	Data            []byte
	PartitionKey    []byte
	SequenceNumber  []byte
	SubSequence     uint64
	ArrivalUnixNano int64
	Source          []byte
	// Views holds the declared paths' values, in declaration order, when
	// the frame has FlagViews.
	Views []View
}

// View is the value of one declared path in one record.
type View struct {
	Type ValueType
	Raw  []byte
}

// InputReader decodes an input frame record by record.
type InputReader struct {
	r     reader
	Flags uint16
	// Count is the number of records the header announces.
	Count int
	// Paths are the declared paths (aliasing the frame).
	Paths [][]byte
	read  int
}

// ReadInput validates an input frame's header and declared paths. Records
// are then read with Next.
func ReadInput(b []byte) (*InputReader, error) {
	ir := &InputReader{}
	if err := ir.Reset(b); err != nil {
		return nil, err
	}
	return ir, nil
}

// Reset starts reading a new frame, reusing the reader.
func (ir *InputReader) Reset(b []byte) error {
	h, err := readHeader(b)
	if err != nil {
		return err
	}
	if h.typ != TypeInput {
		return corrupt(4, "frame type %d, want %d (input)", h.typ, TypeInput)
	}
	// Every record takes at least 36 bytes: a lying count is caught before
	// anything is allocated for it.
	if uint64(h.count)*36 > uint64(len(b)-HeaderSize) {
		return corrupt(8, "record count %d cannot fit in %d bytes", h.count, len(b))
	}
	if h.flags&FlagViews == 0 && h.extra != 0 {
		return corrupt(12, "path count %d without the views flag", h.extra)
	}
	if uint64(h.extra)*4 > uint64(len(b)-HeaderSize) {
		return corrupt(12, "path count %d cannot fit in %d bytes", h.extra, len(b))
	}
	ir.r = reader{b: b, off: HeaderSize}
	ir.Flags = h.flags
	ir.Count = int(h.count)
	ir.read = 0
	ir.Paths = ir.Paths[:0]
	for i := 0; i < int(h.extra); i++ {
		p := ir.r.bytes("declared path")
		if ir.r.err != nil {
			return ir.r.err
		}
		ir.Paths = append(ir.Paths, p)
	}
	if ir.Count == 0 && ir.r.off != len(b) {
		return corrupt(ir.r.off, "%d trailing bytes after an empty batch", len(b)-ir.r.off)
	}
	return nil
}

// More reports whether records remain.
func (ir *InputReader) More() bool { return ir.read < ir.Count }

// Next decodes the next record into rec, reusing rec.Views.
func (ir *InputReader) Next(rec *InRecord) error {
	if ir.read >= ir.Count {
		return corrupt(ir.r.off, "no record %d: the frame holds %d", ir.read, ir.Count)
	}
	if ir.nextFast(rec) {
		ir.read++
		if ir.read == ir.Count && ir.r.off != len(ir.r.b) {
			return corrupt(ir.r.off, "%d trailing bytes after the last record", len(ir.r.b)-ir.r.off)
		}
		return nil
	}
	r := &ir.r
	r.u32("record flags")
	rec.Data = r.bytes("record data")
	rec.PartitionKey = r.bytes("partition key")
	rec.SequenceNumber = r.bytes("sequence number")
	rec.SubSequence = r.u64("sub-sequence number")
	rec.ArrivalUnixNano = int64(r.u64("arrival time"))
	rec.Source = r.bytes("source")
	rec.Views = rec.Views[:0]
	if ir.Flags&FlagViews != 0 {
		for range ir.Paths {
			t := ValueType(r.u8("view type"))
			raw := r.bytes("view value")
			if r.err == nil {
				switch {
				case t > Array:
					r.err = corrupt(r.off-len(raw)-5, "unknown view type %d", t)
				case len(raw) != 0 && (t == Missing || t == True || t == False || t == Null):
					r.err = corrupt(r.off-len(raw)-4, "a %s view carries %d value bytes, want 0", t, len(raw))
				}
			}
			rec.Views = append(rec.Views, View{Type: t, Raw: raw})
		}
	}
	if r.err != nil {
		return r.err
	}
	ir.read++
	if ir.read == ir.Count && r.off != len(r.b) {
		return corrupt(r.off, "%d trailing bytes after the last record", len(r.b)-r.off)
	}
	return nil
}

// AddValue appends a view of v (nil: missing) for the record just added.
func (w *InputWriter) AddValue(v *fastjson.Value) {
	if v == nil {
		w.buf = append(w.buf, byte(Missing))
		w.buf = binary.LittleEndian.AppendUint32(w.buf, 0)
		return
	}
	var t ValueType
	switch v.Type() {
	case fastjson.TypeString:
		t = String
	case fastjson.TypeNumber:
		t = Number
	case fastjson.TypeTrue:
		t = True
	case fastjson.TypeFalse:
		t = False
	case fastjson.TypeNull:
		t = Null
	case fastjson.TypeObject:
		t = Object
	case fastjson.TypeArray:
		t = Array
	}
	w.buf = append(w.buf, byte(t))
	lenPos := len(w.buf)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, 0)
	switch t {
	case String:
		w.buf = append(w.buf, v.GetStringBytes()...)
	case Number, Object, Array:
		w.buf = AppendValue(w.buf, v)
	}
	binary.LittleEndian.PutUint32(w.buf[lenPos:], uint32(len(w.buf)-lenPos-4))
}

// AddDocValue appends a view of the value at tape index i of d (-1:
// missing) for the record just added: the same bytes AddValue appends for
// the value parsed by fastjson.
func (w *InputWriter) AddDocValue(d *Doc, i int) {
	t := d.Type(i)
	w.buf = append(w.buf, byte(t))
	lenPos := len(w.buf)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, 0)
	switch t {
	case String:
		e := &d.tape[i]
		if e.flags&strEscaped == 0 {
			w.buf = append(w.buf, d.b[e.start:e.end]...)
		} else {
			w.buf = unescape(w.buf, d.b[e.start:e.end])
		}
	case Number:
		w.buf = append(w.buf, d.Raw(i)...)
	case Object, Array:
		w.buf = d.AppendValue(w.buf, i)
	}
	binary.LittleEndian.PutUint32(w.buf[lenPos:], uint32(len(w.buf)-lenPos-4))
}
