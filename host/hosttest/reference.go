package hosttest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// EnrichmentFields are the fields of the reference document
// (shared/reference/consolelogin.expected.json) that enrichment adds; the
// normalization (cloudtrail-ecs and the native baselines) produces every
// other field.
var EnrichmentFields = []string{"cloud.account.name", "source.domain", "source.as", "user.full_name", "user.roles"}

// JSONGet returns the value at a dotted path of nested JSON objects.
func JSONGet(doc map[string]any, path string) (any, bool) {
	var v any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// ReferenceDocument returns the reference document, decoded.
func ReferenceDocument(tb testing.TB) map[string]any {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(SharedDir(tb), "reference", "consolelogin.expected.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		tb.Fatalf("hosttest: consolelogin.expected.json: %v", err)
	}
	return doc
}

// ReferenceNormalized returns the reference document without
// EnrichmentFields: what normalization alone must produce. It fails the
// test when a field to delete is missing, so a change to the expected
// document is noticed.
func ReferenceNormalized(tb testing.TB) map[string]any {
	tb.Helper()
	doc := ReferenceDocument(tb)
	for _, path := range EnrichmentFields {
		parent, key := doc, path
		if i := strings.LastIndexByte(path, '.'); i >= 0 {
			v, _ := JSONGet(doc, path[:i])
			m, ok := v.(map[string]any)
			if !ok {
				tb.Fatalf("hosttest: the reference document has no object %s", path[:i])
			}
			parent, key = m, path[i+1:]
		}
		if _, ok := parent[key]; !ok {
			tb.Fatalf("hosttest: the reference document has no %s", path)
		}
		delete(parent, key)
	}
	return doc
}
