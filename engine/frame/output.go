package frame

import (
	"encoding/binary"
	"fmt"
)

// OutputWriter builds an output frame: one outcome per input record, in
// input order.
type OutputWriter struct {
	buf []byte
	// nOutPos is the offset of the current OK record's output count, or -1.
	nOutPos int
	bodyPos int
	count   uint32
}

// NewOutput starts an output frame in buf (reused, truncated to zero).
func NewOutput(buf []byte) *OutputWriter {
	w := &OutputWriter{}
	w.Reset(buf)
	return w
}

// Reset starts a new output frame, reusing the writer and buf.
func (w *OutputWriter) Reset(buf []byte) {
	w.buf = appendHeader(buf[:0], TypeOutput, 0, 0, 0)
	w.nOutPos = -1
	w.count = 0
}

// OK starts the outcome of the next record as transformed; follow it with
// zero or more Output calls.
func (w *OutputWriter) OK() {
	w.buf = append(w.buf, StatusOK)
	w.nOutPos = len(w.buf)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, 0)
	w.count++
}

// Output appends one output to the record started by OK.
func (w *OutputWriter) Output(kind byte, route string, body []byte) {
	w.BeginOutput(kind, route)
	w.buf = append(w.buf, body...)
	w.EndOutput()
}

// BeginOutput starts an output whose body the caller appends to Buf
// (directly, without a copy) before calling EndOutput.
func (w *OutputWriter) BeginOutput(kind byte, route string) {
	if w.nOutPos < 0 {
		panic("frame: Output without OK")
	}
	n := binary.LittleEndian.Uint32(w.buf[w.nOutPos:])
	binary.LittleEndian.PutUint32(w.buf[w.nOutPos:], n+1)
	w.buf = append(w.buf, kind)
	w.buf = appendString(w.buf, route)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, 0)
	w.bodyPos = len(w.buf)
}

// Buf returns the frame so far; append an output body to it between
// BeginOutput and EndOutput, and hand the result to SetBuf.
func (w *OutputWriter) Buf() []byte { return w.buf }

// SetBuf replaces the frame after a caller appended to Buf.
func (w *OutputWriter) SetBuf(b []byte) { w.buf = b }

// EndOutput patches the body length of the output started by BeginOutput.
func (w *OutputWriter) EndOutput() {
	binary.LittleEndian.PutUint32(w.buf[w.bodyPos-4:], uint32(len(w.buf)-w.bodyPos))
}

// Dropped records that the next record was dropped.
func (w *OutputWriter) Dropped() {
	w.buf = append(w.buf, StatusDropped)
	w.nOutPos = -1
	w.count++
}

// Failed records that the next record failed, with a message.
func (w *OutputWriter) Failed(msg string) {
	w.buf = append(w.buf, StatusFailed)
	w.buf = appendString(w.buf, msg)
	w.nOutPos = -1
	w.count++
}

// Mark is a position in an output frame, taken by OutputWriter.Mark.
type Mark struct {
	n     int
	count uint32
}

// Mark returns the current position, so that everything written after it
// can be taken back with Rewind (a guest SDK marks before each record and
// rewinds the outputs of a record that then fails).
func (w *OutputWriter) Mark() Mark { return Mark{n: len(w.buf), count: w.count} }

// Rewind discards the outcomes and outputs written since m. The next call
// must start an outcome (OK, Dropped or Failed).
func (w *OutputWriter) Rewind(m Mark) {
	w.buf = w.buf[:m.n]
	w.count = m.count
	w.nOutPos = -1
}

// Count is the number of outcomes written.
func (w *OutputWriter) Count() int { return int(w.count) }

// Finish patches the outcome count and returns the frame.
func (w *OutputWriter) Finish() []byte {
	binary.LittleEndian.PutUint32(w.buf[8:], w.count)
	return w.buf
}

// AppendError appends an error frame (a batch-level failure) to buf.
func AppendError(buf []byte, msg string) []byte {
	buf = appendHeader(buf, TypeError, 0, 0, 0)
	return appendString(buf, msg)
}

