package swap

import (
	"sync"
	"sync/atomic"
	"time"
)

// Refusal reasons, the keys of MetricsSnapshot.Refused.
const (
	ReasonTooLarge  = "too_large" // over the size cap
	ReasonDigest    = "digest"    // sha256 differs from the pin or the announced digest
	ReasonSignature = "signature" // signature missing, unreadable or wrong
	ReasonNotWasm   = "not_wasm"  // not a core Wasm module (or a component)
	ReasonCompile   = "compile"   // wazero refused to compile it
	ReasonImports   = "imports"   // imports the host does not provide, or bad ABI/exports
	ReasonSmoke     = "smoke"     // failed a smoke test
	ReasonConfig    = "config"    // a pipeline configuration that does not parse or validate
	ReasonBuild     = "build"     // a pipeline whose stages fail to build
)

// Metrics counts what the watchers did. The zero value is ready; it is
// safe for concurrent use. Read it with Snapshot.
type Metrics struct {
	polls        atomic.Int64
	unchanged    atomic.Int64
	swaps        atomic.Int64
	compiles     atomic.Int64
	compileNanos atomic.Int64
	lastCompile  atomic.Int64

	mu           sync.Mutex
	refused      map[string]int64
	sourceErrors map[string]int64
	versions     map[string]VersionInfo
	events       []VersionEvent // since the last DrainEvents
}

// maxEvents bounds the events kept between two DrainEvents calls (a
// watcher refusing the same broken version keeps no backlog: each
// version is refused once).
const maxEvents = 64

// VersionEvent is one version swapped in or refused.
type VersionEvent struct {
	// Target is the stage name, or PipelineTarget.
	Target string
	// Digest is the sha256 (hex) of the version's bytes: the module, or
	// the pipeline configuration as fetched.
	Digest string
	// Refused is false for a version swapped in.
	Refused bool
	// Reason is the refusal reason (a Reason* constant).
	Reason string
}

// DrainEvents returns the versions swapped in or refused since the
// previous call, oldest first (at most the last 64).
func (m *Metrics) DrainEvents() []VersionEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	ev := m.events
	m.events = nil
	return ev
}

// event records e (m.mu held).
func (m *Metrics) event(e VersionEvent) {
	if len(m.events) == maxEvents {
		m.events = append(m.events[:0], m.events[1:]...)
	}
	m.events = append(m.events, e)
}

// VersionInfo is the version a target (a stage, or the pipeline
// configuration) currently serves.
type VersionInfo struct {
	Ref           string
	Digest        string
	SourceVersion string
	Since         time.Time
	Swaps         int64
}

// MetricsSnapshot is a copy of the counters.
type MetricsSnapshot struct {
	// Polls counts source checks; Unchanged those that found nothing new.
	Polls, Unchanged int64
	// Swaps counts versions swapped in (initial loads excluded).
	Swaps int64
	// Refused counts refused versions by reason (Reason* constants).
	Refused map[string]int64
	// SourceErrors counts failed fetches by target.
	SourceErrors map[string]int64
	// Versions is the version in use per target (stage name, or
	// "pipeline" for a watched configuration).
	Versions map[string]VersionInfo
	// Compiles counts module compilations; CompileTime is their total
	// and LastCompile the latest one's duration.
	Compiles                 int64
	CompileTime, LastCompile time.Duration
}

// RefusedTotal sums Refused.
func (s MetricsSnapshot) RefusedTotal() int64 {
	var n int64
	for _, v := range s.Refused {
		n += v
	}
	return n
}

// Snapshot returns a copy of the counters.
func (m *Metrics) Snapshot() MetricsSnapshot {
	s := MetricsSnapshot{
		Polls:       m.polls.Load(),
		Unchanged:   m.unchanged.Load(),
		Swaps:       m.swaps.Load(),
		Compiles:    m.compiles.Load(),
		CompileTime: time.Duration(m.compileNanos.Load()),
		LastCompile: time.Duration(m.lastCompile.Load()),
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s.Refused = copyMap(m.refused)
	s.SourceErrors = copyMap(m.sourceErrors)
	s.Versions = copyMap(m.versions)
	return s
}

func copyMap[V any](m map[string]V) map[string]V {
	c := make(map[string]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// refuse counts a refused version of target whose bytes hash to digest.
func (m *Metrics) refuse(reason, target, digest string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refused == nil {
		m.refused = map[string]int64{}
	}
	m.refused[reason]++
	m.event(VersionEvent{Target: target, Digest: digest, Refused: true, Reason: reason})
}

func (m *Metrics) sourceError(target string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sourceErrors == nil {
		m.sourceErrors = map[string]int64{}
	}
	m.sourceErrors[target]++
}

func (m *Metrics) compiled(d time.Duration) {
	m.compiles.Add(1)
	m.compileNanos.Add(int64(d))
	m.lastCompile.Store(int64(d))
}

// serving records that target now serves v; swapped counts it as a swap.
func (m *Metrics) serving(target string, v Version, swapped bool) {
	if swapped {
		m.swaps.Add(1)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.versions == nil {
		m.versions = map[string]VersionInfo{}
	}
	vi := m.versions[target]
	vi.Ref, vi.Digest, vi.SourceVersion, vi.Since = v.Ref, v.Digest, v.SourceVersion, time.Now()
	if swapped {
		vi.Swaps++
		m.event(VersionEvent{Target: target, Digest: v.Digest})
	}
	m.versions[target] = vi
}
