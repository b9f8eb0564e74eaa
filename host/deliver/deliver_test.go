package deliver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestChunks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits Limits
		sizes  []int
		want   string
	}{
		{"count", Limits{MaxEntries: 2}, []int{1, 1, 1, 1, 1}, "[[0 2] [2 4] [4 5]]"},
		{"bytes", Limits{MaxBytes: 10}, []int{4, 4, 4, 10, 1}, "[[0 2] [2 3] [3 4] [4 5]]"},
		{"overhead", Limits{MaxBytes: 10, EntryOverhead: 1}, []int{4, 4, 4}, "[[0 2] [2 3]]"},
		{"exact", Limits{MaxBytes: 10}, []int{5, 5, 5, 5}, "[[0 2] [2 4]]"},
		{"both", Limits{MaxEntries: 3, MaxBytes: 10}, []int{1, 1, 1, 1, 9, 1, 1}, "[[0 3] [3 5] [5 7]]"},
		{"an entry over MaxBytes goes alone", Limits{MaxBytes: 10}, []int{1, 20, 1}, "[[0 1] [1 2] [2 3]]"},
		{"none", Limits{MaxEntries: 3}, nil, "[]"},
		{"no limits", Limits{}, []int{1, 2, 3}, "[[0 3]]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(tc.limits.Chunks(tc.sizes)); got != tc.want {
				t.Errorf("Chunks(%v) = %s, want %s", tc.sizes, got, tc.want)
			}
		})
	}
}

// service is a scripted SendFunc: answer(call, items) decides the
// failures of each call; it records every call's items.
type service struct {
	mu     sync.Mutex
	calls  [][]int
	answer func(call int, items []int) ([]Failure, error)
}

func (s *service) send(_ context.Context, items []int) ([]Failure, error) {
	s.mu.Lock()
	s.calls = append(s.calls, append([]int(nil), items...))
	n := len(s.calls)
	s.mu.Unlock()
	if s.answer == nil {
		return nil, nil
	}
	return s.answer(n, items)
}

func entries(n int) []Entry[int] {
	out := make([]Entry[int], n)
	for i := range out {
		out[i] = Entry[int]{Item: i, Size: 1, First: i}
	}
	return out
}

func failIf(retryable bool, code string, pred func(call, item int) bool) func(int, []int) ([]Failure, error) {
	return func(call int, items []int) ([]Failure, error) {
		var f []Failure
		for i, it := range items {
			if pred(call, it) {
				f = append(f, Failure{Index: i, Retryable: retryable, Code: code, Message: "injected"})
			}
		}
		return f, nil
	}
}

