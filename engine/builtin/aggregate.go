package builtin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
	"github.com/weirhq/weir/engine/frame"
)

// Aggregate transforms: aggregate_to_array, aggregate_to_string (fan in),
// aggregate_from_array, aggregate_from_string (fan out).
//
// Fan in works across the whole batch (a stage's Process call): records
// are grouped by the value at object.batch_key (one group when unset)
// and a group is emitted when adding a record would pass one of the
// "batch" limits (count: records, default 1000; size: bytes of data,
// default 1 MiB; duration: time since the group's last record, default
// 1m; as in Substation a count or size below 2 means the default), then
// every group still open is emitted when the batch ends (the control
// message). Groups are emitted in the order of their first record, and
// an aggregate has no metadata (Substation's message.New()).
//
// Attribution (what a Lambda partial batch failure reports): an
// aggregate is an output of the FIRST record it contains; the other
// records it contains have no output of their own (StatusDropped) and
// are joined to it (engine.Result.Joined). If the aggregate fails later
// (a later step or stage), every record it holds fails with it, so any
// source, SQS included, retries them all; if it is dead-lettered, each
// record it holds gets its own dead letter. A delivery failure fails the
// whole invocation, and the source retries the whole batch.
//
// Fan out emits each element as a new message of the same input record,
// with its metadata.

func init() {
	RegisterTransform("aggregate_to_array", newAggregateTo(false))
	RegisterTransform("aggregate_to_string", newAggregateTo(true))
	RegisterTransform("aggregate_from_array", newAggregateFromArray)
	RegisterTransform("aggregate_from_string", newAggregateFromString)
}

// BatchSettings is Substation's "batch" setting of aggregate_* (and of
// its send_* transforms).
type BatchSettings struct {
	Count    int    `json:"count,omitempty"`
	Size     int    `json:"size,omitempty"`
	Duration string `json:"duration,omitempty"`
}

const (
	defaultBatchCount    = 1000
	defaultBatchSize     = 1 << 20
	defaultBatchDuration = time.Minute
)

type batchLimits struct {
	count, size int
	duration    time.Duration
}

func (c *Compiler) batchLimits(s BatchSettings) (batchLimits, error) {
	l := batchLimits{count: s.Count, size: s.Size, duration: defaultBatchDuration}
	if l.count <= 1 {
		l.count = defaultBatchCount
	}
	if l.size <= 1 {
		l.size = defaultBatchSize
	}
	if s.Duration != "" {
		d, err := time.ParseDuration(s.Duration)
		if err != nil {
			return l, c.errorf("settings: batch.duration: %v", err)
		}
		l.duration = d
	}
	return l, nil
}

type aggregateTo struct {
	toString bool
	sep      []byte
	target   string
	batchKey string
	limits   batchLimits
}

func newAggregateTo(toString bool) TransformFactory {
	return func(c *Compiler, raw json.RawMessage) (Transform, error) {
		var s struct {
			ID
			Object    ObjectSettings `json:"object"`
			Batch     BatchSettings  `json:"batch"`
			Separator *string        `json:"separator"`
		}
		if err := c.Decode(raw, &s); err != nil {
			return nil, err
		}
		t := &aggregateTo{toString: toString, target: s.Object.TargetKey, batchKey: s.Object.BatchKey}
		if toString {
			if s.Separator == nil || *s.Separator == "" {
				return nil, c.errorf("settings: separator is required")
			}
			t.sep = []byte(*s.Separator)
			t.target = "" // as in Substation, the string always replaces the data
		}
		var err error
		if t.limits, err = c.batchLimits(s.Batch); err != nil {
			return nil, err
		}
		return t, nil
	}
}

type aggGroup struct {
	items [][]byte
	size  int
	last  time.Time
	first *Message // the earliest record of the group: the aggregate is its output
	// joined are the input records of the group's other messages (and
	// those they carry): engine.Result.Joined of the aggregate.
	joined []int
}

type aggState struct {
	groups map[string]*aggGroup
	order  []*aggGroup
}

func (g *aggGroup) add(m *Message, d []byte, l batchLimits, now time.Time) bool {
	if len(g.items)+1 > l.count || g.size+len(d) > l.size || (len(g.items) > 0 && now.Sub(g.last) > l.duration) {
		return false
	}
	if len(g.items) == 0 {
		g.first = m
	} else if m.origin != g.first.origin {
		g.joined = append(g.joined, m.origin)
	}
	g.joined = append(g.joined, m.joined...)
	g.items = append(g.items, d)
	g.size += len(d)
	g.last = now
	return true
}

func (t *aggregateTo) Transform(_ context.Context, in, out []*Message) ([]*Message, error) {
	for _, m := range in {
		st := m.b.stateOf(t, func() any { return &aggState{groups: map[string]*aggGroup{}} }).(*aggState)
		if m.ctrl {
			for _, g := range st.order {
				if len(g.items) > 0 {
					var err error
					if out, err = t.emit(g, out); err != nil {
						return out, err
					}
				}
			}
			clear(st.groups)
			st.order = st.order[:0]
			out = append(out, m)
			continue
		}
		key := ""
		if t.batchKey != "" {
			key = m.GetValue(t.batchKey).String()
		}
		g := st.groups[key]
		if g == nil {
			g = &aggGroup{}
			st.groups[key] = g
			st.order = append(st.order, g)
		}
		d := m.Data()
		now := time.Now()
		if g.add(m, d, t.limits, now) {
			continue
		}
		var err error
		if out, err = t.emit(g, out); err != nil {
			return out, err
		}
		*g = aggGroup{items: g.items[:0], joined: g.joined[:0:0]}
		if !g.add(m, d, t.limits, now) {
			m.Fail(fmt.Errorf("record of %d bytes is larger than batch.size (%d bytes)", len(d), t.limits.size))
			out = append(out, m)
		}
	}
	return out, nil
}

