package builtin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Transform is one compiled step. It receives the messages in flight (in
// order, never failed ones) and appends what it makes of them to out,
// which it returns. Most transforms are per message: write a MessageFunc
// and wrap it with PerMessage. Transforms that fan in or out
// (aggregate_*, meta_for_each) implement Transform directly, creating
// messages with Message.NewMessage so that outputs stay attributed to
// their input record.
//
// A record-level failure is reported with Message.Fail (the message is
// still appended to out); a returned error fails the whole batch.
// A compiled Transform is shared by concurrent batches: keep no per-call
// state in it.
type Transform interface {
	Transform(ctx context.Context, in, out []*Message) ([]*Message, error)
}

// MessageFunc transforms one message in place. Return drop=true to drop
// the message (utility_drop), an error to fail its record. It is never
// called with the control message.
type MessageFunc func(ctx context.Context, m *Message) (drop bool, err error)

// PerMessage turns a MessageFunc into a Transform. Control messages pass
// through untouched.
func PerMessage(f MessageFunc) Transform { return perMessage(f) }

type perMessage MessageFunc

func (f perMessage) Transform(ctx context.Context, in, out []*Message) ([]*Message, error) {
	for _, m := range in {
		if m.ctrl {
			out = append(out, m)
			continue
		}
		drop, err := f(ctx, m)
		if err != nil {
			m.Fail(err)
			out = append(out, m)
			continue
		}
		if !drop {
			out = append(out, m)
		}
	}
	return out, nil
}

// Condition is one compiled condition (Substation's inspector or
// operator). It must be safe for concurrent use.
type Condition interface {
	Condition(ctx context.Context, m *Message) (bool, error)
}

// ConditionFunc adapts a function to Condition. The function is never
// called with the control message: the condition is false for it.
type ConditionFunc func(ctx context.Context, m *Message) (bool, error)

// Condition calls f, or returns false for the control message.
func (f ConditionFunc) Condition(ctx context.Context, m *Message) (bool, error) {
	if m.ctrl {
		return false, nil
	}
	return f(ctx, m)
}

// TransformFactory compiles one transform from its raw "settings" JSON
// (nil when absent). Decode settings with c.Decode; compile nested
// transforms and conditions with c.Transforms and c.Condition.
type TransformFactory func(c *Compiler, settings json.RawMessage) (Transform, error)

// ConditionFactory compiles one condition from its raw "settings" JSON.
type ConditionFactory func(c *Compiler, settings json.RawMessage) (Condition, error)

var (
	transformFactories = map[string]TransformFactory{}
	conditionFactories = map[string]ConditionFactory{}
)

// RegisterTransform registers the factory of a Substation transform type.
// Call it from an init function of the family's file (object.go,
// string.go...). It panics on a duplicate or on a name the catalog does
// not list as a Substation v2.8.0 transform or refuses.
func RegisterTransform(name string, f TransformFactory) {
	register("transform", transformFactories, transformCatalog, name, f)
}

// RegisterCondition registers the factory of a Substation condition type
// (same rules as RegisterTransform).
func RegisterCondition(name string, f ConditionFactory) {
	register("condition", conditionFactories, conditionCatalog, name, f)
}

// register adds f to factories under name, panicking on a duplicate or
// on a name the catalog does not list or refuses.
func register[F any](kind string, factories map[string]F, catalog map[string]CatalogEntry, name string, f F) {
	if _, dup := factories[name]; dup {
		panic("builtin: " + kind + " registered twice: " + name)
	}
	e, ok := catalog[name]
	if !ok {
		panic("builtin: " + kind + " not in the Substation catalog: " + name)
	}
	if e.Refused != "" {
		panic("builtin: " + kind + " is refused in the catalog: " + name)
	}
	factories[name] = f
}

// Config is one transform or condition object as Substation writes it.
type Config struct {
	Type     string          `json:"type"`
	Settings json.RawMessage `json:"settings,omitempty"`
}

// Compiler compiles transform and condition lists. It carries the path of
// the object being compiled (e.g. "transforms[2] (meta_switch): cases[0]:
// transforms[1] (object_copy)") so that every error names it.
type Compiler struct {
	path string
	warn *[]string // shared by sub-compilers
}

func (c *Compiler) errorf(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if c.path == "" {
		return errors.New(msg)
	}
	return errors.New(c.path + ": " + msg)
}

func (c *Compiler) wrap(err error) error {
	if c.path == "" {
		return err
	}
	return fmt.Errorf("%s: %w", c.path, err)
}

// wrapFactory is wrap for a factory's error, which may already carry the
// path (a factory's own c.errorf or c.wrap).
func (c *Compiler) wrapFactory(err error) error {
	if strings.HasPrefix(err.Error(), c.path) {
		return err
	}
	return c.wrap(err)
}

// Sub returns a compiler whose errors are prefixed with elem too (e.g.
// "cases[1]"), for factories that compile nested lists.
func (c *Compiler) Sub(elem string) *Compiler {
	if c.warn == nil {
		c.warn = new([]string)
	}
	if c.path == "" {
		return &Compiler{path: elem, warn: c.warn}
	}
	return &Compiler{path: c.path + ": " + elem, warn: c.warn}
}

// Decode decodes settings into dst. A value of the wrong type is an
// error naming the setting. An unknown setting is accepted, as Substation
// accepts it, with a warning naming it (Compiler.Warnings, logged by the
// stage builders and printed by "weir validate"). Absent settings leave
// dst unchanged.
func (c *Compiler) Decode(settings json.RawMessage, dst any) error {
	if len(bytes.TrimSpace(settings)) == 0 || string(bytes.TrimSpace(settings)) == "null" {
		return nil
	}
	if err := json.Unmarshal(settings, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return c.errorf("settings: %q must be a %s, not a JSON %s", te.Field, te.Type, te.Value)
		}
		return c.errorf("settings: %v", err)
	}
	for _, k := range unknownSettings(settings, reflect.TypeOf(dst), "") {
		c.warnf("settings: unknown setting %q ignored (Substation ignores it too)", k)
	}
	return nil
}

