package builtin

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/valyala/fastjson"
)

// ObjectSettings is Substation's "object" setting: the key paths a
// transform reads (source_key), writes (target_key) and groups by
// (batch_key, used by aggregate_*).
type ObjectSettings struct {
	SourceKey string `json:"source_key,omitempty"`
	TargetKey string `json:"target_key,omitempty"`
	BatchKey  string `json:"batch_key,omitempty"`
}

// ID is the optional "id" setting every Substation transform accepts.
// Embed it in a settings struct so that strict decoding allows it.
type ID struct {
	ID string `json:"id,omitempty"`
}

// Constant is a JSON value from a configuration (object_insert's value),
// parsed once and shared by every batch: pass Value() to
// Message.SetValue, which copies it.
type Constant struct {
	v *fastjson.Value
}

// ParseConstant parses raw (one JSON value) into a Constant. A JSON
// string holding a JSON object or array stays a string here; SetValue
// turns it into the object, as Substation does.
func ParseConstant(raw json.RawMessage) (Constant, error) {
	var p fastjson.Parser
	v, err := p.ParseBytes(append([]byte(nil), raw...))
	if err != nil {
		return Constant{}, err
	}
	freeze(v)
	return Constant{v: v}, nil
}

// freeze unescapes every object key now, so that later concurrent reads
// do not write (fastjson unescapes keys lazily).
func freeze(v *fastjson.Value) {
	if o := object(v); o != nil {
		o.Visit(func(_ []byte, c *fastjson.Value) { freeze(c) })
	} else if a := v.GetArray(); a != nil {
		for _, c := range a {
			freeze(c)
		}
	}
}

// Value returns the constant as a Value.
func (c Constant) Value() Value { return Value(c) }

// Cause returns the innermost error of a chain of StepErrors: the error
// the failing transform reported.
func Cause(err error) error {
	for {
		var se *StepError
		if !errors.As(err, &se) {
			return err
		}
		err = se.Err
	}
}

// requireKeys returns an error naming the first empty key setting.
func requireKeys(o ObjectSettings, source, target bool) error {
	if source && o.SourceKey == "" {
		return fmt.Errorf("settings: object.source_key is required")
	}
	if target && o.TargetKey == "" {
		return fmt.Errorf("settings: object.target_key is required")
	}
	return nil
}
