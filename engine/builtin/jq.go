package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/itchyny/gojq"
)

// object_jq runs a jq program ("filter") over the data with
// github.com/itchyny/gojq, as Substation does: the data is decoded as
// Go's encoding/json decodes it (numbers are float64), one result
// replaces the data, several results replace it with the array of them,
// no result fails the record. Results are written by encoding/json
// (object keys sorted). The program is compiled once, when the stage is
// built; a syntax error fails the build.

func init() {
	RegisterTransform("object_jq", newObjectJQ)
}

var errJQNoOutput = errors.New("no output generated")

func newObjectJQ(c *Compiler, raw json.RawMessage) (Transform, error) {
	var s struct {
		ID
		Filter string `json:"filter"`
	}
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	if s.Filter == "" {
		return nil, c.errorf("settings: filter is required (a jq program)")
	}
	q, err := gojq.Parse(s.Filter)
	if err != nil {
		return nil, c.errorf("settings: filter: %v", err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, c.errorf("settings: filter: %v", err)
	}
	return PerMessage(func(ctx context.Context, m *Message) (bool, error) {
		var in any
		if err := json.Unmarshal(m.Data(), &in); err != nil {
			return false, fmt.Errorf("data is not JSON: %w", err)
		}
		var res []any
		iter := code.RunWithContext(ctx, in)
		for {
			v, ok := iter.Next()
			if !ok {
				break
			}
			if err, ok := v.(error); ok {
				var halt *gojq.HaltError
				if errors.As(err, &halt) && halt.Value() == nil {
					break
				}
				return false, err
			}
			res = append(res, v)
		}
		var out []byte
		switch len(res) {
		case 0:
			return false, errJQNoOutput
		case 1:
			out, err = json.Marshal(res[0])
		default:
			out, err = json.Marshal(res)
		}
		if err != nil {
			return false, err
		}
		m.SetData(out)
		return false, nil
	}), nil
}
