package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host"
	"github.com/weirhq/weir/host/swap"
)

func newPrecompileCmd(g *globals) *cobra.Command {
	var pipeline, out string
	cmd := &cobra.Command{
		Use:   "precompile -p pipeline.yaml -o cachedir",
		Short: "Fill a compilation cache with a pipeline's modules, for fast cold starts",
		Long: `Precompile fetches every module of the pipeline (files, s3://, appconfig://,
https://), verifies it as weir run would (digest, signature, smoke tests),
compiles it and stores the compiled code in cachedir (wazero's compilation
cache) with the module as rewritten for the deadline check (so a cached load
skips the rewrite too). Ship cachedir with the Lambda package (make lambda-zip
does, as cache/) and point --cache-dir (or WEIR_CACHE_DIR) at it: a new process
then loads modules in milliseconds instead of compiling them. A read-only
cachedir is mirrored by symbolic links in the temporary folder at startup.

Compiled code is only used by the same wazero version, OS, CPU architecture
and CPU features (wazero keys its files by them: amd64 SSE4.1, BMI1, ABM;
arm64 LSE atomics); anywhere else it is ignored and the module compiled.
Precompile on the target platform; the last line names the one it compiled for.
For CPUs you cannot precompile on, the bootstrap's WEIR_CACHE_S3 shares a
cache through S3 instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, err := loadConfig(g, pipeline)
			if err != nil {
				return err
			}
			h, err := host.New(ctx, host.Options{CacheDir: out, Logger: g.logger()})
			if err != nil {
				return err
			}
			l, err := swap.NewLoader(swap.Options{Host: h, Logger: g.logger()})
			if err != nil {
				return errors.Join(err, h.Close(ctx))
			}
			once := *cfg
			once.Stages = append([]engine.StageConfig(nil), cfg.Stages...)
			for i := range once.Stages {
				once.Stages[i].Poll = 0 // load once, no watcher
			}
			start := time.Now()
			p, err := engine.NewPipeline(ctx, &once, l.Builder(&once))
			if err != nil {
				l.Close()
				return errors.Join(fmt.Errorf("%s: %w", pipeline, err), h.Close(ctx))
			}
			m := l.Metrics().Snapshot()
			modules := 0
			for _, sc := range once.Stages {
				if sc.IsBuiltin() {
					continue // built-in transforms: nothing to compile ahead
				}
				modules++
				v := m.Versions[sc.Name]
				fmt.Fprintf(g.stdout, "%s\t%s\tsha256:%s\n", sc.Name, sc.Module, v.Digest)
			}
			fmt.Fprintf(g.stdout, "%d module(s) compiled into %s in %s\n", modules, out, time.Since(start).Round(time.Millisecond))
			fmt.Fprintf(g.stdout, "for %s\n", host.CacheFeatures())
			l.Close()
			return errors.Join(p.Close(ctx), h.Close(ctx))
		},
	}
	cmd.Flags().StringVarP(&pipeline, "pipeline", "p", "", "pipeline configuration file (YAML or JSON)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "compilation cache folder to fill")
	_ = cmd.MarkFlagRequired("pipeline")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}
