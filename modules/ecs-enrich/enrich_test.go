package main

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/frame"
	hostenrich "github.com/weirhq/weir/host/enrich"
	"github.com/weirhq/weir/sdk/go/weir"
	"github.com/weirhq/weir/sdk/go/weir/enrich"
)

// fixtures is the reference example's fixture folder.
var fixtures = filepath.Join("..", "..", "examples", "cloudtrail-ecs", "fixtures")

func ok(v string) enrich.Result { return enrich.Result{Status: enrich.StatusOK, Value: []byte(v)} }

var (
	notFound = enrich.Result{Status: enrich.StatusNotFound}
	failed   = enrich.Result{Status: enrich.StatusError, Err: errors.New("timeout")}
	denied   = enrich.Result{Status: enrich.StatusDenied, Err: errors.New("not granted")}
)

// applyTo applies the enrichment fields of l to doc (a JSON object) as
// the handler does, and returns the document.
func applyTo(t *testing.T, l *batchLookups, doc string) map[string]any {
	t.Helper()
	root := fastjson.MustParse(doc)
	vals := make([]weir.Value, nPaths)
	for i, p := range paths {
		vals[i] = weir.JSONValue(root.Get(frame.SplitPath(p)...))
	}
	var ops frame.Ops
	l.apply(vals, &ops)
	var a frame.Applier
	out, err := a.Apply(nil, frame.OutputEdit, ops.B, []byte(doc), nil)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	return m
}

