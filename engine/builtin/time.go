package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	_ "time/tzdata" // "location" must work where the system has no zoneinfo (Lambda's provided runtimes).
)

// Time transforms. As in Substation v2, a time inside a pipeline is an
// integer of nanoseconds since the Unix epoch: time_from_* produce one,
// time_to_* read one.
//
//   - time_from_string: parse the string with a Go layout ("format", e.g.
//     "2006-01-02T15:04:05.000Z") in "location" (an IANA name; default
//     UTC, or the zone the layout carries);
//   - time_to_string: format with a Go layout in "location";
//   - time_from_unix, time_from_unix_milli: seconds / milliseconds to
//     nanoseconds;
//   - time_to_unix, time_to_unix_milli: nanoseconds to seconds /
//     milliseconds;
//   - time_now: the current time.
//
// With object.source_key and object.target_key the value at source_key
// is converted and written at target_key (a number, or a string for
// time_to_string); with neither, the data is read as text and replaced.
// A missing source value leaves the message unchanged.

func init() {
	RegisterTransform("time_from_string", newTimeFromString)
	RegisterTransform("time_to_string", newTimeToString)
	RegisterTransform("time_from_unix", newTimeInt(func(n int64) int64 { return time.Unix(n, 0).UnixNano() }))
	RegisterTransform("time_from_unix_milli", newTimeInt(func(n int64) int64 { return time.UnixMilli(n).UnixNano() }))
	RegisterTransform("time_to_unix", newTimeInt(func(n int64) int64 { return time.Unix(0, n).Unix() }))
	RegisterTransform("time_to_unix_milli", newTimeInt(func(n int64) int64 { return time.Unix(0, n).UnixMilli() }))
	RegisterTransform("time_now", newTimeNow)
}

type timePatternSettings struct {
	ID
	Object   ObjectSettings `json:"object"`
	Format   string         `json:"format"`
	Location string         `json:"location"`
}

// timeIO is where a time transform reads and writes: a key pair, or the
// data.
type timeIO struct{ src, dst string }

func newTimeIO(o ObjectSettings) (timeIO, error) {
	if err := keysTogether(o); err != nil {
		return timeIO{}, err
	}
	return timeIO{src: o.SourceKey, dst: o.TargetKey}, nil
}

// get returns the input value: the value at source_key, or the data as a
// string (Substation's bytesToValue).
func (t timeIO) get(m *Message) Value {
	if t.src != "" {
		return m.GetValue(t.src)
	}
	d := m.Data()
	if d == nil {
		return Value{}
	}
	return Value{v: m.b.newStringBytes(d)}
}

// setInt writes n at target_key as a number, or as the data's text.
func (t timeIO) setInt(m *Message, n int64) error {
	if t.dst != "" {
		return m.SetInt(t.dst, n)
	}
	b := m.b
	start := len(b.scratch)
	b.scratch = strconv.AppendInt(b.scratch, n, 10)
	m.SetData(b.scratch[start:len(b.scratch):len(b.scratch)])
	return nil
}

// intOf is v.Int() without allocating for plain integers (numbers, or
// strings holding one): their text is read into the batch's buffer.
func (b *batch) intOf(v Value) int64 {
	var k int
	k, b.num = kindOf(v.v, b.num[:0])
	t := b.num
	if k == kString && len(t) >= 2 {
		t = t[1 : len(t)-1]
	}
	if k == kNumber || k == kString {
		if n, ok := parseSmallInt(t); ok {
			return n
		}
	}
	return v.Int()
}

func loadLocation(c *Compiler, name string) (*time.Location, error) {
	if name == "" {
		return nil, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, c.errorf("settings: location: %v", err)
	}
	return loc, nil
}

func decodeTimePattern(c *Compiler, raw json.RawMessage) (timePatternSettings, timeIO, *time.Location, error) {
	var s timePatternSettings
	if err := c.Decode(raw, &s); err != nil {
		return s, timeIO{}, nil, err
	}
	io, err := newTimeIO(s.Object)
	if err != nil {
		return s, io, nil, c.wrap(err)
	}
	if s.Format == "" {
		return s, io, nil, c.errorf("settings: format is required (a Go time layout, e.g. %q)", "2006-01-02T15:04:05.000Z")
	}
	loc, err := loadLocation(c, s.Location)
	return s, io, loc, err
}

func newTimeFromString(c *Compiler, raw json.RawMessage) (Transform, error) {
	s, io, loc, err := decodeTimePattern(c, raw)
	if err != nil {
		return nil, err
	}
	layout := s.Format
	return PerMessage(func(_ context.Context, m *Message) (bool, error) {
		v := io.get(m)
		if !v.Exists() {
			return false, nil
		}
		b := m.b
		start := len(b.scratch)
		b.scratch = v.AppendText(b.scratch)
		str := b.scratchString(start)
		var t time.Time
		if loc != nil {
			t, err = time.ParseInLocation(layout, str, loc)
		} else {
			t, err = time.Parse(layout, str)
		}
		if err != nil {
			return false, fmt.Errorf("format %s: %w", layout, err)
		}
		return false, io.setInt(m, t.UnixNano())
	}), nil
}

func newTimeToString(c *Compiler, raw json.RawMessage) (Transform, error) {
	s, io, loc, err := decodeTimePattern(c, raw)
	if err != nil {
		return nil, err
	}
	layout := s.Format
	if loc == nil {
		// Substation formats in the process's local zone, which is UTC
		// on Lambda; weir uses UTC everywhere so that output does not
		// depend on the machine.
		loc = time.UTC
	}
	return PerMessage(func(_ context.Context, m *Message) (bool, error) {
		v := io.get(m)
		if !v.Exists() {
			return false, nil
		}
		t := time.Unix(0, m.b.intOf(v)).In(loc)
		b := m.b
		start := len(b.scratch)
		b.scratch = t.AppendFormat(b.scratch, layout)
		out := b.scratch[start:len(b.scratch):len(b.scratch)]
		if io.dst != "" {
			return false, m.SetText(io.dst, b.scratchString(start))
		}
		m.SetData(out)
		return false, nil
	}), nil
}

// newTimeInt builds the integer conversions (time_from_unix...).
func newTimeInt(conv func(int64) int64) TransformFactory {
	return func(c *Compiler, raw json.RawMessage) (Transform, error) {
		var s objectSettings
		if err := c.Decode(raw, &s); err != nil {
			return nil, err
		}
		io, err := newTimeIO(s.Object)
		if err != nil {
			return nil, c.wrap(err)
		}
		return PerMessage(func(_ context.Context, m *Message) (bool, error) {
			v := io.get(m)
			if !v.Exists() {
				return false, nil
			}
			return false, io.setInt(m, conv(m.b.intOf(v)))
		}), nil
	}
}

// time_now writes the current time (nanoseconds) at target_key, or
// replaces the data with it.
func newTimeNow(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s objectSettings
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	io := timeIO{dst: s.Object.TargetKey}
	return PerMessage(func(_ context.Context, m *Message) (bool, error) {
		return false, io.setInt(m, time.Now().UnixNano())
	}), nil
}
