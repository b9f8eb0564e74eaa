package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/kpl"
	"github.com/weirhq/weir/host/lambda"
	"github.com/weirhq/weir/host/sinks"
)

// Lambda pricing for the cost per GB (x86 and the first tier; arm64 is
// 20% cheaper).
const (
	lambdaMemoryMB   = 1769 // one full vCPU
	lambdaPricePerGB = 0.0000166667
	lambdaEventSize  = 10000
	kplMaxSize       = 51200 // the KPL's default AggregationMaxSize
)

// ctCorpus returns the CloudTrail records of the shared corpora, in
// compact JSON, whose size is between lo and hi bytes.
func ctCorpus(b testing.TB, lo, hi int) [][]byte {
	dir := filepath.Join(hosttest.SharedDir(b), "testdata", "cloudtrail")
	var files []string
	for _, pat := range []string{"stratus-red-team/*.json", "otrf/*.json", "panther/*.jsonl"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		files = append(files, m...)
	}
	var out [][]byte
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			b.Fatal(err)
		}
		recs, err := engine.DecodeRecords(fh, f)
		fh.Close()
		if err != nil {
			continue // a corpus file that is not records (a test table)
		}
		for _, r := range recs {
			// Compact, as CloudTrail records are on a stream (the
			// corpus files are pretty-printed).
			var c bytes.Buffer
			if json.Compact(&c, r.Data) != nil {
				continue
			}
			// CloudTrail events only: the panther file's lines wrap their
			// event in a test case ({"Log": {...}}); take the event out
			// (the wrapper is not a CloudTrail event, which the reference
			// module fails).
			var top map[string]json.RawMessage
			if json.Unmarshal(c.Bytes(), &top) != nil {
				continue
			}
			if log, ok := top["Log"]; ok {
				c.Reset()
				if json.Compact(&c, log) != nil || json.Unmarshal(c.Bytes(), &top) != nil {
					continue
				}
			}
			if _, ok := top["eventName"]; !ok {
				continue
			}
			if n := c.Len(); n >= lo && n <= hi {
				out = append(out, c.Bytes())
			}
		}
	}
	if len(out) < 20 {
		b.Fatalf("only %d CloudTrail records of %d-%d bytes in %s", len(out), lo, hi, dir)
	}
	return out
}

// kinesisLambdaEvent builds a Kinesis event of n user records cycled
// from corpus, KPL-aggregated the way the KPL does by default (51,200
// bytes per record). It returns the event and the user records' bytes.
func kinesisLambdaEvent(b testing.TB, corpus [][]byte, n int) ([]byte, int) {
	users := make([]kpl.UserRecord, n)
	size := 0
	for i := range users {
		users[i] = kpl.UserRecord{PartitionKey: fmt.Sprint("pk-", i%64), Data: corpus[i%len(corpus)]}
		size += len(users[i].Data)
	}
	agg, err := kpl.Aggregate(users, kplMaxSize)
	if err != nil {
		b.Fatal(err)
	}
	krs := make([]lambda.KinesisRecord, len(agg))
	for i, a := range agg {
		krs[i] = lambda.KinesisRecord{ShardID: "shardId-000000000000", SequenceNumber: fmt.Sprintf("4959033827149025660855969253836157109592157598913658%04d", i),
			PartitionKey: a.PartitionKey, Data: a.Data, ArrivalTime: time.Now()}
	}
	out, err := lambda.NewKinesisEvent("arn:aws:kinesis:us-east-1:123456789012:stream/in", krs)
	if err != nil {
		b.Fatal(err)
	}
	return out, size
}

// discardPortEnv, when set, makes the test binary a discard Kinesis
// server on that port (see TestMain and discardKinesis).
const discardPortEnv = "WEIR_BENCH_DISCARD_KINESIS_PORT"

