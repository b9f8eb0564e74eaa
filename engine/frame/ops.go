package frame

import (
	"encoding/binary"
	"strings"
)

// Operation codes of a document operation list.
const (
	// OpSetJSON sets a field to a JSON value (operand: u32 length + JSON).
	OpSetJSON = 1
	// OpSetString sets a field to a string (operand: u32 length + UTF-8);
	// the applier escapes it.
	OpSetString = 2
	// OpCopy copies the value at a path of the input document (operand:
	// u32 length + source path). A missing source sets nothing.
	OpCopy = 3
	// OpSetOriginal sets a field to the input record's bytes as a string.
	OpSetOriginal = 4
	// OpSetDigest sets a field to the lower-case hex digest of the input
	// record's bytes (operand: u8 algorithm).
	OpSetDigest = 5
	// OpDelete removes a field (no operand).
	OpDelete = 6
	// OpSetInt sets a field to an integer (operand: i64 little-endian).
	OpSetInt = 7
	// OpCopyString is OpCopy for non-empty strings only: a source that is
	// missing, not a string, or the empty string sets nothing.
	OpCopyString = 8
)

// Digest algorithms for OpSetDigest.
const (
	DigestSHA256 = 1
	DigestMD5    = 2
	DigestSHA1   = 3
)

// Ops builds a document operation list. Paths are dot-separated object
// keys; write a literal dot in a key as `\.` and a backslash as `\\`. A
// path segment that is a decimal number indexes an array in Copy sources.
// The zero value is ready to use.
type Ops struct {
	B []byte
}

// Reset empties the list, keeping its buffer.
func (o *Ops) Reset() { o.B = o.B[:0] }

func (o *Ops) op(code byte, path string) {
	o.B = append(o.B, code)
	o.B = appendString(o.B, path)
}

// SetJSON sets path to the JSON value raw.
func (o *Ops) SetJSON(path string, raw []byte) {
	o.op(OpSetJSON, path)
	o.B = appendBytes(o.B, raw)
}

// SetString sets path to the string s.
func (o *Ops) SetString(path, s string) {
	o.op(OpSetString, path)
	o.B = appendString(o.B, s)
}

// SetStringBytes sets path to the string s.
func (o *Ops) SetStringBytes(path string, s []byte) {
	o.op(OpSetString, path)
	o.B = appendBytes(o.B, s)
}

// SetInt sets path to the integer n.
func (o *Ops) SetInt(path string, n int64) {
	o.op(OpSetInt, path)
	o.B = binary.LittleEndian.AppendUint64(o.B, uint64(n))
}

// Copy sets path to the input document's value at src, if present.
func (o *Ops) Copy(path, src string) {
	o.op(OpCopy, path)
	o.B = appendString(o.B, src)
}

// CopyString sets path to the input document's value at src if it is a
// non-empty string.
func (o *Ops) CopyString(path, src string) {
	o.op(OpCopyString, path)
	o.B = appendString(o.B, src)
}

// Append appends the operations of p (for instance a constant part of a
// list, built once).
func (o *Ops) Append(p *Ops) { o.B = append(o.B, p.B...) }

// SetOriginal sets path to the input record as a string.
func (o *Ops) SetOriginal(path string) { o.op(OpSetOriginal, path) }

// SetDigest sets path to the hex digest of the input record.
func (o *Ops) SetDigest(path string, algo byte) {
	o.op(OpSetDigest, path)
	o.B = append(o.B, algo)
}

// Delete removes path.
func (o *Ops) Delete(path string) { o.op(OpDelete, path) }

// SplitPath splits a dotted path into its keys, honouring `\.` and `\\`.
func SplitPath(p string) []string {
	if strings.IndexByte(p, '\\') < 0 {
		return strings.Split(p, ".")
	}
	var segs []string
	var cur []byte
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\' && i+1 < len(p):
			i++
			cur = append(cur, p[i])
		case c == '.':
			segs = append(segs, string(cur))
			cur = cur[:0]
		default:
			cur = append(cur, c)
		}
	}
	return append(segs, string(cur))
}
