package builtin

import (
	"context"
	"encoding/json"
	"errors"
)

// Utility transforms: utility_drop, utility_err. (utility_control,
// utility_delay, utility_metric_*, utility_secret are refused: see the
// catalog.)

func init() {
	RegisterTransform("utility_drop", newUtilityDrop)
	RegisterTransform("utility_err", newUtilityErr)
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
