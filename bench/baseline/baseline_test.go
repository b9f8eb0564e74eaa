package baseline

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/tidwall/sjson"
	"github.com/weirhq/weir/host/hosttest"
)

type baselineFunc struct {
	name string
	fn   func([]byte) ([]byte, error)
}

var baselines = []baselineFunc{
	{"GJSON", GJSON},
	{"Structs", Structs},
}

// sharedPath returns a path under the shared directory (see
// hosttest.SharedFile: a failure in CI, a skip elsewhere, when missing).
func sharedPath(tb testing.TB, rel string) string {
	tb.Helper()
	return hosttest.SharedFile(tb, rel)
}

// referenceRecord returns the reference record as received: the file holds
// it on one line, and the line's terminator is not part of the record (the
// expected event.hash is over the bytes without it).
func referenceRecord(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(sharedPath(tb, "reference/consolelogin.input.json"))
	if err != nil {
		tb.Fatal(err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

// referenceExpected returns weir's expected document for the reference
// record (hosttest.ExpectedFile: the shared reference document plus the
// widened fields) with the enrichment fields deleted.
func referenceExpected(tb testing.TB) map[string]any {
	tb.Helper()
	return hosttest.ReferenceNormalized(tb)
}

func parseJSON(tb testing.TB, b []byte) map[string]any {
	tb.Helper()
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		tb.Fatalf("output is not a JSON object: %v\n%s", err, b)
	}
	return doc
}

func pretty(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// keyOrder lists the object keys of a JSON document in document order, as
// dotted paths.
func keyOrder(tb testing.TB, b []byte) []string {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	var keys []string
	var value func(prefix string)
	value = func(prefix string) {
		tok, err := dec.Token()
		if err != nil {
			tb.Fatalf("keyOrder: %v", err)
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					tb.Fatalf("keyOrder: %v", err)
				}
				path := prefix + k.(string)
				keys = append(keys, path)
				value(path + ".")
			}
			dec.Token() // '}'
		case json.Delim('['):
			for dec.More() {
				value(prefix)
			}
			dec.Token() // ']'
		}
	}
	value("")
	return keys
}

// checkShape checks what holds for every output: no nulls, no empty
// strings, no empty objects, event.hash and event.original describe the
// record, and cloud.provider is "aws".
func checkShape(t *testing.T, record []byte, doc map[string]any) {
	t.Helper()
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case nil:
			t.Errorf("%s is null", path)
		case string:
			if v == "" {
				t.Errorf("%s is an empty string", path)
			}
		case map[string]any:
			if len(v) == 0 {
				t.Errorf("%s is an empty object", path)
			}
			for k, e := range v {
				walk(strings.TrimPrefix(path+"."+k, "."), e)
			}
		case []any: // event.category, event.type, related.*: strings
			if len(v) == 0 {
				t.Errorf("%s is an empty array", path)
			}
			for i, e := range v {
				if s, ok := e.(string); !ok || s == "" {
					t.Errorf("%s[%d] = %v, want a non-empty string", path, i, e)
				}
			}
		default:
			t.Errorf("%s has unexpected type %T", path, v)
		}
	}
	walk("", doc)

	event, _ := doc["event"].(map[string]any)
	sum := sha256.Sum256(record)
	if got, want := event["hash"], hex.EncodeToString(sum[:]); got != want {
		t.Errorf("event.hash = %v, want %v", got, want)
	}
	if got := event["original"]; got != string(record) {
		t.Errorf("event.original is not the record as received")
	}
	if o := event["outcome"]; o == nil {
		t.Errorf("event.outcome missing")
	}
	cloud, _ := doc["cloud"].(map[string]any)
	if got := cloud["provider"]; got != "aws" {
		t.Errorf("cloud.provider = %v, want aws", got)
	}
}

