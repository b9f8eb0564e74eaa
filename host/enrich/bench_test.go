package enrich_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host"
	"github.com/weirhq/weir/host/enrich"
	"github.com/weirhq/weir/host/hosttest"
)

// slowDNS serves PTR answers on 127.0.0.1 after delay (each query in its
// own goroutine, as miekg/dns servers do).
func slowDNS(tb testing.TB, delay time.Duration) string {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		time.Sleep(delay)
		m := new(dns.Msg)
		m.SetReply(q)
		name := q.Question[0].Name
		m.Answer = append(m.Answer, &dns.PTR{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 60}, Ptr: "host-" + name})
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	tb.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// batchKeys is a 1,000-record batch's source IPs: 200 distinct.
func batchKeys() []string {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("198.51.%d.%d", (i%200)/100, (i%200)%100+1)
	}
	return keys
}

func ptrReq(names ...string) []byte {
	b, _ := json.Marshal(map[string]any{"type": "PTR", "names": names})
	return b
}

const concurrency = 32

func dnsEnv(tb testing.TB, addr string, cacheTTL time.Duration) *enrich.Env {
	tb.Helper()
	env, err := enrich.New(engine.Capabilities{DNS: &engine.DNSCapability{
		Resolver: addr, Timeout: engine.Duration(2 * time.Second), Concurrency: concurrency,
		CacheTTL: engine.Duration(cacheTTL), NegativeTTL: engine.Duration(cacheTTL),
	}}, enrich.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return env
}

func mustOK(tb testing.TB, resp []byte, n int) {
	tb.Helper()
	if resp[0] != enrich.CallOK {
		tb.Fatalf("call failed: %q", resp)
	}
	// Every result must be ok: status bytes follow the 5-byte header.
	off := 5
	for i := range n {
		if resp[off] != enrich.StatusOK {
			tb.Fatalf("key %d: status %d", i, resp[off])
		}
		l := int(resp[off+1]) | int(resp[off+2])<<8 | int(resp[off+3])<<16 | int(resp[off+4])<<24
		off += 5 + l
	}
}

// TestDNSBatchTargets checks the targets on a resolver answering
// after 20 ms: the batched lookup of a 1,000-record batch (200 distinct
// IPs) within 2 × 200/concurrency × 20 ms, and within 1 ms with a warm
// cache. One-at-a-time lookups are measured on 25 records.
func TestDNSBatchTargets(t *testing.T) {
	addr := slowDNS(t, 20*time.Millisecond)
	keys := batchKeys()
	ctx := context.Background()

	env := dnsEnv(t, addr, -1) // no cache
	start := time.Now()
	for _, k := range keys[:25] {
		mustOK(t, env.Call(ctx, enrich.FuncDNS, ptrReq(k)), 1)
	}
	perRecord := time.Since(start) / 25

	env = dnsEnv(t, addr, time.Minute)
	start = time.Now()
	mustOK(t, env.Call(ctx, enrich.FuncDNS, ptrReq(keys...)), len(keys))
	batched := time.Since(start)
	start = time.Now()
	const warmRuns = 20
	req := ptrReq(keys...)
	for range warmRuns {
		env.Call(ctx, enrich.FuncDNS, req)
	}
	warm := time.Since(start) / warmRuns
	target := 2 * 200 / concurrency * 20 * time.Millisecond
	t.Logf("one at a time: %s per record (%s for 1,000 records); batched: %s (target %s); warm cache: %s (target 1ms)",
		perRecord, 1000*perRecord, batched, target, warm)
	if batched > target {
		t.Errorf("batched lookup took %s, want <= %s", batched, target)
	}
	if warm > time.Millisecond && os.Getenv("WEIR_STRICT_TIMING") != "" {
		t.Errorf("warm lookup took %s, want <= 1ms", warm)
	}
}

func BenchmarkDNSBatched(b *testing.B) {
	addr := slowDNS(b, 20*time.Millisecond)
	keys := batchKeys()
	req := ptrReq(keys...)
	for b.Loop() {
		env := dnsEnv(b, addr, -1)
		mustOK(b, env.Call(context.Background(), enrich.FuncDNS, req), len(keys))
	}
}

func BenchmarkDNSWarm(b *testing.B) {
	addr := slowDNS(b, 20*time.Millisecond)
	keys := batchKeys()
	req := ptrReq(keys...)
	env := dnsEnv(b, addr, time.Hour)
	mustOK(b, env.Call(context.Background(), enrich.FuncDNS, req), len(keys))
	for b.Loop() {
		env.Call(context.Background(), enrich.FuncDNS, req)
	}
}

// BenchmarkWasmCachedLookup measures one cached reverse-DNS host call made
// from a Go module (request built and stored in kernel memory, host call,
// response read back), as the difference between a batch making 10
// lookups per record and one making none, divided by the lookups.
func BenchmarkWasmCachedLookup(b *testing.B) {
	ctx := context.Background()
	wasm, err := os.ReadFile(hosttest.GoModule(b, "host/enrich/testdata/lookup"))
	if err != nil {
		b.Fatal(err)
	}
	h, err := host.New(ctx, host.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(ctx)
	static := b.TempDir() + "/ptr.json"
	if err := os.WriteFile(static, []byte(`{"PTR":{"192.0.2.0":["c-192-0-2-0.hsd1.ca.comcast.net."]}}`), 0o644); err != nil {
		b.Fatal(err)
	}
	recs := make([]engine.Record, 1000)
	for i := range recs {
		recs[i].Data = []byte("192.0.2.0")
	}
	run := func(lookups int) time.Duration {
		st, err := h.LoadModule(ctx, "lookup", wasm, engine.StageConfig{
			Instances: 1, Config: map[string]string{"lookups": fmt.Sprint(lookups)},
			Capabilities: engine.Capabilities{DNS: &engine.DNSCapability{Static: static}},
		})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close(ctx)
		if _, err := st.Process(ctx, recs); err != nil { // warm up
			b.Fatal(err)
		}
		start := time.Now()
		const runs = 5
		for range runs {
			if _, err := st.Process(ctx, recs); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start) / runs
	}
	for b.Loop() {
		base, with := run(0), run(10)
		per := (with - base) / (10 * time.Duration(len(recs)))
		b.ReportMetric(float64(per.Nanoseconds()), "ns/lookup")
	}
}
