package enrich

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/weirhq/weir/engine"
)

// countingDNS serves A answers (192.0.2.1) on 127.0.0.1 and counts the
// queries it gets.
func countingDNS(tb testing.TB) (string, *atomic.Int64) {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var n atomic.Int64
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		n.Add(1)
		m := new(dns.Msg)
		m.SetReply(q)
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 1)})
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	tb.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String(), &n
}

func mustEnv(tb testing.TB, caps engine.Capabilities, stage string) *Env {
	tb.Helper()
	env, err := New(caps, Options{Stage: stage})
	if err != nil {
		tb.Fatal(err)
	}
	return env
}

// TestSharedCaches checks which Envs share a cache, a client or a
// reader: the same configuration shares, any difference that changes an
// answer does not.
func TestSharedCaches(t *testing.T) {
	dir := t.TempDir()
	asn := filepath.Join(dir, "asn.mmdb")
	if err := os.WriteFile(asn, buildASN(t), 0o644); err != nil {
		t.Fatal(err)
	}
	dnsCaps := func(resolver string, ttl time.Duration, concurrency int) engine.Capabilities {
		return engine.Capabilities{DNS: &engine.DNSCapability{Resolver: resolver, CacheTTL: engine.Duration(ttl), Concurrency: concurrency}}
	}
	ddbCaps := func(endpoint string, ttl time.Duration, tables ...string) engine.Capabilities {
		return engine.Capabilities{DynamoDB: &engine.DynamoDBCapability{Tables: tables, Endpoint: endpoint, Region: "us-east-1", CacheTTL: engine.Duration(ttl)}}
	}
	httpCaps := func(hosts ...string) engine.Capabilities {
		return engine.Capabilities{HTTP: &engine.HTTPCapability{AllowHosts: hosts, CacheTTL: engine.Duration(time.Minute)}}
	}
	kvCaps := func(max int) engine.Capabilities {
		return engine.Capabilities{Cache: &engine.CacheCapability{MaxEntries: max}}
	}
	dnsCache := func(e *Env) any { return e.dns.spec.cache }
	ddbCache := func(e *Env) any { return e.ddb.spec.cache }
	ddbClient := func(e *Env) any { return e.ddb.client }
	httpClient := func(e *Env) any { return e.http.httpClient }
	kvCache := func(e *Env) any { return e.kv.mem }
	mmdb := func(e *Env) any { return e.mmdb["asn"] }

	tests := []struct {
		name   string
		a, b   engine.Capabilities
		stageA string
		stageB string
		part   func(*Env) any
		shared bool
	}{
		{"dns: same resolver and TTLs", dnsCaps("127.0.0.1:5301", time.Minute, 4), dnsCaps("127.0.0.1:5301", time.Minute, 64), "a", "b", dnsCache, true},
		{"dns: another resolver", dnsCaps("127.0.0.1:5301", time.Minute, 0), dnsCaps("127.0.0.1:5302", time.Minute, 0), "a", "a", dnsCache, false},
		{"dns: another TTL", dnsCaps("127.0.0.1:5301", time.Minute, 0), dnsCaps("127.0.0.1:5301", time.Hour, 0), "a", "a", dnsCache, false},
		{"dynamodb: same endpoint, other tables", ddbCaps("http://127.0.0.1:1", time.Minute, "users"), ddbCaps("http://127.0.0.1:1", time.Minute, "accounts"), "a", "b", ddbCache, true},
		{"dynamodb: another TTL shares the client", ddbCaps("http://127.0.0.1:1", time.Minute, "t"), ddbCaps("http://127.0.0.1:1", time.Hour, "t"), "a", "a", ddbClient, true},
		{"dynamodb: another TTL, another cache", ddbCaps("http://127.0.0.1:1", time.Minute, "t"), ddbCaps("http://127.0.0.1:1", time.Hour, "t"), "a", "a", ddbCache, false},
		{"dynamodb: another endpoint", ddbCaps("http://127.0.0.1:1", time.Minute, "t"), ddbCaps("http://127.0.0.1:2", time.Minute, "t"), "a", "a", ddbClient, false},
		{"http: same capability", httpCaps("example.com"), httpCaps("example.com"), "a", "b", httpClient, true},
		{"http: another allow-list", httpCaps("example.com"), httpCaps("example.org"), "a", "a", httpClient, false},
		{"memory cache: same stage (a new version)", kvCaps(10), kvCaps(10), "s", "s", kvCache, true},
		{"memory cache: another stage", kvCaps(10), kvCaps(10), "s", "t", kvCache, false},
		{"mmdb: same file", engine.Capabilities{MMDB: map[string]string{"asn": asn}}, engine.Capabilities{MMDB: map[string]string{"asn": "file://" + asn}}, "a", "b", mmdb, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := mustEnv(t, tc.a, tc.stageA), mustEnv(t, tc.b, tc.stageB)
			pa, pb := tc.part(a), tc.part(b)
			if pa == nil || pb == nil {
				t.Fatal("nil part")
			}
			if got := pa == pb; got != tc.shared {
				t.Fatalf("shared = %v, want %v", got, tc.shared)
			}
		})
	}

	t.Run("mmdb: a replaced file is loaded again", func(t *testing.T) {
		a := mustEnv(t, engine.Capabilities{MMDB: map[string]string{"asn": asn}}, "a")
		later := time.Now().Add(time.Minute)
		if err := os.Chtimes(asn, later, later); err != nil {
			t.Fatal(err)
		}
		b := mustEnv(t, engine.Capabilities{MMDB: map[string]string{"asn": asn}}, "a")
		if a.mmdb["asn"] == b.mmdb["asn"] {
			t.Fatal("the new version of the file shares the old reader")
		}
	})
}

