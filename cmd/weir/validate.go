package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
)

func newValidateCmd(g *globals) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "validate -p pipeline.yaml",
		Short: "Check a pipeline configuration and load, compile and link each of its modules",
		Long: `Validate reads a pipeline configuration strictly (unknown keys are errors
naming their line and column), then reads every module, checks its sha256
pin, compiles and links it, as "weir run" would, without running anything.
It prints "ok", each stage's module and digest and the ${secret:...} and
${env:...} references (as written: validate reads no secret), or the
problems and exit status 2.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, err := loadConfig(g, path)
			if err != nil {
				return fmt.Errorf("validate: %w", err)
			}
			if err := checkOutputs(cfg); err != nil {
				return fmt.Errorf("validate: %w", err)
			}
			l, err := buildPipeline(ctx, g, cfg, path)
			if err != nil {
				return fmt.Errorf("validate: %w", err)
			}
			defer l.close(ctx)
			fmt.Fprintf(g.stdout, "%s: ok (%d stages, %d outputs)\n", path, len(cfg.Stages), len(cfg.Outputs))
			for _, s := range l.stages {
				fmt.Fprintf(g.stdout, "  stage %q: %s sha256:%s\n", s.name, s.module, s.digest)
			}
			// References are listed as written: validate never reads
			// a secret (nor needs AWS access to check a pipeline).
			for _, ref := range cfg.Refs() {
				fmt.Fprintf(g.stdout, "  reference %s (resolved by run and consume, not by validate)\n", ref)
			}
			// Settings Substation ignores are accepted with a warning.
			for i, sc := range cfg.Stages {
				if !sc.IsBuiltin() {
					continue
				}
				if p, err := builtin.Compile(sc.RawTransforms()); err == nil {
					for _, w := range p.Warnings() {
						fmt.Fprintf(g.stdout, "  warning: stage %d %q: %s\n", i, sc.Name, w)
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "pipeline", "p", "", "pipeline configuration file (YAML or JSON)")
	_ = cmd.MarkFlagRequired("pipeline")
	return cmd
}

// checkOutputs checks, without creating anything, that the folder of every
// file output exists.
func checkOutputs(cfg *engine.Config) error {
	names := make([]string, 0, len(cfg.Outputs))
	for name := range cfg.Outputs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		oc := cfg.Outputs[name]
		if oc.Type != engine.OutputFile {
			continue
		}
		p := oc.Path
		if !filepath.IsAbs(p) && cfg.Dir != "" {
			p = filepath.Join(cfg.Dir, p)
		}
		if fi, err := os.Stat(filepath.Dir(p)); err != nil || !fi.IsDir() {
			return fmt.Errorf("output %q: the folder of %s does not exist", name, p)
		}
	}
	return nil
}
