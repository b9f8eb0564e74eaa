// Package kinesisout is weir's Kinesis Data Streams output: it writes a
// batch's outputs with PutRecords, packed into KPL-aggregated records
// (host/kpl) under random partition keys so that no shard runs hot.
//
// Limits are met by splitting: at most 500 records per call, 5 MiB per
// call on a stream with the default 1 MiB record limit and 10 MiB (the
// service's request limit) on one configured for larger records, and
// Options.MaxRecordBytes per record (data plus partition key; 1 MiB by
// default, up to 10 MiB). The 5 MiB budget of default streams keeps weir
// working against emulators that still enforce the old request limit
// (kinesalite answers 413) at the cost of a few more calls. Entries the service fails
// (ProvisionedThroughputExceededException, InternalFailure) are re-sent
// alone, with exponential backoff and full jitter, up to MaxAttempts
// calls; whole-call throttling and 5xx errors are retried by the SDK's
// retryer (see awsconf). The loop is host/deliver's. Nothing is dropped silently: what cannot be
// delivered is an error naming the outputs and the service's reason.
//
// A large write is aggregated by several goroutines (contiguous groups,
// put back in order) and, under random partition keys, its PutRecords
// calls go up to Options.Parallel at once (default GOMAXPROCS, at least
// 2, so that on one core a call's wait overlaps the next one's work): the
// records land on random shards, so there is no order to keep across
// them. Under a batch_key (WriteKey) the calls go one after the other, so
// one key's records reach their shard in order.
//
// The clients Open makes write PutRecords bodies themselves instead of the
// SDK's serializer, in one pass into a buffer of the exact size, in the
// wire format the output's protocol setting names: "cbor" (the default,
// CBORPutRecords: AWS CBOR 1.1, Data as raw bytes read in place, a quarter
// fewer bytes to sign and send than base64, and no base64 work) or "json"
// (FastPutRecords: awsJson 1.1 with vector base64). The request means the
// same either way; signing, retries and error types are the SDK's, and
// every other call is JSON.
package kinesisout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/deliver"
	"github.com/weirhq/weir/host/internal/par"
	"github.com/weirhq/weir/host/kpl"
)

// Service limits of PutRecords (checked against the Kinesis API reference
// and "Handle large records", December 2026).
const (
	MaxRecordsPerCall = 500
	// MaxBytesPerCall is the service's request limit (partition keys
	// included; it was 5 MiB), used on streams with large records.
	MaxBytesPerCall = 10 << 20
	// DefaultBytesPerCall is the request budget on streams with the
	// default record limit (see the package documentation).
	DefaultBytesPerCall = 5 << 20
	// DefaultMaxRecordBytes is a stream's default maximum record size.
	DefaultMaxRecordBytes = kpl.MaxRecordSize
	// MaxLargeRecordBytes is the largest maximum record size a stream can
	// be configured for.
	MaxLargeRecordBytes = kpl.MaxLargeRecordSize
)

