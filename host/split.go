package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/weirhq/weir/engine"
)

// runChunk runs records and fills res. base is the index of recs[0] in
// the batch, for messages.
//
// A record too large for the module's memory must fail alone, not take
// its batch with it: records larger than the memory limit are never sent
// (runFrame, runRecords), and when a call fails for want of memory (the
// frame does not fit, weir_alloc cannot return it, the module traps with
// its memory at the limit) over records large enough to be the cause, the
// chunk is split in halves, each run on its own instance, until the
// records that fail on their own are found; they fail with their index and
// size, the others succeed. A module that runs out of memory on small
// records fails its batch as before: the records are not the cause.
//
// piece is set when recs is one of several pieces of a batch (Process): a
// lone record in it that does not fit fails alone, as in a split.
//
// A chunked stage (stage.chunked) runs recs in calls of frameChunk
// records, one after the other, each split on its own: a chunk of one
// record out of several is already split (a record larger than
// chunkBytes is always alone in its chunk).
func (s *stage) runChunk(ctx context.Context, b *batch, base int, recs []engine.Record, res []engine.Result, piece bool) error {
	if !s.chunked || s.mode == modeRecord {
		return s.runSplit(ctx, b, base, recs, res, piece)
	}
	for lo := 0; lo < len(recs); {
		hi := lo + frameChunk(recs[lo:])
		if err := s.runSplit(ctx, b, base+lo, recs[lo:hi], res[lo:hi], piece || hi-lo < len(recs)); err != nil {
			return err
		}
		lo = hi
	}
	return nil
}

// suspectBytes is the size from which a record (or chunk) is a plausible
// cause of a module running out of memory: 1/64 of the memory limit.
func (s *stage) suspectBytes() int { return int(s.cm.memLimit() / 64) }

// runSplit is runChunk; split is set for the halves of a split chunk.
func (s *stage) runSplit(ctx context.Context, b *batch, base int, recs []engine.Record, res []engine.Result, split bool) error {
	err := s.runOnce(ctx, b, base, recs, res)
	if err == nil || s.mode == modeRecord || !isMemoryError(err) || ctx.Err() != nil {
		return err
	}
	size := 0
	for i := range recs {
		size += len(recs[i].Data)
	}
	if size < s.suspectBytes() {
		return err
	}
	if len(recs) == 1 {
		if !split {
			return err
		}
		res[0] = engine.Result{Status: engine.StatusFailed, Err: s.tooBig(base, len(recs[0].Data), err)}
		return nil
	}
	s.env.logger.LogAttrs(ctx, slog.LevelInfo, "host: splitting a batch that does not fit the module's memory",
		slog.String("module", s.env.label), slog.Int("first", base), slog.Int("records", len(recs)), slog.Int("bytes", size), slog.String("error", err.Error()))
	mid := len(recs) / 2
	if err := s.runSplit(ctx, b, base, recs[:mid], res[:mid], true); err != nil {
		return err
	}
	return s.runSplit(ctx, b, base+mid, recs[mid:], res[mid:], true)
}

// tooBig is the failure of a record that does not fit the module's
// memory; it matches ErrOutOfMemory and wraps cause.
func (s *stage) tooBig(index, size int, cause error) error {
	return &oversizeError{index: index, size: size, limit: s.cm.memLimit(), pages: s.cm.pages, cause: cause}
}

type oversizeError struct {
	index, size int
	limit       uint64
	pages       uint32
	cause       error
}

func (e *oversizeError) Error() string {
	return fmt.Sprintf("record %d (%d bytes) does not fit the module's memory limit of %d bytes (%d pages): %v", e.index, e.size, e.limit, e.pages, e.cause)
}

func (e *oversizeError) Unwrap() error { return e.cause }

// Is makes every oversize record match ErrOutOfMemory, whatever the cause.
func (e *oversizeError) Is(target error) bool { return target == ErrOutOfMemory }

// isMemoryError reports whether err wraps a *memoryError.
func isMemoryError(err error) bool {
	var me *memoryError
	return errors.As(err, &me)
}

// memoryError marks a call that failed for want of guest memory.
type memoryError struct{ err error }

func (e *memoryError) Error() string { return e.err.Error() }
func (e *memoryError) Unwrap() error { return e.err }

// errNotSent is the cause given for a record larger than the memory limit.
var errNotSent = errors.New("larger than the memory, not sent")

// notSent fails the record at index (its result *res) when it is larger
// than the module's memory limit: it is never sent, and fails alone.
func (s *stage) notSent(index int, data []byte, res *engine.Result) bool {
	if uint64(len(data)) <= s.cm.memLimit() {
		return false
	}
	*res = engine.Result{Status: engine.StatusFailed, Err: s.tooBig(index, len(data), errNotSent)}
	return true
}

// frameFits fails an input frame larger than the module's memory limit
// (a memory error: runChunk then looks for the records that cause it).
func (s *stage) frameFits(in []byte) error {
	if limit := s.cm.memLimit(); uint64(len(in)) > limit {
		return &memoryError{fmt.Errorf("%w: the %d-byte input frame does not fit the module's %d-byte memory limit", ErrOutOfMemory, len(in), limit)}
	}
	return nil
}
