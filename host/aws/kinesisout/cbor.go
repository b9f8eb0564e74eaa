package kinesisout

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go/encoding/cbor"
)

// This file is PutRecords over AWS CBOR 1.1 (Content-Type
// application/x-amz-cbor-1.1): the operation shapes and X-Amz-Target of
// awsJson 1.1, encoded in CBOR (RFC 8949), blobs as byte strings. Kinesis
// accepts it (the AWS SDK for Java uses it by default), and so does
// kinesalite. The request body carries Data raw, a quarter smaller than
// base64, with no base64 work; SigV4 hashes and the socket carries that
// much less.

// cborContentType is the media type of AWS CBOR 1.1 requests and
// responses.
const cborContentType = "application/x-amz-cbor-1.1"

// CBOR major types (the top three bits of an item's first byte).
const (
	cborUint   = 0 << 5
	cborBytes  = 2 << 5
	cborText   = 3 << 5
	cborArray  = 4 << 5
	cborMap    = 5 << 5
	cborFalse  = 0xf4
	cborTrue   = 0xf5
	cborReplch = "\uFFFD" // what an invalid UTF-8 byte becomes
)

// cborHeadLen is the length of the head of an item whose argument is n.
func cborHeadLen(n uint64) int {
	switch {
	case n < 24:
		return 1
	case n <= math.MaxUint8:
		return 2
	case n <= math.MaxUint16:
		return 3
	case n <= math.MaxUint32:
		return 5
	}
	return 9
}

