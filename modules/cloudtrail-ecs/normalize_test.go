package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
	"github.com/weirhq/weir/bench/baseline"
	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/sdk/go/weir"
)

// shared returns the path of a file of the shared test data (see
// hosttest.SharedFile: a failure in CI, a skip elsewhere, when missing).
func shared(t testing.TB, rel string) string {
	t.Helper()
	return hosttest.SharedFile(t, rel)
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// normalizeNative normalizes one record the way weir's host runs the
// module: values read from a native parse, ops applied natively.
func normalizeNative(t testing.TB, record []byte) []byte {
	t.Helper()
	var p fastjson.Parser
	v, err := p.ParseBytes(record)
	if err != nil {
		t.Fatal(err)
	}
	var vals []weir.Value
	for _, path := range paths {
		vals = append(vals, weir.JSONValue(v.Get(frame.SplitPath(path)...)))
	}
	var ops frame.Ops
	normalize(vals, &ops)
	var a frame.Applier
	doc, err := a.Apply(nil, frame.OutputOps, ops.B, record, nil)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func unmarshal(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON: %v: %s", err, b)
	}
	return m
}

// keyOrder lists every object key of a JSON document as a dotted path, in
// document order (fastjson keeps it).
func keyOrder(t testing.TB, b []byte) []string {
	t.Helper()
	v, err := fastjson.ParseBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(prefix string, v *fastjson.Value)
	walk = func(prefix string, v *fastjson.Value) {
		o, err := v.Object()
		if err != nil {
			return
		}
		o.Visit(func(k []byte, vv *fastjson.Value) {
			out = append(out, prefix+string(k))
			walk(prefix+string(k)+".", vv)
		})
	}
	walk("", v)
	return out
}

func TestReference(t *testing.T) {
	in := bytes.TrimSuffix(readFile(t, shared(t, "reference/consolelogin.input.json")), []byte("\n"))
	got := normalizeNative(t, in)

	// weir's expected document (the shared reference document plus the
	// widened fields, hosttest.ExpectedFile) without the fields enrichment
	// adds (hosttest.EnrichmentFields): what this module alone produces.
	want := hosttest.ReferenceNormalized(t)
	if g := unmarshal(t, got); !reflect.DeepEqual(g, want) {
		w, _ := json.Marshal(want)
		t.Fatalf("document differs\n got: %s\nwant: %s", got, w)
	}

	// Same keys in the same order as the expected document (enrichment
	// removed), hence the reference document's fields in its order.
	var wantOrder []string
	for _, k := range keyOrder(t, hosttest.ExpectedBytes(t)) {
		enriched := false
		for _, f := range hosttest.EnrichmentFields {
			if k == f || strings.HasPrefix(k, f+".") {
				enriched = true
			}
		}
		if !enriched {
			wantOrder = append(wantOrder, k)
		}
	}
	if g := keyOrder(t, got); !reflect.DeepEqual(g, wantOrder) {
		t.Fatalf("key order\n got: %q\nwant: %q", g, wantOrder)
	}
}

// TestCategories: every eventName of the categorization table (and one
// that is not in it) gets the table's event.category and event.type, in
// the module and in the baseline.
func TestCategories(t *testing.T) {
	names := []string{"GetObject", "consolelogin", ""}
	for n := range baseline.Categories {
		names = append(names, n)
	}
	var records [][]byte
	for _, n := range names {
		records = append(records, []byte(`{"eventTime":"t","eventName":"`+n+`"}`))
	}
	for i, res := range transform(t, records, hostMode) {
		if res.status != frame.StatusOK {
			t.Fatalf("%s: status %d %s", names[i], res.status, res.msg)
		}
		m := unmarshal(t, res.docs[0])
		want, ok := baseline.Categories[names[i]]
		if !ok {
			want.Type = []string{"info"}
		}
		gotCat, hasCat := field(m, "event.category")
		if !ok && hasCat {
			t.Errorf("%s: event.category %v, want none", names[i], gotCat)
		}
		if ok && !reflect.DeepEqual(gotCat, strs(want.Category)) {
			t.Errorf("%s: event.category %v, want %v", names[i], gotCat, want.Category)
		}
		if got, _ := field(m, "event.type"); !reflect.DeepEqual(got, strs(want.Type)) {
			t.Errorf("%s: event.type %v, want %v", names[i], got, want.Type)
		}
		b, err := baseline.GJSON(records[i])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m, unmarshal(t, b)) {
			t.Errorf("%s: differs from the baseline\n got: %s\nwant: %s", names[i], res.docs[0], b)
		}
	}
	if len(baseline.Categories) != 52 {
		t.Errorf("%d names in the table, want Elastic's 52", len(baseline.Categories))
	}
}

