package swap

import "sync/atomic"

// counted is a value with a reference count. The slot that publishes it
// holds one reference; every user holds one more while it uses it. The
// last release runs done.
type counted[T any] struct {
	val  T
	refs atomic.Int64
	done func(T)
}

func newCounted[T any](val T, done func(T)) *counted[T] {
	c := &counted[T]{val: val, done: done}
	c.refs.Store(1)
	return c
}

// tryAcquire takes a reference unless the count already reached zero.
func (c *counted[T]) tryAcquire() bool {
	for {
		n := c.refs.Load()
		if n <= 0 {
			return false
		}
		if c.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (c *counted[T]) release() {
	if c.refs.Add(-1) == 0 && c.done != nil {
		c.done(c.val)
	}
}

// slot publishes the current value.
type slot[T any] struct {
	p atomic.Pointer[counted[T]]
}

// acquire returns the current value with a reference taken, or nil when
// the slot is empty (closed).
func (s *slot[T]) acquire() *counted[T] {
	for {
		c := s.p.Load()
		if c == nil {
			return nil
		}
		if c.tryAcquire() {
			return c
		}
		// c was swapped out and released between Load and tryAcquire:
		// the slot already holds its successor.
	}
}

// swap publishes c (nil empties the slot) and releases the previous value.
func (s *slot[T]) swap(c *counted[T]) {
	if old := s.p.Swap(c); old != nil {
		old.release()
	}
}

// peek returns the current value without a reference (for reading
// immutable fields).
func (s *slot[T]) peek() *counted[T] { return s.p.Load() }
