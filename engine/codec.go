package engine

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// Format is an input layout understood by DecodeRecordsFormat.
type Format string

// The input formats.
const (
	// FormatAuto detects the layout; see DecodeRecords.
	FormatAuto Format = "auto"
	// FormatNDJSON is one record per line. Blank lines are skipped; a line
	// that is not valid JSON is still a record (the module decides what to
	// do with it).
	FormatNDJSON Format = "ndjson"
	// FormatJSON is one JSON document: an array is one record per
	// element, anything else is one record.
	FormatJSON Format = "json"
	// FormatCloudTrail is a CloudTrail log file: an object whose
	// "Records" array holds one record per element.
	FormatCloudTrail Format = "cloudtrail"
	// FormatLines is one record per line, bytes as they are: only the
	// line's "\n" (or "\r\n") is removed; empty lines are skipped. For
	// text such as syslog.
	FormatLines Format = "lines"
	// FormatRaw is one record per input: its whole (decompressed) bytes.
	FormatRaw Format = "raw"
)

// MaxInputBytes bounds the size of one decoded input (after
// decompression), to stop a compression bomb: 1 GiB.
const MaxInputBytes = 1 << 30

// ParseFormat returns the Format named s ("" means auto).
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case "":
		return FormatAuto, nil
	case FormatAuto, FormatNDJSON, FormatJSON, FormatCloudTrail, FormatLines, FormatRaw:
		return f, nil
	}
	return "", fmt.Errorf("codec: unknown format %q (want auto, ndjson, json, cloudtrail, lines or raw)", s)
}

// DecodeError is a malformed input, located by its byte offset in the
// decompressed input.
type DecodeError struct {
	// Source is the source name given to DecodeRecords.
	Source string
	// Offset is the byte offset of the problem, counted in the
	// decompressed input.
	Offset int64
	// Msg says what is wrong.
	Msg string
	// Err is the underlying read or decompression error, if any.
	Err error
}

// Unwrap returns the underlying read or decompression error.
func (e *DecodeError) Unwrap() error { return e.Err }

// Error formats the error as "codec: <source>: <msg> at byte offset N".
func (e *DecodeError) Error() string {
	return fmt.Sprintf("codec: %s: %s at byte offset %d", e.Source, e.Msg, e.Offset)
}

// DecodeRecords reads every record of r, detecting the layout:
//
//   - gzip (magic 1f 8b), zstd (magic 28 b5 2f fd), bzip2 ("BZh1"-"BZh9")
//     and framed snappy or S2 (stream identifier ff 06 00 00 "sNaPpY" or
//     "S2sTwO") input is decompressed first (one level);
//   - a JSON array is one record per element;
//   - a JSON object with a "Records" array (a CloudTrail log file) is one
//     record per element of that array;
//   - any other single JSON document is one record;
//   - anything else is NDJSON: one record per line, blank lines skipped, a
//     line that is not valid JSON still a record.
//
// A document that starts with "{" but is not one complete JSON value is
// read as NDJSON, except when its first line is a lone "{" (the start of
// an indented document), which is reported as a syntax error; force a
// format with DecodeRecordsFormat when the guess is wrong.
//
// Record.Data holds the record's exact bytes (array elements are not
// re-serialized; NDJSON lines lose only their surrounding white space),
// and slices one shared buffer: copy it before modifying it.
// Meta.Source is source; Meta.SequenceNumber is the 1-based line number
// for NDJSON ("12") and the 0-based element index for arrays ("0" for a
// single document). Empty input gives zero records and no error.
func DecodeRecords(r io.Reader, source string) ([]Record, error) {
	return DecodeRecordsFormat(r, source, FormatAuto)
}

