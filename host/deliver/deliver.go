// Package deliver is the delivery loop shared by weir's outputs: an
// output turns its outputs into entries, says what a call may carry
// (Limits) and how to send one call (SendFunc), and deliver does the rest:
//
//   - splitting: entries are packed, in order, into calls of at most
//     Limits.MaxEntries entries and Limits.MaxBytes bytes (each entry
//     counting its Size plus Limits.EntryOverhead); an entry larger than
//     Limits.MaxEntryBytes is refused before anything is sent;
//   - retrying: entries a call reports as failed and retryable
//     (throttling, internal errors) are re-sent alone, after an
//     exponential backoff with full jitter, up to Policy.MaxAttempts calls
//     per chunk; a whole call that fails with an error marked Retryable
//     (throttling, 5xx of a client without its own retryer) is retried
//     the same way, waiting at least what RetryAfter says; an entry
//     failed as not retryable (a sender fault)
//     stops the delivery at once;
//   - bounding: no wait passes the context's deadline: when the next
//     retry could not happen before it, delivery stops with an error
//     rather than being cut off mid-call by the Lambda timeout;
//   - reporting: whatever was not delivered is an *Error naming the
//     outputs it carried (errors.Is(err, ErrNotDelivered)), so the
//     invocation fails and nothing is lost silently.
//
// Deliver sends chunks one after the other, each one complete (delivered,
// or an error) before the next starts, so a failed delivery never leaves a
// later chunk half-sent, and entries arrive in order (but for entries
// re-sent after a partial failure). DeliverParallel sends up to n chunks
// at once, for outputs whose entries have no order to keep (Kinesis
// records under random partition keys): the first failure stops the
// starting of new chunks, and its *Error names the entries of every
// failed chunk and of every chunk not started. Delivery is at least once:
// an entry re-sent after an ambiguous failure may arrive twice.
package deliver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/weirhq/weir/host/internal/par"
)

// Limits are what one call of the service may carry. A zero field is no
// limit.
type Limits struct {
	// MaxEntries is the number of entries per call (PutRecords: 500).
	MaxEntries int
	// MaxBytes is the size of a call: the sum of its entries' Size plus
	// EntryOverhead each.
	MaxBytes int
	// MaxEntryBytes is the largest Size of one entry; a larger entry is
	// an error naming its outputs, returned before any call.
	MaxEntryBytes int
	// EntryOverhead is added to every entry's Size when counting
	// MaxBytes (framing, attribute names, a partition key the Size leaves
	// out).
	EntryOverhead int
}

// Policy bounds the retries of one chunk.
type Policy struct {
	// MaxAttempts is the number of calls made for one chunk, first
	// included (default DefaultMaxAttempts).
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the wait before retry n: a random
	// duration up to min(MaxBackoff, BaseBackoff*2^(n-1)) (defaults 50ms
	// and 2s).
	BaseBackoff, MaxBackoff time.Duration
}

// Defaults of Policy.
const (
	DefaultMaxAttempts = 8
	DefaultBaseBackoff = 50 * time.Millisecond
	DefaultMaxBackoff  = 2 * time.Second
)

// Entry is one unit of a call (a Kinesis record, an SQS message, a
// DynamoDB item) with the outputs it carries, for error messages.
type Entry[T any] struct {
	// Item is what SendFunc receives.
	Item T
	// Size is the entry's size in bytes, checked against
	// Limits.MaxEntryBytes and counted against Limits.MaxBytes.
	Size int
	// First is the index of the first output the entry carries (in the
	// output's Write call), Count how many it carries (0 counts as 1: an
	// aggregated Kinesis record carries many).
	First, Count int
}

// Failure is one entry a call did not deliver.
type Failure struct {
	// Index is the entry's position in the items SendFunc received.
	Index int
	// Retryable entries are re-sent; any other stops the delivery.
	Retryable bool
	// Code and Message are the service's reason (e.g.
	// "ProvisionedThroughputExceededException", "Rate exceeded").
	Code, Message string
}

// FailuresByID returns the Failures of the entries a batch API's answer
// lists as failed, each named by id, for outputs whose entries' ids are
// their positions in the call (strconv.Itoa): SNS PublishBatch, SQS
// SendMessageBatch. fields reads one listed entry; a sender fault is not
// retryable. An id that is not a number is an error naming op.
func FailuresByID[E any](op string, failed []E, fields func(E) (id string, senderFault bool, code, message string)) ([]Failure, error) {
	out := make([]Failure, 0, len(failed))
	for _, e := range failed {
		id, senderFault, code, message := fields(e)
		i, err := strconv.Atoi(id)
		if err != nil {
			return nil, fmt.Errorf("%s failed an entry with unknown id %q", op, id)
		}
		out = append(out, Failure{Index: i, Retryable: !senderFault, Code: code, Message: message})
	}
	return out, nil
}