// strs is ss as decoded JSON.
func strs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// corpora returns every record of the three shared CloudTrail corpora, as
// compact one-line JSON, named for error messages.
func corpora(t testing.TB) (names []string, records [][]byte) {
	t.Helper()
	add := func(name string, raw []byte) {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		names = append(names, name)
		records = append(records, buf.Bytes())
	}
	files, _ := filepath.Glob(filepath.Join(shared(t, "testdata/cloudtrail/stratus-red-team"), "*.json"))
	for _, f := range files {
		var arr []json.RawMessage
		if err := json.Unmarshal(readFile(t, f), &arr); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i, r := range arr {
			add(filepath.Base(f)+"#"+strconv.Itoa(i), r)
		}
	}
	lines := func(p string, each func(name string, line []byte)) {
		sc := bufio.NewScanner(bytes.NewReader(readFile(t, p)))
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				each(filepath.Base(p)+":"+strconv.Itoa(n), sc.Bytes())
			}
		}
	}
	for _, r := range pantherLogs(t) {
		if isCloudTrail(r.log) {
			add(r.name, r.log)
		}
	}
	otrf, _ := filepath.Glob(filepath.Join(shared(t, "testdata/cloudtrail/otrf"), "*.json"))
	for _, f := range otrf {
		lines(f, func(name string, line []byte) { add(name, line) })
	}
	if len(records) < 800 {
		t.Fatalf("only %d corpus records", len(records))
	}
	return names, records
}

// pantherLog is one panther test case's log record.
type pantherLog struct {
	name string
	log  []byte
}

// pantherLogs returns the log records of the panther corpus.
func pantherLogs(t testing.TB) []pantherLog {
	t.Helper()
	p := shared(t, "testdata/cloudtrail/panther/panther_cloudtrail_tests.jsonl")
	var out []pantherLog
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, p)))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		name := filepath.Base(p) + ":" + strconv.Itoa(n)
		var c struct{ Log json.RawMessage }
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil || len(c.Log) == 0 {
			t.Fatalf("%s: no log: %v", name, err)
		}
		out = append(out, pantherLog{name, c.Log})
	}
	return out
}

// isCloudTrail reports whether a record has eventTime or eventName (8
// panther test logs have lower-cased keys: "eventtime", "eventname").
func isCloudTrail(rec []byte) bool {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(rec, &m)
	_, t := m["eventTime"]
	_, n := m["eventName"]
	return t || n
}

// TestNotCloudTrailCorpus: the panther logs that are not CloudTrail
// events (lower-cased keys) fail, naming why, instead of becoming almost
// empty documents with outcome "success".
func TestNotCloudTrailCorpus(t *testing.T) {
	var recs [][]byte
	for _, r := range pantherLogs(t) {
		if !isCloudTrail(r.log) {
			recs = append(recs, r.log)
		}
	}
	if len(recs) != 8 {
		t.Fatalf("%d panther logs without eventTime and eventName, want 8", len(recs))
	}
	for _, mode := range []uint16{hostMode, plainMode} {
		for i, res := range transform(t, recs, mode) {
			if res.status != frame.StatusFailed || res.msg != "cloudtrail-ecs: not a CloudTrail event: no eventTime and no eventName" {
				t.Errorf("mode %d, record %d: status %d %q", mode, i, res.status, res.msg)
			}
		}
	}
}

// outcome is one record's result, its documents applied.
type outcome struct {
	status byte
	docs   [][]byte
	msg    string
}

