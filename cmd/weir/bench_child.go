package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/weirhq/weir/engine"
)

// benchChildEnv marks the processes "weir bench" starts to measure cold
// starts. weir itself ignores it; a test binary that re-executes itself
// uses it to know it must act as weir.
const benchChildEnv = "WEIR_BENCH_CHILD"

// childReport is the line the cold start child prints when its first
// batch is done.
type childReport struct {
	DecodeNS int64 `json:"decode_ns"`
	LoadNS   int64 `json:"load_ns"`
	BatchNS  int64 `json:"batch_ns"`
	Records  int   `json:"records"`
	Failed   int   `json:"failed"`
}

// newBenchChildCmd is the hidden command "weir bench" re-executes to time
// a cold start: load the pipeline, run the first batch, print a
// childReport line on stdout, exit.
func newBenchChildCmd(g *globals) *cobra.Command {
	var o benchOptions
	var size int
	cmd := &cobra.Command{
		Use:    "bench-child [module.wasm | -p pipeline.yaml] file...",
		Short:  "Internal: one cold start for weir bench",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return benchChild(cmd.Context(), g, o, size, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.pipeline, "pipeline", "p", "", "pipeline configuration file")
	f.StringVar(&o.format, "format", "auto", "input format")
	f.IntVar(&size, "batch-size", defaultBenchSize, "records in the batch")
	f.IntVar(&o.instances, "instances", 1, "instances per stage (0: as configured)")
	return cmd
}

func benchChild(ctx context.Context, g *globals, o benchOptions, size int, args []string) error {
	var t *benchTarget
	var err error
	if o.pipeline != "" {
		t, err = loadTarget(o.pipeline, true, o.instances)
	} else {
		if len(args) == 0 {
			return errors.New("bench-child: no module")
		}
		t, err = loadTarget(args[0], false, o.instances)
		args = args[1:]
	}
	if err != nil {
		return err
	}
	format, err := engine.ParseFormat(o.format)
	if err != nil {
		return err
	}
	t0 := time.Now()
	var recs []engine.Record
	for _, name := range args {
		r, err := decodeInput(g, format, name)
		if err != nil {
			return fmt.Errorf("bench-child: input %s: %w", name, err)
		}
		recs = append(recs, r...)
		if len(recs) >= size {
			break
		}
	}
	decode := time.Since(t0)
	if len(recs) == 0 {
		return errors.New("bench-child: no records")
	}
	recs = recs[:min(size, len(recs))]
	h, err := newBenchHost(ctx, g, g.cacheDir)
	if err != nil {
		return err
	}
	defer h.close(context.Background())
	t1 := time.Now()
	bp, err := buildBench(ctx, h, t)
	if err != nil {
		return err
	}
	defer bp.close(context.Background())
	load := time.Since(t1)
	t2 := time.Now()
	res, err := bp.pipe.Run(ctx, recs)
	if err != nil {
		return err
	}
	batch := time.Since(t2)
	line, _ := json.Marshal(childReport{DecodeNS: int64(decode), LoadNS: int64(load), BatchNS: int64(batch), Records: len(recs), Failed: res.Failed})
	_, err = fmt.Fprintf(g.stdout, "%s\n", line)
	return err
}

// measureColdStarts starts weir (this executable) o.coldStarts times with a
// new empty compilation cache folder, then as many times with a folder a
// previous start filled, and times each from exec until the child says
// its first batch is done (its input decoding subtracted).
func measureColdStarts(ctx context.Context, g *globals, o *benchOptions, t *benchTarget, data []string, batchSize int, prog *progress) (*coldStartInfo, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"--log-level", g.logLevel, "bench-child", "--format", o.format,
		"--batch-size", strconv.Itoa(batchSize), "--instances", strconv.Itoa(o.instances)}
	if t.kind == "pipeline" {
		args = append(args, "-p", t.path)
	} else {
		args = append(args, t.path)
	}
	args = append(args, data...)
	var done atomic.Int64
	stop := prog.start("cold starts (new processes)", int64(2*o.coldStarts), done.Load)
	defer stop()
	cs := &coldStartInfo{
		BatchRecords: batchSize,
		ColdCache:    &coldStartSeries{Runs: []coldStartRun{}},
		WarmCache:    &coldStartSeries{Runs: []coldStartRun{}},
		Note: "new process = exec of this weir binary, until it prints that its first batch is done; its input decoding is subtracted; " +
			"cache: a new empty compilation cache folder, then one a previous start filled",
	}
	var warmDir string
	defer func() {
		if warmDir != "" {
			_ = os.RemoveAll(warmDir)
		}
	}()
	for i := range o.coldStarts {
		dir, err := os.MkdirTemp("", "weir-bench-coldstart-")
		if err != nil {
			return nil, err
		}
		run, err := runChild(ctx, exe, append([]string{"--cache-dir", dir}, args...))
		if i == 0 {
			warmDir = dir
		} else {
			_ = os.RemoveAll(dir)
		}
		if err != nil {
			return nil, err
		}
		cs.ColdCache.Runs = append(cs.ColdCache.Runs, run)
		done.Add(1)
	}
	for range o.coldStarts {
		run, err := runChild(ctx, exe, append([]string{"--cache-dir", warmDir}, args...))
		if err != nil {
			return nil, err
		}
		cs.WarmCache.Runs = append(cs.WarmCache.Runs, run)
		done.Add(1)
	}
	cs.ColdCache.MedianMS = medianRun(cs.ColdCache.Runs).TotalMS
	cs.WarmCache.MedianMS = medianRun(cs.WarmCache.Runs).TotalMS
	return cs, nil
}

// runChild starts one child and times it.
func runChild(ctx context.Context, exe string, args []string) (coldStartRun, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), benchChildEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return coldStartRun{}, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return coldStartRun{}, err
	}
	line, rerr := bufio.NewReader(out).ReadBytes('\n')
	t1 := time.Now()
	_, _ = io.Copy(io.Discard, out)
	werr := cmd.Wait()
	t2 := time.Now()
	if rerr != nil || werr != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = fmt.Sprint(errors.Join(werr, rerr))
		}
		return coldStartRun{}, fmt.Errorf("the child process failed: %s", msg)
	}
	var rep childReport
	if err := json.Unmarshal(line, &rep); err != nil {
		return coldStartRun{}, fmt.Errorf("the child process printed %q: %w", line, err)
	}
	if rep.Failed > 0 {
		return coldStartRun{}, fmt.Errorf("%d records of the child's first batch failed", rep.Failed)
	}
	decode := time.Duration(rep.DecodeNS)
	r := coldStartRun{
		TotalMS:      ms(t1.Sub(t0) - decode),
		LoadMS:       ms(time.Duration(rep.LoadNS)),
		FirstBatchMS: ms(time.Duration(rep.BatchNS)),
		DecodeMS:     ms(decode),
		ExitMS:       ms(t2.Sub(t0) - decode),
	}
	r.ProcessMS = max(0, r.TotalMS-r.LoadMS-r.FirstBatchMS)
	return r, nil
}
