package engine

import (
	"fmt"
)

// Array scanning states.
const (
	arrOpen = iota // at '['
	arrNext        // after an element: ',' or ']' comes
)

// Object scanning states.
const (
	objOpen  = iota // at '{'
	objAfter        // after a value: ',' or '}' comes
)

// value scans the JSON value at buf[i], reading more input as needed
// (what precedes i from d.pos is kept, so i moves only by compaction).
// It returns the value's bounds, or ok false with the error (nil at a
// clean end of input).
func (d *Decoder) value(i, depth int, what string) (start, end int, ok bool, err error) {
	for {
		rel := i - d.pos
		end, serr := skipValue(d.buf, i, depth)
		if serr != nil && !serr.eof {
			return 0, 0, false, d.ended(0, serr)
		}
		if serr == nil && (end < len(d.buf) || d.eof && d.rerr == nil) {
			return i, end, true, nil
		}
		// Incomplete, or a number that ends with the data and may go on
		// in the next read.
		base := d.base
		more, err := d.more()
		if err != nil {
			return 0, 0, false, err
		}
		i = d.pos + rel
		if more || serr == nil && d.rerr == nil {
			continue
		}
		if serr == nil {
			serr = endErr(end, "unexpected end of input in "+what)
		}
		serr.off -= int(d.base - base)
		return 0, 0, false, d.ended(i, serr)
	}
}

// nextElement returns the next element of the array being streamed, or
// false after its closing "]" (d.pos then just after it).
func (d *Decoder) nextElement() (Record, bool, error) {
	for {
		data := d.buf
		i := d.pos
		if d.astate == arrOpen {
			i = skipSpace(data, i+1)
		} else {
			i = skipSpace(data, i)
			if i < len(data) {
				switch data[i] {
				case ']':
					d.pos = i + 1
					return Record{}, false, nil
				case ',':
					i = skipSpace(data, i+1)
				default:
					return Record{}, false, d.ended(0, synErr(i, fmt.Sprintf("expected ',' or ']' after array element, found %s", quoteByte(data[i]))))
				}
			}
		}
		if i == len(data) {
			ok, err := d.moreOr(endErr(i, "unexpected end of input in array"))
			if !ok {
				return Record{}, false, err
			}
			continue
		}
		if d.astate == arrOpen && data[i] == ']' {
			d.pos = i + 1
			return Record{}, false, nil
		}
		start, end, ok, err := d.value(i, d.depth, "array")
		if !ok {
			return Record{}, false, err
		}
		rec := d.record(d.buf[start:end], d.elem)
		d.elem++
		d.pos = end
		d.astate = arrNext
		return rec, true, nil
	}
}

// nextInObject streams a top-level object: the elements of its "Records"
// array, or the whole object as one record when it has none (FormatAuto
// and FormatJSON; FormatCloudTrail requires the array). It returns false
// after the object's closing "}".
func (d *Decoder) nextInObject() (Record, bool, error) {
	for {
		if d.inRecs {
			rec, ok, err := d.nextElement()
			if err != nil || ok {
				return rec, ok, err
			}
			d.inRecs = false
			d.ostate = objAfter
			d.rel = 0
		}
		data := d.buf
		i := d.pos + d.rel
		more := func(fallback *syntaxError) error {
			ok, err := d.moreOr(fallback)
			if !ok && err == nil {
				err = d.ended(d.pos, endErr(len(d.buf)-int(d.base), "unexpected end of input in object"))
			}
			return err
		}
		if d.ostate == objOpen {
			if data[i] != '{' {
				return Record{}, false, d.ended(0, synErr(i, `expected a CloudTrail object {"Records": [...]}`))
			}
			i = skipSpace(data, i+1)
			if i == len(data) {
				if err := more(endErr(i, "unexpected end of input in object")); err != nil {
					return Record{}, false, err
				}
				continue
			}
			if data[i] == '}' {
				return d.objectEnd(i + 1)
			}
		} else {
			i = skipSpace(data, i)
			if i == len(data) {
				if err := more(endErr(i, "unexpected end of input in object")); err != nil {
					return Record{}, false, err
				}
				continue
			}
			switch data[i] {
			case '}':
				return d.objectEnd(i + 1)
			case ',':
				i = skipSpace(data, i+1)
			default:
				return Record{}, false, d.ended(0, synErr(i, fmt.Sprintf("expected ',' or '}' after object value, found %s", quoteByte(data[i]))))
			}
		}
		// A key, ':' and a value.
		kstart := i
		if i == len(data) {
			if err := more(endErr(i, "unexpected end of input in object")); err != nil {
				return Record{}, false, err
			}
			continue
		}
		if data[i] != '"' {
			return Record{}, false, d.ended(0, synErr(i, fmt.Sprintf("expected a string key, found %s", quoteByte(data[i]))))
		}
		kend, serr := skipString(data, i)
		if serr == nil {
			i = skipSpace(data, kend)
			switch {
			case i == len(data):
				serr = endErr(i, "unexpected end of input in object")
			case data[i] != ':':
				serr = synErr(i, "expected ':' after object key")
			default:
				i = skipSpace(data, i+1)
			}
		}
		if serr == nil && i < len(data) && data[i] == '[' && isRecordsKey(data[kstart+1:kend-1]) {
			// Stream the Records array; what came before it is not needed.
			d.inRecs, d.sawRecs = true, true
			d.astate, d.depth = arrOpen, 2
			d.pos, d.rel = i, 0
			continue
		}
		var end int
		if serr == nil {
			end, serr = skipValue(data, i, 1)
			if serr == nil && end == len(data) && !d.eof {
				serr = endErr(end, "unexpected end of input in object")
			}
		}
		if serr != nil {
			if !serr.eof {
				return Record{}, false, d.ended(0, serr)
			}
			// Scan again from where the state applies, with more data.
			if err := more(serr); err != nil {
				return Record{}, false, err
			}
			continue
		}
		d.ostate = objAfter
		if d.sawRecs {
			d.pos, d.rel = end, 0 // the object is not a record: let it go
		} else {
			d.rel = end - d.pos
		}
	}
}

// objectEnd ends a streamed object whose "}" ends at end.
func (d *Decoder) objectEnd(end int) (Record, bool, error) {
	if d.sawRecs {
		d.pos, d.rel = end, 0
		return Record{}, false, nil
	}
	if d.format == FormatCloudTrail {
		return Record{}, false, d.ended(0, synErr(d.pos, `no "Records" array in the CloudTrail object`))
	}
	rec := d.record(d.buf[d.pos:end], 0)
	d.pos, d.rel = end, 0
	d.sawRecs = true
	d.mode = modeTrailer
	return rec, true, nil
}

// document returns one JSON document (FormatJSON, not an array).
func (d *Decoder) document() (Record, bool, error) {
	start, end, ok, err := d.value(d.pos, 0, "document")
	if !ok {
		if err == nil {
			err = d.ended(d.pos, endErr(len(d.buf), "unexpected end of input"))
		}
		return Record{}, false, err
	}
	rec := d.record(d.buf[start:end], 0)
	d.pos = end
	return rec, true, nil
}

// trailer checks that only white space follows a streamed document.
func (d *Decoder) trailer() error {
	for {
		i := skipSpace(d.buf, d.pos)
		if i < len(d.buf) {
			return d.ended(0, synErr(i, "unexpected data after the JSON document"))
		}
		d.pos = i
		ok, err := d.more()
		if err != nil {
			return err
		}
		if !ok {
			return d.ended(d.pos, nil)
		}
	}
}