// BatchError is a module's batch-level failure, read from an error frame.
type BatchError struct {
	Message string
}

// Error returns the module's message, prefixed so that logs say where it
// came from.
func (e *BatchError) Error() string { return "module failed the batch: " + e.Message }

// OutRecord is one decoded outcome. Its slices alias the frame.
type OutRecord struct {
	Status  byte
	Outputs []Out
	// Message is the failure message when Status is StatusFailed.
	Message []byte
}

// Out is one output of a record.
type Out struct {
	Kind  byte
	Route []byte
	Body  []byte
}

// OutputReader decodes an output frame outcome by outcome.
type OutputReader struct {
	r     reader
	Count int
	read  int
}

// ReadOutput validates an output frame's header. It returns a *BatchError
// for a well-formed error frame, and an error wrapping ErrFrame when the
// frame is corrupt or its count is not want. A negative want accepts any
// count (for tools that inspect a frame without its input).
func ReadOutput(b []byte, want int) (*OutputReader, error) {
	h, err := readHeader(b)
	if err != nil {
		return nil, err
	}
	switch h.typ {
	case TypeError:
		r := reader{b: b, off: HeaderSize}
		msg := r.bytes("error message")
		if r.err != nil {
			return nil, r.err
		}
		if r.off != len(b) {
			return nil, corrupt(r.off, "%d trailing bytes after the error message", len(b)-r.off)
		}
		return nil, &BatchError{Message: string(msg)}
	case TypeOutput:
	default:
		return nil, corrupt(4, "frame type %d, want %d (output)", h.typ, TypeOutput)
	}
	if want >= 0 && int64(h.count) != int64(want) {
		return nil, corrupt(8, "the module returned %d outcomes for %d records", h.count, want)
	}
	// Every outcome takes at least one byte.
	if uint64(h.count) > uint64(len(b)-HeaderSize) {
		return nil, corrupt(8, "outcome count %d cannot fit in %d bytes", h.count, len(b))
	}
	if h.count == 0 && len(b) != HeaderSize {
		return nil, corrupt(HeaderSize, "%d trailing bytes after an empty batch", len(b)-HeaderSize)
	}
	return &OutputReader{r: reader{b: b, off: HeaderSize}, Count: int(h.count)}, nil
}

// More reports whether outcomes remain.
func (or *OutputReader) More() bool { return or.read < or.Count }

// Next decodes the next outcome into rec, reusing rec.Outputs.
func (or *OutputReader) Next(rec *OutRecord) error {
	if or.read >= or.Count {
		return corrupt(or.r.off, "no outcome %d: the frame holds %d", or.read, or.Count)
	}
	r := &or.r
	rec.Outputs = rec.Outputs[:0]
	rec.Message = nil
	start := r.off
	rec.Status = r.u8("status")
	switch rec.Status {
	case StatusOK:
		n := r.u32("output count")
		// each output takes at least 9 bytes
		if r.err == nil && uint64(n)*9 > uint64(len(r.b)-r.off) {
			r.err = corrupt(r.off-4, "output count %d cannot fit in the %d bytes left", n, len(r.b)-r.off)
		}
		for i := 0; i < int(n) && r.err == nil; i++ {
			kind := r.u8("output kind")
			if r.err == nil && kind > OutputEdit {
				r.err = corrupt(r.off-1, "unknown output kind %d", kind)
			}
			route := r.bytes("route")
			body := r.bytes("output body")
			rec.Outputs = append(rec.Outputs, Out{Kind: kind, Route: route, Body: body})
		}
	case StatusDropped:
	case StatusFailed:
		rec.Message = r.bytes("failure message")
	default:
		if r.err == nil {
			r.err = corrupt(start, "unknown status %d", rec.Status)
		}
	}
	if r.err != nil {
		return fmt.Errorf("outcome %d: %w", or.read, r.err)
	}
	or.read++
	if or.read == or.Count && r.off != len(r.b) {
		return corrupt(r.off, "%d trailing bytes after the last outcome", len(r.b)-r.off)
	}
	return nil
}
