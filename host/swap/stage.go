package swap

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/weirhq/weir/engine"
)

// Version identifies one module (or configuration) version.
type Version struct {
	// Ref is the reference it was fetched from.
	Ref string
	// Digest is the sha256 of its bytes (hex).
	Digest string
	// SourceVersion is its version at the source: S3 version id or ETag,
	// AppConfig configuration version, HTTP ETag, or the file's digest.
	SourceVersion string
	// Loaded is when it was swapped in.
	Loaded time.Time
	// CompileTime is how long compiling and probing it took.
	CompileTime time.Duration
}

// Label names the version as "ref@sourceVersion"; Describe returns it as
// the module, so record errors and dead-letter entries name the version.
func (v Version) Label() string {
	if v.SourceVersion == "" || v.SourceVersion == v.Digest || v.SourceVersion == "sha256:"+v.Digest {
		return v.Ref
	}
	return v.Ref + "@" + v.SourceVersion
}

// String is the label and the short digest.
func (v Version) String() string {
	d := v.Digest
	if len(d) > 12 {
		d = d[:12]
	}
	return v.Label() + " (sha256:" + d + ")"
}

// moduleVersion is a running stage and the version it runs.
type moduleVersion struct {
	v  Version
	st engine.Stage
}

// Stage is an engine.Stage (and engine.Describer) whose module can be
// swapped while batches run. See the package documentation.
type Stage struct {
	name string
	cur  slot[moduleVersion]

	closeOnce sync.Once
	stop      func() // stops the watcher
	closeErrs chan error
}

// NewStage returns a swappable stage serving st, which runs version v.
func NewStage(name string, v Version, st engine.Stage) *Stage {
	s := &Stage{name: name, closeErrs: make(chan error, 64)}
	s.cur.swap(s.counted(v, st))
	return s
}

func (s *Stage) counted(v Version, st engine.Stage) *counted[moduleVersion] {
	return newCounted(moduleVersion{v: v, st: st}, func(mv moduleVersion) {
		if err := mv.st.Close(context.Background()); err != nil {
			select {
			case s.closeErrs <- fmt.Errorf("swap: close %s: %w", mv.v, err):
			default:
			}
		}
	})
}

// Swap makes st (running version v) current. Batches already running
// finish on the previous version, which is closed after the last of them.
// After Close, Swap closes st and returns ErrClosed.
func (s *Stage) Swap(v Version, st engine.Stage) error {
	if v.Loaded.IsZero() {
		v.Loaded = time.Now()
	}
	c := s.counted(v, st)
	for {
		old := s.cur.peek()
		if old == nil {
			_ = st.Close(context.Background())
			return ErrClosed
		}
		if s.cur.p.CompareAndSwap(old, c) {
			old.release()
			return nil
		}
	}
}

// Current returns the version serving new batches.
func (s *Stage) Current() Version {
	if c := s.cur.peek(); c != nil {
		return c.val.v
	}
	return Version{}
}

// Describe returns the current version's label (reference@source
// version) and digest.
func (s *Stage) Describe() (module, digest string) {
	v := s.Current()
	return v.Label(), v.Digest
}

// Process runs the whole batch on the version current when it starts.
// Record and batch errors name that version.
func (s *Stage) Process(ctx context.Context, records []engine.Record) ([]engine.Result, error) {
	c := s.cur.acquire()
	if c == nil {
		return nil, fmt.Errorf("swap: stage %q: %w", s.name, ErrClosed)
	}
	defer c.release()
	res, err := c.val.st.Process(ctx, records)
	if err != nil {
		return nil, &VersionError{Version: c.val.v, Err: err}
	}
	for i := range res {
		if res[i].Err != nil {
			res[i].Err = &VersionError{Version: c.val.v, Err: res[i].Err}
		}
	}
	return res, nil
}

// Close stops the stage's watcher and closes the current version after
// the batches in flight.
func (s *Stage) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		if s.stop != nil {
			s.stop()
		}
		s.cur.swap(nil)
	})
	var errs []error
	for {
		select {
		case err := <-s.closeErrs:
			errs = append(errs, err)
		default:
			return errors.Join(errs...)
		}
	}
}

// ErrClosed is returned by a closed Stage or Pipeline.
var ErrClosed = errors.New("closed")

// VersionError is an error of a batch or record, with the version that
// ran it.
type VersionError struct {
	Version Version
	Err     error
}

// Error names the version, then the cause.
func (e *VersionError) Error() string {
	return fmt.Sprintf("version %s: %v", e.Version, e.Err)
}

// Unwrap returns the cause.
func (e *VersionError) Unwrap() error { return e.Err }

var (
	_ engine.Stage     = (*Stage)(nil)
	_ engine.Describer = (*Stage)(nil)
)
