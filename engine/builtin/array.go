package builtin

import (
	"context"
	"encoding/json"
)

// Array transforms: array_join (join the elements' text with a
// separator) and array_zip (transpose an array of arrays). They read the
// array at object.source_key or the data, and write at object.target_key
// or as the data; a missing value or one that is not an array leaves the
// message unchanged.

func init() {
	RegisterTransform("array_join", newArrayJoin)
	RegisterTransform("array_zip", newArrayZip)
}

func newArrayJoin(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct {
		ID
		Object    ObjectSettings `json:"object"`
		Separator string         `json:"separator"`
	}
	if err := decodeTogether(c, raw, &s, &s.Object); err != nil {
		return nil, err
	}
	src, tgt, sep := s.Object.SourceKey, s.Object.TargetKey, s.Separator
	return PerMessage(func(_ context.Context, m *Message) (bool, error) {
		v := sourceValue(m, src)
		if !v.Exists() || !v.IsArray() {
			return false, nil
		}
		b := m.b
		start := len(b.scratch)
		for i, n := 0, v.Len(); i < n; i++ {
			if i > 0 {
				b.scratch = append(b.scratch, sep...)
			}
			b.scratch = v.Index(i).AppendText(b.scratch)
		}
		out := b.scratch[start:len(b.scratch):len(b.scratch)]
		if tgt == "" {
			m.SetData(out)
			return false, nil
		}
		return false, m.SetBytes(tgt, out)
	}), nil
}

// array_zip: [[a,b],[1,2]] → [[a,1],[b,2]]. An element that is not an
// array counts as a one-element array; shorter arrays leave gaps (the
// i-th output holds the i-th element of every array that has one).
func newArrayZip(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s objectSettings
	if err := decodeTogether(c, raw, &s, &s.Object); err != nil {
		return nil, err
	}
	src, tgt := s.Object.SourceKey, s.Object.TargetKey
	return PerMessage(func(_ context.Context, m *Message) (bool, error) {
		v := sourceValue(m, src)
		if !v.Exists() || !v.IsArray() {
			return false, nil
		}
		rows := v.Len()
		width := 0
		for i := 0; i < rows; i++ {
			width = max(width, elemLen(v.Index(i)))
		}
		b := m.b
		start := len(b.scratch)
		if width == 0 {
			b.scratch = append(b.scratch, "null"...)
		} else {
			b.scratch = append(b.scratch, '[')
			for j := 0; j < width; j++ {
				if j > 0 {
					b.scratch = append(b.scratch, ',')
				}
				b.scratch = append(b.scratch, '[')
				first := true
				for i := 0; i < rows; i++ {
					e := elemAt(v.Index(i), j)
					if !e.Exists() {
						continue
					}
					if !first {
						b.scratch = append(b.scratch, ',')
					}
					first = false
					b.scratch = e.JSON(b.scratch)
				}
				b.scratch = append(b.scratch, ']')
			}
			b.scratch = append(b.scratch, ']')
		}
		out := b.scratch[start:len(b.scratch):len(b.scratch)]
		if tgt == "" {
			if width == 0 {
				out = nil
			}
			m.SetData(out)
			return false, nil
		}
		return false, m.SetRaw(tgt, out)
	}), nil
}

// elemLen is the length of v as gjson's Result.Array sees it: an array's
// length, 1 for any other value.
func elemLen(v Value) int {
	if v.IsArray() {
		return v.Len()
	}
	if v.Exists() && !v.IsNull() {
		return 1
	}
	return 0
}

// elemAt is the i-th element of v as gjson's Result.Array sees it.
func elemAt(v Value, i int) Value {
	if v.IsArray() {
		return v.Index(i)
	}
	if i == 0 && !v.IsNull() {
		return v
	}
	return Value{}
}
