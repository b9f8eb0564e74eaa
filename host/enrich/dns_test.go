package enrich

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/enrich/enrichtest"
)

func dnsReq(typ string, names ...string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "names": names})
	return b
}

func TestDNSDnsmasq(t *testing.T) {
	addr := enrichtest.Dnsmasq(t, enrichtest.ReferenceDNS...)
	env, err := New(engine.Capabilities{DNS: &engine.DNSCapability{Resolver: addr, Timeout: engine.Duration(time.Second)}}, Options{Stage: "t"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name, typ, key string
		status         byte
		want           string // first answer, or a substring of the error
	}{
		{"ptr", "PTR", "192.0.2.0", StatusOK, "c-192-0-2-0.hsd1.ca.comcast.net"},
		{"ptr nxdomain", "PTR", "192.0.2.77", StatusNotFound, ""},
		{"a", "A", "host.test", StatusOK, "192.0.2.10"},
		{"txt", "TXT", "txt.test", StatusOK, "v=spf1 -all"},
		{"a nxdomain", "A", "nx.test", StatusNotFound, ""},
		{"ptr of a non-ip", "PTR", "not-an-ip", StatusError, "not an IP address"},
		{"a of a non-domain", "A", "a..b", StatusError, "not a domain name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := results(t, env.Call(ctx, FuncDNS, dnsReq(tc.typ, tc.key)))
			if len(rs) != 1 || rs[0].Status != tc.status {
				t.Fatalf("got %+v, want status %d", rs, tc.status)
			}
			switch tc.status {
			case StatusOK:
				if got := firstString(rs[0].Value); got != tc.want {
					t.Fatalf("answer %q, want %q", got, tc.want)
				}
			case StatusError:
				if !strings.Contains(string(rs[0].Value), tc.want) {
					t.Fatalf("error %q, want %q", rs[0].Value, tc.want)
				}
			}
		})
	}

	t.Run("batch with duplicates and bad keys, then cached", func(t *testing.T) {
		keys := []string{"192.0.2.0", "bogus", "192.0.2.0", "192.0.2.77", "192.0.2.0"}
		rs := results(t, env.Call(ctx, FuncDNS, dnsReq("PTR", keys...)))
		want := []byte{StatusOK, StatusError, StatusOK, StatusNotFound, StatusOK}
		for i, r := range rs {
			if r.Status != want[i] {
				t.Fatalf("key %d (%s): status %d, want %d", i, keys[i], r.Status, want[i])
			}
		}
		before := env.Stats()[FuncDNS]
		results(t, env.Call(ctx, FuncDNS, dnsReq("PTR", keys...)))
		after := env.Stats()[FuncDNS]
		// 192.0.2.0 and the negative 192.0.2.77 come from the cache; the
		// bad key is not cached.
		if hits := after.CacheHits - before.CacheHits; hits != 2 {
			t.Fatalf("%d cache hits on the second call, want 2 (%+v)", hits, after)
		}
	})
}

// TestDNSTimeout sends 6 PTR queries to a server that never answers,
// with a 200 ms timeout: each fails with a timeout error, and the call
// takes about one timeout, not six (serial lookups would take 1.2 s). The
// serial case (Concurrency 1) runs too, to show the bound tells the two
// apart on this machine.
func TestDNSTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	keys := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6"}
	serial := time.Duration(len(keys)) * timeout
	silent := enrichtest.SilentDNS(t)
	for _, tc := range []struct {
		name        string
		concurrency int // 0: the default (32)
		min, max    time.Duration
	}{
		// Concurrent: one timeout, with room for a loaded machine, but
		// well under the serial time.
		{"concurrent", 0, timeout, serial / 2},
		// Serial: every lookup waits its own timeout.
		{"serial", 1, serial, 10 * serial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, err := New(engine.Capabilities{DNS: &engine.DNSCapability{Resolver: silent, Timeout: engine.Duration(timeout), Concurrency: tc.concurrency}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			rs := results(t, env.Call(context.Background(), FuncDNS, dnsReq("PTR", keys...)))
			d := time.Since(start)
			if d < tc.min || d > tc.max {
				t.Fatalf("%d lookups took %s, want between %s and %s (timeout %s)", len(keys), d, tc.min, tc.max, timeout)
			}
			if len(rs) != len(keys) {
				t.Fatalf("%d results for %d keys", len(rs), len(keys))
			}
			for _, r := range rs {
				if r.Status != StatusError || !strings.Contains(string(r.Value), "timeout") {
					t.Fatalf("got %d %q, want a timeout error", r.Status, r.Value)
				}
			}
		})
	}
}

func TestDNSStatic(t *testing.T) {
	env, err := New(engine.Capabilities{DNS: &engine.DNSCapability{Static: "../../examples/cloudtrail-ecs/fixtures/ptr.json"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rs := results(t, env.Call(context.Background(), FuncDNS, dnsReq("PTR", "192.0.2.0", "198.51.100.1", "x")))
	if rs[0].Status != StatusOK || firstString(rs[0].Value) != "c-192-0-2-0.hsd1.ca.comcast.net" || rs[1].Status != StatusNotFound || rs[2].Status != StatusError {
		t.Fatalf("got %+v", rs)
	}
}

func TestDenied(t *testing.T) {
	env, err := New(engine.Capabilities{Tables: map[string]engine.TableFile{"users": {File: "../../examples/cloudtrail-ecs/fixtures/users.json", Key: "user_name"}}}, Options{Stage: "s"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, fn := range []string{FuncDNS, FuncHTTP, FuncCache, FuncMMDB} {
		resp := env.Call(ctx, fn, []byte(`{}`))
		if resp[0] != CallDenied || !strings.Contains(string(resp[5:]), "capabilities") {
			t.Fatalf("%s: %q, want a denial", fn, resp)
		}
		if env.Stats()[fn].Denied != 1 {
			t.Fatalf("%s: denial not counted: %+v", fn, env.Stats()[fn])
		}
	}
	// A table not granted: denied per key.
	rs := results(t, env.Call(ctx, FuncDynamoDB, []byte(`{"op":"get","table":"accounts","keys":[{"account_id":"1"}]}`)))
	if rs[0].Status != StatusDenied {
		t.Fatalf("got %+v", rs)
	}
	// Malformed requests are call errors, never panics.
	for _, req := range []string{``, `{`, `[]`, `{"op":"nope"}`, `{"op":"get","table":"users","keys":[1,"x",{}]}`} {
		resp := env.Call(ctx, FuncDynamoDB, []byte(req))
		if len(resp) < 5 {
			t.Fatalf("%q: short response", req)
		}
	}
	rs = results(t, env.Call(ctx, FuncDynamoDB, []byte(`{"op":"get","table":"users","keys":[1,{"user_name":"anonymous"},{"user_name":"nobody"}]}`)))
	if rs[0].Status != StatusError || rs[1].Status != StatusOK || rs[2].Status != StatusNotFound {
		t.Fatalf("got %+v", rs)
	}
	if !strings.Contains(string(rs[1].Value), `"full_name":"Jane Doe"`) {
		t.Fatalf("item %s", rs[1].Value)
	}
	var nilEnv *Env
	if resp := nilEnv.Call(ctx, FuncDNS, nil); resp[0] == CallOK {
		t.Fatal("a nil Env served a call")
	}
}
