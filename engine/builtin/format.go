package builtin

import (
	"archive/zip"
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"
)

// Format transforms: format_from_base64, format_to_base64,
// format_from_gzip, format_to_gzip, format_from_zip,
// format_from_pretty_print, format_from_parquet.

func init() {
	RegisterTransform("format_from_base64", newFormatFromBase64)
	RegisterTransform("format_to_base64", newFormatToBase64)
	RegisterTransform("format_from_gzip", newFormatFromGzip)
	RegisterTransform("format_to_gzip", newFormatToGzip)
	RegisterTransform("format_from_zip", newFormatFromZip)
	RegisterTransform("format_from_parquet", newFormatFromParquet)
	RegisterTransform("format_from_pretty_print", newFormatFromPrettyPrint)
}

// maxInflated bounds what one record may decompress to (gzip, zip), so
// that a hostile record (a "zip bomb") fails alone instead of exhausting
// the host's memory.
var maxInflated int64 = 256 << 20

// errBinaryObject is Substation's error for base64 that decodes to bytes
// that are not text, when the result goes into a key.
var errBinaryObject = errors.New("cannot write binary as object")

// decodeBase64 appends the decoding of in to dst. Standard encoding with
// padding is what Substation reads; the URL alphabet and unpadded forms
// are accepted too.
func decodeBase64(in, dst []byte) ([]byte, error) {
	in = bytes.TrimSpace(in)
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var out []byte
		if out, err = enc.AppendDecode(dst, in); err == nil {
			return out, nil
		}
	}
	return dst, fmt.Errorf("base64: %w", err)
}

func newFormatFromBase64(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s objectSettings
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	fn := decodeBase64
	if s.Object.SourceKey != "" {
		fn = func(in, dst []byte) ([]byte, error) {
			start := len(dst)
			out, err := decodeBase64(in, dst)
			if err == nil && !utf8.Valid(out[start:]) {
				return dst, errBinaryObject
			}
			return out, err
		}
	}
	t, err := PerValue(s.Object, fn)
	if err != nil {
		return nil, c.wrap(err)
	}
	return t, nil
}

func newFormatToBase64(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s objectSettings
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	t, err := PerValue(s.Object, func(in, dst []byte) ([]byte, error) {
		return base64.StdEncoding.AppendEncode(dst, in), nil
	})
	if err != nil {
		return nil, c.wrap(err)
	}
	return t, nil
}

// format_from_gzip and format_to_gzip work on the whole data, as in
// Substation (they have no object setting).
func newFormatFromGzip(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct{ ID }
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	return PerValue(ObjectSettings{}, func(in, dst []byte) ([]byte, error) {
		r, err := gzip.NewReader(bytes.NewReader(in))
		if err != nil {
			return dst, fmt.Errorf("gzip: %w", err)
		}
		return readAllLimited(r, dst, "gzip")
	})
}

func newFormatToGzip(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct{ ID }
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	return PerValue(ObjectSettings{}, func(in, dst []byte) ([]byte, error) {
		// The standard library's writer: its output is byte-identical to
		// Substation's.
		buf := bytes.NewBuffer(dst)
		w := stdgzip.NewWriter(buf)
		if _, err := w.Write(in); err != nil {
			return dst, fmt.Errorf("gzip: %w", err)
		}
		if err := w.Close(); err != nil {
			return dst, fmt.Errorf("gzip: %w", err)
		}
		return buf.Bytes(), nil
	})
}

// readAllLimited appends everything r yields to dst, failing past
// maxInflated bytes.
func readAllLimited(r io.Reader, dst []byte, what string) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	n, err := buf.ReadFrom(io.LimitReader(r, maxInflated+1))
	if err != nil {
		return dst, fmt.Errorf("%s: %w", what, err)
	}
	if n > maxInflated {
		return dst, fmt.Errorf("%s: decompresses to more than %d bytes", what, maxInflated)
	}
	return buf.Bytes(), nil
}

// fanOut is a transform that turns one message into any number of new
// ones (emitted with Message.NewMessage: same origin record, same
// metadata). An error fails the input record and discards what it
// emitted.
type fanOut func(ctx context.Context, m *Message, emit func(data []byte)) error

func (f fanOut) Transform(ctx context.Context, in, out []*Message) ([]*Message, error) {
	for _, m := range in {
		if m.ctrl {
			out = append(out, m)
			continue
		}
		start := len(out)
		err := f(ctx, m, func(d []byte) { out = append(out, m.NewMessage(d)) })
		if err != nil {
			out = out[:start]
			m.Fail(err)
			out = append(out, m)
		}
	}
	return out, nil
}