// inputFrame builds an input frame the way weir's host does: with views of
// the module's paths (FlagViews) and/or FlagHostOps.
func inputFrame(t testing.TB, records [][]byte, flags uint16) []byte {
	t.Helper()
	w := frame.NewInput(nil, flags, paths)
	var p fastjson.Parser
	for i, r := range records {
		w.AddRecord(r, "pk", strconv.Itoa(i), 0, 0, "test")
		if flags&frame.FlagViews != 0 {
			v, err := p.ParseBytes(r)
			if err != nil {
				t.Fatalf("record %d: the host sends views of valid JSON only: %v", i, err)
			}
			for _, path := range paths {
				w.AddValue(v.Get(frame.SplitPath(path)...))
			}
		}
	}
	return w.Finish()
}

// transform runs records through the module's handler (weir.Batch) and
// applies the returned operation lists natively, as the host does.
func transform(t testing.TB, records [][]byte, flags uint16) []outcome {
	t.Helper()
	out := weir.Batch(inputFrame(t, records, flags))
	or, err := frame.ReadOutput(out, len(records))
	if err != nil {
		t.Fatal(err)
	}
	var a frame.Applier
	var rec frame.OutRecord
	res := make([]outcome, 0, len(records))
	for i := 0; or.More(); i++ {
		if err := or.Next(&rec); err != nil {
			t.Fatal(err)
		}
		o := outcome{status: rec.Status, msg: string(rec.Message)}
		for _, b := range rec.Outputs {
			if flags&frame.FlagHostOps == 0 && b.Kind != frame.OutputRaw {
				t.Fatalf("record %d: output kind %d without FlagHostOps", i, b.Kind)
			}
			doc := append([]byte(nil), b.Body...)
			if b.Kind != frame.OutputRaw {
				if doc, err = a.Apply(nil, b.Kind, b.Body, records[i], nil); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
			}
			o.docs = append(o.docs, doc)
		}
		res = append(res, o)
	}
	return res
}

const (
	hostMode  = frame.FlagViews | frame.FlagHostOps
	plainMode = 0
)

// TestCorpora runs every record of the three corpora on weir (views, host
// ops) and as on a plain Extism host (guest parsing, guest-applied ops):
// both give the same bytes, a JSON object equal to the native gjson/sjson
// baseline's.
func TestCorpora(t *testing.T) {
	names, records := corpora(t)
	host := transform(t, records, hostMode)
	plain := transform(t, records, plainMode)
	for i, r := range records {
		h, p := host[i], plain[i]
		if h.status != frame.StatusOK || len(h.docs) != 1 {
			t.Fatalf("%s: host mode: status %d, %d docs, %q", names[i], h.status, len(h.docs), h.msg)
		}
		if p.status != frame.StatusOK || len(p.docs) != 1 || !bytes.Equal(h.docs[0], p.docs[0]) {
			t.Fatalf("%s: plain mode differs from host mode\nhost:  %s\nplain: %+v", names[i], h.docs[0], p)
		}
		want, err := baseline.GJSON(r)
		if err != nil {
			t.Fatalf("%s: baseline: %v", names[i], err)
		}
		if g, w := unmarshal(t, h.docs[0]), unmarshal(t, want); !reflect.DeepEqual(g, w) {
			t.Fatalf("%s: differs from the baseline\n got: %s\nwant: %s", names[i], h.docs[0], want)
		}
	}
	t.Logf("%d records", len(records))
}

// doc normalizes one record in host mode and returns it decoded.
func doc(t *testing.T, record string) map[string]any {
	t.Helper()
	res := transform(t, [][]byte{[]byte(record)}, hostMode)
	if res[0].status != frame.StatusOK {
		t.Fatalf("status %d: %s", res[0].status, res[0].msg)
	}
	return unmarshal(t, res[0].docs[0])
}

func field(m map[string]any, path string) (any, bool) {
	segs := strings.Split(path, ".")
	var v any = m
	for _, s := range segs {
		o, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = o[s]; !ok {
			return nil, false
		}
	}
	return v, true
}

