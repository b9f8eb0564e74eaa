package builtin

import (
	"context"
)

// BytesFunc maps one input to one output for PerValue: it appends its
// result to dst and returns it. in is only valid during the call.
type BytesFunc func(in, dst []byte) ([]byte, error)

// PerValue returns the Transform of Substation's most common shape
// (string_*, hash_*, format_*, network_domain_*, time_*...):
//
//   - with object.source_key and object.target_key, fn maps the text of
//     the value at source_key (Value.AppendText: a string's content, any
//     other value's JSON) and the result is set at target_key as
//     Substation sets bytes (SetBytes: a JSON object or array is nested,
//     valid UTF-8 is a string, anything else base64); a missing source
//     value leaves the message unchanged;
//   - with neither key, fn maps the whole data, which becomes the result;
//   - with only one of them, compiling fails (check returns the error).
//
// Its buffers live in the batch: no allocation per message.
func PerValue(o ObjectSettings, fn BytesFunc) (Transform, error) {
	if err := keysTogether(o); err != nil {
		return nil, err
	}
	src, dst := o.SourceKey, o.TargetKey
	if src == "" {
		return PerMessage(func(_ context.Context, m *Message) (bool, error) {
			b := m.b
			start := len(b.scratch)
			out, err := fn(m.Data(), b.scratch)
			if err != nil {
				return false, err
			}
			b.scratch = out
			m.SetData(out[start:len(out):len(out)])
			return false, nil
		}), nil
	}
	return PerMessage(func(_ context.Context, m *Message) (bool, error) {
		v := m.GetValue(src)
		if !v.Exists() {
			return false, nil
		}
		b := m.b
		start := len(b.scratch)
		b.scratch = v.AppendText(b.scratch)
		in := b.scratch[start:len(b.scratch):len(b.scratch)]
		mid := len(b.scratch)
		out, err := fn(in, b.scratch)
		if err != nil {
			return false, err
		}
		b.scratch = out
		return false, m.SetBytes(dst, out[mid:len(out):len(out)])
	}), nil
}
