// Package kinesisin consumes a Kinesis stream outside Lambda: it polls
// every shard with GetRecords, hands each batch to the same handler the
// Lambda bootstrap uses (shaped as a Lambda Kinesis event, so KPL
// de-aggregation, partial failures, retry counts and the dead-letter
// output behave exactly as in Lambda), and checkpoints each shard after
// every handled batch.
//
// Delivery is at least once: a batch whose outputs were written but whose
// checkpoint was not (a crash in between) is handled again. A record the
// handler reports failed is read again from its sequence number after a
// backoff, like Lambda's retry of a Kinesis batch; the handler's
// MaxAttempts and dead-letter output end the retries of a poison record.
package kinesisin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/lambda"
)

// Handler handles one Lambda-shaped Kinesis event (host/lambda.Handler).
type Handler interface {
	Handle(ctx context.Context, payload []byte) (any, error)
}

// Checkpoints stores, per shard, the sequence number of the last record
// handled. Get returns "" for a shard never checkpointed.
type Checkpoints interface {
	Get(ctx context.Context, shardID string) (string, error)
	Put(ctx context.Context, shardID, sequenceNumber string) error
}

// Start positions for shards without a checkpoint.
const (
	TrimHorizon = "trim_horizon"
	Latest      = "latest"
)

// Consumer polls the shards of one stream. Set the fields, then call Run.
type Consumer struct {
	// Client is the Kinesis client.
	Client *kinesis.Client
	// Stream is the stream's name.
	Stream string
	// Handler handles the batches.
	Handler Handler
	// Checkpoints keeps the position of every shard.
	Checkpoints Checkpoints
	// StartAt is TrimHorizon (default) or Latest, for shards without a
	// checkpoint.
	StartAt string
	// Limit is the GetRecords limit (default 1000, at most 10000).
	Limit int32
	// Poll is the pause after an empty GetRecords (default 1s; Kinesis
	// allows 5 GetRecords per second per shard).
	Poll time.Duration
	// Once stops each shard when it has caught up (no records and
	// MillisBehindLatest 0) instead of polling forever.
	Once bool
	// Logger logs progress and failures (nil: slog.Default()).
	Logger *slog.Logger

	mu    sync.Mutex
	stats Stats
}

// Stats counts what a consumer did.
type Stats struct {
	Batches, Records, Failed, Retries int
}

