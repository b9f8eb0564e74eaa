package builtin

import (
	"context"
	"encoding/json"
	"errors"
)

// Utility transforms: utility_drop, utility_err, and test_message.
// (utility_control, utility_delay, utility_metric_*, utility_secret are
// refused: see the catalog.)

func init() {
	RegisterTransform("utility_drop", newUtilityDrop)
	RegisterTransform("utility_err", newUtilityErr)
	RegisterTransform("test_message", newTestMessage)
}

// test_message adds one message holding "value" (a string's text, any
// other value's JSON) at the end of every batch, as Substation adds it on
// its control message. It is an output of the batch's last record.
func newTestMessage(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct {
		ID
		Value json.RawMessage `json:"value"`
	}
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	if len(s.Value) == 0 {
		s.Value = json.RawMessage("null")
	}
	v, err := ParseConstant(s.Value)
	if err != nil {
		return nil, c.errorf("settings: value: %v", err)
	}
	data := v.Value().AppendText(nil)
	return testMessage(data), nil
}

type testMessage []byte

func (t testMessage) Transform(_ context.Context, in, out []*Message) ([]*Message, error) {
	for _, m := range in {
		if m.ctrl {
			out = append(out, m.NewMessage([]byte(t)))
		}
		out = append(out, m)
	}
	return out, nil
}

func newUtilityDrop(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct{ ID }
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	return PerMessage(func(context.Context, *Message) (bool, error) { return true, nil }), nil
}

func newUtilityErr(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct {
		ID
		Message string `json:"message"`
	}
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	err := errors.New(s.Message)
	return PerMessage(func(context.Context, *Message) (bool, error) { return false, err }), nil
}
