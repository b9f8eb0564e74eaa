package lambda

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// kinesisText is what kinesisUnits reads of one element of a Kinesis
// event's Records, found by scanKinesisEvent: its fields' JSON values as
// they stand in the event's text (not copied, not unescaped).
type kinesisText struct {
	// object is false when the element is not a JSON object.
	object bool
	// The fields, first occurrence of each key (a later duplicate is
	// ignored, as fastjson and most readers do).
	eventID, source, partitionKey, sequenceNumber, data, arrival jsonText
}

// jsonText is one JSON value in the event's text.
type jsonText struct {
	raw  []byte // the value; a string's without its quotes, still escaped
	kind byte   // 0: absent; '"' string, 'n' null, '0' number, 'o' object, 'a' array, 'b' boolean
}

// kindName names a kind in errors.
func (t jsonText) kindName() string {
	switch t.kind {
	case '0':
		return "a number"
	case 'o':
		return "an object"
	case 'a':
		return "an array"
	case 'b':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a string"
}

// str returns a string field's bytes (unescaped when it holds escapes;
// nil when absent or null), or an error when the value is not a string.
func (t jsonText) str() ([]byte, error) {
	switch t.kind {
	case 0, 'n':
		return nil, nil
	case '"':
		if bytes.IndexByte(t.raw, '\\') < 0 {
			return t.raw, nil
		}
		// Escapes are rare in these fields: encoding/json reads them.
		var s string
		q := make([]byte, 0, len(t.raw)+2)
		q = append(append(append(q, '"'), t.raw...), '"')
		if err := json.Unmarshal(q, &s); err != nil {
			return nil, err
		}
		return []byte(s), nil
	}
	return nil, fmt.Errorf("value is %s, not a string", t.kindName())
}

// errNoRecords is scanKinesisEvent's answer to an event without a
// Records key.
var errNoRecords = errors.New("no Records")

// maxJSONDepth bounds the nesting of the event's values (fastjson's).
const maxJSONDepth = 300

// scanKinesisEvent reads a Kinesis event's Records in payload without
// copying it: the fields kinesisUnits needs of each element, every other
// value only checked as JSON. The whole event must be one valid JSON
// object (with nothing after it); Records, when present, an array.
// errNoRecords when it has no Records. The fields are appended to buf
// (from its start: a slice reused from an event before, see
// kinesisUnits).
//
// This replaces a general parser (fastjson), which copied the ~20 MB of
// a large event and scanned each record's base64 text three times (the
// copy, the string's end, its escapes); this scans it once for its end.
// frame.Doc, the host's record parser, was tried in its place and is
// slower here (bench/RESULTS.md, "The Kinesis event read with
// frame.Doc"): it computes a mask of every byte and writes a tape entry
// for every value, read again afterwards, where this reads each value
// once as it goes: Doc's parse alone takes longer than this whole scan
// of a 10,000-record event.
func scanKinesisEvent(payload []byte, buf []kinesisText) ([]kinesisText, error) {
	s := &jsonScanner{b: payload}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		// Valid JSON of another type, or not JSON at all.
		if err := s.value(0); err != nil {
			return nil, err
		}
		return nil, errors.New("not a JSON object")
	}
	var recs []kinesisText
	seen := false
	var kindErr error // Records not an array: reported if the JSON is valid
	err := s.object(0, func(key []byte, depth int) error {
		if seen || string(key) != "Records" {
			return s.value(depth)
		}
		seen = true
		if s.b[s.i] != '[' {
			v, err := s.text(depth)
			if err == nil {
				kindErr = fmt.Errorf("the Records value is %s, not an array", v.kindName())
			}
			return err
		}
		recs = buf[:0]
		return s.array(depth, func(depth int) error {
			var r kinesisText
			if s.b[s.i] != '{' {
				recs = append(recs, r)
				return s.value(depth)
			}
			r.object = true
			kinesis := false // the first "kinesis" key seen
			err := s.object(depth, func(key []byte, depth int) error {
				switch string(key) {
				case "eventID":
					return s.field(&r.eventID, depth)
				case "eventSourceARN":
					return s.field(&r.source, depth)
				case "kinesis":
					if kinesis || s.b[s.i] != '{' {
						// A later duplicate, or not an object (then no
						// kinesis.* field: the first occurrence counts).
						kinesis = true
						return s.value(depth)
					}
					kinesis = true
					return s.object(depth, func(key []byte, depth int) error {
						switch string(key) {
						case "partitionKey":
							return s.field(&r.partitionKey, depth)
						case "sequenceNumber":
							return s.field(&r.sequenceNumber, depth)
						case "data":
							return s.field(&r.data, depth)
						case "approximateArrivalTimestamp":
							return s.field(&r.arrival, depth)
						}
						return s.value(depth)
					})
				}
				return s.value(depth)
			})
			recs = append(recs, r)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	if s.ws(); s.i < len(s.b) {
		return nil, s.errorf("unexpected data after the event")
	}
	if kindErr != nil {
		return nil, kindErr
	}
	if !seen {
		return nil, errNoRecords
	}
	return recs, nil
}

// jsonScanner reads JSON from b at i.
type jsonScanner struct {
	b []byte
	i int
}

func (s *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", s.i, fmt.Sprintf(format, args...))
}

// ws skips white space.
func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// field reads the value at i into t, unless t already holds a value
// (a duplicate key's later value is only checked).
func (s *jsonScanner) field(t *jsonText, depth int) error {
	if t.kind != 0 {
		return s.value(depth)
	}
	v, err := s.text(depth)
	*t = v
	return err
}

// text reads the value at i and returns it.
func (s *jsonScanner) text(depth int) (jsonText, error) {
	start := s.i
	if s.b[s.i] == '"' {
		raw, err := s.str()
		return jsonText{raw: raw, kind: '"'}, err
	}
	kind := byte('0')
	switch s.b[s.i] {
	case '{':
		kind = 'o'
	case '[':
		kind = 'a'
	case 't', 'f':
		kind = 'b'
	case 'n':
		kind = 'n'
	}
	err := s.value(depth)
	return jsonText{raw: s.b[start:s.i], kind: kind}, err
}

// str reads the string at i and returns its text between the quotes,
// escapes and all: it ends at the first quote after an even number of
// backslashes. (Whether it holds escapes is left to its reader: one pass
// over the ~20 MB of base64 of a large event, not two.)
func (s *jsonScanner) str() ([]byte, error) {
	start := s.i + 1
	for j := start; ; {
		end := bytes.IndexByte(s.b[j:], '"')
		if end < 0 {
			return nil, s.errorf("unterminated string")
		}
		end += j
		k := end
		for k > start && s.b[k-1] == '\\' {
			k--
		}
		if (end-k)%2 == 0 {
			s.i = end + 1
			return s.b[start:end], nil
		}
		j = end + 1
	}
}

// value checks the JSON value at i and moves past it.
func (s *jsonScanner) value(depth int) error {
	if s.i >= len(s.b) {
		return s.errorf("unexpected end of JSON")
	}
	switch c := s.b[s.i]; c {
	case '"':
		_, err := s.str()
		return err
	case '{':
		return s.object(depth, func(_ []byte, depth int) error { return s.value(depth) })
	case '[':
		return s.array(depth, s.value)
	case 't', 'f', 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
				s.i += len(lit)
				return nil
			}
		}
		return s.errorf("unexpected %q", c)
	}
	// A number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
	start := s.i
	digits := func() int {
		n := 0
		for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	if s.b[s.i] == '-' {
		s.i++
	}
	ok := true
	if s.i < len(s.b) && s.b[s.i] == '0' {
		s.i++
	} else {
		ok = digits() > 0
	}
	if ok && s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		ok = digits() > 0
	}
	if ok && s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		ok = digits() > 0
	}
	if !ok {
		s.i = start
		return s.errorf("unexpected %q", s.b[start])
	}
	return nil
}

// object reads the object at i, calling each with every key (unescaped)
// and i at its value, which each must read.
func (s *jsonScanner) object(depth int, each func(key []byte, depth int) error) error {
	return s.list(depth, '}', func(depth int) error {
		if s.b[s.i] != '"' {
			return s.errorf("want an object key")
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		if bytes.IndexByte(key, '\\') >= 0 {
			var k string
			if err := json.Unmarshal(s.b[s.i-len(key)-2:s.i], &k); err != nil {
				return s.errorf("object key: %v", err)
			}
			key = []byte(k)
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.errorf("want ':' after an object key")
		}
		s.i++
		s.ws()
		if s.i >= len(s.b) {
			return s.errorf("unexpected end of JSON")
		}
		return each(key, depth)
	})
}

// array reads the array at i, calling each with i at every element,
// which each must read.
func (s *jsonScanner) array(depth int, each func(depth int) error) error {
	return s.list(depth, ']', each)
}

// list reads the object or array at i, whose closing byte is closing:
// its items separated by commas, item called with i at each (a member,
// an element), which it must read.
func (s *jsonScanner) list(depth int, closing byte, item func(depth int) error) error {
	if depth++; depth > maxJSONDepth {
		return s.errorf("nested too deep")
	}
	s.i++ // { or [
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == closing {
		s.i++
		return nil
	}
	for {
		if s.i >= len(s.b) {
			return s.errorf("unexpected end of JSON")
		}
		if err := item(depth); err != nil {
			return err
		}
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ',' {
			s.i++
			s.ws()
			continue
		}
		if s.i < len(s.b) && s.b[s.i] == closing {
			s.i++
			return nil
		}
		what := "an array"
		if closing == '}' {
			what = "an object"
		}
		return s.errorf("want ',' or '%c' in %s", closing, what)
	}
}