// format_from_zip emits one message per regular, non-empty file of the
// archive in the data, in archive order.
func newFormatFromZip(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct{ ID }
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	return fanOut(func(_ context.Context, m *Message, emit func([]byte)) error {
		data := m.Data()
		r, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return fmt.Errorf("zip: %w", err)
		}
		var total int64
		for _, f := range r.File {
			if f.FileInfo().IsDir() || f.UncompressedSize64 == 0 {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				return fmt.Errorf("zip: %s: %w", f.Name, err)
			}
			b, err := readAllLimited(rc, nil, "zip: "+f.Name)
			rc.Close()
			if err != nil {
				return err
			}
			if total += int64(len(b)); total > maxInflated {
				return fmt.Errorf("zip: decompresses to more than %d bytes", maxInflated)
			}
			if len(b) > 0 {
				emit(b)
			}
		}
		return nil
	}), nil
}

// format_from_parquet emits one JSON object per row of the Parquet file
// in the data (keys sorted, as Go's encoding/json writes a map).
func newFormatFromParquet(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct{ ID }
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	return fanOut(func(_ context.Context, m *Message, emit func([]byte)) error {
		data := m.Data()
		f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
		r := parquet.NewGenericReader[any](f)
		defer r.Close()
		rows := make([]any, 64)
		for {
			n, err := r.Read(rows)
			for _, row := range rows[:n] {
				b, err := json.Marshal(row)
				if err != nil {
					return fmt.Errorf("parquet: %w", err)
				}
				emit(b)
			}
			if errors.Is(err, io.EOF) || (err == nil && n == 0) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("parquet: %w", err)
			}
		}
	}), nil
}

// format_from_pretty_print reassembles JSON objects written over several
// records (one line per record, as `--format lines` reads a pretty-printed
// file) and emits each, compacted, once its closing brace arrives. As in
// Substation this spans records, so it works across the whole batch;
// unlike Substation, braces inside strings are not counted and a record
// holding several objects emits each. Whitespace between objects is
// skipped; any other byte outside an object fails its record. The
// output is attributed to the record where its object began; the other
// records it spans are consumed (StatusDropped). An object still open at
// the end of the batch fails the record where it began.
func newFormatFromPrettyPrint(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct{ ID }
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	return &prettyPrint{}, nil
}

// prettyPrint keeps its state in the batch, keyed by the transform's
// address: the field makes every instance distinct (pointers to
// zero-size values may be equal).
type prettyPrint struct{ _ byte }

type prettyState struct {
	buf    []byte
	depth  int
	inStr  bool
	escape bool
	first  *Message // the record the open object began in
}

func (t *prettyPrint) Transform(_ context.Context, in, out []*Message) ([]*Message, error) {
	for _, m := range in {
		st := m.b.stateOf(t, func() any { return &prettyState{} }).(*prettyState)
		if m.ctrl {
			if st.first != nil {
				st.first.Fail(fmt.Errorf("JSON object not closed at the end of the batch (%d bytes buffered)", len(st.buf)))
				out = append(out, st.first)
				*st = prettyState{}
			}
			out = append(out, m)
			continue
		}
		var err error
		if out, err = st.feed(m, out); err != nil {
			m.Fail(err)
			out = append(out, m)
		}
	}
	return out, nil
}

func (st *prettyState) feed(m *Message, out []*Message) ([]*Message, error) {
	for i, c := range m.Data() {
		if st.first == nil {
			switch c {
			case ' ', '\t', '\r', '\n':
				continue
			case '{':
				st.first = m
			default:
				return out, fmt.Errorf("byte offset %d: %q outside a JSON object", i, c)
			}
		}
		st.buf = append(st.buf, c)
		switch {
		case st.escape:
			st.escape = false
		case st.inStr:
			switch c {
			case '\\':
				st.escape = true
			case '"':
				st.inStr = false
			}
		case c == '"':
			st.inStr = true
		case c == '{' || c == '[':
			st.depth++
		case c == '}' || c == ']':
			st.depth--
		}
		if st.depth > 0 {
			continue
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, st.buf); err != nil {
			first := st.first
			*st = prettyState{}
			err = fmt.Errorf("byte offset %d: invalid JSON: %w", i, err)
			if first != m {
				first.Fail(err)
				out = append(out, first)
				continue
			}
			return out, err
		}
		out = append(out, st.first.NewMessage(compact.Bytes()))
		st.buf, st.first = st.buf[:0], nil
	}
	return out, nil
}