// TestSharedDNSCacheWarm checks the behaviour sharing is for: a second
// stage, and the new version of a hot-swapped stage, answer from the
// entries the first one cached, without a query; once no Env uses the
// cache it is released.
func TestSharedDNSCacheWarm(t *testing.T) {
	addr, queries := countingDNS(t)
	caps := engine.Capabilities{DNS: &engine.DNSCapability{Resolver: addr, CacheTTL: engine.Duration(time.Hour)}}
	ctx := context.Background()
	req := dnsReq("A", "a.test", "b.test", "c.test", "a.test")

	// The old version and another stage warm the cache; the new version
	// of the hot-swapped stage is built while they serve, then they are
	// dropped.
	var next *Env
	func() {
		old := mustEnv(t, caps, "enrich")
		results(t, old.Call(ctx, FuncDNS, req))
		if n := queries.Load(); n != 3 {
			t.Fatalf("%d queries, want 3", n)
		}
		other := mustEnv(t, caps, "another-stage")
		results(t, other.Call(ctx, FuncDNS, req))
		if n := queries.Load(); n != 3 {
			t.Fatalf("another stage made %d queries, want 0", n-3)
		}
		if st := other.Stats()[FuncDNS]; st.CacheHits != 3 || st.CacheMisses != 0 {
			t.Fatalf("another stage's stats %+v: its counters are its own, its answers from the shared cache", st)
		}
		next = mustEnv(t, caps, "enrich")
	}()
	runtime.GC()
	key := configKey("dns", addr, durKey(time.Hour), durKey(time.Minute), "0")
	func() {
		rs := results(t, next.Call(ctx, FuncDNS, req))
		if n := queries.Load(); n != 3 || rs[0].Status != StatusOK || firstString(rs[0].Value) != "192.0.2.1" {
			t.Fatalf("the new version made %d queries (want 0): %+v", n-3, rs)
		}
		if !sharedCaches.has(key) {
			t.Fatalf("no shared cache under %q", key)
		}
		next = nil // the new version is dropped in turn
	}()

	// Released once no Env holds it.
	deadline := time.Now().Add(5 * time.Second)
	for sharedCaches.has(key) {
		if time.Now().After(deadline) {
			t.Fatal("the cache no Env uses was not released")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSharedReleased checks that what no Env uses any more is released:
// the registries hold weak references only.
func TestSharedReleased(t *testing.T) {
	asn := filepath.Join(t.TempDir(), "asn.mmdb")
	if err := os.WriteFile(asn, buildASN(t), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(asn)
	if err != nil {
		t.Fatal(err)
	}
	httpCap := engine.HTTPCapability{AllowHosts: []string{"released.example"}}
	httpKey, _ := json.Marshal(httpCap)
	tests := []struct {
		name string
		caps engine.Capabilities
		has  func() bool
	}{
		{"http client", engine.Capabilities{HTTP: &httpCap}, func() bool { return sharedHTTP.has(string(httpKey)) }},
		{"dynamodb client", engine.Capabilities{DynamoDB: &engine.DynamoDBCapability{Tables: []string{"t"}, Endpoint: "http://127.0.0.1:9", Region: "released-1"}},
			func() bool { return sharedClients.has(configKey("dynamodb", "released-1", "http://127.0.0.1:9", "")) }},
		{"mmdb reader", engine.Capabilities{MMDB: map[string]string{"asn": asn}}, func() bool { return sharedMMDB.has(fileVersion(asn, fi)) }},
		{"memory cache", engine.Capabilities{Cache: &engine.CacheCapability{MaxEntries: 7}}, func() bool { return sharedCaches.has(configKey("kv", "released", "7")) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			func() {
				env := mustEnv(t, tc.caps, "released")
				if !tc.has() {
					t.Fatal("not in the registry while an Env uses it")
				}
				runtime.KeepAlive(env)
			}()
			deadline := time.Now().Add(5 * time.Second)
			for tc.has() {
				if time.Now().After(deadline) {
					t.Fatal("not released once no Env uses it")
				}
				runtime.GC()
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
