package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host"
)

// runOptions are the flags of "weir run".
type runOptions struct {
	pipeline  string
	format    string
	batchSize int
	summary   bool
}

func newRunCmd(g *globals) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run -p pipeline.yaml [file...]",
		Short: "Run a pipeline over records from files or stdin, NDJSON to stdout",
		Long: `Run reads records from the files given (or stdin when there are none, or
for "-"): NDJSON, a JSON array, or a CloudTrail {"Records":[...]} file, each
optionally gzip- or zstd-compressed. It runs them through the pipeline in
batches and writes the outputs to the pipeline's outputs (stdout by default)
as NDJSON. Every failed record is reported on stderr with its index, source
and sequence number; the exit status is 1 when any record failed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPipeline(cmd.Context(), g, o, args)
		},
	}
	cmd.Flags().StringVarP(&o.pipeline, "pipeline", "p", "", "pipeline configuration file (YAML or JSON)")
	cmd.Flags().StringVar(&o.format, "format", "auto", "input format: auto, ndjson, json, cloudtrail")
	cmd.Flags().IntVar(&o.batchSize, "batch-size", 1000, "records per batch")
	cmd.Flags().BoolVar(&o.summary, "summary", false, "print counts and throughput to stderr at the end")
	_ = cmd.MarkFlagRequired("pipeline")
	return cmd
}

// openPipeline loads a configuration and builds its pipeline on a new host.
func openPipeline(ctx context.Context, g *globals, path string) (*engine.Config, *host.Host, *engine.Pipeline, error) {
	cfg, err := engine.LoadConfig(path)
	if err != nil {
		return nil, nil, nil, err
	}
	h, err := host.New(ctx, host.Options{CacheDir: g.cacheDir, Logger: g.logger()})
	if err != nil {
		return nil, nil, nil, err
	}
	p, err := engine.NewPipeline(ctx, cfg, h.NewStage)
	if err != nil {
		_ = h.Close(ctx)
		return nil, nil, nil, err
	}
	return cfg, h, p, nil
}

// readInputs decodes every input named in args (stdin for none or "-").
func readInputs(g *globals, format engine.Format, args []string) ([]engine.Record, error) {
	if len(args) == 0 {
		args = []string{"-"}
	}
	var all []engine.Record
	for _, name := range args {
		var r io.Reader
		source := name
		if name == "-" {
			r, source = g.stdin, "stdin"
		} else {
			f, err := os.Open(name)
			if err != nil {
				return nil, fmt.Errorf("run: %w", err)
			}
			defer f.Close()
			r = f
		}
		recs, err := engine.DecodeRecordsFormat(r, source, format)
		if err != nil {
			return nil, fmt.Errorf("run: %w", err)
		}
		all = append(all, recs...)
	}
	return all, nil
}

func runPipeline(ctx context.Context, g *globals, o runOptions, args []string) error {
	if o.batchSize < 1 {
		return fmt.Errorf("run: --batch-size must be at least 1 (got %d)", o.batchSize)
	}
	format, err := engine.ParseFormat(o.format)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	records, err := readInputs(g, format, args)
	if err != nil {
		return err
	}
	cfg, h, p, err := openPipeline(ctx, g, o.pipeline)
	if err != nil {
		return err
	}
	defer h.Close(ctx)
	defer p.Close(ctx)
	sinks, err := engine.OpenSinks(cfg, g.stdout, g.stderr)
	if err != nil {
		return err
	}

	var in, out, dropped, failed, dead int
	start := time.Now()
	for off := 0; off < len(records); off += o.batchSize {
		batch := records[off:min(off+o.batchSize, len(records))]
		res, err := p.Run(ctx, batch)
		if err != nil {
			_ = engine.CloseSinks(ctx, sinks)
			return fmt.Errorf("run: batch at record %d: %w", off, err)
		}
		if err := engine.RouteOutputs(ctx, res, sinks); err != nil {
			_ = engine.CloseSinks(ctx, sinks)
			return fmt.Errorf("run: batch at record %d: %w", off, err)
		}
		for _, rr := range res.Records {
			if rr.Err == nil {
				continue
			}
			rec := batch[rr.Index]
			fmt.Fprintf(g.stderr, "weir: record %d (%s, seq %s) failed: %v\n", off+rr.Index, rec.Meta.Source, rec.Meta.SequenceNumber, rr.Err.Err)
			fmt.Fprintf(g.stderr, "weir:   stage %q, module %s sha256:%s\n", rr.Err.Stage, rr.Err.Module, rr.Err.Digest)
		}
		in += res.In
		out += res.Out
		dropped += res.Dropped
		failed += res.Failed
		dead += res.DeadLettered
	}
	elapsed := time.Since(start)
	if err := engine.CloseSinks(ctx, sinks); err != nil {
		return err
	}
	if o.summary {
		rate := 0.0
		if elapsed > 0 {
			rate = float64(in) / elapsed.Seconds()
		}
		fmt.Fprintf(g.stderr, "weir: %d records in, %d out, %d dropped, %d failed, %d dead-lettered in %s (%.0f records/s, compile included)\n",
			in, out, dropped, failed, dead, elapsed.Round(time.Millisecond), rate)
	}
	if failed > 0 {
		return exitError{code: 1}
	}
	return nil
}