// Options configure a Sink.
type Options struct {
	// Stream is the stream name, or its ARN.
	Stream string
	// Aggregate packs outputs into KPL-aggregated records.
	Aggregate bool
	// MaxAttempts bounds the PutRecords calls made for one chunk of
	// records when entries fail (default awsconf.DefaultMaxAttempts).
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the wait between re-sends (default
	// 50ms and 2s).
	BaseBackoff, MaxBackoff time.Duration
	// MaxRecordBytes is the stream's maximum record size, data plus
	// partition key (default DefaultMaxRecordBytes, at most
	// MaxLargeRecordBytes): set it to the stream's MaxRecordSizeInKiB *
	// 1024 when that was raised.
	MaxRecordBytes int
	// Parallel is how many goroutines aggregate, and how many PutRecords
	// calls are in flight, for a write under random partition keys
	// (default GOMAXPROCS, at least 2: a call spends much of its time
	// waiting for the service, which the next call's encoding and signing
	// can fill even on one core; 1: one after the other). A write under a
	// batch_key (WriteKey) is aggregated in parallel too but its calls go
	// one after the other, in order.
	Parallel int
}

// Sink writes outputs to a Kinesis stream. It is safe for concurrent use.
type Sink struct {
	client *kinesis.Client
	opts   Options
	d      *deliver.Deliverer[entry]
	// Buffers kept between writes: PutRecords bodies (written by
	// CBORPutRecords or FastPutRecords) and aggregated records.
	bodies, aggs *buffers
}

// Memory kept between writes (see buffers): the bodies of the calls in
// flight, and aggKeep bytes of aggregated records.
const aggKeep = 32 << 20

// New returns a sink writing to opts.Stream with client.
func New(client *kinesis.Client, opts Options) *Sink {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = awsconf.DefaultMaxAttempts
	}
	if opts.MaxRecordBytes <= 0 {
		opts.MaxRecordBytes = DefaultMaxRecordBytes
	}
	opts.MaxRecordBytes = min(opts.MaxRecordBytes, MaxLargeRecordBytes)
	if opts.Parallel <= 0 {
		opts.Parallel = max(runtime.GOMAXPROCS(0), 2)
	}
	s := &Sink{client: client, opts: opts, aggs: &buffers{budget: aggKeep}}
	s.d = s.deliverer()
	s.bodies = &buffers{budget: opts.Parallel * (s.perCall()*4/3 + 2*bodyRound)}
	return s
}

// Open is the engine.SinkFactory of the "kinesis" output type.
func Open(ctx context.Context, name string, oc engine.OutputConfig, _ *engine.Config) (engine.Sink, error) {
	proto, err := ParseProtocol(oc.Protocol)
	if err != nil {
		return nil, fmt.Errorf("kinesis output %q: %w", name, err)
	}
	cfg, err := awsconf.LoadRole(ctx, oc.Region, oc.MaxAttempts, 0, oc.AssumeRoleARN)
	if err != nil {
		return nil, fmt.Errorf("kinesis output %q: %w", name, err)
	}
	client := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = awsconf.Endpoint(oc.Endpoint, o.BaseEndpoint) }, proto.Option())
	return New(client, Options{Stream: oc.Stream, Aggregate: oc.Aggregate == nil || *oc.Aggregate, MaxAttempts: oc.MaxAttempts,
		MaxRecordBytes: int(oc.MaxRecordBytes)}), nil
}

// entry is one Kinesis record to put.
type entry struct {
	pk   string
	data []byte
}

// record returns the delivery entry of a record carrying count outputs
// from first.
func record(pk string, data []byte, first, count int) deliver.Entry[entry] {
	return deliver.Entry[entry]{Item: entry{pk: pk, data: data}, Size: len(data) + len(pk), First: first, Count: count}
}

// Write puts outputs on the stream. It returns once every record is
// accepted, or an error naming the outputs that were not.
func (s *Sink) Write(ctx context.Context, outputs []engine.Output) error {
	return s.WriteKey(ctx, "", outputs)
}

// MaxPartitionKeyChars is the longest partition key Kinesis accepts, in
// Unicode characters.
const MaxPartitionKeyChars = 256

// PartitionKey returns the partition key of outputs whose batch_key value
// is key: key itself, or its SHA-256 in hex when it is longer than
// MaxPartitionKeyChars; "" for an empty key (random keys are used then).
func PartitionKey(key string) string {
	if utf8.RuneCountInString(key) > MaxPartitionKeyChars {
		sum := sha256.Sum256([]byte(key))
		return hex.EncodeToString(sum[:])
	}
	return key
}

// WriteKey puts outputs whose batch_key value is key on the stream with
// PartitionKey(key) as their partition key (the key of the aggregated
// records and of the user records they hold), so that one key's records
// go to one shard, in order. An empty key is Write: random keys.
func (s *Sink) WriteKey(ctx context.Context, key string, outputs []engine.Output) error {
	pk := PartitionKey(key)
	entries, bufs, err := s.entries(outputs, pk)
	// The aggregated records' buffers serve the next write once this
	// one's calls have returned (delivered or not: errors name outputs,
	// not data).
	defer func() {
		for _, b := range bufs {
			s.aggs.put(b)
		}
	}()
	if err != nil {
		return err
	}
	if pk == "" {
		// Random keys: the records land on any shard, in no order.
		return s.d.DeliverParallel(ctx, entries, s.opts.Parallel)
	}
	return s.d.Deliver(ctx, entries)
}

