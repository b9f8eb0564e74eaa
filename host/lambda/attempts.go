package lambda

import (
	"context"
	"sync"
)

// AttemptStore counts how many times a unit (a Kinesis record by its
// sequence number, ...) failed, across invocations.
type AttemptStore interface {
	// Increment adds one failure to key and returns the new count.
	Increment(ctx context.Context, key string) (int, error)
	// Delete forgets key (after the unit was dead-lettered).
	Delete(ctx context.Context, key string) error
}

// MemoryAttempts counts failures in memory, per container: best-effort,
// since Lambda may retry a batch on another container (or a new one after
// a crash), where the count starts again. Use a DynamoDB table
// (host/aws/ddbattempts) for counts that survive. At most MaxKeys keys are
// kept; beyond that the map is cleared. The zero value is ready to use.
type MemoryAttempts struct {
	// MaxKeys bounds the map (default 100000).
	MaxKeys int

	mu sync.Mutex
	m  map[string]int
}

var defaultMemory = &MemoryAttempts{}

// Increment adds one failure to key.
func (s *MemoryAttempts) Increment(_ context.Context, key string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	max := s.MaxKeys
	if max <= 0 {
		max = 100000
	}
	if s.m == nil || len(s.m) >= max {
		s.m = map[string]int{}
	}
	s.m[key]++
	return s.m[key], nil
}

// Delete forgets key.
func (s *MemoryAttempts) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}
