package hosttest

import (
	"reflect"
	"strings"
	"testing"
)

// TestExpectedDocument: weir's expected document holds every field of the
// shared reference document with the same value, and nothing else but
// WidenedFields.
func TestExpectedDocument(t *testing.T) {
	doc := ExpectedDocument(t) // checks the reference fields
	for _, path := range WidenedFields {
		parent, key := doc, path
		if i := strings.LastIndexByte(path, '.'); i >= 0 {
			v, _ := JSONGet(doc, path[:i])
			parent, _ = v.(map[string]any)
			key = path[i+1:]
		}
		if _, ok := parent[key]; !ok {
			t.Fatalf("%s has no %s", ExpectedFile, path)
		}
		delete(parent, key)
	}
	if ref := ReferenceDocument(t); !reflect.DeepEqual(doc, ref) {
		t.Fatalf("%s without the widened fields is not the reference document", ExpectedFile)
	}
}

func TestReferenceMismatches(t *testing.T) {
	ref := map[string]any{"a": "1", "b": map[string]any{"c": []any{"x"}, "d": "2"}}
	for _, tc := range []struct {
		name string
		doc  map[string]any
		want []string
	}{
		{"equal plus extra", map[string]any{"a": "1", "z": "9", "b": map[string]any{"c": []any{"x"}, "d": "2", "e": "3"}}, nil},
		{"missing leaf", map[string]any{"a": "1", "b": map[string]any{"c": []any{"x"}}}, []string{"b.d"}},
		{"other value", map[string]any{"a": "2", "b": map[string]any{"c": []any{"x", "y"}, "d": "2"}}, []string{"a", "b.c"}},
		{"object missing", map[string]any{"a": "1"}, []string{"b.c", "b.d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := referenceMismatches(ref, tc.doc, "")
			if len(got) > 1 && got[0] > got[1] {
				got[0], got[1] = got[1], got[0]
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
