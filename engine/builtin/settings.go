package builtin

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unique"

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

// UnmarshalJSON decodes the settings as encoding/json would, then
// interns the keys: equal key paths of a plan's transforms and
// conditions then share their bytes, and so one entry of
// Message.resolve's table (which compares keys by pointer), with its
// cached lookup: the conditions of a switch's cases, each reading the
// same key of a record, find it once.
func (o *ObjectSettings) UnmarshalJSON(b []byte) error {
	type plain ObjectSettings
	if err := json.Unmarshal(b, (*plain)(o)); err != nil {
		return err
	}
	o.SourceKey = unique.Make(o.SourceKey).Value()
	o.TargetKey = unique.Make(o.TargetKey).Value()
	o.BatchKey = unique.Make(o.BatchKey).Value()
	return nil
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
func (c Constant) Value() Value { return Value{v: c.v} }

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

// keysTogether checks Substation's rule that source_key and target_key
// are set together or not at all.
func keysTogether(o ObjectSettings) error {
	if (o.SourceKey == "") != (o.TargetKey == "") {
		return fmt.Errorf("settings: object.source_key and object.target_key go together (got source_key %q, target_key %q)", o.SourceKey, o.TargetKey)
	}
	return nil
}

// unknownSettings returns the keys of the JSON object raw that a value of
// type t does not decode (encoding/json's rules: tags, embedded structs,
// case-insensitive names), recursing into nested objects and lists of
// objects; prefix names the nesting ("object.").
func unknownSettings(raw json.RawMessage, t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
	case reflect.Slice, reflect.Array:
		if t.Elem() == reflect.TypeOf(byte(0)) {
			return nil
		}
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil
		}
		var out []string
		for i, it := range items {
			out = append(out, unknownSettings(it, t.Elem(), fmt.Sprintf("%s[%d].", strings.TrimSuffix(prefix, "."), i))...)
		}
		return out
	default:
		return nil
	}
	if t == reflect.TypeOf(Constant{}) {
		return nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil
	}
	fields := map[string]reflect.Type{}
	collectFields(t, fields)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		ft, ok := fields[k]
		if !ok {
			for name, typ := range fields {
				if strings.EqualFold(name, k) {
					ft, ok = typ, true
					break
				}
			}
		}
		if !ok {
			out = append(out, prefix+k)
			continue
		}
		out = append(out, unknownSettings(obj[k], ft, prefix+k+".")...)
	}
	return out
}

// collectFields maps the JSON names of t's fields (embedded structs'
// fields included) to their types.
func collectFields(t reflect.Type, fields map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				collectFields(ft, fields)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := fields[name]; !dup {
			fields[name] = f.Type
		}
	}
}
