package swap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/source"
)

// PipelineTarget is the Metrics target name of a watched configuration.
const PipelineTarget = "pipeline"

// PipelineVersion is one configuration version and its pipeline.
type PipelineVersion struct {
	Version
	// Config is the configuration (outputs included: sinks are the
	// caller's, built per version), its references resolved.
	Config *engine.Config
	// Unresolved is Config as parsed, its ${secret:...} and ${env:...}
	// references in place (Config itself when Options.Resolve is unset):
	// what secrets.OpenSinks resolves again when a secret rotates.
	Unresolved *engine.Config
}

type pipelineVersion struct {
	pv PipelineVersion
	p  *engine.Pipeline
}

// Pipeline is an engine.Pipeline whose configuration can be replaced
// while batches run: a new configuration builds a new pipeline in the
// background and is swapped in atomically; batches in flight finish on
// the old one, which is closed after the last of them.
type Pipeline struct {
	cur       slot[pipelineVersion]
	stop      context.CancelFunc
	closeOnce sync.Once
}

func (p *Pipeline) counted(pv PipelineVersion, ep *engine.Pipeline) *counted[pipelineVersion] {
	return newCounted(pipelineVersion{pv: pv, p: ep}, func(v pipelineVersion) {
		_ = v.p.Close(context.Background())
	})
}

// Run runs records through the pipeline current when it starts and
// returns the version that ran them.
func (p *Pipeline) Run(ctx context.Context, records []engine.Record) (*engine.BatchResult, PipelineVersion, error) {
	c := p.cur.acquire()
	if c == nil {
		return nil, PipelineVersion{}, fmt.Errorf("swap: pipeline: %w", ErrClosed)
	}
	defer c.release()
	res, err := c.val.p.Run(ctx, records)
	return res, c.val.pv, err
}

// Current returns the configuration version serving new batches.
func (p *Pipeline) Current() PipelineVersion {
	if c := p.cur.peek(); c != nil {
		return c.val.pv
	}
	return PipelineVersion{}
}

// Close stops the watcher and closes the current pipeline after the
// batches in flight.
func (p *Pipeline) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		if p.stop != nil {
			p.stop()
		}
		p.cur.swap(nil)
	})
	return nil
}

// swap publishes a new pipeline; after Close it closes ep instead.
func (p *Pipeline) swap(pv PipelineVersion, ep *engine.Pipeline) error {
	c := p.counted(pv, ep)
	for {
		old := p.cur.peek()
		if old == nil {
			_ = ep.Close(context.Background())
			return ErrClosed
		}
		if p.cur.p.CompareAndSwap(old, c) {
			old.release()
			return nil
		}
	}
}

// OpenPipeline loads the pipeline configuration at ref (a path, file://,
// s3://, appconfig:// or https:// reference), builds its pipeline with
// the loader's Builder and, when poll is positive, watches ref: every new
// configuration version is parsed, validated and built (modules fetched,
// verified, compiled and smoke-tested) in the background, then swapped in.
// A version that fails is refused (ReasonConfig or ReasonBuild) and the
// running pipeline keeps serving. Relative module paths resolve against
// the configuration file's folder, or the working directory for remote
// configurations.
func (l *Loader) OpenPipeline(ctx context.Context, ref string, poll time.Duration) (*Pipeline, error) {
	base := workingDir()
	dir := configDir(ref, base)
	if dir == "" {
		dir = base
	}
	src, err := source.Open(ctx, ref, l.sourceOptions(engine.SourcesConfig{}, base))
	if err != nil {
		return nil, err
	}
	fctx, cancel := context.WithTimeout(ctx, l.o.FetchTimeout)
	obj, err := src.Fetch(fctx, "")
	cancel()
	if err != nil {
		return nil, err
	}
	pv, ep, err := l.loadPipeline(ctx, ref, dir, obj)
	if err != nil {
		return nil, err
	}
	l.m.serving(PipelineTarget, pv.Version, false)
	p := &Pipeline{}
	p.cur.swap(p.counted(pv, ep))
	if poll <= 0 {
		return p, nil
	}
	wctx, stop := context.WithCancel(l.ctx)
	p.stop = stop
	l.wg.Go(func() {
		l.watch(wctx, PipelineTarget, src, poll, l.o.FetchTimeout, obj.Version, func(ctx context.Context, obj *source.Object) error {
			pv, ep, err := l.loadPipeline(ctx, ref, dir, obj)
			if err != nil {
				return err
			}
			if err := p.swap(pv, ep); err != nil {
				return err
			}
			l.m.serving(PipelineTarget, pv.Version, true)
			l.log.LogAttrs(ctx, slog.LevelInfo, "swap: pipeline configuration swapped", slog.String("version", pv.String()))
			return nil
		})
	})
	return p, nil
}

// loadPipeline parses one configuration version and builds its pipeline.
func (l *Loader) loadPipeline(ctx context.Context, ref, dir string, obj *source.Object) (PipelineVersion, *engine.Pipeline, error) {
	pv := PipelineVersion{Version: Version{Ref: ref, Digest: source.Digest(obj.Data), SourceVersion: obj.Label(), Loaded: time.Now()}}
	refuse := func(reason string, err error) (PipelineVersion, *engine.Pipeline, error) {
		return pv, nil, &RefusedError{Target: PipelineTarget, Reason: reason, Version: pv.String(), Err: err}
	}
	cfg, err := engine.ParseConfig(obj.Data, ref)
	if err != nil {
		return refuse(ReasonConfig, err)
	}
	cfg.Dir = dir
	pv.Unresolved = cfg
	if l.o.Resolve != nil {
		if cfg, err = l.o.Resolve(ctx, cfg); err != nil {
			return refuse(ReasonConfig, err)
		}
	}
	pv.Config = cfg
	ep, err := engine.NewPipeline(ctx, cfg, l.Builder(cfg))
	if err != nil {
		if errors.Is(err, source.ErrUnavailable) {
			return pv, nil, err // a module source failed: retried
		}
		_, _, rerr := refuse(ReasonBuild, err)
		// A stage's refused module decided this refusal too: the watcher
		// retries the configuration when that module or its signature
		// changes.
		if re, inner := rerr.(*RefusedError), (*RefusedError)(nil); errors.As(err, &inner) {
			re.recheck, re.Signature = inner.recheck, inner.Signature
		}
		return pv, nil, rerr
	}
	return pv, ep, nil
}