func jsonMap(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

func newLookups() *batchLookups {
	return &batchLookups{domain: map[string]string{}, asn: map[string]asn{}, account: map[string]string{}, user: map[string]user{}}
}

// TestFieldMapping checks each lookup's answers against the fields they
// add: an answer adds its fields, a negative answer or an error leaves
// them out (and an error, not a negative answer, is reported), and the
// record itself is never failed.
func TestFieldMapping(t *testing.T) {
	const doc = `{"source":{"ip":"192.0.2.0"},"user":{"name":"anonymous"},"cloud":{"account":{"id":"987654321012"}}}`
	base := func(t *testing.T) map[string]any { return jsonMap(t, doc) }
	set := func(m map[string]any, path string, v any) map[string]any {
		parts := strings.Split(path, ".")
		cur := m
		for _, p := range parts[:len(parts)-1] {
			next, ok := cur[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[p] = next
			}
			cur = next
		}
		cur[parts[len(parts)-1]] = v
		return m
	}
	ip, name, id := []string{"192.0.2.0"}, []string{"anonymous"}, []string{"987654321012"}
	tests := []struct {
		name   string
		add    func(l *batchLookups, w warnFunc)
		want   func(t *testing.T) map[string]any
		warned []string // kinds reported
	}{
		{"ptr name", func(l *batchLookups, w warnFunc) {
			l.addDomains(ip, []enrich.Result{ok("c-192-0-2-0.hsd1.ca.comcast.net")}, w)
		},
			func(t *testing.T) map[string]any {
				return set(base(t), "source.domain", "c-192-0-2-0.hsd1.ca.comcast.net")
			}, nil},
		{"ptr nxdomain: no source.domain", func(l *batchLookups, w warnFunc) { l.addDomains(ip, []enrich.Result{notFound}, w) }, base, nil},
		{"ptr timeout: no source.domain, reported", func(l *batchLookups, w warnFunc) { l.addDomains(ip, []enrich.Result{failed}, w) }, base, []string{"dns"}},
		{"ptr empty answer", func(l *batchLookups, w warnFunc) { l.addDomains(ip, []enrich.Result{ok("")}, w) }, base, nil},
		{"asn", func(l *batchLookups, w warnFunc) {
			l.addASNs(ip, []enrich.ASNResult{{Result: ok("{}"), Number: 7922, Organization: "Comcast Cable Communications, LLC"}}, w)
		}, func(t *testing.T) map[string]any {
			m := set(base(t), "source.as.number", float64(7922))
			return set(m, "source.as.organization.name", "Comcast Cable Communications, LLC")
		}, nil},
		{"asn without organization", func(l *batchLookups, w warnFunc) {
			l.addASNs(ip, []enrich.ASNResult{{Result: ok("{}"), Number: 64496}}, w)
		}, func(t *testing.T) map[string]any { return set(base(t), "source.as.number", float64(64496)) }, nil},
		{"asn record without a number", func(l *batchLookups, w warnFunc) {
			l.addASNs(ip, []enrich.ASNResult{{Result: ok("{}"), Organization: "x"}}, w)
		}, base, nil},
		{"asn not in the database", func(l *batchLookups, w warnFunc) { l.addASNs(ip, []enrich.ASNResult{{Result: notFound}}, w) }, base, nil},
		{"asn database not granted: reported", func(l *batchLookups, w warnFunc) { l.addASNs(ip, []enrich.ASNResult{{Result: denied}}, w) }, base, []string{"asn"}},
		{"account name", func(l *batchLookups, w warnFunc) {
			l.addAccounts(id, []enrich.Result{ok(`{"account_id":"987654321012","name":"Development"}`)}, w)
		}, func(t *testing.T) map[string]any { return set(base(t), "cloud.account.name", "Development") }, nil},
		{"account item without a name", func(l *batchLookups, w warnFunc) {
			l.addAccounts(id, []enrich.Result{ok(`{"account_id":"987654321012"}`)}, w)
		}, base, nil},
		{"account item not JSON", func(l *batchLookups, w warnFunc) { l.addAccounts(id, []enrich.Result{ok(`{`)}, w) }, base, nil},
		{"account not found", func(l *batchLookups, w warnFunc) { l.addAccounts(id, []enrich.Result{notFound}, w) }, base, nil},
		{"accounts table throttled: reported", func(l *batchLookups, w warnFunc) { l.addAccounts(id, []enrich.Result{failed}, w) }, base, []string{"accounts"}},
		{"account names from the settings", func(l *batchLookups, _ warnFunc) {
			l.addAccountNames([]string{"987654321012", "1"}, map[string]string{"987654321012": "Dev", "2": "x"})
		}, func(t *testing.T) map[string]any { return set(base(t), "cloud.account.name", "Dev") }, nil},
		{"users join", func(l *batchLookups, w warnFunc) {
			l.addUsers(name, []enrich.Result{ok(`{"user_name":"anonymous","full_name":"Jane Doe","roles":["admin","security"]}`)}, w)
		}, func(t *testing.T) map[string]any {
			m := set(base(t), "user.full_name", "Jane Doe")
			return set(m, "user.roles", []any{"admin", "security"})
		}, nil},
		{"user with roles only", func(l *batchLookups, w warnFunc) {
			l.addUsers(name, []enrich.Result{ok(`{"user_name":"anonymous","roles":[]}`)}, w)
		}, func(t *testing.T) map[string]any { return set(base(t), "user.roles", []any{}) }, nil},
		{"user roles not an array", func(l *batchLookups, w warnFunc) {
			l.addUsers(name, []enrich.Result{ok(`{"full_name":"Jane Doe","roles":"admin"}`)}, w)
		}, func(t *testing.T) map[string]any { return set(base(t), "user.full_name", "Jane Doe") }, nil},
		{"user item with neither", func(l *batchLookups, w warnFunc) {
			l.addUsers(name, []enrich.Result{ok(`{"user_name":"anonymous"}`)}, w)
		}, base, nil},
		{"user not found", func(l *batchLookups, w warnFunc) { l.addUsers(name, []enrich.Result{notFound}, w) }, base, nil},
		{"users table error: reported", func(l *batchLookups, w warnFunc) { l.addUsers(name, []enrich.Result{failed}, w) }, base, []string{"users"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLookups()
			var warned []string
			tc.add(l, func(kind string, r enrich.Result) {
				if r.Err != nil {
					warned = append(warned, kind)
				}
			})
			if got, want := applyTo(t, l, doc), tc.want(t); !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Errorf("document\n got %s\nwant %s", g, w)
			}
			if !reflect.DeepEqual(warned, tc.warned) {
				t.Errorf("reported %v, want %v", warned, tc.warned)
			}
		})
	}
}

// host serves the SDK's calls natively with weir's own host functions,
// granted the reference example's capabilities, except for the functions
// in fail, answered with their own responses.
type host struct {
	env  *hostenrich.Env
	fail map[string]func(env *hostenrich.Env, req []byte) []byte
}