func TestMain(m *testing.M) {
	if port := os.Getenv(discardPortEnv); port != "" {
		err := http.ListenAndServe("127.0.0.1:"+port, http.HandlerFunc(serveDiscard))
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// discardBufs holds request buffers of serveDiscard.
var discardBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// serveDiscard answers every PutRecords with success, without storing
// anything, in the request's wire format (CBOR or JSON).
func serveDiscard(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == discardCPUPath {
		// The server's own CPU time, for the benchmark's server-cpu metric.
		fmt.Fprint(w, int64(cpuTime()))
		return
	}
	body := discardBufs.Get().(*bytes.Buffer)
	defer discardBufs.Put(body)
	body.Reset()
	_, _ = body.ReadFrom(r.Body)
	if isCBORRequest(r) {
		recs, err := cborPutRecords(body.Bytes())
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		answerPutRecords(w, true, len(recs))
		return
	}
	answerPutRecords(w, false, bytes.Count(body.Bytes(), []byte(`"PartitionKey"`)))
}

// isCBORRequest reports whether r is an AWS CBOR 1.1 request.
func isCBORRequest(r *http.Request) bool {
	return r.Header.Get("Content-Type") == "application/x-amz-cbor-1.1"
}

// cborPutRecords returns the Data of every record of a CBOR PutRecords
// body (aliasing body), decoded by smithy-go's CBOR decoder.
func cborPutRecords(body []byte) ([][]byte, error) {
	v, err := cbor.Decode(body)
	if err != nil {
		return nil, fmt.Errorf("CBOR PutRecords body: %w", err)
	}
	m, _ := v.(cbor.Map)
	list, ok := m["Records"].(cbor.List)
	if !ok {
		return nil, fmt.Errorf("CBOR PutRecords body without Records: %T", v)
	}
	out := make([][]byte, len(list))
	for i, e := range list {
		rec, _ := e.(cbor.Map)
		data, ok := rec["Data"].(cbor.Slice)
		if _, pk := rec["PartitionKey"].(cbor.String); !ok || !pk {
			return nil, fmt.Errorf("CBOR PutRecords record %d: no Data byte string or PartitionKey", i)
		}
		out[i] = data
	}
	return out, nil
}

// answerPutRecords answers a PutRecords call of n records with success,
// in CBOR or JSON.
func answerPutRecords(w http.ResponseWriter, isCBOR bool, n int) {
	if isCBOR {
		recs := make(cbor.List, n)
		for i := range recs {
			recs[i] = cbor.Map{"SequenceNumber": cbor.String(strconv.Itoa(i)), "ShardId": cbor.String("shardId-000000000000")}
		}
		w.Header().Set("Content-Type", "application/x-amz-cbor-1.1")
		_, _ = w.Write(cbor.Encode(cbor.Map{"FailedRecordCount": cbor.Uint(0), "Records": recs}))
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	var sb strings.Builder
	sb.WriteString(`{"FailedRecordCount":0,"Records":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"SequenceNumber":"%d","ShardId":"shardId-000000000000"}`, i)
	}
	sb.WriteString("]}")
	_, _ = io.WriteString(w, sb.String())
}

// discardCPUPath answers the discard server's process CPU time in
// nanoseconds (0 where cpuTime is not measured).
const discardCPUPath = "/weir-bench/cpu"

// serverCPU returns the CPU time the discard server at endpoint has used.
func serverCPU(b testing.TB, endpoint string) time.Duration {
	resp, err := http.Get(endpoint + discardCPUPath)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var ns int64
	if _, err := fmt.Fscan(resp.Body, &ns); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ns)
}

// discardKinesis starts a loopback server answering every PutRecords with
// success, without storing anything, in another process (this test
// binary, see TestMain), as a real endpoint is: its work is not the
// handler's. The handler still aggregates and the SDK still encodes,
// signs and sends every byte.
func discardKinesis(b testing.TB) string {
	port := hosttest.FreePort(b)
	hosttest.StartProcess(b, []string{fmt.Sprintf("%s=%d", discardPortEnv, port)}, os.Args[0])
	hosttest.WaitPort(b, port, 10*time.Second)
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// BenchmarkLambdaKinesis runs a 10,000-record KPL-aggregated Kinesis
// event of ~1.5 KB CloudTrail records through the Lambda handler in
// process: decode (base64, KPL, MD5), the cloudtrail-ecs pipeline (one
// instance per CPU: GOMAXPROCS), and the Kinesis output (KPL aggregation,
// PutRecords, over AWS CBOR 1.1, the output's default) to kinesalite on
// loopback, or to a loopback server that discards. The discard run also
// times, interleaved with it in the same loop, the same event through the
// handler with its output over awsJson 1.1 (protocol: json; its metrics
// prefixed json-, and cbor/json the speed ratio of the two) and the same
// user records through the pipeline alone (Pipeline.Run), and reports the
// rates and their ratios (e2e/module, the share of the module-only rate
// the handler keeps). Run it with -cpu 1 for the
// per-core number (kinesalite, a separate process, then has the other
// core) and -cpu 1,2 for the scaling over cores. Metrics: events/s, the
// input's MB/s, and the Lambda compute cost per GB of input at 1,769 MB
// (one vCPU); for the discard run also server-cpu-ms/event, the discard
// server's own CPU per event (another process on the same machine: at
// -cpu 2 on a 2-vCPU machine it shares the two cores with the handler,
// which bounds the scaling this benchmark can show). The collector runs
// at Go's default, as the bootstrap leaves it (host/lambda/gctune; the
// memory limit it sets on Lambda is far above what this event needs).
func BenchmarkLambdaKinesis(b *testing.B) {
	hosttest.RequireTool(b, "go", "install Go")
	sinks.Register()
	hosttest.SetAWSEnv(b)
	corpus := ctCorpus(b, 1300, 1800)
	event, inBytes := kinesisLambdaEvent(b, corpus, lambdaEventSize)
	module := hosttest.GoModule(b, "modules/cloudtrail-ecs")
	// The same user records as pipeline input, for the module-only rate:
	// each a copy in one buffer, as the decoded event holds them (the
	// corpus cycled in place would stay in the CPU caches), with the
	// metadata the handler gives them.
	recs := make([]engine.Record, lambdaEventSize)
	var all []byte
	for i := range recs {
		all = append(all, corpus[i%len(corpus)]...)
	}
	for i, off := 0, 0; i < len(recs); i++ {
		d := all[off : off+len(corpus[i%len(corpus)]) : off+len(corpus[i%len(corpus)])]
		off += len(d)
		recs[i] = engine.Record{Data: d, Meta: engine.Metadata{PartitionKey: fmt.Sprint("pk-", i%64),
			SequenceNumber:    fmt.Sprintf("4959033827149025660855969253836157109592157598913658%04d", i/33),
			SubSequenceNumber: uint64(i % 33), ArrivalTime: time.Now(), Source: "arn:aws:kinesis:us-east-1:123456789012:stream/in"}}
	}
	// run is one sub-benchmark: target kinesalite or discard.
	run := func(b *testing.B, target string) {
		ctx := context.Background()
		var endpoint string
		if target == "kinesalite" {
			endpoint = hosttest.Kinesalite(b)
			cfg, err := awsconf.Load(ctx, "us-east-1", 3, 0)
			if err != nil {
				b.Fatal(err)
			}
			kc := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(endpoint) })
			if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("out"), ShardCount: aws.Int32(1)}); err != nil {
				b.Fatal(err)
			}
			for i := 0; ; i++ {
				d, err := kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("out")})
				if err == nil && d.StreamDescription.StreamStatus == ktypes.StreamStatusActive {
					break
				}
				if i > 100 {
					b.Fatal("stream never active")
				}
				time.Sleep(20 * time.Millisecond)
			}
		} else {
			endpoint = discardKinesis(b)
		}
		h := lambdaHandler(b, module, endpoint, "") // the default wire format, CBOR
		moduleOnly := target != "kinesalite"
		// The discard run also invokes the same pipeline with an output
		// making its PutRecords calls over JSON, interleaved with the
		// default (CBOR) and the module-only run, so that the three rates
		// see the same load.
		handlers := []*lambda.Handler{h}
		if moduleOnly {
			hj := *h
			hj.Sinks = benchSinks(b, benchConfig(b, module, endpoint, "json"))
			handlers = append(handlers, &hj)
		}
		labels := []pprof.LabelSet{handlerLabels, jsonHandlerLabels}
		// One warm-up invocation each (compiles, fills the pools).
		for _, h := range handlers {
			if _, err := h.Handle(ctx, event); err != nil {
				b.Fatal(err)
			}
		}
		if moduleOnly {
			if _, err := h.Pipeline.Run(ctx, recs); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(inBytes))
		// Wall and CPU time (all threads: the parallel stages, GC; not
		// the discard server, another process, whose CPU time is srv) of
		// each handler, and of the module-only run.
		type totals struct {
			wall, cpu, srv time.Duration
			walls, cpus    []float64 // per iteration
		}
		tot := make([]totals, len(handlers))
		var mod, modCPU time.Duration
		// invoke runs handler k once, as the bootstrap's runtime calls it
		// (the invocation's batch arena, given back after the response is
		// encoded), timed by b only for the default handler (ns/op stays
		// its). pprof labels (phase=handler, phase=handler-json,
		// phase=module) split a -cpuprofile between the runs: go tool
		// pprof -tagfocus=phase=handler.
		invoke := func(k int) {
			var s0 time.Duration
			if moduleOnly {
				s0 = serverCPU(b, endpoint)
			}
			if k == 0 {
				b.StartTimer()
			}
			t0, c0 := time.Now(), cpuTime()
			var raw []byte
			var err error
			pprof.Do(ctx, labels[k], func(ctx context.Context) { raw, err = handlers[k].Invoke(ctx, event) })
			if err != nil {
				b.Fatal(err)
			}
			wall, cpu := time.Since(t0), cpuTime()-c0
			tot[k].wall += wall
			tot[k].cpu += cpu
			tot[k].walls = append(tot[k].walls, wall.Seconds())
			tot[k].cpus = append(tot[k].cpus, cpu.Seconds())
			if k == 0 {
				b.StopTimer()
			}
			if moduleOnly {
				tot[k].srv += serverCPU(b, endpoint) - s0
			}
			var r events.KinesisEventResponse
			if err := json.Unmarshal(raw, &r); err != nil || len(r.BatchItemFailures) != 0 {
				b.Fatalf("response %s (%v)", raw, err)
			}
		}
		// The setup's garbage (and the previous b.N round's handlers)
		// collected now, not in the first handler's first invocation.
		runtime.GC()
		b.ResetTimer()
		b.StopTimer()
		for i := 0; i < b.N; i++ {
			// The handlers in turns, each first every other iteration.
			for j := range handlers {
				invoke((i + j) % len(handlers))
			}
			if moduleOnly {
				t0, c0 := time.Now(), cpuTime()
				a := engine.NewArena()
				var res *engine.BatchResult
				var err error
				pprof.Do(ctx, moduleLabels, func(ctx context.Context) { res, err = h.Pipeline.Run(engine.WithArena(ctx, a), recs) })
				if err != nil {
					b.Fatal(err)
				}
				mod += time.Since(t0)
				modCPU += cpuTime() - c0
				if res.Failed != 0 || res.Out != lambdaEventSize {
					b.Fatalf("module only: %d failed, %d outputs", res.Failed, res.Out)
				}
				a.Release()
			}
		}
		cores := float64(runtime.GOMAXPROCS(0))
		for k, t := range tot {
			// The default handler's metrics under their plain names, the
			// JSON one's with a json- prefix.
			prefix := ""
			if k == 1 {
				prefix = "json-"
			}
			sec := t.wall.Seconds() / float64(b.N)
			if k == 0 {
				gbPerSec := float64(inBytes) / sec / 1e9 / cores
				b.ReportMetric(float64(lambdaEventSize)/sec/cores, "events/s/core")
				b.ReportMetric(float64(inBytes)/lambdaEventSize, "B/event")
				b.ReportMetric(1/gbPerSec*lambdaMemoryMB/1024*lambdaPricePerGB, "$/GB")
				// busy-cores: CPU time over wall time, the cores the
				// handler kept busy (at most -cpu; less on a loaded
				// machine).
				b.ReportMetric(t.cpu.Seconds()/t.wall.Seconds(), "busy-cores")
			}
			b.ReportMetric(float64(lambdaEventSize)/sec, prefix+"events/s")
			b.ReportMetric(float64(t.cpu.Microseconds())/1000/float64(b.N), prefix+"cpu-ms/event")
			if !moduleOnly {
				continue
			}
			// The discard server is another process on the same machine:
			// on a 2-vCPU machine at -cpu 2 it takes its share of the two
			// cores, which the module-only run does not pay (a real
			// endpoint is elsewhere).
			b.ReportMetric(float64(t.srv.Microseconds())/1000/float64(b.N), prefix+"server-cpu-ms/event")
			b.ReportMetric(mod.Seconds()/t.wall.Seconds(), prefix+"e2e/module")
			// The same ratio in CPU time: what a loaded machine distorts
			// least.
			if t.cpu > 0 {
				b.ReportMetric(modCPU.Seconds()/t.cpu.Seconds(), prefix+"e2e/module-cpu")
			}
		}
		if moduleOnly {
			b.ReportMetric(float64(lambdaEventSize)/(mod.Seconds()/float64(b.N)), "module-events/s")
			// The handler's speed over CBOR against over JSON, and its
			// CPU time over JSON against over CBOR: the median of the
			// iterations' ratios (each of two invocations side by side;
			// on a loaded machine a collection or a neighbour's burst
			// adds 100 ms to one invocation now and then, which skews a
			// ratio of sums).
			b.ReportMetric(medianRatio(tot[1].walls, tot[0].walls), "cbor/json")
			b.ReportMetric(medianRatio(tot[1].cpus, tot[0].cpus), "json/cbor-cpu")
		}
	}
	b.Run("kinesalite", func(b *testing.B) { run(b, "kinesalite") })
	b.Run("discard", func(b *testing.B) { run(b, "discard") })
}