func TestFields(t *testing.T) {
	for _, tc := range []struct {
		name, record string
		want         map[string]any // path -> value; nil value: absent
	}{
		{"invalid source IP", `{"sourceIPAddress":"AWS Internal"}`, map[string]any{"source.ip": nil, "source": nil}},
		{"service host as source IP", `{"sourceIPAddress":"ec2.amazonaws.com"}`, map[string]any{"source": nil}},
		{"out of range IPv4", `{"sourceIPAddress":"999.1.2.3"}`, map[string]any{"source": nil}},
		{"IPv6 source", `{"sourceIPAddress":"2001:db8::1"}`, map[string]any{"source.ip": "2001:db8::1"}},
		{"errorCode", `{"errorCode":"AccessDenied","responseElements":{"ConsoleLogin":"Success"}}`, map[string]any{"event.outcome": "failure"}},
		{"errorMessage", `{"errorMessage":"no"}`, map[string]any{"event.outcome": "failure"}},
		{"empty errorCode", `{"errorCode":""}`, map[string]any{"event.outcome": "success"}},
		{"console login failure", `{"responseElements":{"ConsoleLogin":"Failure"}}`, map[string]any{"event.outcome": "failure"}},
		{"no outcome fields", `{"eventName":"GetObject"}`, map[string]any{"event.outcome": "success", "event.action": "GetObject"}},
		{"principal without @", `{"userIdentity":{"principalId":"AROA:botocore-session-1"}}`,
			map[string]any{"user.name": "botocore-session-1", "user.email": nil, "user.domain": nil}},
		{"principal without :", `{"userIdentity":{"principalId":"AIDA123","userName":"alice"}}`,
			map[string]any{"user.name": "alice", "user.email": nil}},
		{"no principal, no userName", `{"userIdentity":{"type":"AWSService"}}`, map[string]any{"user": nil}},
		{"account fallback", `{"recipientAccountId":"111122223333"}`, map[string]any{"cloud.account.id": "111122223333", "cloud.provider": "aws"}},
		{"non-string values are omitted", `{"eventTime":1,"eventName":null,"awsRegion":"","userAgent":{"a":1}}`,
			map[string]any{"@timestamp": nil, "event.action": nil, "cloud.region": nil, "user_agent": nil}},
		{"service name", `{"eventSource":"s3.amazonaws.com"}`, map[string]any{"cloud.service.name": "s3"}},
		{"tls", `{"tlsDetails":{"tlsVersion":"TLSv1.2","cipherSuite":"ECDHE-RSA-AES128-GCM-SHA256"}}`,
			map[string]any{"tls.version": "1.2", "tls.version_protocol": "tls", "tls.cipher": "ECDHE-RSA-AES128-GCM-SHA256", "tls.client": nil}},
		{"tls version without v", `{"tlsDetails":{"tlsVersion":"1.2"}}`, map[string]any{"tls": nil}},
		{"escapes survive", `{"userAgent":"a\"b\u00e9\n"}`, map[string]any{"user_agent.original": "a\"b\u00e9\n"}},
		{"escapes survive in related.user", `{"userIdentity":{"userName":"a\"b\u2028\u0001"}}`,
			map[string]any{"user.name": "a\"b\u2028\u0001", "related.user": []any{"a\"b\u2028\u0001"}}},

		// The widened fields (issue #9), by userIdentity.type.
		{"IAMUser", `{"eventSource":"iam.amazonaws.com","eventName":"CreateUser","sourceIPAddress":"198.51.100.7",
			"userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","userName":"alice","accountId":"111122223333"},
			"requestParameters":{"userName":"bob"}}`,
			map[string]any{"user.name": "alice", "user.id": "AIDAEXAMPLE", "user.email": nil,
				"related.user": []any{"alice", "bob"}, "related.ip": []any{"198.51.100.7"},
				"event.kind": "event", "event.provider": "iam.amazonaws.com",
				"event.category": []any{"iam"}, "event.type": []any{"user", "creation"}}},
		{"AssumedRole", `{"eventName":"AssumeRole","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:jane@example.com",
			"sessionContext":{"sessionIssuer":{"userName":"Admin"}}}}`,
			map[string]any{"user.name": "jane", "user.email": "jane@example.com", "user.domain": "example.com",
				"user.id": "AROAEXAMPLE:jane@example.com", "related.user": []any{"jane"},
				"event.category": []any{"authentication"}, "event.type": []any{"info"}}},
		{"IdentityCenterUser", `{"eventName":"CredentialChallenge","userIdentity":{"type":"IdentityCenterUser","accountId":"111122223333",
			"onBehalfOf":{"userId":"9067c9d2-example"}},"additionalEventData":{"UserName":"jdoe@example.com"}}`,
			map[string]any{"user.name": "jdoe@example.com", "user.id": nil, "user.email": nil,
				"related.user": []any{"jdoe@example.com"}, "event.category": nil, "event.type": []any{"info"}}},
		{"UserName of another identity type", `{"userIdentity":{"type":"Unknown"},"additionalEventData":{"UserName":"x"}}`,
			map[string]any{"user": nil, "related": nil}},
		{"AWSService", `{"eventName":"Decrypt","sourceIPAddress":"kms.amazonaws.com","userIdentity":{"type":"AWSService","invokedBy":"kms.amazonaws.com"}}`,
			map[string]any{"user": nil, "related": nil, "event.category": nil, "event.type": []any{"info"}, "event.kind": "event"}},
		{"Root", `{"eventName":"ConsoleLogin","userIdentity":{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root"},
			"responseElements":{"ConsoleLogin":"Failure"},"errorMessage":"Failed authentication"}`,
			map[string]any{"user.id": "111122223333", "user.name": nil, "related": nil, "event.outcome": "failure",
				"event.category": []any{"authentication"}}},
		{"related.user once per name", `{"userIdentity":{"principalId":"AIDA","userName":"alice"},
			"requestParameters":{"userName":"alice","newUserName":"alice2"}}`,
			map[string]any{"related.user": []any{"alice", "alice2"}}},
		{"session name and userName", `{"userIdentity":{"principalId":"AROA:s1","userName":"u1"},"requestParameters":{"newUserName":"s1"}}`,
			map[string]any{"user.name": "s1", "related.user": []any{"s1", "u1"}}},
		{"non-string user names", `{"userIdentity":{"principalId":7,"userName":["a"]},"requestParameters":{"userName":{"a":1},"newUserName":""}}`,
			map[string]any{"user": nil, "related": nil}},
		{"no source IP, no related.ip", `{"sourceIPAddress":"AWS Internal"}`, map[string]any{"related": nil}},
		{"missing eventSource", `{"eventName":"x"}`, map[string]any{"event.provider": nil, "cloud.service": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A CloudTrail event has eventTime or eventName (the module
			// fails records with neither: TestFailures).
			record := tc.record
			if !strings.Contains(record, `"eventTime"`) && !strings.Contains(record, `"eventName"`) {
				record = `{"eventTime":"x",` + record[1:]
			}
			m := doc(t, record)
			for path, want := range tc.want {
				got, ok := field(m, path)
				if want == nil {
					if ok {
						t.Errorf("%s = %v, want absent", path, got)
					}
					continue
				}
				if !ok || !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %v (present %v), want %v", path, got, ok, want)
				}
			}
		})
	}
}

