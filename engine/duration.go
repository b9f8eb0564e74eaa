package engine

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// String formats the duration like time.Duration ("5s", "250ms").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText encodes the duration as a string such as "5s"; YAML and JSON
// encoders use it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a duration string such as "5s", "1m30s" or "250ms"
// (time.ParseDuration syntax). A bare number is refused: it has no unit.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := parseDuration(string(text))
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	*d = v
	return nil
}

// UnmarshalJSON accepts a JSON string such as "5s" (or null, which leaves
// the duration unchanged).
func (d *Duration) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("config: duration must be a string such as \"5s\" (got %s)", data)
	}
	v, err := parseDuration(s)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	*d = v
	return nil
}

// UnmarshalYAML decodes a YAML scalar such as 5s or "250ms". It takes the
// YAML node (goccy/go-yaml's NodeUnmarshaler) so that a bad value is
// reported with its line and column.
func (d *Duration) UnmarshalYAML(node ast.Node) error {
	tok := node.GetToken()
	switch node.Type() {
	case ast.NullType:
		return nil
	case ast.StringType, ast.IntegerType, ast.FloatType, ast.LiteralType:
	default:
		return &positionError{tok: tok, msg: fmt.Sprintf("duration must be a string such as \"5s\" (got a %s)", node.Type().YAMLName())}
	}
	s := tok.Value
	if sn, ok := node.(*ast.StringNode); ok {
		s = sn.Value
	}
	v, err := parseDuration(s)
	if err != nil {
		return &positionError{tok: tok, msg: err.Error()}
	}
	*d = v
	return nil
}

func parseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want a number with a unit such as \"5s\" or \"250ms\"", s)
	}
	return Duration(v), nil
}