// warnf records a warning prefixed with the compiler's path.
func (c *Compiler) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if c.path != "" {
		msg = c.path + ": " + msg
	}
	if c.warn == nil {
		c.warn = new([]string)
	}
	*c.warn = append(*c.warn, msg)
}

// Warnings returns the warnings of everything compiled so far (unknown
// settings), in order.
func (c *Compiler) Warnings() []string {
	if c.warn == nil {
		return nil
	}
	return *c.warn
}

// ParseConfig decodes one transform or condition object strictly.
func ParseConfig(raw json.RawMessage) (Config, error) {
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			return cfg, fmt.Errorf("unknown key %s (a transform has \"type\" and \"settings\")", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return cfg, err
	}
	if cfg.Type == "" {
		return cfg, errors.New(`missing "type"`)
	}
	return cfg, nil
}

// Transforms compiles a list of transform objects; field names the list
// in errors ("transforms").
func (c *Compiler) Transforms(field string, raws []json.RawMessage) (*Steps, error) {
	s := &Steps{}
	for i, raw := range raws {
		cfg, err := ParseConfig(raw)
		if err != nil {
			return nil, c.errorf("%s[%d]: %v", field, i, err)
		}
		sc := c.Sub(fmt.Sprintf("%s[%d] (%s)", field, i, cfg.Type))
		t, err := sc.transform(cfg)
		if err != nil {
			return nil, err
		}
		s.steps = append(s.steps, step{label: fmt.Sprintf("step %d (%s)", i, cfg.Type), t: t})
	}
	return s, nil
}

func (c *Compiler) transform(cfg Config) (Transform, error) {
	f, ok := transformFactories[cfg.Type]
	if !ok {
		return nil, c.errorf("%s", unavailable("transform", cfg.Type, transformCatalog))
	}
	t, err := f(c, cfg.Settings)
	if err != nil {
		return nil, c.wrapFactory(err)
	}
	return t, nil
}

// Condition compiles one condition object.
func (c *Compiler) Condition(field string, raw json.RawMessage) (Condition, error) {
	cfg, err := ParseConfig(raw)
	if err != nil {
		return nil, c.errorf("%s: %v", field, err)
	}
	sc := c.Sub(fmt.Sprintf("%s (%s)", field, cfg.Type))
	f, ok := conditionFactories[cfg.Type]
	if !ok {
		return nil, sc.errorf("%s", unavailable("condition", cfg.Type, conditionCatalog))
	}
	cond, err := f(sc, cfg.Settings)
	if err != nil {
		return nil, sc.wrapFactory(err)
	}
	return cond, nil
}

// Conditions compiles a list of condition objects.
func (c *Compiler) Conditions(field string, raws []json.RawMessage) ([]Condition, error) {
	out := make([]Condition, 0, len(raws))
	for i, raw := range raws {
		cond, err := c.Condition(fmt.Sprintf("%s[%d]", field, i), raw)
		if err != nil {
			return nil, err
		}
		out = append(out, cond)
	}
	return out, nil
}

func unavailable(kind, name string, catalog map[string]CatalogEntry) string {
	e, ok := catalog[name]
	switch {
	case !ok:
		return fmt.Sprintf("unknown %s type %q (not a Substation v2.8.0 %s)", kind, name, kind)
	case e.Refused != "":
		return fmt.Sprintf("%s %q is not supported by weir: %s", kind, name, e.Refused)
	default:
		return fmt.Sprintf("%s %q is not implemented yet in weir", kind, name)
	}
}

// Status is the state of a Substation type in weir.
type Status string

// The three states of a catalog entry.
const (
	Implemented Status = "implemented"
	ToDo        Status = "not implemented yet"
	Refused     Status = "refused"
)

// CatalogEntry describes one Substation v2.8.0 transform or condition.
type CatalogEntry struct {
	Name string
	// Refused, when set, says why weir refuses the type and what to use
	// instead.
	Refused string
}

// TransformStatus returns the state of a Substation transform type and,
// when refused, the reason; ok is false for a name Substation does not
// have.
func TransformStatus(name string) (s Status, reason string, ok bool) {
	return status(name, transformCatalog, transformFactories != nil && transformFactories[name] != nil)
}

// ConditionStatus is TransformStatus for conditions.
func ConditionStatus(name string) (s Status, reason string, ok bool) {
	return status(name, conditionCatalog, conditionFactories[name] != nil)
}

func status(name string, catalog map[string]CatalogEntry, registered bool) (Status, string, bool) {
	e, ok := catalog[name]
	switch {
	case !ok:
		return "", "", false
	case e.Refused != "":
		return Refused, e.Refused, true
	case registered:
		return Implemented, "", true
	}
	return ToDo, "", true
}

// TransformTypes lists every Substation v2.8.0 transform type, sorted.
func TransformTypes() []string { return sortedKeys(transformCatalog) }

// ConditionTypes lists every Substation v2.8.0 condition type, sorted.
func ConditionTypes() []string { return sortedKeys(conditionCatalog) }

func sortedKeys(m map[string]CatalogEntry) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