// deliverer returns the delivery loop of PutRecords for this stream
// (deliver.New defaults the backoff to 50ms and 2s).
func (s *Sink) deliverer() *deliver.Deliverer[entry] {
	perCall := s.perCall()
	return deliver.New(deliver.Config[entry]{
		Name:   "kinesis " + s.opts.Stream,
		Op:     "PutRecords",
		Noun:   "record",
		Limits: deliver.Limits{MaxEntries: MaxRecordsPerCall, MaxBytes: perCall, MaxEntryBytes: s.opts.MaxRecordBytes},
		Policy: deliver.Policy{MaxAttempts: s.opts.MaxAttempts, BaseBackoff: s.opts.BaseBackoff, MaxBackoff: s.opts.MaxBackoff},
		Send:   s.put,
	})
}

// perCall is the request budget of a PutRecords call on this stream.
func (s *Sink) perCall() int {
	if s.opts.MaxRecordBytes > DefaultMaxRecordBytes {
		return MaxBytesPerCall
	}
	return DefaultBytesPerCall
}

// entries turns outputs into Kinesis records, all with partition key pk,
// or each with a random one when pk is empty. bufs are the buffers of
// aggregated records taken from s.aggs, to give back once the records are
// sent.
func (s *Sink) entries(outputs []engine.Output, pk string) (_ []deliver.Entry[entry], bufs [][]byte, _ error) {
	var out []deliver.Entry[entry]
	key := func() string {
		if pk != "" {
			return pk
		}
		return awsconf.RandomKey()
	}
	if !s.opts.Aggregate {
		for i, o := range outputs {
			pk := key()
			if len(o.Data)+len(pk) > s.opts.MaxRecordBytes {
				return nil, nil, fmt.Errorf("kinesis %s: output %d: %d bytes (with its %d-byte partition key) exceeds the stream's %d-byte record limit (max_record_bytes)",
					s.opts.Stream, i, len(o.Data), len(pk), s.opts.MaxRecordBytes)
			}
			out = append(out, record(pk, o.Data, i, 1))
		}
		return out, nil, nil
	}
	// The user records share one partition key (the KPL table then holds
	// one entry); each aggregated record gets its own random key below
	// (or pk).
	userPK := key()
	// Outputs are cut into contiguous groups, one per worker, of at
	// least minGroupRecords records' worth of bytes (so that a group
	// fills records), aggregated in parallel (KPL framing) and put back
	// in order; then the MD5 digests of every record at once
	// (kpl.Seal: the vector lanes of every core).
	groups := s.groups(outputs)
	parts := make([][]deliver.Entry[entry], len(groups))
	errs := make([]error, len(groups))
	taken := make([][][]byte, len(groups))
	unsealed := make([][][]byte, len(groups))
	// One goroutine per group (a single group is aggregated here).
	par.Each(len(groups), len(groups), func(g int) bool {
		lo, hi := groups[g][0], groups[g][1]
		// The aggregator counts the first user record's partition
		// key, as long as the random key each aggregated record is
		// put with.
		a := kpl.NewAggregator(s.opts.MaxRecordBytes)
		a.DeferDigest = true // kpl.Seal below, every record at once
		a.Buffer = func(n int) []byte {
			// Every buffer large enough for any record, so that a kept
			// one serves any later record (record sizes differ by up
			// to one user record).
			b := s.aggs.get(max(n, s.opts.MaxRecordBytes+kplOverhead))
			taken[g] = append(taken[g], b)
			return b
		}
		next := lo
		emit := func(ag *kpl.Aggregated) {
			if ag.Unsealed {
				unsealed[g] = append(unsealed[g], ag.Data)
			}
			parts[g] = append(parts[g], record(key(), ag.Data, next, ag.Count))
			next += ag.Count
		}
		for i := lo; i < hi; i++ {
			full, err := a.Add(kpl.UserRecord{PartitionKey: userPK, Data: outputs[i].Data})
			if err != nil {
				errs[g] = fmt.Errorf("kinesis %s: output %d: %w", s.opts.Stream, i, err)
				return false
			}
			if full != nil {
				emit(full)
			}
		}
		if last := a.Flush(); last != nil {
			emit(last)
		}
		return true
	})
	for g := range groups {
		bufs = append(bufs, taken[g]...)
	}
	var seal [][]byte
	for g := range groups {
		if errs[g] != nil {
			return nil, bufs, errs[g]
		}
		out = append(out, parts[g]...)
		seal = append(seal, unsealed[g]...)
	}
	// The records' MD5 digests, many at once in the vector lanes.
	kpl.Seal(seal)
	return out, bufs, nil
}

