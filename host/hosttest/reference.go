package hosttest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
)

// EnrichmentFields are the fields of the reference document
// (shared/reference/consolelogin.expected.json) that enrichment adds; the
// normalization (cloudtrail-ecs and the native baselines) produces every
// other field.
var EnrichmentFields = []string{"cloud.account.name", "source.domain", "source.as", "user.full_name", "user.roles"}

// WidenedFields are the fields weir's normalization writes beyond the
// reference document (issue #9: what Elastic's AWS CloudTrail integration
// derives from the record). The project's expected document
// (ExpectedDocument) is the reference document plus these.
var WidenedFields = []string{"event.kind", "event.category", "event.type", "event.provider", "user.id", "related"}

// ExpectedFile is the path, from the repository root, of weir's expected
// document for the reference record: the shared reference document
// (shared/reference/consolelogin.expected.json, which must not change)
// plus WidenedFields, keys in the order weir writes them.
const ExpectedFile = "examples/cloudtrail-ecs/consolelogin.expected.json"

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

// ExpectedBytes returns ExpectedFile's bytes, after checking that it
// holds every field of the reference document with the same value
// (CheckReferenceFields).
func ExpectedBytes(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(tb), filepath.FromSlash(ExpectedFile)))
	if err != nil {
		tb.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		tb.Fatalf("hosttest: %s: %v", ExpectedFile, err)
	}
	CheckReferenceFields(tb, doc)
	return b
}

// ExpectedDocument returns weir's expected document for the reference
// record (ExpectedFile), decoded: the reference document plus
// WidenedFields, enrichment included.
func ExpectedDocument(tb testing.TB) map[string]any {
	tb.Helper()
	var doc map[string]any
	if err := json.Unmarshal(ExpectedBytes(tb), &doc); err != nil {
		tb.Fatal(err)
	}
	return doc
}

// CheckReferenceFields fails the test unless every field of the reference
// document (shared/reference/consolelogin.expected.json) is in doc with
// the same value: the reference job still holds, whatever weir adds.
func CheckReferenceFields(tb testing.TB, doc map[string]any) {
	tb.Helper()
	for _, p := range referenceMismatches(ReferenceDocument(tb), doc, "") {
		tb.Errorf("hosttest: the document differs from the reference document at %s", p)
	}
	if tb.Failed() {
		tb.FailNow()
	}
}

// referenceMismatches lists the leaf paths of ref that doc lacks or holds
// with another value (arrays compare whole).
func referenceMismatches(ref, doc map[string]any, prefix string) []string {
	var out []string
	for k, rv := range ref {
		dv, ok := doc[k]
		if rm, isObj := rv.(map[string]any); isObj {
			dm, _ := dv.(map[string]any)
			out = append(out, referenceMismatches(rm, dm, prefix+k+".")...)
			continue
		}
		if !ok || !reflect.DeepEqual(rv, dv) {
			out = append(out, prefix+k)
		}
	}
	return out
}

// ReferenceNormalized returns weir's expected document (ExpectedDocument)
// without EnrichmentFields: what normalization alone must produce. It
// fails the test when a field to delete is missing, so a change to the
// expected document is noticed.
func ReferenceNormalized(tb testing.TB) map[string]any {
	tb.Helper()
	doc := ExpectedDocument(tb)
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

// ReferenceRecord returns the reference CloudTrail record
// (shared/reference/consolelogin.input.json) as it arrives: one line,
// without its trailing newline.
func ReferenceRecord(tb testing.TB) []byte {
	tb.Helper()
	raw, err := os.ReadFile(SharedFile(tb, "reference/consolelogin.input.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.TrimRight(raw, "\n")
}

// ReferenceBatch returns a batch of n copies of ReferenceRecord (sharing
// its bytes): the reference job's benchmark batch.
func ReferenceBatch(tb testing.TB, n int) []engine.Record {
	tb.Helper()
	rec := ReferenceRecord(tb)
	recs := make([]engine.Record, n)
	for i := range recs {
		recs[i] = engine.Record{Data: rec}
	}
	return recs
}