func TestFailures(t *testing.T) {
	for _, tc := range []struct {
		name, record string
		flags        uint16
		msg          string
	}{
		{"array record", `[1,2]`, hostMode, "not a JSON object"},
		{"string record", `"x"`, hostMode, "not a JSON object"},
		{"invalid JSON on a plain host", `{"eventName":`, plainMode, "cannot parse"},
		{"empty object", `{}`, hostMode, "cloudtrail-ecs: not a CloudTrail event: no eventTime and no eventName"},
		{"Records null", `{"Records": null}`, hostMode, "not a CloudTrail event: no eventTime and no eventName"},
		{"panther test-case wrapper", `{"rule":"r","log":{"eventTime":"t","eventName":"n"}}`, hostMode, "not a CloudTrail event"},
		{"lower-case keys", `{"eventtime":"t","eventname":"n"}`, hostMode, "not a CloudTrail event"},
		{"empty object, plain host", `{}`, plainMode, "not a CloudTrail event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := transform(t, [][]byte{[]byte(tc.record)}, tc.flags)
			if res[0].status != frame.StatusFailed || !strings.Contains(res[0].msg, tc.msg) {
				t.Fatalf("got status %d %q, want failed with %q", res[0].status, res[0].msg, tc.msg)
			}
		})
	}
}

// BenchmarkNormalize measures the guest's own work per record, natively
// (views and ops encoding; no Wasm, no host work).
func BenchmarkNormalize(b *testing.B) {
	in := bytes.TrimSuffix(readFile(b, shared(b, "reference/consolelogin.input.json")), []byte("\n"))
	f := inputFrame(b, [][]byte{in}, hostMode)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		weir.Batch(f)
	}
}

