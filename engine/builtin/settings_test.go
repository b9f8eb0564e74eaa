package builtin

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestUnknownSettings: settings Substation does not know are accepted
// with a warning naming the transform and the key (Substation's own tests
// pass "pattern" to string_contains); a known setting of the wrong type
// stays an error.
func TestUnknownSettings(t *testing.T) {
	for _, tc := range []struct {
		name, cfg string
		warnings  []string
		err       string
	}{
		{name: "none", cfg: `{"type":"object_copy","settings":{"object":{"source_key":"a","target_key":"b"}}}`},
		{name: "top level", cfg: `{"type":"object_copy","settings":{"object":{"source_key":"a","target_key":"b"},"type":"float","zz":1}}`,
			warnings: []string{`transforms[0] (object_copy): settings: unknown setting "type" ignored (Substation ignores it too)`,
				`transforms[0] (object_copy): settings: unknown setting "zz" ignored (Substation ignores it too)`}},
		{name: "nested object", cfg: `{"type":"object_copy","settings":{"object":{"sorce_key":"a"}}}`,
			warnings: []string{`transforms[0] (object_copy): settings: unknown setting "object.sorce_key" ignored (Substation ignores it too)`}},
		{name: "case-insensitive names are known", cfg: `{"type":"object_copy","settings":{"Object":{"Source_Key":"a","target_key":"b"}}}`},
		{name: "inside a list and a condition", cfg: `{"type":"meta_switch","settings":{"cases":[{"condition":{"type":"string_contains","settings":{"pattern":"x","value":"y"}},"transforms":[],"extra":true}]}}`,
			warnings: []string{
				`transforms[0] (meta_switch): cases[0]: condition (string_contains): settings: unknown setting "pattern" ignored (Substation ignores it too)`,
				`transforms[0] (meta_switch): settings: unknown setting "cases[0].extra" ignored (Substation ignores it too)`,
			}},
		{name: "wrong type is an error", cfg: `{"type":"object_copy","settings":{"object":{"source_key":3}}}`,
			err: `transforms[0] (object_copy): settings: "object.source_key" must be a string, not a JSON number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile([]json.RawMessage{json.RawMessage(tc.cfg)})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := p.Warnings()
			// The order depends on which factory decodes first: compare
			// as sets.
			if !sameSet(got, tc.warnings) {
				t.Fatalf("warnings\n%q\nwant\n%q", got, tc.warnings)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return len(a) == len(b)
}