// emit appends the aggregate of g to out, as a new message of g's first
// record.
func (t *aggregateTo) emit(g *aggGroup, out []*Message) ([]*Message, error) {
	b := g.first.b
	start := len(b.scratch)
	if t.toString {
		for i, it := range g.items {
			if i > 0 {
				b.scratch = append(b.scratch, t.sep...)
			}
			b.scratch = append(b.scratch, it...)
		}
	} else {
		b.scratch = appendArray(b.scratch, g.items)
	}
	data := b.scratch[start:len(b.scratch):len(b.scratch)]
	n := g.first.NewMessage(nil)
	n.joined = g.joined
	n.SetMetadata(nil)
	if t.target != "" {
		if err := n.SetRaw(t.target, data); err != nil {
			return out, err
		}
	} else {
		n.SetData(data)
	}
	return append(out, n), nil
}

// appendArray writes items as a JSON array, each as Substation sets
// bytes: a JSON object or array nested, valid UTF-8 as a string,
// anything else as a base64 string.
func appendArray(dst []byte, items [][]byte) []byte {
	dst = append(dst, '[')
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		switch {
		case (bytes.HasPrefix(it, []byte("{")) || bytes.HasPrefix(it, []byte("["))) && json.Valid(it):
			dst = append(dst, it...)
		case utf8.Valid(it):
			dst = frame.AppendString(dst, it)
		default:
			dst = append(dst, '"')
			dst = base64.StdEncoding.AppendEncode(dst, it)
			dst = append(dst, '"')
		}
	}
	return append(dst, ']')
}

// aggregate_from_array emits one message per element of the array at
// source_key (removed from the data; each message keeps the data's other
// fields and gets the element merged in, or set at target_key), or of the
// array that is the data. A missing or non-array value passes the message
// on unchanged.
func newAggregateFromArray(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct {
		ID
		Object ObjectSettings `json:"object"`
		Batch  BatchSettings  `json:"batch"`
	}
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	src, dst := s.Object.SourceKey, s.Object.TargetKey
	return &aggregateFromArray{src: src, dst: dst}, nil
}

type aggregateFromArray struct{ src, dst string }

func (t *aggregateFromArray) Transform(_ context.Context, in, out []*Message) ([]*Message, error) {
	for _, m := range in {
		if m.ctrl {
			out = append(out, m)
			continue
		}
		start := len(out)
		var err error
		if out, err = t.one(m, out); err != nil {
			out = out[:start]
			m.Fail(err)
			out = append(out, m)
		}
	}
	return out, nil
}

func (t *aggregateFromArray) one(m *Message, out []*Message) ([]*Message, error) {
	var v Value
	if t.src != "" {
		v = m.GetValue(t.src)
		if v.Exists() {
			if err := m.DeleteValue(t.src); err != nil {
				return out, err
			}
		}
	} else {
		v = m.GetValue("@this")
	}
	if !v.Exists() || !v.IsArray() {
		return append(out, m), nil
	}
	var rest []byte
	if t.src != "" {
		rest = m.Data()
	}
	for _, e := range v.Array() {
		n := m.NewMessage(rest)
		switch {
		case t.dst != "":
			if err := n.SetValue(t.dst, e); err != nil {
				return out, err
			}
		case t.src != "":
			if err := mergeObject(n, e); err != nil {
				return out, err
			}
		default:
			n.SetData(e.AppendText(nil))
		}
		out = append(out, n)
	}
	return out, nil
}

// mergeObject sets every field of the object e in n's data (gjson's
// @join: a later key replaces an earlier one). A non-object e replaces
// the data with its text.
func mergeObject(n *Message, e Value) error {
	o := object(e.v)
	if o == nil {
		n.SetData(e.AppendText(nil))
		return nil
	}
	var err error
	o.Visit(func(k []byte, c *fastjson.Value) {
		if err == nil {
			err = n.SetValue(escapeKey(k), Value{v: c})
		}
	})
	return err
}

// gjsonSpecial are the bytes that escapeKey escapes.
const gjsonSpecial = `.*?|#@\!=<>%,:[](){}`

// escapeKey escapes gjson's special characters in an object key so that
// it addresses that key, not a path.
func escapeKey(k []byte) string {
	if !bytes.ContainsAny(k, gjsonSpecial) {
		return string(k)
	}
	var b []byte
	for _, c := range k {
		if strings.IndexByte(gjsonSpecial, c) >= 0 {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return string(b)
}

// aggregate_from_string splits the data on separator and emits each part
// as a message of the same record, with its metadata.
func newAggregateFromString(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct {
		ID
		Object    ObjectSettings `json:"object"`
		Batch     BatchSettings  `json:"batch"`
		Separator string         `json:"separator"`
	}
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	if s.Separator == "" {
		return nil, c.errorf("settings: separator is required")
	}
	sep := []byte(s.Separator)
	return fanOut(func(_ context.Context, m *Message, emit func([]byte)) error {
		data := m.Data()
		for {
			i := bytes.Index(data, sep)
			if i < 0 {
				emit(data)
				return nil
			}
			emit(data[:i:i])
			data = data[i+len(sep):]
		}
	}), nil
}