func newHost(t *testing.T) *host {
	t.Helper()
	env, err := hostenrich.New(engine.Capabilities{
		DNS: &engine.DNSCapability{Static: filepath.Join(fixtures, "ptr.json")},
		Tables: map[string]engine.TableFile{
			"users":    {File: filepath.Join(fixtures, "users.json"), Key: "user_name"},
			"accounts": {File: filepath.Join(fixtures, "accounts.json"), Key: "account_id"},
		},
		MMDB: map[string]string{"asn": filepath.Join(fixtures, "asn.mmdb")},
	}, hostenrich.Options{Stage: "ecs-enrich-test"})
	if err != nil {
		t.Fatal(err)
	}
	h := &host{env: env, fail: map[string]func(*hostenrich.Env, []byte) []byte{}}
	enrich.SetHost(func(fn string, req []byte) []byte {
		if f, ok := h.fail[fn]; ok {
			return f(env, req)
		}
		return env.Call(context.Background(), fn, req)
	})
	t.Cleanup(func() { enrich.SetHost(nil) })
	return h
}

// perKey answers each key of a request (a DNS name, an IP address, a
// table key's JSON) with answer(key).
func perKey(answer func(key string) hostenrich.Result) func([]byte) []byte {
	return func(req []byte) []byte {
		var r struct {
			Names []string          `json:"names"`
			IPs   []string          `json:"ips"`
			Keys  []json.RawMessage `json:"keys"`
		}
		_ = json.Unmarshal(req, &r)
		keys := append(r.Names, r.IPs...)
		for _, k := range r.Keys {
			keys = append(keys, string(k))
		}
		rs := make([]hostenrich.Result, len(keys))
		for i, k := range keys {
			rs[i] = answer(k)
		}
		return hostenrich.AppendResults(nil, rs)
	}
}

// runBatch transforms docs (ECS documents) with the module as weir's host
// would (views of its paths, host-applied operations) and returns each
// record's document, or its failure as {"failed": message}.
func runBatch(t *testing.T, docs ...string) []map[string]any {
	t.Helper()
	w := frame.NewInput(nil, frame.FlagViews|frame.FlagHostOps, paths)
	for i, d := range docs {
		w.AddRecord([]byte(d), "pk", "seq", uint64(i), 0, "test")
		v := fastjson.MustParse(d)
		for _, p := range paths {
			w.AddValue(v.Get(frame.SplitPath(p)...))
		}
	}
	or, err := frame.ReadOutput(weir.Batch(w.Finish()), len(docs))
	if err != nil {
		t.Fatalf("output frame: %v", err)
	}
	var a frame.Applier
	var rec frame.OutRecord
	var out []map[string]any
	for i := 0; or.More(); i++ {
		if err := or.Next(&rec); err != nil {
			t.Fatal(err)
		}
		if rec.Status != frame.StatusOK || len(rec.Outputs) != 1 {
			out = append(out, map[string]any{"failed": string(rec.Message)})
			continue
		}
		o := rec.Outputs[0]
		b, err := a.Apply(nil, o.Kind, o.Body, []byte(docs[i]), nil)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		out = append(out, jsonMap(t, string(b)))
	}
	return out
}

