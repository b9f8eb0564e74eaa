package builtin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/iancoleman/strcase"
	"github.com/weirhq/weir/engine/frame"
)

// String transforms: string_append, string_capture, string_replace,
// string_split, string_to_lower, string_to_upper, string_to_snake,
// string_uuid. Each maps the value at object.source_key to
// object.target_key, or the whole data when neither is set (Substation's
// shape, see PerValue); a missing source value leaves the message as it
// is.

func init() {
	RegisterTransform("string_append", newStringAppend)
	RegisterTransform("string_capture", newStringCapture)
	RegisterTransform("string_replace", newStringReplace)
	RegisterTransform("string_split", newStringSplit)
	RegisterTransform("string_to_lower", newStringCase(appendLower))
	RegisterTransform("string_to_upper", newStringCase(appendUpper))
	RegisterTransform("string_to_snake", newStringCase(func(dst, in []byte) []byte {
		return append(dst, strcase.ToSnake(string(in))...)
	}))
	RegisterTransform("string_uuid", newStringUUID)
}

// newStringCase builds string_to_lower/upper/snake.
func newStringCase(conv func(dst, in []byte) []byte) TransformFactory {
	return func(c *Compiler, raw json.RawMessage) (Transform, error) {
		var s objectSettings
		if err := c.Decode(raw, &s); err != nil {
			return nil, err
		}
		return PerValue(s.Object, func(in, dst []byte) ([]byte, error) { return conv(dst, in), nil })
	}
}

// isASCII reports whether b has only ASCII bytes.
func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// appendLower appends strings.ToLower(in) to dst, without allocating for
// ASCII text.
func appendLower(dst, in []byte) []byte { return appendCase(dst, in, 'A', bytes.ToLower) }

// appendUpper appends strings.ToUpper(in) to dst, without allocating for
// ASCII text.
func appendUpper(dst, in []byte) []byte { return appendCase(dst, in, 'a', bytes.ToUpper) }

