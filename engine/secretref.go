package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Secret and environment references in a configuration.
//
// Output settings (every string of an output but its type), a stage's
// module config values and its capability settings may hold references,
// replaced by Config.Resolved after the configuration is parsed and
// validated:
//
//	${env:NAME}               the environment variable NAME (unset is an error)
//	${secret:ID}              the AWS Secrets Manager secret ID (name or ARN), its SecretString
//	${secret:ID:KEY}          the field KEY of a secret whose SecretString is a JSON object
//	$${                       a literal "${"
//
// A secret name cannot hold ':'; in an ARN
// (arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME) the key is what
// follows a seventh ':'. The configuration itself keeps the references: its
// printable form (weir validate, errors) never holds a resolved value.

// Kinds of Ref.
const (
	RefEnv    = "env"
	RefSecret = "secret"
)

// Ref is one ${kind:id[:key]} reference.
type Ref struct {
	// Kind is RefEnv or RefSecret.
	Kind string
	// ID is the variable name or the secret's name or ARN.
	ID string
	// Key, for a secret, names a field of its JSON object value.
	Key string
}

// String is the reference as written in the configuration.
func (r Ref) String() string {
	if r.Key != "" {
		return "${" + r.Kind + ":" + r.ID + ":" + r.Key + "}"
	}
	return "${" + r.Kind + ":" + r.ID + "}"
}

// Resolver returns the value of a reference. Its errors must not hold the
// value (nor part of it).
type Resolver interface {
	Resolve(ctx context.Context, ref Ref) (string, error)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(ctx context.Context, ref Ref) (string, error)

// Resolve calls f.
func (f ResolverFunc) Resolve(ctx context.Context, ref Ref) (string, error) { return f(ctx, ref) }

// Expand replaces the ${env:...} and ${secret:...} references in s with
// their values from r, with the syntax of a configuration's strings ("$${"
// is a literal "${"). It serves settings that come from elsewhere than a
// configuration, such as an environment variable that may name a secret.
func Expand(ctx context.Context, s string, r Resolver) (string, error) {
	return expandString(s, func(ref Ref) (string, error) { return r.Resolve(ctx, ref) }, nil)
}

// parseRef parses the inside of "${...}" (without the braces). ok is false
// when body is not an env or secret reference (the text is then left as
// written).
func parseRef(body string) (ref Ref, ok bool, err error) {
	kind, rest, found := strings.Cut(body, ":")
	if !found || (kind != RefEnv && kind != RefSecret) {
		return Ref{}, false, nil
	}
	ref.Kind = kind
	switch kind {
	case RefEnv:
		if rest == "" || strings.ContainsAny(rest, ":= ") {
			return Ref{}, true, fmt.Errorf("%q: an environment variable name without ':', '=' or spaces is expected", "${"+body+"}")
		}
		ref.ID = rest
	case RefSecret:
		id, key := rest, ""
		if strings.HasPrefix(rest, "arn:") {
			parts := strings.SplitN(rest, ":", 8)
			if len(parts) < 7 {
				return Ref{}, true, fmt.Errorf("%q: a secret ARN is arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME", "${"+body+"}")
			}
			if len(parts) == 8 {
				id, key = strings.Join(parts[:7], ":"), parts[7]
			}
		} else if i := strings.IndexByte(rest, ':'); i >= 0 {
			id, key = rest[:i], rest[i+1:]
		}
		if id == "" || strings.HasSuffix(id, ":") || (strings.Contains(rest, ":") && key == "" && !strings.HasPrefix(rest, "arn:")) {
			return Ref{}, true, fmt.Errorf("%q: a secret name or ARN, optionally followed by \":KEY\", is expected", "${"+body+"}")
		}
		if strings.Contains(key, ":") {
			return Ref{}, true, fmt.Errorf("%q: a JSON key cannot hold ':'", "${"+body+"}")
		}
		ref.ID, ref.Key = id, key
	}
	return ref, true, nil
}

// expandString replaces the references in s with what lookup returns for
// them. With a nil lookup it only checks the syntax and collects the
// references into refs (when non-nil).
func expandString(s string, lookup func(Ref) (string, error), refs *[]Ref) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' { // "$${" is a literal "${"
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			if _, isRef, _ := parseRef(s[i+2:]); isRef {
				return "", fmt.Errorf("%q: unterminated reference (no closing '}')", s[i:])
			}
			b.WriteString(s[i:])
			return b.String(), nil
		}
		body := s[i+2 : i+end]
		ref, isRef, err := parseRef(body)
		if err != nil {
			return "", err
		}
		if !isRef {
			b.WriteString(s[i : i+end+1])
			s = s[i+end+1:]
			continue
		}
		if refs != nil {
			*refs = append(*refs, ref)
		}
		if lookup != nil {
			v, err := lookup(ref)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
		}
		s = s[i+end+1:]
	}
}

// walkRefs visits every string of the parts of c that may hold references
// (outputs but their type, module config values, capabilities), calling f
// with the string's path. With clone, it first deep-copies those parts so
// that f's replacements do not touch the original.
func (c *Config) walkRefs(clone bool, f func(path, s string) (string, error)) error {
	var errs []error
	visit := func(path string, v reflect.Value) {
		if err := walkValue(path, v, clone, f); err != nil {
			errs = append(errs, err)
		}
	}
	if len(c.Outputs) > 0 {
		outs := c.Outputs
		if clone {
			outs = make(map[string]OutputConfig, len(c.Outputs))
		}
		for _, name := range sortedKeys(c.Outputs) {
			oc := c.Outputs[name]
			typ := oc.Type
			v := reflect.ValueOf(&oc).Elem()
			visit("outputs."+name, v)
			oc.Type = typ
			outs[name] = oc
		}
		c.Outputs = outs
	}
	if clone {
		c.Stages = append([]StageConfig(nil), c.Stages...)
	}
	for i := range c.Stages {
		sc := &c.Stages[i]
		visit(fmt.Sprintf("stages[%d].config", i), reflect.ValueOf(&sc.Config).Elem())
		visit(fmt.Sprintf("stages[%d].capabilities", i), reflect.ValueOf(&sc.Capabilities).Elem())
	}
	return errors.Join(errs...)
}