// DecodeRecordsFormat is DecodeRecords with the layout forced (compression
// is still detected). FormatJSON reads one document (an array's elements,
// or the document itself); FormatCloudTrail requires an object with a
// "Records" array; FormatNDJSON splits lines whatever they hold.
func DecodeRecordsFormat(r io.Reader, source string, format Format) ([]Record, error) {
	d, err := NewDecoder(r, source, format)
	if err != nil {
		return nil, err
	}
	d.limit = MaxInputBytes
	var out []Record
	for {
		rec, err := d.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
}

type decoder struct {
	data   []byte
	source string
	out    []Record
}

func (d *decoder) add(start, end int, seq int) {
	d.out = append(d.out, Record{
		Data: d.data[start:end:end],
		Meta: Metadata{SequenceNumber: strconv.Itoa(seq), Source: d.source},
	})
}

func (d *decoder) errorf(err *syntaxError) error {
	return &DecodeError{Source: d.source, Offset: int64(err.off), Msg: err.msg}
}

// auto detects the layout; see DecodeRecords.
func (d *decoder) auto() ([]Record, error) {
	i := skipSpace(d.data, 0)
	if i == len(d.data) {
		return nil, nil
	}
	switch d.data[i] {
	case '[':
		end, err := d.array(i, 0)
		if err != nil {
			return nil, d.errorf(err)
		}
		if skipSpace(d.data, end) == len(d.data) {
			return d.out, nil
		}
		d.out = nil // several documents: NDJSON of arrays
		return d.ndjson(), nil
	case '{':
		end, recs, err := d.object(i)
		if err != nil {
			if firstLineIsBrace(d.data[i:]) {
				return nil, d.errorf(err)
			}
			return d.ndjson(), nil
		}
		if skipSpace(d.data, end) != len(d.data) {
			return d.ndjson(), nil
		}
		if recs >= 0 {
			if _, err := d.array(recs, 0); err != nil {
				return nil, d.errorf(err) // cannot happen: already scanned
			}
			return d.out, nil
		}
		d.add(i, end, 0)
		return d.out, nil
	}
	return d.ndjson(), nil
}

// document reads one JSON document (FormatJSON or FormatCloudTrail).
func (d *decoder) document(cloudtrail bool) ([]Record, error) {
	i := skipSpace(d.data, 0)
	if i == len(d.data) {
		return nil, nil
	}
	var end int
	switch {
	case cloudtrail:
		if d.data[i] != '{' {
			return nil, d.errorf(synErr(i, `expected a CloudTrail object {"Records": [...]}`))
		}
		e, recs, err := d.object(i)
		if err != nil {
			return nil, d.errorf(err)
		}
		if recs < 0 {
			return nil, d.errorf(synErr(i, `no "Records" array in the CloudTrail object`))
		}
		if _, err := d.array(recs, 0); err != nil {
			return nil, d.errorf(err)
		}
		end = e
	case d.data[i] == '[':
		e, err := d.array(i, 0)
		if err != nil {
			return nil, d.errorf(err)
		}
		end = e
	default:
		e, err := skipValue(d.data, i, 0)
		if err != nil {
			return nil, d.errorf(err)
		}
		d.add(i, e, 0)
		end = e
	}
	if j := skipSpace(d.data, end); j != len(d.data) {
		d.out = nil
		return nil, d.errorf(synErr(j, "unexpected data after the JSON document"))
	}
	return d.out, nil
}

// array adds one record per element of the array at data[i] == '['.
func (d *decoder) array(i, depth int) (int, *syntaxError) {
	return scanArray(d.data, i, depth+1, d.add)
}

// object scans the object at data[i] == '{' and returns its end and the
// offset of its "Records" array value (-1 when it has none).
func (d *decoder) object(i int) (end, records int, err *syntaxError) {
	records = -1
	data := d.data
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, records, nil
	}
	for {
		if i == len(data) {
			return 0, 0, synErr(i, "unexpected end of input in object")
		}
		if data[i] != '"' {
			return 0, 0, synErr(i, fmt.Sprintf("expected a string key, found %s", quoteByte(data[i])))
		}
		kend, err := skipString(data, i)
		if err != nil {
			return 0, 0, err
		}
		key := data[i+1 : kend-1]
		i = skipSpace(data, kend)
		if i == len(data) || data[i] != ':' {
			return 0, 0, synErr(i, "expected ':' after object key")
		}
		i = skipSpace(data, i+1)
		vstart := i
		i, err = skipValue(data, i, 1)
		if err != nil {
			return 0, 0, err
		}
		if data[vstart] == '[' && isRecordsKey(key) {
			records = vstart
		}
		i = skipSpace(data, i)
		if i == len(data) {
			return 0, 0, synErr(i, "unexpected end of input in object")
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return i + 1, records, nil
		default:
			return 0, 0, synErr(i, fmt.Sprintf("expected ',' or '}' after object value, found %s", quoteByte(data[i])))
		}
	}
}

func isRecordsKey(key []byte) bool {
	if string(key) == "Records" {
		return true
	}
	if bytes.IndexByte(key, '\\') < 0 {
		return false
	}
	s, err := strconv.Unquote(`"` + string(key) + `"`)
	return err == nil && s == "Records"
}

// ndjson adds one record per non-blank line.
func (d *decoder) ndjson() []Record {
	d.out = d.out[:0]
	data := d.data
	line := 0
	for start := 0; start < len(data); {
		line++
		end := bytes.IndexByte(data[start:], '\n')
		next := len(data)
		if end < 0 {
			end = len(data)
		} else {
			end += start
			next = end + 1
		}
		s, e := trimSpace(data, start, end)
		if s < e {
			d.add(s, e, line)
		}
		start = next
	}
	return d.out
}

func trimSpace(data []byte, s, e int) (int, int) {
	for s < e && isSpace(data[s]) {
		s++
	}
	for e > s && isSpace(data[e-1]) {
		e--
	}
	return s, e
}

// firstLineIsBrace reports whether data's first line is a lone "{".
func firstLineIsBrace(data []byte) bool {
	line := data
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		line = data[:i]
	}
	return string(bytes.TrimSpace(line)) == "{"
}