// appendCase appends in to dst with the ASCII letters from..from+25
// switched to the other case (bit 0x20), or, for non-ASCII text,
// conv(in).
func appendCase(dst, in []byte, from byte, conv func([]byte) []byte) []byte {
	if !isASCII(in) {
		return append(dst, conv(in)...)
	}
	for _, c := range in {
		if from <= c && c <= from+'Z'-'A' {
			c ^= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// string_append: add a suffix, static (suffix) or read from the message
// (suffix_key; a missing suffix value leaves the message unchanged).
func newStringAppend(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct {
		ID
		Object    ObjectSettings `json:"object"`
		Suffix    string         `json:"suffix"`
		SuffixKey string         `json:"suffix_key"`
	}
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	if s.Suffix == "" && s.SuffixKey == "" {
		return nil, fmt.Errorf("settings: suffix or suffix_key is required")
	}
	if s.SuffixKey == "" {
		suffix := s.Suffix
		return PerValue(s.Object, func(in, dst []byte) ([]byte, error) {
			return append(append(dst, in...), suffix...), nil
		})
	}
	if err := requireKeys(s.Object, true, true); err != nil {
		return nil, fmt.Errorf("%w (suffix_key works on object.source_key)", err)
	}
	src, tgt, key := s.Object.SourceKey, s.Object.TargetKey, s.SuffixKey
	return PerMessage(func(_ context.Context, m *Message) (bool, error) {
		suf := m.GetValue(key)
		v := m.GetValue(src)
		if !suf.Exists() || !v.Exists() {
			return false, nil
		}
		b := m.b
		start := len(b.scratch)
		b.scratch = v.AppendText(b.scratch)
		b.scratch = suf.AppendText(b.scratch)
		return false, m.SetBytes(tgt, b.scratch[start:len(b.scratch):len(b.scratch)])
	}), nil
}

// string_replace: replace every match of pattern with replacement
// (regexp.ReplaceAll: $1 and ${name} expand).
func newStringReplace(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct {
		ID
		Object      ObjectSettings `json:"object"`
		Pattern     string         `json:"pattern"`
		Replacement string         `json:"replacement"`
	}
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	if s.Pattern == "" {
		return nil, fmt.Errorf("settings: pattern is required")
	}
	re, err := compileRegexp(s.Pattern)
	if err != nil {
		return nil, fmt.Errorf("settings: pattern: %w", err)
	}
	repl := []byte(s.Replacement)
	return PerValue(s.Object, func(in, dst []byte) ([]byte, error) {
		return re.appendReplaceAll(dst, in, repl), nil
	})
}

// appendElem appends one element of a JSON array of strings. With nest
// (the data shape: Substation appends each element as bytes to a
// temporary document) text holding a JSON object or array is nested and
// invalid UTF-8 is base64; without (the object shape: Substation sets a
// []string) every element is a string.
func appendElem(dst, s []byte, nest bool) []byte {
	if !nest {
		return frame.AppendString(dst, s)
	}
	if (bytes.HasPrefix(s, []byte("{")) || bytes.HasPrefix(s, []byte("["))) && json.Valid(s) {
		return append(dst, s...)
	}
	if !utf8.Valid(s) {
		return frame.AppendString(dst, []byte(base64.StdEncoding.EncodeToString(s)))
	}
	return frame.AppendString(dst, s)
}

// string_split: split on separator into a JSON array of strings.
func newStringSplit(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct {
		ID
		Object    ObjectSettings `json:"object"`
		Separator string         `json:"separator"`
	}
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	if s.Separator == "" {
		return nil, fmt.Errorf("settings: separator is required")
	}
	sep := []byte(s.Separator)
	nest := s.Object.SourceKey == ""
	return PerValue(s.Object, func(in, dst []byte) ([]byte, error) {
		dst = append(dst, '[')
		for i := 0; ; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			j := bytes.Index(in, sep)
			if j < 0 {
				dst = appendElem(dst, in, nest)
				break
			}
			dst = appendElem(dst, in[:j], nest)
			in = in[j+len(sep):]
		}
		return append(dst, ']'), nil
	})
}

// string_capture: capture with a regular expression. Named groups
// ((?P<name>...)) make an object of the groups; otherwise count = 0
// captures the last group of the first match ("" when nothing matches)
// and count > 0 makes an array of the last group of the first count
// matches.
func newStringCapture(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct {
		ID
		Object  ObjectSettings `json:"object"`
		Pattern string         `json:"pattern"`
		Count   int            `json:"count"`
	}
	if err := decodeTogether(c, raw, &s, &s.Object); err != nil {
		return nil, err
	}
	if s.Pattern == "" {
		return nil, fmt.Errorf("settings: pattern is required")
	}
	fre, err := compileRegexp(s.Pattern)
	if err != nil {
		return nil, fmt.Errorf("settings: pattern: %w", err)
	}
	re := fre.re
	src, tgt, count := s.Object.SourceKey, s.Object.TargetKey, s.Count
	names := re.SubexpNames()
	named := strings.Contains(s.Pattern, "(?P<")
	return PerMessage(func(_ context.Context, m *Message) (bool, error) {
		var in []byte
		b := m.b
		if src == "" {
			in = m.Data()
		} else {
			v := m.GetValue(src)
			if !v.Exists() {
				return false, nil
			}
			start := len(b.scratch)
			b.scratch = v.AppendText(b.scratch)
			in = b.scratch[start:len(b.scratch):len(b.scratch)]
		}
		switch {
		case named:
			var buf [16]int
			loc := fre.findSubmatchIndex(in, buf[:])
			if src == "" {
				m.SetData(nil)
			}
			for i := 1; 2*i < len(loc); i++ {
				var match []byte
				if loc[2*i] >= 0 {
					match = in[loc[2*i]:loc[2*i+1]]
				}
				key := names[i]
				if tgt != "" {
					key = tgt + "." + names[i]
				}
				if err := m.SetBytes(key, match); err != nil {
					return false, err
				}
			}
			return false, nil
		case count == 0:
			var buf [16]int
			loc := fre.findSubmatchIndex(in, buf[:])
			var match []byte
			if n := len(loc); n > 2 && loc[n-2] >= 0 {
				match = in[loc[n-2]:loc[n-1]]
			}
			if src == "" {
				m.SetData(match)
				return false, nil
			}
			return false, m.SetBytes(tgt, match)
		}
		all := re.FindAllSubmatchIndex(in, count)
		if len(all) == 0 {
			if src == "" {
				m.SetData(nil)
				return false, nil
			}
			return false, m.SetNull(tgt)
		}
		start := len(b.scratch)
		b.scratch = append(b.scratch, '[')
		for i, loc := range all {
			if i > 0 {
				b.scratch = append(b.scratch, ',')
			}
			var match []byte
			if n := len(loc); n > 2 && loc[n-2] >= 0 {
				match = in[loc[n-2]:loc[n-1]]
			}
			b.scratch = appendElem(b.scratch, match, src == "")
		}
		b.scratch = append(b.scratch, ']')
		out := b.scratch[start:len(b.scratch):len(b.scratch)]
		if src == "" {
			m.SetData(out)
			return false, nil
		}
		return false, m.SetRaw(tgt, out)
	}), nil
}

// string_uuid: a random (version 4) UUID, at object.target_key or as the
// data.
func newStringUUID(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s objectSettings
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	tgt := s.Object.TargetKey
	return PerMessage(func(_ context.Context, m *Message) (bool, error) {
		var u [16]byte
		if _, err := rand.Read(u[:]); err != nil {
			return false, fmt.Errorf("uuid: %w", err)
		}
		u[6] = u[6]&0x0f | 0x40 // version 4
		u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
		b := m.b
		start := len(b.scratch)
		b.scratch = hex.AppendEncode(b.scratch, u[0:4])
		b.scratch = append(b.scratch, '-')
		b.scratch = hex.AppendEncode(b.scratch, u[4:6])
		b.scratch = append(b.scratch, '-')
		b.scratch = hex.AppendEncode(b.scratch, u[6:8])
		b.scratch = append(b.scratch, '-')
		b.scratch = hex.AppendEncode(b.scratch, u[8:10])
		b.scratch = append(b.scratch, '-')
		b.scratch = hex.AppendEncode(b.scratch, u[10:])
		id := b.scratch[start:len(b.scratch):len(b.scratch)]
		if tgt == "" {
			m.SetData(id)
			return false, nil
		}
		return false, m.SetBytes(tgt, id)
	}), nil
}
