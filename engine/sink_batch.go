package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tidwall/gjson"
)

// KeyedSink is a Sink that uses the key its outputs were grouped by (an
// output's batch_key): the Kinesis output makes it the partition key, the
// S3 output puts it in the object key. The batching layer calls WriteKey
// instead of Write when the output has a batch_key.
type KeyedSink interface {
	Sink
	// WriteKey delivers outputs that all have key as their batch_key
	// value ("" when they lack the field).
	WriteKey(ctx context.Context, key string, outputs []Output) error
}

// Flusher is a Sink that holds outputs between writes (an output with
// batch settings). Flush writes everything it holds and returns when it
// is delivered, or with an error naming what was not.
type Flusher interface {
	Flush(ctx context.Context) error
}

// FlushSinks flushes every sink that holds outputs (see Flusher) and
// returns the errors joined. The Lambda handler calls it at the end of
// every invocation, so no output outlives the invocation that produced it.
func FlushSinks(ctx context.Context, sinks map[string]Sink) error {
	var errs []error
	done := map[any]bool{}
	for _, name := range sortedKeys(sinks) {
		f, ok := sinks[name].(Flusher)
		if !ok {
			continue
		}
		if isComparable(sinks[name]) {
			if done[sinks[name]] {
				continue
			}
			done[sinks[name]] = true
		}
		if err := f.Flush(ctx); err != nil {
			errs = append(errs, fmt.Errorf("sink: output %q: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// batchSink groups an output's outputs by batch_key and holds them until
// a batch is full, old, or flushed (OutputConfig.Batch, BatchKey).
type batchSink struct {
	name  string
	inner Sink
	cfg   BatchConfig
	hold  bool   // false: no batch settings, every Write is flushed
	path  string // batch_key; "" for one group

	mu     sync.Mutex
	groups map[string]*batchGroup
	order  []string // keys in the order their group started
	bgErr  error    // failures of interval flushes, returned by the next call
	closed bool

	stop chan struct{}
	done chan struct{}
}

type batchGroup struct {
	outs  []Output
	bytes int64
	since time.Time
}

// newBatchSink wraps inner with the batching of oc; it starts the
// interval flusher when oc.Batch is set.
func newBatchSink(name string, inner Sink, oc OutputConfig) *batchSink {
	s := &batchSink{name: name, inner: inner, path: oc.BatchKey, groups: map[string]*batchGroup{}}
	if oc.Batch != nil {
		s.hold, s.cfg = true, *oc.Batch
		if s.cfg.Interval == 0 {
			s.cfg.Interval = DefaultBatchInterval
		}
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.tick(time.Duration(s.cfg.Interval))
	}
	return s
}

// key returns an output's batch_key value.
func (s *batchSink) key(o Output) string {
	if s.path == "" {
		return ""
	}
	return gjson.GetBytes(o.Data, s.path).String()
}

// Write adds outputs to their groups, writing every group that becomes
// full; without batch settings it writes all the groups before returning.
func (s *batchSink) Write(ctx context.Context, outputs []Output) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("sink %s: write after close", s.name)
	}
	err := s.takeBgErr()
	for _, o := range outputs {
		k := s.key(o)
		g := s.groups[k]
		if g == nil {
			g = &batchGroup{since: time.Now()}
			s.groups[k] = g
			s.order = append(s.order, k)
		}
		size := int64(len(o.Data)) + 1
		if s.cfg.Bytes > 0 && len(g.outs) > 0 && g.bytes+size > s.cfg.Bytes {
			if werr := s.writeGroup(ctx, k); werr != nil {
				return errors.Join(err, werr)
			}
			g = &batchGroup{since: time.Now()}
			s.groups[k] = g
			s.order = append(s.order, k)
		}
		if s.hold {
			// The engine may reuse an output's buffer once Write returns.
			o.Data = append([]byte(nil), o.Data...)
		}
		g.outs = append(g.outs, o)
		g.bytes += size
		if s.cfg.Count > 0 && len(g.outs) >= s.cfg.Count {
			if werr := s.writeGroup(ctx, k); werr != nil {
				return errors.Join(err, werr)
			}
		}
	}
	if !s.hold {
		return errors.Join(err, s.flushLocked(ctx, time.Time{}))
	}
	return err
}

// writeGroup writes and forgets key's group; s.mu is held. A group whose
// write fails is forgotten too: the error reaches the caller, which fails
// the invocation (Lambda retries its records) or the run.
func (s *batchSink) writeGroup(ctx context.Context, key string) error {
	g := s.groups[key]
	delete(s.groups, key)
	for i, k := range s.order {
		if k == key {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	if g == nil || len(g.outs) == 0 {
		return nil
	}
	var err error
	if ks, ok := s.inner.(KeyedSink); ok && s.path != "" {
		err = ks.WriteKey(ctx, key, g.outs)
	} else {
		err = s.inner.Write(ctx, g.outs)
	}
	if err != nil {
		if s.path != "" {
			return fmt.Errorf("batch of %d outputs with batch_key %q: %w", len(g.outs), key, err)
		}
		return fmt.Errorf("batch of %d outputs: %w", len(g.outs), err)
	}
	return nil
}

// flushLocked writes every group started before cutoff (all groups when
// cutoff is zero), oldest first; s.mu is held.
func (s *batchSink) flushLocked(ctx context.Context, cutoff time.Time) error {
	var errs []error
	for _, k := range append([]string(nil), s.order...) {
		if g := s.groups[k]; g != nil && (cutoff.IsZero() || g.since.Before(cutoff)) {
			if err := s.writeGroup(ctx, k); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// takeBgErr returns and clears the interval flushes' errors; s.mu is held.
func (s *batchSink) takeBgErr() error {
	err := s.bgErr
	s.bgErr = nil
	if err != nil {
		return fmt.Errorf("sink %s: an interval flush failed: %w", s.name, err)
	}
	return nil
}

// Flush writes every group, and returns the errors of earlier interval
// flushes too.
func (s *batchSink) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.takeBgErr(), s.flushLocked(ctx, time.Time{}))
}

// tick flushes the groups older than interval.
func (s *batchSink) tick(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(max(interval/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.mu.Lock()
			if err := s.flushLocked(context.Background(), now.Add(-interval)); err != nil {
				slog.Error("sink: interval flush failed", "output", s.name, "error", err.Error())
				s.bgErr = errors.Join(s.bgErr, err)
			}
			s.mu.Unlock()
		}
	}
}

// Close stops the interval flusher, writes every group and closes the
// wrapped sink.
func (s *batchSink) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	s.mu.Lock()
	err := errors.Join(s.takeBgErr(), s.flushLocked(ctx, time.Time{}))
	s.mu.Unlock()
	return errors.Join(err, s.inner.Close(ctx))
}

var (
	_ Sink    = (*batchSink)(nil)
	_ Flusher = (*batchSink)(nil)
)
