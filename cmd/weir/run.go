package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"

	"github.com/weirhq/weir/benchkit"
	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/lambda"
)

// runOptions are the flags of "weir run".
type runOptions struct {
	pipeline  string
	format    string
	batchSize int
	summary   bool
	event     string // a Lambda event source: inputs are saved events
}

func newRunCmd(g *globals) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run -p pipeline.yaml [--event source] [file...] | run module.wasm [file...]",
		Short: "Run a pipeline over records from files or stdin, NDJSON to stdout",
		Long: `Run reads records from the files given (or stdin when there are none, or
for "-"): NDJSON, a JSON array, or a CloudTrail {"Records":[...]} file, each
optionally gzip- or zstd-compressed; --format lines reads one record per
line (bytes as they are), --format raw one record per file. Inputs are
streamed with bounded memory: a batch runs when it is full or when a
partial one has waited 200 ms for more input. It runs them through the
pipeline and writes the outputs to the pipeline's outputs (stdout by
default) as NDJSON, in input order.

Every failed record is reported on stderr as
  weir: record N (source, seq S) failed: stage "name" (module ...): error
N counting the records of all inputs from 0, S being the line number for
NDJSON and the element index for arrays. An input that cannot be opened or
decoded is reported and skipped (when it breaks midway, as a truncated
gzip file does, the records before the break have run and the byte offset
of the break is given); a saved Lambda event given without --event is
refused; an empty input is a warning. The exit status is 0 when every
record went through (dropped and dead-lettered records included), 1 when
a record or an input failed, 2 for usage and configuration errors (or when
no input can be read), 130 when interrupted.

With --event (kinesis, sqs, sns, s3, dynamodb, firehose, apigw or auto),
every input is a saved AWS Lambda event, decoded as the Lambda function
does (KPL de-aggregation with MD5 check, base64, gzip/zstd, NDJSON and
arrays, DynamoDB images as plain JSON, S3 objects read with the default
AWS credentials, WEIR_S3_ENDPOINT overriding the endpoint), so production
events replay locally. A failure then names the Kinesis or DynamoDB
sequence number, the SQS or SNS message id, or the Firehose record id:
  weir: record N (stream-arn, seq 4962...) failed: ...
and a unit that cannot be decoded (a bad MD5, invalid base64) is reported
with its sequence number or id, the others running.

Without -p, a bare module (module.wasm as the first argument) runs as a
one-stage pipeline whose outputs, every route, go to stdout.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPipeline(cmd.Context(), g, o, args)
		},
	}
	cmd.Flags().StringVarP(&o.pipeline, "pipeline", "p", "", "pipeline configuration file (YAML or JSON)")
	cmd.Flags().StringVar(&o.format, "format", "auto", "input format: auto, ndjson, json, cloudtrail, lines, raw")
	cmd.Flags().IntVar(&o.batchSize, "batch-size", 1000, "records per batch")
	cmd.Flags().BoolVar(&o.summary, "summary", false, "print counts and throughput to stderr at the end")
	cmd.Flags().StringVar(&o.event, "event", "", "inputs are saved Lambda events of this source: kinesis, sqs, sns, s3, dynamodb, firehose, apigw, auto")
	return cmd
}

// checkInputs fails when no input file can be read, before any module
// is compiled or any record written. When only some cannot, they are
// reported in their turn and the others run.
func checkInputs(args []string) error {
	var first error
	for _, name := range args {
		if name == "-" {
			return nil
		}
		err := checkInput(name)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// checkInput fails when the input file name cannot be read.
func checkInput(name string) error {
	fi, err := os.Stat(name)
	if err != nil {
		return fmt.Errorf("run: input: %w", err)
	}
	if fi.IsDir() {
		return fmt.Errorf("run: input %s: is a directory", name)
	}
	return nil
}

// decodeInput reads every record of one input ("-" is stdin) into memory
// (weir bench measures over records held in memory).
func decodeInput(g *globals, format engine.Format, name string) ([]engine.Record, error) {
	if name == "-" {
		return engine.DecodeRecordsFormat(g.stdin, "stdin", format)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return engine.DecodeRecordsFormat(f, name, format)
}

// decodeEvent reads the records of one saved Lambda event (--event), its
// undecodable units reported.
func (r *runner) decodeEvent(ctx context.Context, name string, emit func(inItem) bool) ([]engine.Record, error) {
	var payload []byte
	var err error
	if name == "-" {
		payload, err = io.ReadAll(r.g.stdin)
	} else {
		payload, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, err
	}
	recs, unitErrs, err := r.events.DecodeEvent(ctx, payload)
	if err != nil {
		return nil, err
	}
	for _, e := range unitErrs {
		if !emit(inItem{msg: fmt.Sprintf("weir: event %s: %v", name, e), undecoded: true}) {
			return nil, ctx.Err()
		}
	}
	return recs, nil
}

// s3Objects reads the objects S3 notifications name, with a client made
// on first use (default credentials; WEIR_S3_ENDPOINT for a local S3).
func s3Objects() lambda.ObjectReader {
	var client *s3.Client
	return func(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
		if client == nil {
			cfg, err := awsconf.Load(ctx, "", 0, 0)
			if err != nil {
				return nil, err
			}
			endpoint := os.Getenv("WEIR_S3_ENDPOINT")
			client = s3.NewFromConfig(cfg, func(o *s3.Options) {
				o.BaseEndpoint = awsconf.Endpoint(endpoint, o.BaseEndpoint)
				o.UsePathStyle = endpoint != ""
			})
		}
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
		if err != nil {
			return nil, err
		}
		return out.Body, nil
	}
}

// runner runs batches and keeps the counts of a run.
type runner struct {
	g     *globals
	p     *engine.Pipeline
	sinks map[string]engine.Sink
	next  int // index of the next record, counted over all inputs
	// undecoded counts the units of saved events that could not be
	// decoded.
	undecoded int
	in        int
	out       int
	drop      int
	failed    int
	dead      int
	stages    []engine.StageStats
	busy      time.Duration // time spent in Pipeline.Run and the sinks
	// events decodes saved Lambda events (--event); nil: inputs are
	// records.
	events *lambda.Handler
}

// batch runs one batch, writes its outputs and reports its failures.
func (r *runner) batch(ctx context.Context, recs []engine.Record) error {
	first := r.next
	r.next += len(recs)
	t0 := time.Now()
	// The batch's outputs live in an arena, given back once the sinks
	// have them (a sink copies what it holds past Write): see
	// engine.Arena.
	a := engine.NewArena()
	defer a.Release()
	res, err := r.p.Run(engine.WithArena(ctx, a), recs)
	if err != nil {
		return fmt.Errorf("run: batch at record %d: %w", first, err)
	}
	if err := engine.RouteOutputs(ctx, res, r.sinks); err != nil {
		return fmt.Errorf("run: batch at record %d: %w", first, err)
	}
	r.busy += time.Since(t0)
	for _, rr := range res.Records {
		if rr.Err == nil {
			continue
		}
		rec := recs[rr.Index]
		fmt.Fprintf(r.g.stderr, "weir: record %d (%s, seq %s) failed: %s\n",
			first+rr.Index, rec.Meta.Source, rec.Meta.SequenceNumber, benchkit.DescribeFailure(rr.Err))
	}
	r.in += res.In
	r.out += res.Out
	r.drop += res.Dropped
	r.failed += res.Failed
	r.dead += res.DeadLettered
	if r.stages == nil {
		r.stages = make([]engine.StageStats, len(res.Stages))
	}
	for i, s := range res.Stages {
		t := &r.stages[i]
		t.Name = s.Name
		t.Duration += s.Duration
		t.In += s.In
		t.Out += s.Out
		t.Dropped += s.Dropped
		t.Failed += s.Failed
		t.DeadLettered += s.DeadLettered
	}
	return nil
}

func runPipeline(ctx context.Context, g *globals, o runOptions, args []string) error {
	if o.batchSize < 1 {
		return fmt.Errorf("run: --batch-size must be at least 1 (got %d)", o.batchSize)
	}
	format, err := engine.ParseFormat(o.format)
	if err != nil {
		return fmt.Errorf("run: --format: %w", err)
	}
	var events *lambda.Handler
	if o.event != "" {
		src, err := lambda.ParseSource(o.event)
		if err != nil {
			return fmt.Errorf("run: --event: %w", err)
		}
		events = &lambda.Handler{Source: src, Objects: s3Objects()}
	}
	// Configuration and input problems are found before the (slow) module
	// compilation, and before stdin is read.
	cfg, label, args, err := runConfig(g, o.pipeline, args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		args = []string{"-"}
	}
	if err := checkInputs(args); err != nil {
		return err
	}
	rc, err := resolveSecrets(ctx, g, cfg)
	if err != nil {
		return err
	}
	defer rc.stop()
	cfg = rc.cfg
	start := time.Now()
	l, err := buildPipeline(ctx, g, cfg, label)
	if err != nil {
		return err
	}
	defer l.close(ctx)
	loadTime := time.Since(start)
	sinks, err := rc.openSinks(ctx, g)
	if err != nil {
		return err
	}
	r := &runner{g: g, p: l.pipe, sinks: sinks, events: events}
	inputErrors, err := r.inputs(ctx, format, args, o.batchSize)
	if err != nil {
		_ = engine.CloseSinks(ctx, sinks)
		return err
	}
	if err := engine.CloseSinks(ctx, sinks); err != nil {
		return err
	}
	if o.summary {
		r.summary(loadTime, inputErrors)
	}
	if r.failed > 0 || inputErrors > 0 || r.undecoded > 0 {
		return exitError{code: exitFailed}
	}
	return nil
}

// flushAfter is how long a partial batch waits for more records from a
// slow input (a pipe) before it runs: records of "tail -f | weir run"
// come out promptly, and a hot swap shows while stdin is still open.
const flushAfter = 200 * time.Millisecond

// inItem is what the reading goroutine hands the batching loop: a record,
// or a line for stderr.
type inItem struct {
	rec   engine.Record
	isRec bool
	msg   string
	// failed: msg reports an input that failed (exit 1); undecoded: a
	// unit of a saved event that failed.
	failed, undecoded bool
}

// inputs streams the records of the inputs, one after the other, into
// batches of size records (a batch may span inputs). A reading goroutine
// decodes them (NDJSON, arrays, CloudTrail files, gzip, zstd: streamed,
// so memory stays bounded whatever the size of an input) and the loop
// runs a batch when it is full, or when a partial batch has waited
// flushAfter for more. An input that cannot be opened or decoded is
// reported and counted, the records it delivered before the problem
// run, and the run goes on.
func (r *runner) inputs(ctx context.Context, format engine.Format, args []string, size int) (inputErrors int, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	items := make(chan inItem, size)
	go func() {
		defer close(items)
		emit := func(it inItem) bool {
			select {
			case items <- it:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for _, name := range args {
			if !r.read(ctx, format, name, emit) {
				return
			}
		}
	}()
	pending := make([]engine.Record, 0, size)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := r.batch(ctx, pending)
		clear(pending) // let the records go
		pending = pending[:0]
		return err
	}
	for {
		var it inItem
		var ok bool
		select {
		case it, ok = <-items:
		case <-timer.C:
			if err := flush(); err != nil {
				return inputErrors, err
			}
			continue
		case <-ctx.Done():
			return inputErrors, fmt.Errorf("run: %w", ctx.Err())
		}
		if !ok {
			break
		}
		if !it.isRec {
			switch {
			case it.failed:
				inputErrors++
			case it.undecoded:
				r.undecoded++
			}
			fmt.Fprintln(r.g.stderr, it.msg)
			continue
		}
		if len(pending) == 0 {
			timer.Reset(flushAfter)
		}
		pending = append(pending, it.rec)
		if len(pending) == size {
			timer.Stop()
			if err := flush(); err != nil {
				return inputErrors, err
			}
		}
	}
	timer.Stop()
	if err := ctx.Err(); err != nil {
		return inputErrors, fmt.Errorf("run: %w", err)
	}
	return inputErrors, flush()
}

// read decodes one input ("-" is stdin) and hands its records to emit,
// reporting a saved Lambda event given without --event, an empty input
// (a warning) and an input that cannot be opened or decoded (after the
// records it delivered). It returns false when the run is cancelled.
func (r *runner) read(ctx context.Context, format engine.Format, name string, emit func(inItem) bool) bool {
	fail := func(err error) bool {
		return emit(inItem{msg: fmt.Sprintf("weir: input %s failed, skipped: %v", name, err), failed: true})
	}
	if r.events != nil {
		recs, err := r.decodeEvent(ctx, name, emit)
		if err != nil {
			return ctx.Err() == nil && fail(err)
		}
		for _, rec := range recs {
			if !emit(inItem{rec: rec, isRec: true}) {
				return false
			}
		}
		return true
	}
	var in io.Reader = r.g.stdin
	source := "stdin"
	if name != "-" {
		if err := checkInput(name); err != nil {
			return fail(err)
		}
		f, err := os.Open(name)
		if err != nil {
			return fail(err)
		}
		defer f.Close()
		in, source = f, name
	}
	dec, err := engine.NewDecoder(in, source, format)
	if err != nil {
		return fail(err)
	}
	for {
		rec, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			msg := fmt.Sprintf("weir: input %s failed, skipped: %v", name, err)
			if n := dec.Records(); n > 0 {
				msg = fmt.Sprintf("weir: input %s failed after %d records (they ran): %v", name, n, err)
			}
			return emit(inItem{msg: msg, failed: true})
		}
		if dec.Records() == 1 && format != engine.FormatLines && format != engine.FormatRaw {
			if src, why, ok := lambda.LooksLikeEvent(rec.Data); ok {
				return fail(fmt.Errorf("this is a saved AWS Lambda %s event (%s), not records: replay it with --event %s (or --event auto)", src, why, src))
			}
		}
		if !emit(inItem{rec: rec, isRec: true}) {
			return false
		}
	}
	if dec.Records() == 0 {
		return emit(inItem{msg: fmt.Sprintf("weir: warning: input %s is empty (no records)", source)})
	}
	return true
}

// summary prints the counts of the run, per stage too, on stderr.
func (r *runner) summary(loadTime time.Duration, inputErrors int) {
	w := r.g.stderr
	rate := 0.0
	if r.busy > 0 {
		rate = float64(r.in) / r.busy.Seconds()
	}
	fmt.Fprintf(w, "weir: %d records in, %d out, %d dropped, %d failed, %d dead-lettered in %s (%.0f records/s); modules loaded in %s\n",
		r.in, r.out, r.drop, r.failed, r.dead, r.busy.Round(time.Millisecond), rate, loadTime.Round(time.Millisecond))
	if inputErrors > 0 {
		fmt.Fprintf(w, "weir: %d inputs could not be decoded\n", inputErrors)
	}
	for _, s := range r.stages {
		fmt.Fprintf(w, "weir:   stage %q: %d in, %d out, %d dropped, %d failed, %d dead-lettered, %s\n",
			s.Name, s.In, s.Out, s.Dropped, s.Failed, s.DeadLettered, s.Duration.Round(time.Millisecond))
	}
}