// TestBatch runs whole batches through the module's Prepare and handler
// against weir's host functions, some of them failing: a failed lookup
// leaves its fields out of the records it concerns, fails no record, and
// is reported once per kind and batch.
func TestBatch(t *testing.T) {
	const (
		ref     = `{"source":{"ip":"192.0.2.0"},"user":{"name":"anonymous"},"cloud":{"account":{"id":"987654321012"}}}`
		other   = `{"source":{"ip":"198.51.100.7"},"user":{"name":"jdoe"},"cloud":{"account":{"id":"123456789012"}}}`
		unknown = `{"source":{"ip":"203.0.113.9"},"user":{"name":"nobody"},"cloud":{"account":{"id":"1"}}}`
		bare    = `{"event":{"action":"x"}}`
	)
	refFull := `{"source":{"ip":"192.0.2.0","domain":"c-192-0-2-0.hsd1.ca.comcast.net","as":{"number":7922,"organization":{"name":"Comcast Cable Communications, LLC"}}},` +
		`"user":{"name":"anonymous","full_name":"Jane Doe","roles":["admin","security"]},"cloud":{"account":{"id":"987654321012","name":"Development"}}}`
	otherFull := `{"source":{"ip":"198.51.100.7","as":{"number":64496,"organization":{"name":"Documentation AS"}}},` +
		`"user":{"name":"jdoe","full_name":"John Doe","roles":["developer"]},"cloud":{"account":{"id":"123456789012","name":"Production"}}}`
	tests := []struct {
		name     string
		fail     map[string]func(*hostenrich.Env, []byte) []byte
		settings map[string]string
		docs     []string
		want     []string
		warnings []string // substrings, one per warning
	}{
		{name: "reference job", docs: []string{ref, other, unknown, bare, ref}, want: []string{refFull, otherFull, unknown, bare, refFull}},
		{
			name: "dns denied: no source.domain",
			fail: map[string]func(*hostenrich.Env, []byte) []byte{enrich.FuncDNS: func(*hostenrich.Env, []byte) []byte {
				return hostenrich.AppendCallError(nil, hostenrich.CallDenied, "weir_dns denied")
			}},
			docs:     []string{ref, ref},
			want:     []string{strings.Replace(refFull, `"domain":"c-192-0-2-0.hsd1.ca.comcast.net",`, "", 1), strings.Replace(refFull, `"domain":"c-192-0-2-0.hsd1.ca.comcast.net",`, "", 1)},
			warnings: []string{"dns lookup: weir_dns denied"},
		},
		{
			name: "users lookup error for one key: that user's fields only",
			fail: map[string]func(*hostenrich.Env, []byte) []byte{enrich.FuncDynamoDB: func(env *hostenrich.Env, req []byte) []byte {
				if !strings.Contains(string(req), `"users"`) {
					return env.Call(context.Background(), enrich.FuncDynamoDB, req)
				}
				return perKey(func(k string) hostenrich.Result {
					if strings.Contains(k, "jdoe") {
						return hostenrich.Result{Status: hostenrich.StatusError, Value: []byte("ProvisionedThroughputExceededException")}
					}
					return hostenrich.Result{Status: hostenrich.StatusOK, Value: []byte(`{"full_name":"Jane Doe","roles":["admin","security"]}`)}
				})(req)
			}},
			docs: []string{other, ref},
			want: []string{strings.Replace(otherFull, `,"full_name":"John Doe","roles":["developer"]`, "", 1), refFull},
			warnings: []string{
				"users lookup: ProvisionedThroughputExceededException",
			},
		},
		{
			name: "corrupt mmdb response: no source.as",
			fail: map[string]func(*hostenrich.Env, []byte) []byte{enrich.FuncMMDB: func(*hostenrich.Env, []byte) []byte { return []byte{0, 9, 0, 0, 0} }},
			docs: []string{ref},
			want: []string{strings.Replace(refFull, `,"as":{"number":7922,"organization":{"name":"Comcast Cable Communications, LLC"}}`, "", 1)},
			warnings: []string{
				"asn lookup: enrich: weir_mmdb: corrupt response",
			},
		},
		{
			name:     "account names from the settings",
			settings: map[string]string{"account_names": "987654321012=Dev, 1=One"},
			docs:     []string{ref, unknown},
			want: []string{strings.Replace(refFull, `"name":"Development"`, `"name":"Dev"`, 1),
				strings.Replace(unknown, `"id":"1"`, `"id":"1","name":"One"`, 1)},
		},
		{
			name:     "dns off",
			settings: map[string]string{"dns": "false"},
			docs:     []string{ref},
			want:     []string{strings.Replace(refFull, `"domain":"c-192-0-2-0.hsd1.ca.comcast.net",`, "", 1)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t)
			for fn, f := range tc.fail {
				h.fail[fn] = f
			}
			for k, v := range tc.settings {
				t.Setenv("WEIR_CONFIG_"+k, v)
			}
			cfg = nil // read the settings again
			t.Cleanup(func() { cfg = nil })
			var warnings []string
			logWarn = func(msg string) { warnings = append(warnings, msg) }
			t.Cleanup(func() { logWarn = weir.LogWarn })

			got := runBatch(t, tc.docs...)
			for i, w := range tc.want {
				if want := jsonMap(t, w); !reflect.DeepEqual(got[i], want) {
					g, _ := json.Marshal(got[i])
					t.Errorf("record %d\n got %s\nwant %s", i, g, w)
				}
			}
			if len(warnings) != len(tc.warnings) {
				t.Fatalf("warnings %q, want %d matching %q", warnings, len(tc.warnings), tc.warnings)
			}
			for i, w := range tc.warnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %q, want %q", warnings[i], w)
				}
			}
		})
	}
}