// SendFunc makes one call with items. It returns the entries the service
// failed (none: all delivered), or an error when the call itself failed:
// wrap it with Retryable to have the call retried.
type SendFunc[T any] func(ctx context.Context, items []T) ([]Failure, error)

// Config configures a Deliverer.
type Config[T any] struct {
	// Name starts every error, e.g. "kinesis mystream".
	Name string
	// Op names the call in errors, e.g. "PutRecords".
	Op string
	// Noun names one entry in errors (default "entry"), e.g. "record".
	Noun   string
	Limits Limits
	Policy Policy
	Send   SendFunc[T]
}

// Deliverer delivers entries with one output's limits and policy. It is
// safe for concurrent use when its SendFunc is.
type Deliverer[T any] struct {
	c Config[T]
}

// New returns a Deliverer, with Policy defaults filled in.
func New[T any](c Config[T]) *Deliverer[T] {
	if c.Policy.MaxAttempts <= 0 {
		c.Policy.MaxAttempts = DefaultMaxAttempts
	}
	if c.Policy.BaseBackoff <= 0 {
		c.Policy.BaseBackoff = DefaultBaseBackoff
	}
	if c.Policy.MaxBackoff <= 0 {
		c.Policy.MaxBackoff = DefaultMaxBackoff
	}
	if c.Noun == "" {
		c.Noun = "entry"
	}
	if c.Op == "" {
		c.Op = "call"
	}
	return &Deliverer[T]{c: c}
}

// ErrNotDelivered is matched by errors.Is on every *Error.
var ErrNotDelivered = errors.New("not delivered")

// ErrTooLarge is matched by errors.Is when an entry exceeds
// Limits.MaxEntryBytes.
var ErrTooLarge = errors.New("entry too large")

// Undelivered is an entry that was not delivered.
type Undelivered struct {
	// First and Count are the outputs it carries.
	First, Count int
	// Code and Message are the last reason the service gave (empty for
	// entries never sent, or sent in a call that failed as a whole).
	Code, Message string
	// Refused is set when the service failed the entry as not
	// retryable (a sender fault).
	Refused bool
}

// Error is a delivery that did not complete: Entries lists, in order,
// every entry that was not delivered (the failed ones and those of later
// chunks never sent); entries before them were delivered.
type Error struct {
	// Name, Op and Noun are the Deliverer's (Config).
	Name, Op, Noun string
	// Entries are the entries not delivered, in order.
	Entries []Undelivered
	// Attempts is the number of calls made for the failing chunk.
	Attempts int
	// Err is why delivery stopped: the call's error, the context's,
	// ErrTooLarge, or nil when entries failed (Entries then holds the
	// service's reason).
	Err error
}

// Error names the outputs not delivered and why.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", e.Name)
	if errors.Is(e.Err, ErrTooLarge) {
		fmt.Fprintf(&b, "%v", e.Err)
		return b.String()
	}
	if e.Err != nil && len(e.Entries) > 0 {
		fmt.Fprintf(&b, "%s of outputs %s: %v", e.Op, Outputs(e.Entries), e.Err)
		return b.String()
	}
	n, code, msg, refused := 0, "", "", false
	var coded []Undelivered // the entries the service failed (first, but for DeliverParallel)
	for _, u := range e.Entries {
		if u.Code != "" {
			n++
			coded = append(coded, u)
			if !refused || u.Refused {
				code, msg = u.Code, u.Message
			}
			refused = refused || u.Refused
		}
	}
	if refused {
		label := "outputs"
		if n == 1 && e.Entries[0].Count <= 1 {
			label = "output"
		}
		fmt.Fprintf(&b, "%s %s refused: %s: %s", label, Outputs(coded), code, msg)
	} else {
		fmt.Fprintf(&b, "%d %s (outputs %s) still failed after %d attempts: %s: %s", n, plural(e.Noun), Outputs(coded), e.Attempts, code, msg)
	}
	if rest := len(e.Entries) - n; rest > 0 {
		fmt.Fprintf(&b, " (%d later %s not sent)", rest, plural(e.Noun))
	}
	return b.String()
}

// plural returns the plural of an entry's noun.
func plural(noun string) string {
	if strings.HasSuffix(noun, "y") {
		return strings.TrimSuffix(noun, "y") + "ies"
	}
	return noun + "s"
}

// Unwrap returns ErrNotDelivered and the cause.
func (e *Error) Unwrap() []error { return []error{ErrNotDelivered, e.Err} }

// OutputIndexes lists the outputs not delivered, in order.
func (e *Error) OutputIndexes() []int {
	var out []int
	for _, u := range e.Entries {
		for i := range max(u.Count, 1) {
			out = append(out, u.First+i)
		}
	}
	return out
}

