package builtin

import (
	"context"
	"encoding/json"
)

// Operators: all/any/none (and their meta_ names). With object.source_key
// they apply to every element of the array at that key (a non-array value
// is one element, a missing one fails): all = every element passes every
// condition, any = some element passes some condition, none = no element
// passes any condition.

func init() {
	for _, op := range []string{"all", "any", "none"} {
		RegisterCondition(op, newOperator(op))
		RegisterCondition("meta_"+op, newOperator(op))
	}
}

type operator struct {
	op    string
	conds []Condition
	src   string
}

func newOperator(op string) ConditionFactory {
	return func(c *Compiler, raw json.RawMessage) (Condition, error) {
		var s struct {
			ID
			Object     ObjectSettings    `json:"object"`
			Conditions []json.RawMessage `json:"conditions"`
		}
		if err := c.Decode(raw, &s); err != nil {
			return nil, err
		}
		conds, err := c.Conditions("conditions", s.Conditions)
		if err != nil {
			return nil, err
		}
		return &operator{op: op, conds: conds, src: s.Object.SourceKey}, nil
	}
}

func (o *operator) Condition(ctx context.Context, m *Message) (bool, error) {
	if m.ctrl {
		return false, nil
	}
	if o.src == "" {
		return o.eval(ctx, m)
	}
	// Substation: a missing value never passes; a value that is not an
	// array is one element (for none, Substation evaluates the whole data
	// then, which weir reproduces); an empty array has no elements (all
	// and none pass, any fails).
	v := m.GetValue(o.src)
	if !v.Exists() {
		return false, nil
	}
	if !v.IsArray() {
		if o.op == "none" {
			return o.eval(ctx, m.NewMessage(m.Data()))
		}
		return o.eval(ctx, m.NewMessage(v.AppendText(nil)))
	}
	for i, n := 0, v.Len(); i < n; i++ {
		ok, err := o.eval(ctx, m.NewMessage(v.Index(i).AppendText(nil)))
		if err != nil {
			return false, err
		}
		switch {
		case o.op == "all" && !ok:
			return false, nil
		case o.op == "any" && ok:
			return true, nil
		case o.op == "none" && !ok:
			return false, nil
		}
	}
	return o.op != "any", nil
}

// eval applies the conditions to one message.
func (o *operator) eval(ctx context.Context, m *Message) (bool, error) {
	for _, c := range o.conds {
		ok, err := c.Condition(ctx, m)
		if err != nil {
			return false, err
		}
		switch {
		case o.op == "all" && !ok:
			return false, nil
		case o.op == "any" && ok:
			return true, nil
		case o.op == "none" && ok:
			return false, nil
		}
	}
	return o.op != "any", nil
}