// kplOverhead bounds the bytes an aggregated record holds beyond
// Options.MaxRecordBytes (its partition key counts in the limit; magic and
// digest are within it, so this is slack).
const kplOverhead = 64

// minGroupRecords is the number of full records' worth of outputs below
// which outputs are aggregated by one goroutine.
const minGroupRecords = 2

// groups cuts outputs into up to opts.Parallel contiguous [lo, hi) ranges
// of about the same size, each at least minGroupRecords *
// MaxRecordBytes bytes (one range when the outputs are fewer).
func (s *Sink) groups(outputs []engine.Output) [][2]int {
	total := 0
	for _, o := range outputs {
		total += len(o.Data)
	}
	k := min(s.opts.Parallel, total/(minGroupRecords*s.opts.MaxRecordBytes), len(outputs))
	if k <= 1 {
		return [][2]int{{0, len(outputs)}}
	}
	per := (total + k - 1) / k
	var out [][2]int
	lo, size := 0, 0
	for i, o := range outputs {
		size += len(o.Data)
		if size >= per && len(out) < k-1 {
			out = append(out, [2]int{lo, i + 1})
			lo, size = i+1, 0
		}
	}
	if lo < len(outputs) {
		out = append(out, [2]int{lo, len(outputs)})
	}
	return out
}

// isARN reports whether stream is a stream ARN rather than a name.
func isARN(stream string) bool { return strings.HasPrefix(stream, "arn:") }

// put makes one PutRecords call.
func (s *Sink) put(ctx context.Context, chunk []entry) ([]deliver.Failure, error) {
	in := &kinesis.PutRecordsInput{Records: make([]types.PutRecordsRequestEntry, len(chunk))}
	if isARN(s.opts.Stream) {
		in.StreamARN = aws.String(s.opts.Stream)
	} else {
		in.StreamName = aws.String(s.opts.Stream)
	}
	for i, e := range chunk {
		in.Records[i] = types.PutRecordsRequestEntry{Data: e.data, PartitionKey: aws.String(e.pk)}
	}
	// A buffer for the body, kept for the next call once this one has
	// returned (when the client has CBORPutRecords or FastPutRecords;
	// else unused).
	b := &body{from: s.bodies}
	resp, err := s.client.PutRecords(context.WithValue(ctx, bodyKey{}, b), in)
	s.bodies.put(b.buf)
	if err != nil {
		return nil, err
	}
	if aws.ToInt32(resp.FailedRecordCount) == 0 {
		return nil, nil
	}
	if len(resp.Records) != len(chunk) {
		return nil, fmt.Errorf("PutRecords returned %d results for %d records", len(resp.Records), len(chunk))
	}
	var failed []deliver.Failure
	for i, r := range resp.Records {
		if r.ErrorCode != nil {
			// ProvisionedThroughputExceededException and InternalFailure
			// are the only per-record errors PutRecords reports.
			failed = append(failed, deliver.Failure{Index: i, Retryable: true, Code: aws.ToString(r.ErrorCode), Message: aws.ToString(r.ErrorMessage)})
		}
	}
	return failed, nil
}

// ErrEntriesFailed is matched by errors.Is when records were not
// delivered (deliver.ErrNotDelivered).
var ErrEntriesFailed = deliver.ErrNotDelivered

// Close does nothing: every Write is complete when it returns.
func (s *Sink) Close(context.Context) error { return nil }

var _ engine.KeyedSink = (*Sink)(nil)
