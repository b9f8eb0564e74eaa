package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/goccy/go-yaml"
)

// RawTransform is one transform object of a built-in stage, kept as JSON
// (written in YAML or JSON in the configuration). Package engine/builtin
// compiles it; the engine only carries it.
type RawTransform json.RawMessage

// UnmarshalYAML keeps the node as JSON.
func (r *RawTransform) UnmarshalYAML(b []byte) error {
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return err
	}
	j = bytes.TrimSpace(j)
	if len(j) == 0 || j[0] != '{' {
		return errors.New("a transform must be an object with \"type\" and \"settings\"")
	}
	*r = RawTransform(j)
	return nil
}

// UnmarshalJSON keeps the JSON as it is.
func (r *RawTransform) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("a transform must be an object with \"type\" and \"settings\" (got %.40s)", b)
	}
	*r = append((*r)[:0], b...)
	return nil
}

// MarshalJSON returns the transform object.
func (r RawTransform) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

// RawTransforms returns the stage's transforms as JSON messages.
func (sc StageConfig) RawTransforms() []json.RawMessage {
	out := make([]json.RawMessage, len(sc.Transforms))
	for i, t := range sc.Transforms {
		out[i] = json.RawMessage(t)
	}
	return out
}

// IsBuiltin reports whether the stage runs built-in transforms rather
// than a module.
func (sc StageConfig) IsBuiltin() bool { return len(sc.Transforms) > 0 }
