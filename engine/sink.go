package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sync"
)

// Sink receives a pipeline's output records.
//
// Implementations must be safe for concurrent use; the outputs of one
// Write call are written together, in order.
type Sink interface {
	// Write delivers outputs (their Route is ignored: routing happened
	// before).
	Write(ctx context.Context, outputs []Output) error
	// Close flushes and releases the sink.
	Close(ctx context.Context) error
}

// ErrUnknownRoute is matched by errors.Is when an output's route names no
// configured output.
var ErrUnknownRoute = errors.New("route has no configured output")

// writerSink writes NDJSON to an io.Writer.
type writerSink struct {
	name   string
	mu     sync.Mutex
	bw     *bufio.Writer
	closer io.Closer // nil for stdout and stderr, which it does not own
	closed bool
	tmp    bytes.Buffer
}

// NewWriterSink returns a sink writing NDJSON to w: each output's data
// (already one JSON document) followed by a newline. A trailing newline
// in the data is not doubled; data that spans several lines is compacted
// when it is JSON, and refused otherwise, so that one line stays one
// record. Writes are buffered and flushed at the end of every Write call
// (one system call per batch, not per record) and on Close. Close does
// not close w. name labels errors ("stdout").
func NewWriterSink(name string, w io.Writer) Sink {
	return &writerSink{name: name, bw: bufio.NewWriterSize(w, 64<<10)}
}

// NewFileSink returns a sink appending NDJSON to the file at path,
// creating it (mode 0644) if needed. Close closes the file.
func NewFileSink(path string) (Sink, error) {
	s, err := openFileSink(path)
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	return s, nil
}

func openFileSink(path string) (Sink, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &writerSink{name: "file " + path, bw: bufio.NewWriterSize(f, 64<<10), closer: f}, nil
}

// Write writes one line per output and flushes.
func (s *writerSink) Write(ctx context.Context, outputs []Output) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("sink %s: write after close", s.name)
	}
	for i, o := range outputs {
		data := bytes.TrimRight(o.Data, "\r\n")
		if bytes.ContainsAny(data, "\r\n") {
			s.tmp.Reset()
			if err := json.Compact(&s.tmp, data); err != nil {
				return fmt.Errorf("sink %s: output %d spans several lines and is not JSON: %w", s.name, i, err)
			}
			data = s.tmp.Bytes()
		}
		if _, err := s.bw.Write(data); err != nil {
			return fmt.Errorf("sink %s: %w", s.name, err)
		}
		if err := s.bw.WriteByte('\n'); err != nil {
			return fmt.Errorf("sink %s: %w", s.name, err)
		}
	}
	if err := s.bw.Flush(); err != nil {
		return fmt.Errorf("sink %s: %w", s.name, err)
	}
	return nil
}

// Close flushes, and closes the file it owns. Closing twice is a no-op.
func (s *writerSink) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.bw.Flush()
	if s.closer != nil {
		err = errors.Join(err, s.closer.Close())
	}
	if err != nil {
		return fmt.Errorf("sink %s: %w", s.name, err)
	}
	return nil
}

// discardSink accepts and forgets everything.
type discardSink struct{}

// NewDiscardSink returns a sink that accepts and forgets everything (for
// benchmarks, and for routes whose records are deliberately thrown away).
func NewDiscardSink() Sink { return discardSink{} }

// Write does nothing.
func (discardSink) Write(context.Context, []Output) error { return nil }

// Close does nothing.
func (discardSink) Close(context.Context) error { return nil }

// OpenSinks opens one sink per configured output, by output name, plus
// "default" on stdout when the configuration has none. Outputs of type
// stdout share one sink (as do stderr outputs, and file outputs with the
// same path), so their lines never interleave mid-line. A relative file
// path is resolved against cfg.Dir. On error, the sinks already opened
// are closed. Close them with CloseSinks.
func OpenSinks(cfg *Config, stdout, stderr io.Writer) (map[string]Sink, error) {
	return OpenSinksContext(context.Background(), cfg, stdout, stderr)
}

// SinkFactory opens the sink of the output named name, configured by oc,
// in the pipeline cfg (for Config.Dir). ctx bounds the opening only, not
// the sink's life.
type SinkFactory func(ctx context.Context, name string, oc OutputConfig, cfg *Config) (Sink, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]SinkFactory{}
)

// RegisterSink makes OpenSinks open outputs of type typ with f. It is how
// the AWS outputs (kinesis, s3, ...), which engine does not import, are
// plugged in by the commands. Registering a type again replaces its
// factory; the built-in types (stdout, stderr, file, discard) cannot be
// replaced.
func RegisterSink(typ string, f SinkFactory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[typ] = f
}

func registeredSink(typ string) SinkFactory {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return registry[typ]
}