// medianRatio returns the median of num[i]/den[i].
func medianRatio(num, den []float64) float64 {
	r := make([]float64, len(num))
	for i := range num {
		r[i] = num[i] / den[i]
	}
	slices.Sort(r)
	if n := len(r); n%2 == 0 {
		return (r[n/2-1] + r[n/2]) / 2
	}
	return r[len(r)/2]
}

// The pprof labels of BenchmarkLambdaKinesis's runs: the handler (its
// output over CBOR, the default), the handler with its output over JSON,
// and the module only.
var (
	handlerLabels     = pprof.Labels("phase", "handler")
	jsonHandlerLabels = pprof.Labels("phase", "handler-json")
	moduleLabels      = pprof.Labels("phase", "module")
)

// lambdaHandler builds the handler as the bootstrap does, with the
// cloudtrail-ecs stage (instances: the default, one per CPU as GOMAXPROCS
// counts them) and a Kinesis output at endpoint, whose PutRecords calls
// go in proto ("cbor", "json"; "": the default).
func lambdaHandler(b testing.TB, module, endpoint, proto string) *lambda.Handler {
	ctx := context.Background()
	cfg := benchConfig(b, module, endpoint, proto)
	hst, err := host.New(ctx, host.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = hst.Close(ctx) })
	pipe, err := engine.NewPipeline(ctx, cfg, hst.NewStage)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = pipe.Close(ctx) })
	return &lambda.Handler{Pipeline: pipe, Sinks: benchSinks(b, cfg), Source: lambda.SourceKinesis}
}

// benchConfig returns the configuration of lambdaHandler.
func benchConfig(b testing.TB, module, endpoint, proto string) *engine.Config {
	protoField := ""
	if proto != "" {
		protoField = ", protocol: " + proto
	}
	yaml := fmt.Sprintf("version: 1\nname: bench\nstages:\n  - name: normalize\n    module: %s\noutputs:\n  default: {type: kinesis, stream: out, endpoint: %q%s}\n", module, endpoint, protoField)
	path := filepath.Join(b.TempDir(), "pipeline.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		b.Fatal(err)
	}
	cfg, err := engine.LoadConfig(path)
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// benchSinks opens cfg's outputs.
func benchSinks(b testing.TB, cfg *engine.Config) map[string]engine.Sink {
	outs, err := engine.OpenSinksContext(context.Background(), cfg, io.Discard, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	return outs
}
