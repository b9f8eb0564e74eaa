package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
)

// recordingSink is a KeyedSink (or, with plain, a Sink) that records
// every write: the key it was given and the outputs' data.
type recordingSink struct {
	mu     sync.Mutex
	writes []string // "key:[a b]" or "[a b]"
	fail   error
	closed bool
}

func (r *recordingSink) Write(_ context.Context, outs []engine.Output) error {
	return r.record("", false, outs)
}

func (r *recordingSink) WriteKey(_ context.Context, key string, outs []engine.Output) error {
	return r.record(key, true, outs)
}

func (r *recordingSink) record(key string, keyed bool, outs []engine.Output) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	var data []string
	for _, o := range outs {
		data = append(data, string(o.Data))
	}
	w := fmt.Sprint(data)
	if keyed {
		w = key + ":" + w
	}
	r.writes = append(r.writes, w)
	return nil
}

func (r *recordingSink) Close(context.Context) error { r.closed = true; return nil }

func (r *recordingSink) got() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.writes, " ")
}

// openRecording opens the sinks of outputs with the type "rec" served by a
// fresh recordingSink.
func openRecording(t *testing.T, oc engine.OutputConfig) (map[string]engine.Sink, *recordingSink) {
	t.Helper()
	rec := &recordingSink{}
	typ := fmt.Sprintf("rec-%p", rec)
	engine.RegisterSink(typ, func(context.Context, string, engine.OutputConfig, *engine.Config) (engine.Sink, error) {
		return rec, nil
	})
	oc.Type = typ
	sinks, err := engine.OpenSinksContext(context.Background(), &engine.Config{Outputs: map[string]engine.OutputConfig{"default": oc}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sinks, rec
}

func bouts(data ...string) []engine.Output {
	var o []engine.Output
	for _, d := range data {
		o = append(o, engine.Output{Data: []byte(d)})
	}
	return o
}

// TestBatching: outputs are held per batch_key and written when a batch
// is full (count, bytes) or flushed, each key in its own writes.
func TestBatching(t *testing.T) {
	a, b, c := `{"k":"a"}`, `{"k":"b"}`, `{"k":"c","pad":"xxxxxxxxxx"}`
	for _, tc := range []struct {
		name   string
		oc     engine.OutputConfig
		writes [][]engine.Output
		before string // writes before the flush
		after  string // after FlushSinks
	}{
		{"no settings: written at once", engine.OutputConfig{}, [][]engine.Output{bouts(a, b)}, "[" + a + " " + b + "]", ""},
		{"batch_key only: one write per key, at once", engine.OutputConfig{BatchKey: "k"},
			[][]engine.Output{bouts(a, b, a)}, "a:[" + a + " " + a + "] b:[" + b + "]", ""},
		{"count", engine.OutputConfig{Batch: &engine.BatchConfig{Count: 2}},
			[][]engine.Output{bouts(a), bouts(b, a)}, "[" + a + " " + b + "]", "[" + a + "]"},
		{"count per key", engine.OutputConfig{BatchKey: "k", Batch: &engine.BatchConfig{Count: 2}},
			[][]engine.Output{bouts(a, b), bouts(b, a, a)}, "b:[" + b + " " + b + "] a:[" + a + " " + a + "]", "a:[" + a + "]"},
		{"bytes: a batch never passes them", engine.OutputConfig{Batch: &engine.BatchConfig{Bytes: 25}},
			[][]engine.Output{bouts(a, b, c)}, "[" + a + " " + b + "]", "[" + c + "]"},
		{"an output over bytes goes alone", engine.OutputConfig{Batch: &engine.BatchConfig{Bytes: 5}},
			[][]engine.Output{bouts(a, c)}, "[" + a + "]", "[" + c + "]"},
		{"missing key field: the empty key", engine.OutputConfig{BatchKey: "nope", Batch: &engine.BatchConfig{Count: 10}},
			[][]engine.Output{bouts(a, b)}, "", ":[" + a + " " + b + "]"},
		{"nested path", engine.OutputConfig{BatchKey: "cloud.account.id"},
			[][]engine.Output{bouts(`{"cloud":{"account":{"id":"1"}}}`)}, `1:[{"cloud":{"account":{"id":"1"}}}]`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			sinks, rec := openRecording(t, tc.oc)
			for _, w := range tc.writes {
				if err := engine.RouteOutputs(ctx, &engine.BatchResult{Records: []engine.RecordResult{{Outputs: w}}}, sinks); err != nil {
					t.Fatal(err)
				}
			}
			if got := rec.got(); got != tc.before {
				t.Errorf("written before the flush: %s\nwant %s", got, tc.before)
			}
			n := len(rec.writes)
			if err := engine.FlushSinks(ctx, sinks); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(rec.writes[n:], " "); got != tc.after {
				t.Errorf("written by the flush: %s\nwant %s", got, tc.after)
			}
			flushed := len(rec.writes)
			if err := engine.CloseSinks(ctx, sinks); err != nil || !rec.closed || len(rec.writes) != flushed {
				t.Errorf("close: %v, closed %v, writes %v", err, rec.closed, rec.writes)
			}
		})
	}
}

// TestBatchingHoldsCopies: a held output does not change when the
// engine reuses the buffer it came in.
func TestBatchingHoldsCopies(t *testing.T) {
	ctx := context.Background()
	sinks, rec := openRecording(t, engine.OutputConfig{Batch: &engine.BatchConfig{Count: 10}})
	buf := []byte(`{"a":1}`)
	if err := sinks["default"].Write(ctx, []engine.Output{{Data: buf}}); err != nil {
		t.Fatal(err)
	}
	copy(buf, `{"b":2}`)
	if err := engine.CloseSinks(ctx, sinks); err != nil {
		t.Fatal(err)
	}
	if got := rec.got(); got != `[{"a":1}]` {
		t.Errorf("got %s", got)
	}
}

// TestBatchingInterval: a batch that waits longer than interval is
// written without a flush; a failed interval write is returned by the
// next call.
func TestBatchingInterval(t *testing.T) {
	ctx := context.Background()
	sinks, rec := openRecording(t, engine.OutputConfig{Batch: &engine.BatchConfig{Count: 100, Interval: engine.Duration(50 * time.Millisecond)}})
	defer engine.CloseSinks(ctx, sinks)
	if err := sinks["default"].Write(ctx, bouts("x", "y")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for rec.got() == "" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := rec.got(); got != "[x y]" {
		t.Fatalf("after the interval: %q", got)
	}
	refused := errors.New("service refused")
	rec.mu.Lock()
	rec.fail = refused
	rec.mu.Unlock()
	if err := sinks["default"].Write(ctx, bouts("z")); err != nil {
		t.Fatal(err)
	}
	var err error
	for err == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		err = sinks["default"].Write(ctx, nil)
	}
	if !errors.Is(err, refused) || !strings.Contains(err.Error(), "interval flush failed") || !strings.Contains(err.Error(), "batch of 1 outputs") {
		t.Fatalf("error %v", err)
	}
}

// TestBatchingFlushError: a failed write of a flush is the flush's
// error, naming the batch and its key.
func TestBatchingFlushError(t *testing.T) {
	ctx := context.Background()
	sinks, rec := openRecording(t, engine.OutputConfig{BatchKey: "k", Batch: &engine.BatchConfig{Count: 10}})
	if err := sinks["default"].Write(ctx, bouts(`{"k":"acct-1"}`)); err != nil {
		t.Fatal(err)
	}
	rec.fail = errors.New("AccessDenied")
	err := engine.FlushSinks(ctx, sinks)
	if err == nil || !strings.Contains(err.Error(), `sink: output "default": batch of 1 outputs with batch_key "acct-1": AccessDenied`) {
		t.Fatalf("error %v", err)
	}
}

// TestBatchingFile: a file output with batch settings writes its lines
// when a batch is full and on close.
func TestBatchingFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg, err := engine.ParseConfig([]byte("version: 1\nstages:\n  - module: a.wasm\noutputs:\n  default: {type: file, path: out.ndjson, batch: {count: 3}}\n"), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = dir
	sinks, err := engine.OpenSinks(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := func() int {
		b, _ := os.ReadFile(filepath.Join(dir, "out.ndjson"))
		return strings.Count(string(b), "\n")
	}
	for i, want := range []int{0, 0, 3, 3} {
		if err := sinks["default"].Write(ctx, bouts(fmt.Sprintf(`{"i":%d}`, i))); err != nil {
			t.Fatal(err)
		}
		if got := lines(); got != want {
			t.Fatalf("after write %d: %d lines, want %d", i, got, want)
		}
	}
	if err := engine.CloseSinks(ctx, sinks); err != nil {
		t.Fatal(err)
	}
	if got := lines(); got != 4 {
		t.Fatalf("after close: %d lines, want 4", got)
	}
}

func TestOutputSettingsErrors(t *testing.T) {
	const stage = "version: 1\nstages:\n  - module: a.wasm\noutputs:\n"
	for _, tc := range []struct{ in, want string }{
		{"  o: {type: stdout, batch: {count: 1}}\n", "outputs.o.batch: only used by type"},
		{"  o: {type: file, path: x, assume_role_arn: 'arn:aws:iam::1:role/r'}\n", "outputs.o.assume_role_arn: only used by type dynamodb, eventbridge, firehose, kinesis, lambda, s3, sns, sqs"},
		{"  o: {type: s3, bucket: b, assume_role_arn: 'role/r'}\n", "outputs.o.assume_role_arn: must be an IAM role ARN"},
		{"  o: {type: s3, bucket: b, storage_class: COLD}\n", `outputs.o.storage_class: must be one of STANDARD,`},
		{"  o: {type: s3, bucket: b, checksum_algorithm: MD5}\n", `outputs.o.checksum_algorithm: must be one of CRC32, CRC32C, CRC64NVME, SHA1, SHA256 (got "MD5")`},
		{"  o: {type: kinesis, stream: s, storage_class: STANDARD}\n", "outputs.o.storage_class: only used by type s3"},
		{"  o: {type: sqs, queue_url: 'https://q/1/q', message_group_key: g}\n", "outputs.o.message_group_key: only used with a FIFO queue"},
		{"  o: {type: kinesis, stream: s, batch: {count: -1}}\n", "outputs.o.batch.count: must not be negative"},
		{"  o: {type: kinesis, stream: s, batch: {interval: -1s}}\n", "outputs.o.batch.interval: must not be negative"},
		{"  o: {type: kinesis, stream: s, batch: {size: 1}}\n", `unknown field "size"`},
	} {
		_, err := engine.ParseConfig([]byte(stage+tc.in), "p.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", strings.TrimSpace(tc.in), err, tc.want)
		}
	}
	good := stage + "  o: {type: sqs, queue_url: 'https://q/1/q.fifo', message_group_key: user.id, dedup_key: event.id, assume_role_arn: 'arn:aws:iam::123456789012:role/w', batch: {count: 10, bytes: 1000, interval: 5s}, batch_key: user.id}\n" +
		"  s: {type: s3, bucket: b, storage_class: GLACIER_IR, checksum_algorithm: SHA256, batch_key: account}\n"
	if _, err := engine.ParseConfig([]byte(good), "p.yaml"); err != nil {
		t.Fatal(err)
	}
}