func TestDeliver(t *testing.T) {
	fast := Policy{MaxAttempts: 3, BaseBackoff: time.Microsecond, MaxBackoff: time.Millisecond}
	throttle := errors.New("ThrottlingException: slow down")
	for _, tc := range []struct {
		name    string
		n       int
		answer  func(int, []int) ([]Failure, error)
		calls   string
		err     string // substring of the error; "" for none
		missing string // fmt of OutputIndexes
		is      error
	}{
		{name: "all delivered", n: 5, calls: "[[0 1] [2 3] [4]]"},
		{name: "partial failures re-sent alone", n: 5,
			answer: failIf(true, "Throttled", func(c, it int) bool { return c == 1 && it == 1 }),
			calls:  "[[0 1] [1] [2 3] [4]]"},
		{name: "attempts exhausted name the outputs and later chunks", n: 5,
			answer:  failIf(true, "InternalFailure", func(c, it int) bool { return it == 2 || it == 3 }),
			calls:   "[[0 1] [2 3] [2 3] [2 3]]",
			err:     "svc q: 2 records (outputs 2-3) still failed after 3 attempts: InternalFailure: injected (1 later records not sent)",
			missing: "[2 3 4]", is: ErrNotDelivered},
		{name: "a sender fault stops at once", n: 4,
			answer:  failIf(false, "InvalidParameterValue", func(c, it int) bool { return it == 0 }),
			calls:   "[[0 1]]",
			err:     "svc q: output 0 refused: InvalidParameterValue: injected",
			missing: "[0 2 3]", is: ErrNotDelivered},
		{name: "retryable call error retried", n: 2,
			answer: func(c int, _ []int) ([]Failure, error) {
				if c == 1 {
					return nil, Retryable(throttle)
				}
				return nil, nil
			},
			calls: "[[0 1] [0 1]]"},
		{name: "retryable call error exhausted", n: 3,
			answer:  func(int, []int) ([]Failure, error) { return nil, Retryable(throttle) },
			calls:   "[[0 1] [0 1] [0 1]]",
			err:     "svc q: Put of outputs 0-2: ThrottlingException",
			missing: "[0 1 2]", is: throttle},
		{name: "other call error not retried", n: 3,
			answer:  func(int, []int) ([]Failure, error) { return nil, errors.New("AccessDenied") },
			calls:   "[[0 1]]",
			err:     "Put of outputs 0-2: AccessDenied",
			missing: "[0 1 2]", is: ErrNotDelivered},
		{name: "bad failure index", n: 1,
			answer: func(int, []int) ([]Failure, error) { return []Failure{{Index: 7}}, nil },
			calls:  "[[0]]", err: "failure of entry 7 of a call of 1", missing: "[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &service{answer: tc.answer}
			d := New(Config[int]{Name: "svc q", Op: "Put", Noun: "record", Limits: Limits{MaxEntries: 2}, Policy: fast, Send: s.send})
			err := d.Deliver(context.Background(), entries(tc.n))
			if got := fmt.Sprint(s.calls); got != tc.calls {
				t.Errorf("calls %s, want %s", got, tc.calls)
			}
			if tc.err == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
			var de *Error
			if !errors.As(err, &de) || fmt.Sprint(de.OutputIndexes()) != tc.missing {
				t.Errorf("undelivered outputs %v, want %s", de, tc.missing)
			}
			if !errors.Is(err, ErrNotDelivered) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Errorf("errors.Is(%v, %v) false", err, tc.is)
			}
		})
	}
}

// TestDeliverOversize: an entry over MaxEntryBytes is refused before any
// call, the error naming the outputs it carries.
func TestDeliverOversize(t *testing.T) {
	s := &service{}
	d := New(Config[int]{Name: "k s", Noun: "record", Limits: Limits{MaxEntryBytes: 1 << 20}, Send: s.send})
	es := entries(3)
	es[2] = Entry[int]{Item: 2, Size: 1<<20 + 1, First: 2, Count: 4}
	err := d.Deliver(context.Background(), es)
	if err == nil || !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "k s: output 2-5: 1048577 bytes exceeds the 1 MiB record limit") {
		t.Fatalf("error %v", err)
	}
	if len(s.calls) != 0 {
		t.Errorf("calls made: %v", s.calls)
	}
}