// TestReference: the reference record gives the expected document minus the
// enrichment fields, in the expected key order.
func TestReference(t *testing.T) {
	record := referenceRecord(t)
	want := referenceExpected(t)
	// The expected key order: the file's order with the enrichment fields
	// left out.
	fileRaw := hosttest.ExpectedBytes(t)
	var wantOrder []string
	for _, k := range keyOrder(t, fileRaw) {
		if _, ok := lookup(want, k); ok {
			wantOrder = append(wantOrder, k)
		}
	}

	for _, bl := range baselines {
		t.Run(bl.name, func(t *testing.T) {
			out, err := bl.fn(record)
			if err != nil {
				t.Fatal(err)
			}
			got := parseJSON(t, out)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("output differs from the expected document\ngot:\n%s\nwant:\n%s", pretty(got), pretty(want))
			}
			checkShape(t, record, got)
			if order := keyOrder(t, out); !reflect.DeepEqual(order, wantOrder) {
				t.Errorf("key order\ngot:  %v\nwant: %v", order, wantOrder)
			}
		})
	}
}

// lookup returns the value at a dotted path.
func lookup(doc map[string]any, path string) (any, bool) { return hosttest.JSONGet(doc, path) }

type corpusRecord struct {
	name string // file#index
	raw  []byte // the record's exact bytes
}

