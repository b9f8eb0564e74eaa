package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
)

// Meta transforms: meta_switch, meta_for_each, meta_err.

func init() {
	RegisterTransform("meta_switch", newMetaSwitch)
	RegisterTransform("meta_for_each", newMetaForEach)
	RegisterTransform("meta_err", newMetaErr)
}

type switchCase struct {
	cond  Condition // nil: always
	steps *Steps
}

type metaSwitch struct{ cases []switchCase }

// meta_switch runs the transforms of the first case whose condition
// holds (a case without condition always holds); a message no case takes
// passes unchanged. The control message runs through every case.
func newMetaSwitch(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct {
		ID
		Cases []struct {
			Condition  json.RawMessage   `json:"condition"`
			Transforms []json.RawMessage `json:"transforms"`
		} `json:"cases"`
	}
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	t := &metaSwitch{}
	for i, cs := range s.Cases {
		cc := c.Sub(fmt.Sprintf("cases[%d]", i))
		var sc switchCase
		if len(cs.Condition) > 0 && string(cs.Condition) != "null" {
			cond, err := cc.Condition("condition", cs.Condition)
			if err != nil {
				return nil, err
			}
			sc.cond = cond
		}
		steps, err := cc.Transforms("transforms", cs.Transforms)
		if err != nil {
			return nil, err
		}
		sc.steps = steps
		t.cases = append(t.cases, sc)
	}
	return t, nil
}

func (t *metaSwitch) Transform(ctx context.Context, in, out []*Message) ([]*Message, error) {
	for k, m := range in {
		one := in[k : k+1 : k+1] // Run reads it, never appends to it
		if m.ctrl {
			for i, cs := range t.cases {
				var err error
				if out, err = cs.steps.Run(ctx, one, out); err != nil {
					return out, fmt.Errorf("cases[%d]: %w", i, err)
				}
			}
			continue
		}
		taken := false
		for i, cs := range t.cases {
			if cs.cond != nil {
				ok, err := cs.cond.Condition(ctx, m)
				if err != nil {
					m.Fail(fmt.Errorf("cases[%d]: condition: %w", i, err))
					out = append(out, m)
					taken = true
					break
				}
				if !ok {
					continue
				}
			}
			var err error
			start := len(out)
			if out, err = cs.steps.Run(ctx, one, out); err != nil {
				return out, fmt.Errorf("cases[%d]: %w", i, err)
			}
			for _, o := range out[start:] {
				if o.err != nil {
					o.err = fmt.Errorf("cases[%d]: %w", i, o.err)
				}
			}
			taken = true
			break
		}
		if !taken {
			out = append(out, m)
		}
	}
	return out, nil
}

// meta_for_each runs its transforms over every element of the array at
// source_key and sets the array of results at target_key. As in
// Substation, each result is set as a string unless it is a JSON object
// or array, and objects are written with their keys sorted.
func newMetaForEach(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct {
		ID
		Object     ObjectSettings    `json:"object"`
		Transforms []json.RawMessage `json:"transforms"`
	}
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	if err := requireKeys(s.Object, true, true); err != nil {
		return nil, err
	}
	steps, err := c.Transforms("transforms", s.Transforms)
	if err != nil {
		return nil, err
	}
	src, dst := s.Object.SourceKey, s.Object.TargetKey
	return PerMessage(func(ctx context.Context, m *Message) (bool, error) {
		v := m.GetValue(src)
		if !v.Exists() {
			return false, nil
		}
		elems := m.b.getBuf()
		defer m.b.putBuf(elems)
		for _, e := range v.Array() {
			elems = append(elems, m.NewMessage(e.AppendText(nil)))
		}
		res := m.b.getBuf()
		defer m.b.putBuf(res)
		res, err := steps.Run(ctx, elems, res)
		if err != nil {
			return false, err
		}
		vals := make([]any, 0, len(res))
		for _, r := range res {
			if r.err != nil {
				return false, r.err
			}
			d := r.Data()
			if (len(d) > 0 && (d[0] == '{' || d[0] == '[')) && json.Valid(d) {
				var x any
				if err := json.Unmarshal(d, &x); err != nil {
					return false, err
				}
				vals = append(vals, x)
			} else {
				vals = append(vals, string(d))
			}
		}
		arr, err := json.Marshal(vals)
		if err != nil {
			return false, err
		}
		return false, m.SetRaw(dst, arr)
	}), nil
}

// meta_err runs its transforms and swallows their errors: all of them
// when error_messages is empty, else those whose message matches one of
// the regular expressions. A swallowed error leaves the message as the
// transforms left it.
func newMetaErr(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct {
		ID
		Transforms    []json.RawMessage `json:"transforms"`
		ErrorMessages []string          `json:"error_messages"`
	}
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	steps, err := c.Transforms("transforms", s.Transforms)
	if err != nil {
		return nil, err
	}
	var res []*regexp.Regexp
	for i, p := range s.ErrorMessages {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, c.errorf("settings: error_messages[%d]: %v", i, err)
		}
		res = append(res, re)
	}
	return &metaErr{steps: steps, res: res}, nil
}

type metaErr struct {
	steps *Steps
	res   []*regexp.Regexp
}

func (t *metaErr) Transform(ctx context.Context, in, out []*Message) ([]*Message, error) {
	start := len(out)
	out, err := t.steps.Run(ctx, in, out)
	if err != nil {
		return out, err
	}
	for _, m := range out[start:] {
		if m.err == nil || !t.catches(m.err) {
			continue
		}
		m.err = nil
	}
	return out, nil
}

func (t *metaErr) catches(err error) bool {
	if len(t.res) == 0 {
		return true
	}
	msg := Cause(err).Error()
	for _, re := range t.res {
		if re.MatchString(msg) {
			return true
		}
	}
	return false
}