// OpenSinksContext is OpenSinks with a context for the factories of
// registered output types (see RegisterSink). An output whose type is
// valid but not registered in this program is an error naming it.
func OpenSinksContext(ctx context.Context, cfg *Config, stdout, stderr io.Writer) (map[string]Sink, error) {
	if cfg == nil {
		return nil, errors.New("sink: nil configuration")
	}
	sinks, err := openSinks(ctx, cfg, stdout, stderr)
	return sinks, cfg.redactErr(err)
}

// openSinks is OpenSinksContext; its errors may hold resolved values.
func openSinks(ctx context.Context, cfg *Config, stdout, stderr io.Writer) (map[string]Sink, error) {
	sinks := map[string]Sink{}
	shared := map[string]Sink{}
	get := func(key string, open func() (Sink, error)) (Sink, error) {
		if s, ok := shared[key]; ok {
			return s, nil
		}
		s, err := open()
		if err != nil {
			return nil, err
		}
		shared[key] = s
		return s, nil
	}
	outputs := cfg.Outputs
	if _, ok := outputs[DefaultRoute]; !ok {
		outputs = make(map[string]OutputConfig, len(cfg.Outputs)+1)
		for k, v := range cfg.Outputs {
			outputs[k] = v
		}
		outputs[DefaultRoute] = OutputConfig{Type: OutputStdout}
	}
	for _, name := range sortedKeys(outputs) {
		oc := outputs[name]
		var s Sink
		var err error
		switch oc.Type {
		case OutputStdout:
			s, err = get("stdout", func() (Sink, error) { return NewWriterSink("stdout", stdout), nil })
		case OutputStderr:
			s, err = get("stderr", func() (Sink, error) { return NewWriterSink("stderr", stderr), nil })
		case OutputDiscard:
			s = NewDiscardSink()
		case OutputFile:
			path := oc.Path
			if path == "" {
				err = errors.New("no path")
				break
			}
			if !filepath.IsAbs(path) && cfg.Dir != "" {
				path = filepath.Join(cfg.Dir, path)
			}
			path = filepath.Clean(path)
			s, err = get("file:"+path, func() (Sink, error) { return openFileSink(path) })
		default:
			if f := registeredSink(oc.Type); f != nil {
				s, err = f(ctx, name, oc, cfg)
			} else {
				err = fmt.Errorf("type %q is not available in this program (no sink registered for it)", oc.Type)
			}
		}
		if err == nil && (oc.Batch != nil || oc.BatchKey != "") {
			s = newBatchSink(name, s, oc)
		}
		if err != nil {
			cerr := CloseSinks(context.Background(), sinks)
			return nil, errors.Join(fmt.Errorf("sink: output %q: %w", name, err), cerr)
		}
		sinks[name] = s
	}
	return sinks, nil
}

// CloseSinks flushes the sinks that hold outputs (FlushSinks), then
// closes every sink once (a sink shared by several outputs is closed
// once) and returns the errors joined.
func CloseSinks(ctx context.Context, sinks map[string]Sink) error {
	var errs []error
	if err := FlushSinks(ctx, sinks); err != nil {
		errs = append(errs, err)
	}
	done := map[any]bool{}
	for _, name := range sortedKeys(sinks) {
		s := sinks[name]
		if isComparable(s) {
			if done[s] {
				continue
			}
			done[s] = true
		}
		if err := s.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("sink: output %q: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// isComparable reports whether s can be a map key without panicking.
func isComparable(s Sink) bool { return reflect.ValueOf(s).Comparable() }

// RouteOutputs writes the outputs of res to sinks by route: an empty
// route goes to "default". Every route is checked before anything is
// written: a route with no sink is an error (matching ErrUnknownRoute)
// naming the route and the first record that used it, and nothing is
// written. Each sink receives its outputs in input order, in one Write.
func RouteOutputs(ctx context.Context, res *BatchResult, sinks map[string]Sink) error {
	if res == nil {
		return nil
	}
	groups := map[string][]Output{}
	var order []string
	var missing []error
	seenMissing := map[string]bool{}
	for _, rr := range res.Records {
		for _, o := range rr.Outputs {
			route := o.Route
			if route == "" {
				route = DefaultRoute
			}
			if _, ok := sinks[route]; !ok {
				if !seenMissing[route] {
					seenMissing[route] = true
					missing = append(missing, fmt.Errorf("sink: record %d: route %q: %w", rr.Index, route, ErrUnknownRoute))
				}
				continue
			}
			if _, ok := groups[route]; !ok {
				order = append(order, route)
			}
			groups[route] = append(groups[route], o)
		}
	}
	if len(missing) > 0 {
		return errors.Join(missing...)
	}
	for _, route := range order {
		if err := sinks[route].Write(ctx, groups[route]); err != nil {
			return fmt.Errorf("sink: route %q: %w", route, err)
		}
	}
	return nil
}

var (
	_ Sink = (*writerSink)(nil)
	_ Sink = discardSink{}
)
