package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host"
	"github.com/weirhq/weir/host/swap"
)

// loadedStage is what the CLI knows of one built stage.
type loadedStage struct {
	name, module, digest string
}

// loaded is a configuration with its pipeline built on a new host.
type loaded struct {
	cfg    *engine.Config
	host   *host.Host
	loader *swap.Loader
	pipe   *engine.Pipeline
	stages []loadedStage
}

// close stops the module watchers, closes the pipeline, then the host.
func (l *loaded) close(ctx context.Context) error {
	l.loader.Close()
	return errors.Join(l.pipe.Close(ctx), l.host.Close(ctx))
}

// loadConfig reads and validates a configuration: a weir pipeline (YAML,
// JSON or Jsonnet) or a Substation config file (substation.Load). Its errors
// name the file (and, for syntax errors and unknown keys, the line and
// column).
func loadConfig(g *globals, path string) (*engine.Config, error) {
	return loadPipeline(path, g.logger())
}

// buildPipeline builds cfg's stages on a new host: it reads, checks
// (sha256 pin, magic), compiles and links every module. path is the
// configuration file, named in errors.
func buildPipeline(ctx context.Context, g *globals, cfg *engine.Config, path string) (*loaded, error) {
	h, err := host.New(ctx, host.Options{CacheDir: g.cacheDir, Logger: g.logger()})
	if err != nil {
		return nil, err
	}
	// The loader fetches every module reference (file, s3://,
	// appconfig://, https://), checks its pin and signature, compiles it
	// and runs its smoke tests; stages with a poll interval keep watching
	// their source while the command runs.
	loader, err := swap.NewLoader(swap.Options{Host: h, Logger: g.logger()})
	if err != nil {
		_ = h.Close(ctx)
		return nil, err
	}
	l := &loaded{cfg: cfg, host: h, loader: loader}
	fetch := loader.Builder(cfg)
	build := func(ctx context.Context, sc engine.StageConfig, baseDir string) (engine.Stage, error) {
		st, err := fetch(ctx, sc, baseDir)
		if err != nil {
			return nil, err
		}
		ls := loadedStage{name: sc.Name, module: sc.Module}
		if d, ok := st.(engine.Describer); ok {
			ls.module, ls.digest = d.Describe()
		}
		l.stages = append(l.stages, ls)
		return st, nil
	}
	p, err := engine.NewPipeline(ctx, cfg, build)
	if err != nil {
		loader.Close()
		_ = h.Close(ctx)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	l.pipe = p
	return l, nil
}
