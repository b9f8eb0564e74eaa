package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Version is the frame format version this package reads and writes.
const Version = 1

// Magic starts every frame.
const Magic = "WEIR"

// HeaderSize is the size of every frame's fixed header.
const HeaderSize = 16

// Frame types (header byte 4).
const (
	// TypeInput is a batch of records sent to a module.
	TypeInput = 1
	// TypeOutput is a module's result: one outcome per input record.
	TypeOutput = 2
	// TypeError is a module's batch-level failure: a message.
	TypeError = 3
)

// Input frame flags (header bytes 6-7).
const (
	// FlagViews means each record carries the values of the frame's
	// declared paths, parsed by the host.
	FlagViews uint16 = 1 << 0
	// FlagHostOps means the host applies document operations: the guest
	// may return OutputOps/OutputEdit outputs unapplied.
	FlagHostOps uint16 = 1 << 1
)

// Record outcome status bytes in an output frame.
const (
	StatusOK      = 0
	StatusDropped = 1
	StatusFailed  = 2
)

// Output kinds.
const (
	// OutputRaw is a finished payload.
	OutputRaw = 0
	// OutputOps is a new JSON document built from an operation list.
	OutputOps = 1
	// OutputEdit is the input JSON document edited by an operation list.
	OutputEdit = 2
)

// ValueType is the type of a view value.
type ValueType uint8

// View value types. Strings are unescaped UTF-8; numbers are their JSON
// text; objects and arrays are JSON text.
const (
	Missing ValueType = iota
	String
	Number
	True
	False
	Null
	Object
	Array
)

var valueTypeNames = [...]string{"missing", "string", "number", "true", "false", "null", "object", "array"}

// String names the type.
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("ValueType(%d)", uint8(t))
}

// ErrFrame is wrapped by every decoding error, so callers can tell a
// corrupt frame from other failures with errors.Is.
var ErrFrame = errors.New("frame")

// corrupt returns an error naming the byte offset where decoding failed.
func corrupt(off int, format string, args ...any) error {
	return fmt.Errorf("%w: at byte offset %d: %s", ErrFrame, off, fmt.Sprintf(format, args...))
}

func appendHeader(b []byte, typ byte, flags uint16, count, extra uint32) []byte {
	b = append(b, Magic...)
	b = append(b, typ, Version)
	b = binary.LittleEndian.AppendUint16(b, flags)
	b = binary.LittleEndian.AppendUint32(b, count)
	b = binary.LittleEndian.AppendUint32(b, extra)
	return b
}

type header struct {
	typ   byte
	flags uint16
	count uint32
	extra uint32
}

func readHeader(b []byte) (header, error) {
	if len(b) < HeaderSize {
		return header{}, corrupt(0, "frame is %d bytes, shorter than its %d-byte header", len(b), HeaderSize)
	}
	if string(b[:4]) != Magic {
		return header{}, corrupt(0, "bad magic %q, want %q", b[:4], Magic)
	}
	if b[5] != Version {
		return header{}, corrupt(5, "unsupported frame version %d (this build reads version %d)", b[5], Version)
	}
	return header{
		typ:   b[4],
		flags: binary.LittleEndian.Uint16(b[6:]),
		count: binary.LittleEndian.Uint32(b[8:]),
		extra: binary.LittleEndian.Uint32(b[12:]),
	}, nil
}

// reader is a bounds-checked cursor over a frame. Its methods keep the
// common case small enough to inline (a guest SDK compiled to Wasm pays
// dearly for every call) and build errors out of line.
type reader struct {
	b   []byte
	off int
	err error
}

// fail records a short read at the current offset.
//
//go:noinline
func (r *reader) fail(n int, what string) {
	if r.err == nil {
		r.err = corrupt(r.off, "%s needs %d bytes, %d left", what, n, len(r.b)-r.off)
	}
}

func (r *reader) u8(what string) byte {
	if r.err != nil || r.off >= len(r.b) {
		r.fail(1, what)
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

func (r *reader) u32(what string) uint32 {
	if r.err != nil || len(r.b)-r.off < 4 {
		r.fail(4, what)
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v
}

func (r *reader) u64(what string) uint64 {
	if r.err != nil || len(r.b)-r.off < 8 {
		r.fail(8, what)
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v
}

// bytes reads a u32 length and that many bytes (aliasing the frame).
func (r *reader) bytes(what string) []byte {
	off := r.off
	if r.err == nil && len(r.b)-off >= 4 {
		if n := uint64(binary.LittleEndian.Uint32(r.b[off:])); n <= uint64(len(r.b)-off-4) {
			end := off + 4 + int(n)
			r.off = end
			return r.b[off+4 : end : end]
		}
	}
	r.bytesFail(what)
	return nil
}

//go:noinline
func (r *reader) bytesFail(what string) {
	if r.err != nil {
		return
	}
	if len(r.b)-r.off < 4 {
		r.fail(4, what+" length")
		return
	}
	n := binary.LittleEndian.Uint32(r.b[r.off:])
	r.err = corrupt(r.off, "%s length %d runs past the end of the frame (%d bytes left)", what, n, len(r.b)-r.off-4)
}

func appendBytes(b []byte, v []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func appendString(b []byte, v string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}
