package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCmd(g *globals) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "validate -p pipeline.yaml",
		Short: "Check a pipeline configuration and load, compile and link each of its modules",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, h, p, err := openPipeline(ctx, g, path)
			if err != nil {
				return fmt.Errorf("validate: %w", err)
			}
			defer h.Close(ctx)
			defer p.Close(ctx)
			fmt.Fprintf(g.stdout, "%s: ok (%d stages, %d outputs)\n", path, len(cfg.Stages), max(1, len(cfg.Outputs)))
			for _, sc := range cfg.Stages {
				fmt.Fprintf(g.stdout, "  stage %q: %s\n", sc.Name, sc.Module)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "pipeline", "p", "", "pipeline configuration file (YAML or JSON)")
	_ = cmd.MarkFlagRequired("pipeline")
	return cmd
}