// TestECSFields checks every field the module writes, over the reference
// record and the corpora, against the ECS 8.11 field list: the name exists
// and the JSON value suits its type.
func TestECSFields(t *testing.T) {
	f, err := os.Open(shared(t, "testdata/ecs/fields-8.11.0.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, r := range rows[1:] {
		types[r[3]] = r[4]
	}
	_, records := corpora(t)
	ref := bytes.TrimSuffix(readFile(t, shared(t, "reference/consolelogin.input.json")), []byte("\n"))
	seen := map[string]bool{}
	for i, res := range transform(t, append(records, ref), hostMode) {
		for _, leaf := range leaves(t, res.docs[0]) {
			typ, ok := types[leaf.path]
			if !ok {
				t.Fatalf("record %d: %s is not an ECS 8.11 field", i, leaf.path)
			}
			// event.category, event.type and related.* are arrays of
			// strings (ECS fields hold one value or an array of values).
			vals := []*fastjson.Value{leaf.v}
			if leaf.v.Type() == fastjson.TypeArray {
				vals = leaf.v.GetArray()
				if len(vals) == 0 {
					t.Fatalf("record %d: %s is an empty array", i, leaf.path)
				}
			}
			for _, v := range vals {
				switch typ {
				case "keyword", "date", "ip":
					if v.Type() != fastjson.TypeString {
						t.Fatalf("record %d: %s (%s) holds a JSON %s", i, leaf.path, typ, v.Type())
					}
				default:
					t.Fatalf("record %d: %s has ECS type %s, which the module never writes", i, leaf.path, typ)
				}
				if typ == "ip" {
					if _, err := netip.ParseAddr(string(v.GetStringBytes())); err != nil {
						t.Fatalf("record %d: %s = %s", i, leaf.path, v)
					}
				}
			}
			seen[leaf.path] = true
		}
	}
	if len(seen) != 26 {
		t.Errorf("%d distinct fields written, want 26: %v", len(seen), seen)
	}
}

type leaf struct {
	path string
	v    *fastjson.Value
}

func leaves(t testing.TB, doc []byte) []leaf {
	v, err := fastjson.ParseBytes(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out []leaf
	var walk func(prefix string, v *fastjson.Value)
	walk = func(prefix string, v *fastjson.Value) {
		if o, err := v.Object(); err == nil {
			o.Visit(func(k []byte, vv *fastjson.Value) { walk(prefix+string(k)+".", vv) })
			return
		}
		out = append(out, leaf{strings.TrimSuffix(prefix, "."), v})
	}
	walk("", v)
	return out
}

// TestIsDottedQuad: the fast IPv4 check accepts only what netip.ParseAddr
// accepts as IPv4, and accepts the usual forms.
func TestIsDottedQuad(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"198.51.100.7", true}, {"0.0.0.0", true}, {"255.255.255.255", true}, {"10.0.0.1", true},
		{"256.1.1.1", false}, {"01.2.3.4", false}, {"1.2.3", false}, {"1.2.3.4.5", false}, {"1..2.3", false},
		{"1.2.3.4.", false}, {".1.2.3", false}, {"1.2.3.-4", false}, {"1.2.3.4 ", false}, {"::1", false},
		{"1.2.3.1000", false}, {"1.2.3.00", false}, {"", false}, {"AWS Internal", false},
	} {
		if got := isDottedQuad([]byte(tc.s)); got != tc.want {
			t.Errorf("isDottedQuad(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
	// Exhaustively over short strings of the relevant bytes: never true
	// where netip says no.
	alphabet := []byte("0129.5")
	var walk func(b []byte)
	n := 0
	walk = func(b []byte) {
		if isDottedQuad(b) {
			n++
			if a, err := netip.ParseAddr(string(b)); err != nil || !a.Is4() {
				t.Fatalf("isDottedQuad(%q) = true, netip: %v", b, err)
			}
		}
		if len(b) == 9 {
			return
		}
		for _, c := range alphabet {
			walk(append(b, c))
		}
	}
	walk(nil)
	if n == 0 {
		t.Fatal("no string accepted")
	}
}