// appendCBORHead appends the head of an item of major type major whose
// argument (length, count or value) is n, in its shortest form.
func appendCBORHead(dst []byte, major byte, n uint64) []byte {
	switch {
	case n < 24:
		return append(dst, major|byte(n))
	case n <= math.MaxUint8:
		return append(dst, major|24, byte(n))
	case n <= math.MaxUint16:
		return append(dst, major|25, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(dst, major|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, major|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// cborTextLen is the length of s as a CBOR text string's content: s, with
// each byte that is not part of valid UTF-8 replaced by U+FFFD (as
// encoding/json replaces it in the JSON body, so that both wire formats
// carry the same string; CBOR text must be valid UTF-8).
func cborTextLen(s string) int {
	if utf8.ValidString(s) {
		return len(s)
	}
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			n += len(cborReplch)
		} else {
			n += size
		}
		i += size
	}
	return n
}

// appendCBORText appends s as a CBOR text string (see cborTextLen).
func appendCBORText(dst []byte, s string) []byte {
	n := cborTextLen(s)
	dst = appendCBORHead(dst, cborText, uint64(n))
	if n == len(s) {
		return append(dst, s...)
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, cborReplch...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// cborTextSize is the length of s as a whole CBOR text string.
func cborTextSize(s string) int {
	n := cborTextLen(s)
	return cborHeadLen(uint64(n)) + n
}

// cborOptSize is cborTextSize of *s plus the key's, 0 for a nil s.
func cborOptSize(key string, s *string) int {
	if s == nil {
		return 0
	}
	return cborTextSize(key) + cborTextSize(*s)
}

// putRecordsCBORSize is the exact length of in's CBOR body.
func putRecordsCBORSize(in *kinesis.PutRecordsInput) int {
	members := 0
	size := 0
	if in.DryRun != nil {
		members++
		size += cborTextSize("DryRun") + 1
	}
	if in.Records != nil {
		members++
		size += cborTextSize("Records") + cborHeadLen(uint64(len(in.Records)))
		for i := range in.Records {
			r := &in.Records[i]
			size += 1 + cborOptSize("ExplicitHashKey", r.ExplicitHashKey) + cborOptSize("PartitionKey", r.PartitionKey)
			if r.Data != nil {
				size += cborTextSize("Data") + cborHeadLen(uint64(len(r.Data))) + len(r.Data)
			}
		}
	}
	for _, m := range []struct {
		name string
		v    *string
	}{{"StreamARN", in.StreamARN}, {"StreamId", in.StreamId}, {"StreamName", in.StreamName}} {
		if m.v != nil {
			members++
			size += cborOptSize(m.name, m.v)
		}
	}
	return cborHeadLen(uint64(members)) + size
}

// appendPutRecordsCBOR appends the AWS CBOR 1.1 body of in to dst, growing
// dst at most once, to exactly putRecordsCBORSize(in) more bytes: a map of
// the members appendPutRecords writes, in its order, with definite
// lengths; Data as byte strings.
func appendPutRecordsCBOR(dst []byte, in *kinesis.PutRecordsInput) []byte {
	dst = slices.Grow(dst, putRecordsCBORSize(in))
	b, _ := writePutRecordsCBOR(dst, in, true)
	return b
}

// cborBody returns the CBOR body of in as a reader of its pieces in
// place: the bytes around the records' Data, appended to glue (grown at
// most once), and each record's Data itself, not copied. The body is what
// appendPutRecordsCBOR writes. in's Data must not change until the body
// is no longer read.
//
// It returns glue with the bytes appended too (for the caller to reuse
// once the body is no longer read).
func cborBody(glue []byte, in *kinesis.PutRecordsInput) (*pieces, []byte) {
	glue = slices.Grow(glue, cborGlueSize(in))
	start := len(glue)
	all, cuts := writePutRecordsCBOR(glue, in, false)
	glue = all[start:]
	p := &pieces{parts: make([][]byte, 0, 2*len(cuts)+1), size: int64(putRecordsCBORSize(in))}
	prev := 0
	for k, cut := range cuts {
		p.parts = append(p.parts, glue[prev:cut])
		if d := in.Records[k].Data; len(d) > 0 {
			p.parts = append(p.parts, d)
		}
		prev = cut
	}
	p.parts = append(p.parts, glue[prev:])
	return p, all
}

// cborGlueSize is the length of in's CBOR body without the records' Data.
func cborGlueSize(in *kinesis.PutRecordsInput) int {
	size := putRecordsCBORSize(in)
	for i := range in.Records {
		size -= len(in.Records[i].Data)
	}
	return size
}

// writePutRecordsCBOR appends in's CBOR body to dst: with inline, whole;
// without, all but the records' Data, returning for each record the
// offset in the appended bytes (from dst's length) where its Data goes.
func writePutRecordsCBOR(dst []byte, in *kinesis.PutRecordsInput, inline bool) (_ []byte, cuts []int) {
	start := len(dst)
	members := 0
	for _, set := range []bool{in.DryRun != nil, in.Records != nil, in.StreamARN != nil, in.StreamId != nil, in.StreamName != nil} {
		if set {
			members++
		}
	}
	dst = appendCBORHead(dst, cborMap, uint64(members))
	if in.DryRun != nil {
		dst = appendCBORText(dst, "DryRun")
		if *in.DryRun {
			dst = append(dst, cborTrue)
		} else {
			dst = append(dst, cborFalse)
		}
	}
	if in.Records != nil {
		dst = appendCBORText(dst, "Records")
		dst = appendCBORHead(dst, cborArray, uint64(len(in.Records)))
		if !inline {
			cuts = make([]int, 0, len(in.Records))
		}
		for i := range in.Records {
			r := &in.Records[i]
			n := 0
			for _, set := range []bool{r.Data != nil, r.ExplicitHashKey != nil, r.PartitionKey != nil} {
				if set {
					n++
				}
			}
			dst = appendCBORHead(dst, cborMap, uint64(n))
			if r.Data != nil {
				dst = appendCBORText(dst, "Data")
				dst = appendCBORHead(dst, cborBytes, uint64(len(r.Data)))
			}
			if inline {
				dst = append(dst, r.Data...)
			} else {
				cuts = append(cuts, len(dst)-start)
			}
			if r.ExplicitHashKey != nil {
				dst = appendCBORText(dst, "ExplicitHashKey")
				dst = appendCBORText(dst, *r.ExplicitHashKey)
			}
			if r.PartitionKey != nil {
				dst = appendCBORText(dst, "PartitionKey")
				dst = appendCBORText(dst, *r.PartitionKey)
			}
		}
	}
	for _, m := range []struct {
		name string
		v    *string
	}{{"StreamARN", in.StreamARN}, {"StreamId", in.StreamId}, {"StreamName", in.StreamName}} {
		if m.v != nil {
			dst = appendCBORText(dst, m.name)
			dst = appendCBORText(dst, *m.v)
		}
	}
	return dst, cuts
}

// pieces is a request body made of byte slices read one after the other
// in place: an io.Reader, io.Seeker (the SDK rewinds a body to sign it
// and to retry), io.WriterTo (SigV4 hashes the pieces without a copy) and
// Len (the bytes left, as bytes.Reader's: the SDK's Content-Length).
type pieces struct {
	parts [][]byte
	size  int64
	off   int64 // read position
	i, j  int   // the part at off, and the offset in it
}

// Len returns the number of bytes not read yet.
func (p *pieces) Len() int { return int(max(p.size-p.off, 0)) }

// Read reads the next bytes.
func (p *pieces) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(b) && p.i < len(p.parts) {
		c := copy(b[n:], p.parts[p.i][p.j:])
		n += c
		p.advance(c)
	}
	return n, nil
}

// advance moves the read position c bytes on within the current part,
// to the next non-empty part at its end.
func (p *pieces) advance(c int) {
	p.off += int64(c)
	p.j += c
	for p.i < len(p.parts) && p.j >= len(p.parts[p.i]) {
		p.i, p.j = p.i+1, 0
	}
}

// WriteTo writes the bytes not read yet to w, part by part.
func (p *pieces) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for p.i < len(p.parts) {
		part := p.parts[p.i][p.j:]
		n, err := w.Write(part)
		total += int64(n)
		p.advance(n)
		if err != nil {
			return total, err
		}
		if n < len(part) {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}

// Seek sets the read position.
func (p *pieces) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += p.off
	case io.SeekEnd:
		offset += p.size
	case io.SeekStart:
	default:
		return 0, fmt.Errorf("pieces: seek whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("pieces: seek to %d, before the start", offset)
	}
	p.i, p.j = 0, 0
	rest := min(offset, p.size)
	for p.i < len(p.parts) && rest >= int64(len(p.parts[p.i])) {
		rest -= int64(len(p.parts[p.i]))
		p.i++
	}
	p.j = int(rest)
	p.off = offset
	p.advance(0) // past empty parts
	return offset, nil
}

// isCBOR reports whether a response's Content-Type is CBOR
// (application/x-amz-cbor-1.1, or application/cbor).
func isCBOR(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == cborContentType || mt == "application/cbor")
}

// decodePutRecordsCBOR decodes the CBOR body of a PutRecords response into
// out, the members the SDK deserializes from the JSON one; unknown
// members and nulls are skipped, as the SDK skips them.
func decodePutRecordsCBOR(p []byte, out *kinesis.PutRecordsOutput) error {
	v, err := cbor.Decode(p)
	if err != nil {
		return fmt.Errorf("PutRecords response of %d bytes is not CBOR: %w", len(p), err)
	}
	m, ok := v.(cbor.Map)
	if !ok {
		return fmt.Errorf("PutRecords response is a CBOR %s, not a map", cborKind(v))
	}
	for k, v := range m {
		if isCBORNull(v) {
			continue
		}
		switch k {
		case "FailedRecordCount":
			n, err := cborInt32(v)
			if err != nil {
				return fmt.Errorf("PutRecords response: FailedRecordCount: %w", err)
			}
			out.FailedRecordCount = &n
		case "EncryptionType":
			s, err := cborString(v)
			if err != nil {
				return fmt.Errorf("PutRecords response: EncryptionType: %w", err)
			}
			out.EncryptionType = types.EncryptionType(*s)
		case "Records":
			list, ok := v.(cbor.List)
			if !ok {
				return fmt.Errorf("PutRecords response: Records is a CBOR %s, not an array", cborKind(v))
			}
			out.Records = make([]types.PutRecordsResultEntry, len(list))
			for i, e := range list {
				if err := decodeResultEntry(e, &out.Records[i]); err != nil {
					return fmt.Errorf("PutRecords response: Records[%d]: %w", i, err)
				}
			}
		}
	}
	return nil
}

// decodeResultEntry decodes one PutRecordsResultEntry.
func decodeResultEntry(v cbor.Value, r *types.PutRecordsResultEntry) error {
	if isCBORNull(v) {
		return nil
	}
	m, ok := v.(cbor.Map)
	if !ok {
		return fmt.Errorf("a CBOR %s, not a map", cborKind(v))
	}
	for k, v := range m {
		var dst **string
		switch k {
		case "SequenceNumber":
			dst = &r.SequenceNumber
		case "ShardId":
			dst = &r.ShardId
		case "ErrorCode":
			dst = &r.ErrorCode
		case "ErrorMessage":
			dst = &r.ErrorMessage
		default:
			continue
		}
		if isCBORNull(v) {
			continue
		}
		s, err := cborString(v)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		*dst = s
	}
	return nil
}

// cborString returns a text string's value.
func cborString(v cbor.Value) (*string, error) {
	s, ok := v.(cbor.String)
	if !ok {
		return nil, fmt.Errorf("a CBOR %s, not a text string", cborKind(v))
	}
	str := string(s)
	return &str, nil
}

// cborInt32 returns an integer's value (a float holding an integer too:
// encoders of JavaScript numbers may write one).
func cborInt32(v cbor.Value) (int32, error) {
	switch f := v.(type) {
	case cbor.Float32, cbor.Float64:
		x, _ := cbor.AsFloat64(f)
		if x != math.Trunc(x) || x < math.MinInt32 || x > math.MaxInt32 {
			return 0, fmt.Errorf("%v is not an int32", x)
		}
		return int32(x), nil
	}
	n, err := cbor.AsInt32(v)
	if err != nil {
		return 0, fmt.Errorf("a CBOR %s: %w", cborKind(v), err)
	}
	return n, nil
}

// isCBORNull reports whether v is null or undefined.
func isCBORNull(v cbor.Value) bool {
	switch v.(type) {
	case *cbor.Nil, *cbor.Undefined:
		return true
	}
	return false
}

// cborKind names v's type for messages.
func cborKind(v cbor.Value) string {
	switch v.(type) {
	case cbor.Uint, cbor.NegInt:
		return "integer"
	case cbor.Slice:
		return "byte string"
	case cbor.String:
		return "text string"
	case cbor.List:
		return "array"
	case cbor.Map:
		return "map"
	case *cbor.Tag, cbor.Tag:
		return "tagged item"
	case cbor.Bool:
		return "boolean"
	case cbor.Float32, cbor.Float64:
		return "float"
	}
	if isCBORNull(v) {
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// cborToJSON transcodes a CBOR item to the JSON awsJson 1.1 would carry
// for it: byte strings as base64 strings, tagged items (epoch-seconds
// timestamps) as their content, non-finite floats as the strings "NaN",
// "Infinity" and "-Infinity". Error responses go through it to the SDK's
// own awsJson 1.1 error deserializer, which so resolves them to the same
// typed errors as it does for JSON.
func cborToJSON(p []byte) ([]byte, error) {
	v, err := cbor.Decode(p)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := writeJSON(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeJSON writes v as JSON to b.
func writeJSON(b *bytes.Buffer, v cbor.Value) error {
	switch v := v.(type) {
	case cbor.Map:
		b.WriteByte('{')
		first := true
		for k, e := range v {
			if !first {
				b.WriteByte(',')
			}
			first = false
			q, _ := json.Marshal(k) // a string always marshals
			b.Write(q)
			b.WriteByte(':')
			if err := writeJSON(b, e); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case cbor.List:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case cbor.String:
		q, _ := json.Marshal(string(v))
		b.Write(q)
	case cbor.Slice:
		b.WriteByte('"')
		b.WriteString(base64.StdEncoding.EncodeToString(v))
		b.WriteByte('"')
	case cbor.Uint:
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	case cbor.NegInt:
		// -v; NegInt(0) stands for -2^64.
		if v == 0 {
			b.WriteString("-18446744073709551616")
		} else {
			b.WriteString("-" + strconv.FormatUint(uint64(v), 10))
		}
	case cbor.Bool:
		b.WriteString(strconv.FormatBool(bool(v)))
	case cbor.Float32:
		writeJSONFloat(b, float64(v), 32)
	case cbor.Float64:
		writeJSONFloat(b, float64(v), 64)
	case *cbor.Tag:
		return writeJSON(b, v.Value)
	case cbor.Tag:
		return writeJSON(b, v.Value)
	default:
		if !isCBORNull(v) {
			return fmt.Errorf("cannot transcode a CBOR %s to JSON", cborKind(v))
		}
		b.WriteString("null")
	}
	return nil
}

// writeJSONFloat writes f as awsJson writes a float.
func writeJSONFloat(b *bytes.Buffer, f float64, bits int) {
	switch {
	case math.IsNaN(f):
		b.WriteString(`"NaN"`)
	case math.IsInf(f, 1):
		b.WriteString(`"Infinity"`)
	case math.IsInf(f, -1):
		b.WriteString(`"-Infinity"`)
	default:
		b.WriteString(strconv.FormatFloat(f, 'g', -1, bits)) // "1e+06" is JSON too
	}
}