// Stats returns the counts so far.
func (c *Consumer) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Consumer) count(f func(*Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

func (c *Consumer) log() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// Run consumes every shard of the stream until ctx is done (or, with Once,
// until every shard has caught up). It returns the first shard's error.
func (c *Consumer) Run(ctx context.Context) error {
	if c.Client == nil || c.Handler == nil || c.Checkpoints == nil || c.Stream == "" {
		return errors.New("kinesisin: Client, Stream, Handler and Checkpoints are required")
	}
	desc, err := c.Client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(c.Stream)})
	if err != nil {
		return fmt.Errorf("kinesisin: stream %s: %w", c.Stream, err)
	}
	arn := aws.ToString(desc.StreamDescriptionSummary.StreamARN)
	var shards []types.Shard
	var next *string
	for {
		in := &kinesis.ListShardsInput{NextToken: next}
		if next == nil {
			in.StreamName = aws.String(c.Stream)
		}
		out, err := c.Client.ListShards(ctx, in)
		if err != nil {
			return fmt.Errorf("kinesisin: stream %s: list shards: %w", c.Stream, err)
		}
		shards = append(shards, out.Shards...)
		if next = out.NextToken; next == nil {
			break
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(shards))
	var wg sync.WaitGroup
	for _, sh := range shards {
		wg.Go(func() {
			if err := c.shard(ctx, arn, aws.ToString(sh.ShardId)); err != nil && ctx.Err() == nil {
				errs <- err
				cancel()
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if c.Once {
		return nil
	}
	return ctx.Err()
}

// iterator returns a shard iterator at a position: after seq, at seq
// (retrying a failed record), or the start position.
func (c *Consumer) iterator(ctx context.Context, shard, seq string, at bool) (*string, error) {
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(c.Stream), ShardId: aws.String(shard)}
	switch {
	case seq != "" && at:
		in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAtSequenceNumber, aws.String(seq)
	case seq != "":
		in.ShardIteratorType, in.StartingSequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(seq)
	case c.StartAt == Latest:
		in.ShardIteratorType = types.ShardIteratorTypeLatest
	default:
		in.ShardIteratorType = types.ShardIteratorTypeTrimHorizon
	}
	out, err := c.Client.GetShardIterator(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("kinesisin: shard %s: iterator: %w", shard, err)
	}
	return out.ShardIterator, nil
}

func (c *Consumer) shard(ctx context.Context, arn, shard string) error {
	limit, poll := c.Limit, c.Poll
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	if poll <= 0 {
		poll = time.Second
	}
	seq, err := c.Checkpoints.Get(ctx, shard)
	if err != nil {
		return fmt.Errorf("kinesisin: shard %s: read checkpoint: %w", shard, err)
	}
	it, err := c.iterator(ctx, shard, seq, false)
	if err != nil {
		return err
	}
	retry := 0
	for it != nil {
		out, err := c.Client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(limit)})
		if err != nil {
			return fmt.Errorf("kinesisin: shard %s: get records: %w", shard, err)
		}
		if len(out.Records) == 0 {
			if c.Once && aws.ToInt64(out.MillisBehindLatest) == 0 {
				return nil
			}
			it = out.NextShardIterator
			if err := sleep(ctx, poll); err != nil {
				return err
			}
			continue
		}
		failed, err := c.handle(ctx, arn, shard, out.Records)
		if err != nil {
			return err
		}
		if failed == "" {
			seq = aws.ToString(out.Records[len(out.Records)-1].SequenceNumber)
			if err := c.Checkpoints.Put(ctx, shard, seq); err != nil {
				return fmt.Errorf("kinesisin: shard %s: checkpoint %s: %w", shard, seq, err)
			}
			retry = 0
			it = out.NextShardIterator
			continue
		}
		// Lambda's semantics: everything before the first failure is done;
		// read again from the failed record after a backoff.
		for _, r := range out.Records {
			if aws.ToString(r.SequenceNumber) == failed {
				break
			}
			seq = aws.ToString(r.SequenceNumber)
		}
		if seq != "" {
			if err := c.Checkpoints.Put(ctx, shard, seq); err != nil {
				return fmt.Errorf("kinesisin: shard %s: checkpoint %s: %w", shard, seq, err)
			}
		}
		retry++
		c.count(func(s *Stats) { s.Retries++ })
		c.log().Warn("kinesisin: record failed; retrying from it", "shard", shard, "sequence_number", failed, "retry", retry)
		if err := sleep(ctx, min(poll*time.Duration(1<<min(retry, 6)), 30*time.Second)); err != nil {
			return err
		}
		if it, err = c.iterator(ctx, shard, failed, true); err != nil {
			return err
		}
	}
	return nil // the shard was closed (resharded) and fully read
}

// handle runs one GetRecords batch through the handler and returns the
// first failed sequence number ("" when all succeeded).
func (c *Consumer) handle(ctx context.Context, arn, shard string, recs []types.Record) (string, error) {
	krs := make([]lambda.KinesisRecord, len(recs))
	for i, r := range recs {
		krs[i] = lambda.KinesisRecord{
			ShardID:        shard,
			SequenceNumber: aws.ToString(r.SequenceNumber),
			PartitionKey:   aws.ToString(r.PartitionKey),
			Data:           r.Data,
			ArrivalTime:    aws.ToTime(r.ApproximateArrivalTimestamp),
		}
	}
	payload, err := lambda.NewKinesisEvent(arn, krs)
	if err != nil {
		return "", fmt.Errorf("kinesisin: shard %s: %w", shard, err)
	}
	// The batch's outputs live in an arena (engine.Arena), given back
	// once Handle has delivered them; the response holds only sequence
	// numbers.
	a := engine.NewArena()
	defer a.Release()
	resp, err := c.Handler.Handle(engine.WithArena(ctx, a), payload)
	if err != nil {
		return "", fmt.Errorf("kinesisin: shard %s: batch of %d records from %s: %w", shard, len(recs), aws.ToString(recs[0].SequenceNumber), err)
	}
	c.count(func(s *Stats) { s.Batches++; s.Records += len(recs) })
	kr, ok := resp.(*events.KinesisEventResponse)
	if !ok || len(kr.BatchItemFailures) == 0 {
		return "", nil
	}
	c.count(func(s *Stats) { s.Failed += len(kr.BatchItemFailures) })
	// The lowest failed sequence number, in the batch's order.
	failed := map[string]bool{}
	for _, f := range kr.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	for _, r := range recs {
		if failed[aws.ToString(r.SequenceNumber)] {
			return aws.ToString(r.SequenceNumber), nil
		}
	}
	return kr.BatchItemFailures[0].ItemIdentifier, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
