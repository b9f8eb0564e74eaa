package builtin

import (
	"context"
	"encoding/json"
	"math/rand/v2"
)

// Utility conditions: utility_random is true for about half of the
// messages, at random (Substation's sampling condition).

func init() {
	RegisterCondition("utility_random", newUtilityRandom)
}

func newUtilityRandom(c *Compiler, raw json.RawMessage) (Condition, error) {
	var s struct{ ID }
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	return ConditionFunc(func(_ context.Context, m *Message) (bool, error) {
		return rand.IntN(2) == 1, nil
	}), nil
}