// Outputs names the outputs carried by entries as ranges: "0-2, 5" or
// "0-2, 5, ... and 12 more".
func Outputs(entries []Undelivered) string {
	type span struct{ lo, hi int }
	var spans []span
	for _, u := range entries {
		lo, hi := u.First, u.First+max(u.Count, 1)-1
		if n := len(spans); n > 0 && spans[n-1].hi+1 == lo {
			spans[n-1].hi = hi
			continue
		}
		spans = append(spans, span{lo, hi})
	}
	if len(spans) == 0 {
		return "none"
	}
	const shown = 8
	parts := make([]string, 0, shown)
	for i, s := range spans {
		if i == shown {
			parts = append(parts, fmt.Sprintf("... and %d more", len(spans)-shown))
			break
		}
		if s.lo == s.hi {
			parts = append(parts, fmt.Sprint(s.lo))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", s.lo, s.hi))
		}
	}
	return strings.Join(parts, ", ")
}

// retryable marks an error as worth retrying, after at least after.
type retryable struct {
	err   error
	after time.Duration
}

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

// Retryable marks err, returned by a SendFunc, as a failure of the whole
// call worth retrying (throttling, a 5xx answer). Retryable(nil) is nil.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return retryable{err: err}
}

// RetryAfter is Retryable with the wait the service asked for (an HTTP
// Retry-After): the retry waits at least d, still never past the
// context's deadline.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return retryable{err: err, after: d}
}

// retryAfter returns the wait err asks for (0: none).
func retryAfter(err error) time.Duration {
	var r retryable
	if errors.As(err, &r) {
		return r.after
	}
	return 0
}

// IsRetryable reports whether err was marked with Retryable or
// RetryAfter.
func IsRetryable(err error) bool {
	var r retryable
	return errors.As(err, &r)
}

// Chunks splits entries into calls within the limits, in order. Entries
// larger than MaxEntryBytes are not checked here (see Deliver).
func (l Limits) Chunks(sizes []int) [][2]int {
	var out [][2]int
	for start := 0; start < len(sizes); {
		end, size := start, 0
		for end < len(sizes) && (l.MaxEntries <= 0 || end-start < l.MaxEntries) {
			n := sizes[end] + l.EntryOverhead
			if end > start && l.MaxBytes > 0 && size+n > l.MaxBytes {
				break
			}
			size += n
			end++
		}
		out = append(out, [2]int{start, end})
		start = end
	}
	return out
}

// Deliver sends entries in calls within the limits, one call after the
// other, re-sending failed entries, and returns nil once every entry is
// delivered, or an *Error.
func (d *Deliverer[T]) Deliver(ctx context.Context, entries []Entry[T]) error {
	sizes, err := d.sizes(entries)
	if err != nil {
		return err
	}
	return d.inOrder(ctx, entries, d.c.Limits.Chunks(sizes))
}

// inOrder sends entries' chunks one after the other, stopping at the
// first that fails (its *Error names the later entries, not sent).
func (d *Deliverer[T]) inOrder(ctx context.Context, entries []Entry[T], chunks [][2]int) error {
	for _, c := range chunks {
		if err := d.chunk(ctx, entries[c[0]:c[1]], entries[c[1]:]); err != nil {
			return err
		}
	}
	return nil
}

// sizes returns the entries' sizes, or an *Error naming the first entry
// over the limit.
func (d *Deliverer[T]) sizes(entries []Entry[T]) ([]int, error) {
	sizes := make([]int, len(entries))
	for i, e := range entries {
		if d.c.Limits.MaxEntryBytes > 0 && e.Size > d.c.Limits.MaxEntryBytes {
			return nil, &Error{Name: d.c.Name, Op: d.c.Op, Noun: d.c.Noun, Entries: undelivered(entries[i:i+1], nil),
				Err: fmt.Errorf("output %s: %d bytes exceeds the %s %s limit: %w", Outputs(undelivered(entries[i:i+1], nil)), e.Size, HumanBytes(d.c.Limits.MaxEntryBytes), d.c.Noun, ErrTooLarge)}
		}
		sizes[i] = e.Size
	}
	return sizes, nil
}