// TestDeliverDeadline: retries stop, with an error naming the outputs,
// when the next one cannot start before the context's deadline.
func TestDeliverDeadline(t *testing.T) {
	s := &service{answer: failIf(true, "Throttled", func(int, int) bool { return true })}
	d := New(Config[int]{Name: "q", Policy: Policy{MaxAttempts: 100, BaseBackoff: time.Hour, MaxBackoff: time.Hour}, Send: s.send})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := d.Deliver(ctx, entries(2))
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "outputs 0-1") {
		t.Fatalf("error %v", err)
	}
	if ctx.Err() != nil {
		t.Errorf("Deliver waited until the deadline instead of stopping before it")
	}
	// A cancelled context stops a wait.
	d = New(Config[int]{Name: "q", Policy: Policy{MaxAttempts: 100, BaseBackoff: time.Hour, MaxBackoff: time.Hour}, Send: s.send})
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := d.Deliver(ctx, entries(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
}

// TestRetryAfter: a call failed with RetryAfter is retried no sooner
// than asked, and not at all when the wait would pass the deadline.
func TestRetryAfter(t *testing.T) {
	calls := 0
	var gap time.Duration
	var last time.Time
	d := New(Config[int]{Name: "h", Policy: Policy{BaseBackoff: time.Microsecond, MaxBackoff: time.Microsecond},
		Send: func(context.Context, []int) ([]Failure, error) {
			calls++
			if calls > 1 {
				gap = time.Since(last)
				return nil, nil
			}
			last = time.Now()
			return nil, RetryAfter(errors.New("429 Too Many Requests"), 150*time.Millisecond)
		}})
	if err := d.Deliver(context.Background(), entries(1)); err != nil || calls != 2 || gap < 150*time.Millisecond {
		t.Fatalf("err %v, %d calls, retried after %v (want >= 150ms)", err, calls, gap)
	}
	calls = 0
	d = New(Config[int]{Name: "h", Send: func(context.Context, []int) ([]Failure, error) {
		calls++
		return nil, RetryAfter(errors.New("429"), time.Hour)
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := d.Deliver(ctx, entries(1)); !errors.Is(err, context.DeadlineExceeded) || calls != 1 || ctx.Err() != nil {
		t.Fatalf("err %v after %d calls", err, calls)
	}
	if IsRetryable(errors.New("x")) || !IsRetryable(fmt.Errorf("wrapped: %w", RetryAfter(errors.New("x"), 0))) || RetryAfter(nil, 1) != nil {
		t.Error("IsRetryable")
	}
}

func TestBackoff(t *testing.T) {
	for attempt := 1; attempt < 40; attempt++ {
		for range 50 {
			d := Backoff(attempt, 50*time.Millisecond, 2*time.Second)
			limit := min(2*time.Second, 50*time.Millisecond<<min(attempt-1, 20))
			if d <= 0 || d > limit {
				t.Fatalf("Backoff(%d) = %v, want (0, %v]", attempt, d, limit)
			}
		}
	}
}

func TestOutputs(t *testing.T) {
	for _, tc := range []struct {
		in   []Undelivered
		want string
	}{
		{nil, "none"},
		{[]Undelivered{{First: 3, Count: 1}}, "3"},
		{[]Undelivered{{First: 0, Count: 2}, {First: 2, Count: 1}, {First: 5, Count: 1}}, "0-2, 5"},
		{[]Undelivered{{First: 0}, {First: 2}, {First: 4}, {First: 6}, {First: 8}, {First: 10}, {First: 12}, {First: 14}, {First: 16}, {First: 18}}, "0, 2, 4, 6, 8, 10, 12, 14, ... and 2 more"},
	} {
		if got := Outputs(tc.in); got != tc.want {
			t.Errorf("Outputs(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// BenchmarkDeliver measures the loop's own cost: 10,000 entries of 1 KiB
// split into Kinesis-sized calls (500 entries, 5 MiB) to a SendFunc that
// accepts everything.
func BenchmarkDeliver(b *testing.B) {
	es := make([]Entry[int], 10000)
	for i := range es {
		es[i] = Entry[int]{Item: i, Size: 1024, First: i}
	}
	d := New(Config[int]{Name: "bench", Limits: Limits{MaxEntries: 500, MaxBytes: 5 << 20, MaxEntryBytes: 1 << 20},
		Send: func(context.Context, []int) ([]Failure, error) { return nil, nil }})
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Deliver(context.Background(), es); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(es)), "ns/entry")
}

func TestFailuresByID(t *testing.T) {
	type listed struct {
		id     string
		sender bool
	}
	fields := func(l listed) (string, bool, string, string) { return l.id, l.sender, "C", "m" }
	for _, tc := range []struct {
		failed  []listed
		want    string
		wantErr string
	}{
		{nil, "[]", ""},
		{[]listed{{"0", false}, {"12", true}}, "[{0 true C m} {12 false C m}]", ""},
		{[]listed{{"1", false}, {"x", false}}, "", `Op failed an entry with unknown id "x"`},
		{[]listed{{"", true}}, "", `Op failed an entry with unknown id ""`},
	} {
		got, err := FailuresByID("Op", tc.failed, fields)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("FailuresByID(%v) error = %v, want %s", tc.failed, err, tc.wantErr)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != tc.want {
			t.Errorf("FailuresByID(%v) = %v, %v; want %s", tc.failed, got, err, tc.want)
		}
	}
}

// TestDeliverParallel: with several calls in flight every entry is
// delivered once; when a chunk fails, the error lists exactly the entries
// not delivered (those of the failed chunk and of chunks never started),
// in order, and none that was. Run with -cpu 1,2,4.
func TestDeliverParallel(t *testing.T) {
	fast := Policy{MaxAttempts: 2, BaseBackoff: time.Microsecond, MaxBackoff: time.Millisecond}
	for _, tc := range []struct {
		name    string
		workers int
		// fail returns the failures of one call (seen: how many times
		// each item was sent before, this call excluded).
		fail func(items []int, seen map[int]int) ([]Failure, error)
		err  string
	}{
		{name: "all delivered", workers: 4},
		{name: "one worker", workers: 1},
		{name: "entries failed once are re-sent", workers: 3, fail: func(items []int, seen map[int]int) ([]Failure, error) {
			var f []Failure
			for i, it := range items {
				if it%5 == 0 && seen[it] == 0 {
					f = append(f, Failure{Index: i, Retryable: true, Code: "Throttled"})
				}
			}
			return f, nil
		}},
		{name: "refused entry", workers: 3, fail: func(items []int, _ map[int]int) ([]Failure, error) {
			return failIf(false, "InvalidArgument", func(_, it int) bool { return it == 9 })(0, items)
		}, err: "svc q: output 9 refused: InvalidArgument: injected"},
		{name: "call error", workers: 2, fail: func(items []int, _ map[int]int) ([]Failure, error) {
			if items[0] == 6 {
				return nil, errors.New("AccessDenied")
			}
			return nil, nil
		}, err: "Put of outputs 6-"},
		{name: "attempts exhausted", workers: 4, fail: func(items []int, _ map[int]int) ([]Failure, error) {
			return failIf(true, "InternalFailure", func(_, it int) bool { return it == 3 || it == 14 })(0, items)
		}, err: "still failed after 2 attempts: InternalFailure: injected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[int]int{}
			delivered := map[int]int{}
			send := func(_ context.Context, items []int) ([]Failure, error) {
				mu.Lock()
				defer mu.Unlock()
				var failed []Failure
				var err error
				if tc.fail != nil {
					failed, err = tc.fail(items, seen)
				}
				bad := map[int]bool{}
				for _, f := range failed {
					bad[items[f.Index]] = true
				}
				for _, it := range items {
					seen[it]++
					if err == nil && !bad[it] {
						delivered[it]++
					}
				}
				return failed, err
			}
			d := New(Config[int]{Name: "svc q", Op: "Put", Noun: "record", Limits: Limits{MaxEntries: 2}, Policy: fast, Send: send})
			const n = 20
			err := d.DeliverParallel(context.Background(), entries(n), tc.workers)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				for i := range n {
					if delivered[i] != 1 {
						t.Errorf("entry %d delivered %d times", i, delivered[i])
					}
				}
				return
			}
			var de *Error
			if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrNotDelivered) {
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
			missing := de.OutputIndexes()
			for j := 1; j < len(missing); j++ {
				if missing[j] <= missing[j-1] {
					t.Fatalf("outputs not delivered %v are not in order", missing)
				}
			}
			lost := map[int]bool{}
			for _, i := range missing {
				lost[i] = true
			}
			for i := range n {
				if lost[i] == (delivered[i] > 0) || delivered[i] > 1 {
					t.Errorf("entry %d: delivered %d times, listed as not delivered: %v (%v)", i, delivered[i], lost[i], missing)
				}
			}
		})
	}
}