// loadCorpora splits the three CloudTrail corpora into records, keeping
// each record's exact bytes.
func loadCorpora(t *testing.T) map[string][]corpusRecord {
	t.Helper()
	root := sharedPath(t, "testdata/cloudtrail")
	corpora := map[string][]corpusRecord{}

	// stratus-red-team/*.json: one JSON array of records per file.
	files, _ := filepath.Glob(filepath.Join(root, "stratus-red-team", "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var recs []json.RawMessage
		if err := json.Unmarshal(b, &recs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i, r := range recs {
			corpora["stratus-red-team"] = append(corpora["stratus-red-team"],
				corpusRecord{fmt.Sprintf("%s#%d", filepath.Base(f), i), r})
		}
	}

	// panther/*.jsonl: one test case per line; the CloudTrail record is its
	// "log" member ({"rule","test","expected_result","log"}).
	files, _ = filepath.Glob(filepath.Join(root, "panther", "*.jsonl"))
	for _, f := range files {
		for i, line := range readLines(t, f) {
			var tc struct {
				Log json.RawMessage `json:"log"`
			}
			if err := json.Unmarshal(line, &tc); err != nil {
				t.Fatalf("%s:%d: %v", f, i+1, err)
			}
			rec := tc.Log
			if len(rec) == 0 {
				rec = line // a bare record
			}
			corpora["panther"] = append(corpora["panther"],
				corpusRecord{fmt.Sprintf("%s:%d", filepath.Base(f), i+1), rec})
		}
	}

	// otrf/*.json: NDJSON, one record per line.
	files, _ = filepath.Glob(filepath.Join(root, "otrf", "*.json"))
	for _, f := range files {
		for i, line := range readLines(t, f) {
			corpora["otrf"] = append(corpora["otrf"],
				corpusRecord{fmt.Sprintf("%s:%d", filepath.Base(f), i+1), line})
		}
	}

	for _, c := range []string{"stratus-red-team", "panther", "otrf"} {
		if len(corpora[c]) == 0 {
			t.Fatalf("corpus %s: no records found under %s", c, root)
		}
	}
	return corpora
}

// readLines returns the non-blank lines of f without their terminators.
func readLines(t *testing.T, f string) [][]byte {
	t.Helper()
	fh, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var lines [][]byte
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		lines = append(lines, bytes.Clone(line))
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	return lines
}

// TestCorporaAgree: both baselines give JSON-equal, well-formed documents
// for every record of the three corpora.
func TestCorporaAgree(t *testing.T) {
	corpora := loadCorpora(t)
	names := make([]string, 0, len(corpora))
	for c := range corpora {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, c := range names {
		recs := corpora[c]
		t.Run(c, func(t *testing.T) {
			t.Logf("%d records", len(recs))
			for _, rec := range recs {
				outs := make([]map[string]any, len(baselines))
				for i, bl := range baselines {
					out, err := bl.fn(rec.raw)
					if err != nil {
						t.Fatalf("%s: %s: %v", rec.name, bl.name, err)
					}
					outs[i] = parseJSON(t, out)
					checkShape(t, rec.raw, outs[i])
				}
				for i := 1; i < len(outs); i++ {
					if !reflect.DeepEqual(outs[0], outs[i]) {
						t.Errorf("%s: %s and %s differ\n%s:\n%s\n%s:\n%s", rec.name,
							baselines[0].name, baselines[i].name,
							baselines[0].name, pretty(outs[0]), baselines[i].name, pretty(outs[i]))
					}
				}
			}
		})
	}
}

// TestRules checks single field rules on variants of the reference record.
func TestRules(t *testing.T) {
	ref := referenceRecord(t)

	type edit struct {
		path  string
		value any // nil deletes path; json.RawMessage sets raw JSON
	}
	tests := []struct {
		name  string
		edits []edit
		raw   string            // used instead of the edited reference when set
		want  map[string]string // dotted path → value; "" means absent
	}{
		{
			name:  "source hostname is not an IP",
			edits: []edit{{"sourceIPAddress", "ec2.amazonaws.com"}},
			want:  map[string]string{"source.ip": "", "source": ""},
		},
		{
			name:  "source AWS Internal",
			edits: []edit{{"sourceIPAddress", "AWS Internal"}},
			want:  map[string]string{"source": ""},
		},
		{
			name:  "source IPv6",
			edits: []edit{{"sourceIPAddress", "2001:db8::1"}},
			want:  map[string]string{"source.ip": "2001:db8::1"},
		},
		{
			name:  "source absent",
			edits: []edit{{"sourceIPAddress", nil}},
			want:  map[string]string{"source": ""},
		},
		{
			name:  "errorCode wins over ConsoleLogin Success",
			edits: []edit{{"errorCode", "AccessDenied"}},
			want:  map[string]string{"event.outcome": "failure"},
		},
		{
			name:  "errorMessage alone",
			edits: []edit{{"errorMessage", "Failed authentication"}},
			want:  map[string]string{"event.outcome": "failure"},
		},
		{
			name:  "empty errorCode is not an error",
			edits: []edit{{"errorCode", ""}},
			want:  map[string]string{"event.outcome": "success"},
		},
		{
			name:  "ConsoleLogin Failure",
			edits: []edit{{"responseElements.ConsoleLogin", "Failure"}},
			want:  map[string]string{"event.outcome": "failure"},
		},
		{
			name:  "no responseElements",
			edits: []edit{{"responseElements", json.RawMessage("null")}},
			want:  map[string]string{"event.outcome": "success"},
		},
		{
			name: "accountId falls back to recipientAccountId",
			edits: []edit{{"userIdentity.accountId", nil},
				{"recipientAccountId", "111122223333"}},
			want: map[string]string{"cloud.account.id": "111122223333"},
		},
		{
			name:  "service name",
			edits: []edit{{"eventSource", "s3.amazonaws.com"}},
			want:  map[string]string{"cloud.service.name": "s3"},
		},
		{
			name:  "TLSv1.2",
			edits: []edit{{"tlsDetails.tlsVersion", "TLSv1.2"}},
			want:  map[string]string{"tls.version": "1.2", "tls.version_protocol": "tls"},
		},
		{
			name:  "no tlsDetails",
			edits: []edit{{"tlsDetails", nil}},
			want:  map[string]string{"tls": ""},
		},
		{
			name:  "session name without @",
			edits: []edit{{"userIdentity.principalId", "AROAEXAMPLE:botocore-session-1"}},
			want: map[string]string{"user.name": "botocore-session-1",
				"user.email": "", "user.domain": ""},
		},
		{
			name: "principalId without colon uses userName",
			edits: []edit{{"userIdentity.principalId", "AIDAEXAMPLE"},
				{"userIdentity.userName", "alice"}},
			want: map[string]string{"user.name": "alice", "user.email": "", "user.domain": ""},
		},
		{
			name:  "principalId without colon and no userName",
			edits: []edit{{"userIdentity.principalId", "AIDAEXAMPLE"}},
			want:  map[string]string{"user.name": "", "user.email": "", "user.id": "AIDAEXAMPLE", "related.user": ""},
		},
		{
			name: "Identity Center user",
			edits: []edit{{"userIdentity", json.RawMessage(`{"type":"IdentityCenterUser","accountId":"1"}`)},
				{"additionalEventData.UserName", "jdoe"}},
			want: map[string]string{"user.name": "jdoe", "user.id": "", "cloud.account.id": "1"},
		},
		{
			name:  "additionalEventData.UserName of another identity type",
			edits: []edit{{"userIdentity", json.RawMessage(`{"type":"Unknown"}`)}, {"additionalEventData.UserName", "jdoe"}},
			want:  map[string]string{"user": "", "related.user": ""},
		},
		{
			name:  "uncategorized eventName",
			edits: []edit{{"eventName", "GetObject"}, {"eventSource", "s3.amazonaws.com"}},
			want:  map[string]string{"event.category": "", "event.kind": "event", "event.provider": "s3.amazonaws.com"},
		},
		{
			name:  "non-string value is ignored",
			edits: []edit{{"eventName", json.RawMessage("42")}},
			want:  map[string]string{"event.action": ""},
		},
		{
			name: "keys match case-sensitively",
			raw:  `{"eventname":"X","EventID":"Y","useridentity":{"principalId":"A:b@c"},"eventTime":"T"}`,
			want: map[string]string{"event.action": "", "event.id": "", "user": "", "@timestamp": "T"},
		},
	}
	for _, tc := range tests {
		record := []byte(tc.raw)
		if tc.raw == "" {
			record = bytes.Clone(ref)
			for _, e := range tc.edits {
				var err error
				switch v := e.value.(type) {
				case nil:
					record, err = sjson.DeleteBytes(record, e.path)
				case json.RawMessage:
					record, err = sjson.SetRawBytes(record, e.path, v)
				default:
					record, err = sjson.SetBytes(record, e.path, v)
				}
				if err != nil {
					t.Fatalf("%s: edit %s: %v", tc.name, e.path, err)
				}
			}
		}
		for _, bl := range baselines {
			t.Run(tc.name+"/"+bl.name, func(t *testing.T) {
				out, err := bl.fn(record)
				if err != nil {
					t.Fatal(err)
				}
				doc := parseJSON(t, out)
				checkShape(t, record, doc)
				for path, want := range tc.want {
					got, ok := lookup(doc, path)
					switch {
					case want == "" && ok:
						t.Errorf("%s = %v, want absent", path, got)
					case want != "" && got != want:
						t.Errorf("%s = %v, want %q", path, got, want)
					}
				}
			})
		}
	}
}

// TestInvalid: a record that is not one JSON object is an error.
func TestInvalid(t *testing.T) {
	for _, in := range []string{``, `[]`, `"x"`, `{"eventName":`, `{"a":1} {"b":2}`, `null`} {
		for _, bl := range baselines {
			if out, err := bl.fn([]byte(in)); err == nil {
				t.Errorf("%s(%q) = %s, want an error", bl.name, in, out)
			}
		}
	}
}

func benchmarkBaseline(b *testing.B, fn func([]byte) ([]byte, error)) {
	record := referenceRecord(b)
	b.SetBytes(int64(len(record)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := fn(record); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkGJSON(b *testing.B)   { benchmarkBaseline(b, GJSON) }
func BenchmarkStructs(b *testing.B) { benchmarkBaseline(b, Structs) }