// DeliverParallel is Deliver with up to n calls in flight (n <= 1 is
// Deliver), each chunk retried on its own, for entries whose order does
// not matter: chunks may arrive in any order. The first chunk that fails
// stops the starting of new ones; the *Error then lists, in order, the
// entries of every failed chunk and of every chunk not started (those of
// chunks delivered, even after the failed one, are not listed), with the
// reason and attempts of the first failed chunk.
func (d *Deliverer[T]) DeliverParallel(ctx context.Context, entries []Entry[T], n int) error {
	sizes, err := d.sizes(entries)
	if err != nil {
		return err
	}
	chunks := d.c.Limits.Chunks(sizes)
	if n > 1 && len(chunks) > 1 && len(chunks) < 2*n && d.c.Limits.MaxBytes > 0 {
		// Fewer calls than two per worker: smaller calls, so that the
		// workers share the work evenly (3 full calls on 2 workers take
		// as long as 4).
		total := 0
		for _, size := range sizes {
			total += size + d.c.Limits.EntryOverhead
		}
		l := d.c.Limits
		l.MaxBytes = min(l.MaxBytes, max((total+2*n-1)/(2*n), 1))
		chunks = l.Chunks(sizes)
	}
	if min(n, len(chunks)) <= 1 {
		return d.inOrder(ctx, entries, chunks)
	}
	errs := make([]error, len(chunks))
	started := make([]bool, len(chunks))
	par.Each(len(chunks), n, func(i int) bool {
		started[i] = true
		errs[i] = d.chunk(ctx, entries[chunks[i][0]:chunks[i][1]], nil)
		return errs[i] == nil
	})
	var first *Error
	var lost []Undelivered
	for i, c := range chunks {
		switch {
		case errs[i] != nil:
			var e *Error
			if !errors.As(errs[i], &e) {
				return errs[i] // chunk returns only *Error
			}
			if first == nil {
				first = e
			}
			lost = append(lost, e.Entries...)
		case !started[i]:
			lost = append(lost, undelivered(entries[c[0]:c[1]], nil)...)
		}
	}
	if first == nil {
		return nil
	}
	return &Error{Name: d.c.Name, Op: d.c.Op, Noun: d.c.Noun, Entries: lost, Attempts: first.Attempts, Err: first.Err}
}

// chunk delivers one call's entries; later are the entries of the chunks
// after it, named in the error when this one fails.
func (d *Deliverer[T]) chunk(ctx context.Context, pending, later []Entry[T]) error {
	reasons := map[int]Failure{} // by position in pending, for the error
	fail := func(attempt int, err error) error {
		u := undelivered(pending, reasons)
		return &Error{Name: d.c.Name, Op: d.c.Op, Noun: d.c.Noun, Entries: append(u, undelivered(later, nil)...), Attempts: attempt, Err: err}
	}
	for attempt := 1; ; attempt++ {
		items := make([]T, len(pending))
		for i, e := range pending {
			items[i] = e.Item
		}
		failures, err := d.c.Send(ctx, items)
		retry := pending
		if err != nil {
			clear(reasons)
			if !IsRetryable(err) || attempt >= d.c.Policy.MaxAttempts {
				return fail(attempt, err)
			}
		} else {
			if len(failures) == 0 {
				return nil
			}
			retry = make([]Entry[T], 0, len(failures))
			clear(reasons)
			stop := false
			for _, f := range failures {
				if f.Index < 0 || f.Index >= len(pending) {
					return fail(attempt, fmt.Errorf("the service reported a failure of entry %d of a call of %d", f.Index, len(pending)))
				}
				reasons[len(retry)] = f
				retry = append(retry, pending[f.Index])
				stop = stop || !f.Retryable
			}
			pending = retry
			if stop || attempt >= d.c.Policy.MaxAttempts {
				return fail(attempt, nil)
			}
		}
		wait := max(Backoff(attempt, d.c.Policy.BaseBackoff, d.c.Policy.MaxBackoff), retryAfter(err))
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return fail(attempt, fmt.Errorf("no time left for retry %d before the deadline: %w (last: %v)", attempt+1, context.DeadlineExceeded, errOr(err, reasons)))
		}
		if serr := sleep(ctx, wait); serr != nil {
			return fail(attempt, fmt.Errorf("waiting to retry: %w", serr))
		}
		pending = retry
	}
}

// errOr describes the last failure.
func errOr(err error, reasons map[int]Failure) string {
	if err != nil {
		return err.Error()
	}
	for _, f := range reasons {
		return f.Code + ": " + f.Message
	}
	return "none"
}

// undelivered lists entries, with the reasons by position.
func undelivered[T any](entries []Entry[T], reasons map[int]Failure) []Undelivered {
	out := make([]Undelivered, len(entries))
	for i, e := range entries {
		out[i] = Undelivered{First: e.First, Count: max(e.Count, 1)}
		if f, ok := reasons[i]; ok {
			out[i].Code, out[i].Message, out[i].Refused = f.Code, f.Message, !f.Retryable
			if out[i].Code == "" {
				out[i].Code = "failed"
			}
		}
	}
	return out
}

// Backoff returns the wait before retry attempt (1-based): full jitter
// over an exponential from base, capped at max.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := base << min(attempt-1, 20)
	if d > max || d <= 0 {
		d = max
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

// sleep waits for d or until ctx ends, returning ctx's error then.
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

// HumanBytes writes n as "1 MiB", "1000 KiB" or "123 bytes".
func HumanBytes(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d-byte", n)
}