// walkValue visits the strings under v (settable), cloning pointers, maps
// and slices first when clone is set.
func walkValue(path string, v reflect.Value, clone bool, f func(path, s string) (string, error)) error {
	switch v.Kind() {
	case reflect.String:
		s, err := f(path, v.String())
		if err != nil {
			return err
		}
		if s != v.String() {
			v.SetString(s)
		}
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		if clone {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(v.Elem())
			v.Set(p)
		}
		return walkValue(path, v.Elem(), clone, f)
	case reflect.Struct:
		var errs []error
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if !sf.IsExported() || sf.Tag.Get("yaml") == "-" {
				continue
			}
			name := strings.Split(sf.Tag.Get("yaml"), ",")[0]
			if name == "" {
				name = sf.Name
			}
			errs = append(errs, walkValue(path+"."+name, v.Field(i), clone, f))
		}
		return errors.Join(errs...)
	case reflect.Slice:
		if v.IsNil() || v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		if clone {
			n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			reflect.Copy(n, v)
			v.Set(n)
		}
		var errs []error
		for i := 0; i < v.Len(); i++ {
			errs = append(errs, walkValue(fmt.Sprintf("%s[%d]", path, i), v.Index(i), clone, f))
		}
		return errors.Join(errs...)
	case reflect.Map:
		if v.IsNil() || v.Type().Key().Kind() != reflect.String {
			return nil
		}
		m := v
		if clone {
			m = reflect.MakeMapWithSize(v.Type(), v.Len())
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		var errs []error
		for _, k := range keys {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			errs = append(errs, walkValue(path+"."+k.String(), e, clone, f))
			m.SetMapIndex(k, e)
		}
		v.Set(m)
		return errors.Join(errs...)
	}
	return nil
}

// Refs lists the distinct references c holds, in the order they first
// appear (outputs by name, then stages).
func (c *Config) Refs() []Ref {
	var refs []Ref
	cp := *c
	_ = cp.walkRefs(true, func(_, s string) (string, error) {
		_, err := expandString(s, nil, &refs)
		return s, err
	})
	seen := map[Ref]bool{}
	out := refs[:0]
	for _, r := range refs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// checkRefs reports malformed references (Validate).
func (c *Config) checkRefs() []string {
	var problems []string
	cp := *c
	_ = cp.walkRefs(true, func(path, s string) (string, error) {
		if _, err := expandString(s, nil, nil); err != nil {
			problems = append(problems, path+": "+err.Error())
		}
		return s, nil
	})
	return problems
}

// Resolved returns a copy of c with every reference replaced by its value
// from r; c keeps its references. An error names the setting and the
// reference, never a value. The copy's Redact replaces the values back by
// their references.
func (c *Config) Resolved(ctx context.Context, r Resolver) (*Config, error) {
	cp := *c
	var secrets []redaction
	err := cp.walkRefs(true, func(path string, s string) (string, error) {
		out, err := expandString(s, func(ref Ref) (string, error) {
			v, err := r.Resolve(ctx, ref)
			if err != nil {
				return "", fmt.Errorf("%s: %s: %w", path, ref, err)
			}
			secrets = append(secrets, redaction{value: v, ref: ref.String()})
			return v, nil
		}, nil)
		return out, err
	})
	if err != nil {
		src := c.source
		if src == "" {
			src = "config"
		}
		return nil, &ConfigError{Source: src, Msg: err.Error()}
	}
	// Longest values first, so a value holding another is replaced whole.
	sort.SliceStable(secrets, func(i, j int) bool { return len(secrets[i].value) > len(secrets[j].value) })
	cp.secrets = append(append([]redaction(nil), c.secrets...), secrets...)
	return &cp, nil
}

// redaction is one resolved value and the reference it came from.
type redaction struct{ value, ref string }

// minRedactLen is the shortest resolved value Redact replaces: shorter
// ones ("1", "us") would mangle unrelated text and reveal little.
const minRedactLen = 4

// Redact replaces in s every value a reference of c resolved to (at least
// 4 bytes long) with the reference itself ("${secret:ID}"). It is applied
// to dead letters' error text and to what the CLI and Lambda write to
// stderr, as a safety net under the rule that values are never logged.
func (c *Config) Redact(s string) string {
	for _, r := range c.secrets {
		if len(r.value) >= minRedactLen && strings.Contains(s, r.value) {
			s = strings.ReplaceAll(s, r.value, r.ref)
		}
	}
	return s
}

// HasSecrets reports whether c was resolved from references (Redact has
// something to replace).
func (c *Config) HasSecrets() bool { return len(c.secrets) > 0 }

// redactedError is an error whose text has resolved values replaced by
// their references; errors.Is and errors.As still see the original.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr hides c's resolved values in err's text.
func (c *Config) redactErr(err error) error {
	if err == nil || len(c.secrets) == 0 {
		return err
	}
	msg := c.Redact(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// RedactError hides the values c's references resolved to in err's text
// (see Redact); errors.Is and errors.As still see the original error.
func (c *Config) RedactError(err error) error { return c.redactErr(err) }

func (p *Pipeline) redactText(s string) string {
	if p.redact == nil {
		return s
	}
	return p.redact(s)
}

func (p *Pipeline) redactErr(err error) error {
	if err == nil || p.redact == nil {
		return err
	}
	msg := p.redact(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}
