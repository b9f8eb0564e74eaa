package benchkit

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
	"strings"
	"sync/atomic"
	"time"
)

// ChildEnv marks the processes Run starts to measure cold starts (set to
// "1"). weir itself ignores it; a test binary that re-executes itself
// uses it to know it must act as weir.
const ChildEnv = "WEIR_BENCH_CHILD"

// childReport is the line the cold start child prints when its first
// batch is done.
type childReport struct {
	DecodeNS int64 `json:"decode_ns"`
	LoadNS   int64 `json:"load_ns"`
	BatchNS  int64 `json:"batch_ns"`
	Records  int   `json:"records"`
	Failed   int   `json:"failed"`
}

// ColdStartChild is the process side of a cold start (see Options.Child):
// it builds t's pipeline with o.CacheDir, runs in.Records as one batch and
// prints on w the line the measuring process reads, with in.Decode (the
// time the child took to read its input, which the measurement subtracts).
func ColdStartChild(ctx context.Context, o Options, t *Target, in *Input, w io.Writer) error {
	o.defaults()
	t = t.forBench(o.Instances)
	h, err := newBenchHost(ctx, o.Logger, o.CacheDir)
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
	res, err := bp.pipe.Run(ctx, in.Records)
	if err != nil {
		return err
	}
	batch := time.Since(t2)
	line, _ := json.Marshal(childReport{DecodeNS: int64(in.Decode), LoadNS: int64(load), BatchNS: int64(batch), Records: len(in.Records), Failed: res.Failed})
	_, err = fmt.Fprintf(w, "%s\n", line)
	return err
}

// measureColdStarts starts o.Child of t o.ColdStarts times with a new empty
// compilation cache folder, then as many times with a folder a previous
// start filled, and times each from exec until the child says its first
// batch is done (its input decoding subtracted).
func measureColdStarts(ctx context.Context, o *Options, t *Target, batchSize int, prog *progress) (*ColdStartInfo, error) {
	var done atomic.Int64
	stop := prog.start(coldStartPhase(t), int64(2*o.ColdStarts), done.Load)
	defer stop()
	cs := &ColdStartInfo{
		BatchRecords: batchSize,
		ColdCache:    &ColdStartSeries{Runs: []ColdStartRun{}},
		WarmCache:    &ColdStartSeries{Runs: []ColdStartRun{}},
		Note: "new process = exec of this weir binary, until it prints that its first batch is done; its input decoding is subtracted; " +
			"cache: a new empty compilation cache folder, then one a previous start filled",
	}
	var warmDir string
	defer func() {
		if warmDir != "" {
			_ = os.RemoveAll(warmDir)
		}
	}()
	for i := range o.ColdStarts {
		dir, err := os.MkdirTemp("", "weir-bench-coldstart-")
		if err != nil {
			return nil, err
		}
		exe, args := o.Child(t, dir, batchSize)
		run, err := runChild(ctx, exe, args)
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
	for range o.ColdStarts {
		exe, args := o.Child(t, warmDir, batchSize)
		run, err := runChild(ctx, exe, args)
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
func runChild(ctx context.Context, exe string, args []string) (ColdStartRun, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), ChildEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return ColdStartRun{}, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return ColdStartRun{}, err
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
		return ColdStartRun{}, fmt.Errorf("the child process failed: %s", msg)
	}
	var rep childReport
	if err := json.Unmarshal(line, &rep); err != nil {
		return ColdStartRun{}, fmt.Errorf("the child process printed %q: %w", line, err)
	}
	if rep.Failed > 0 {
		return ColdStartRun{}, fmt.Errorf("%d records of the child's first batch failed", rep.Failed)
	}
	decode := time.Duration(rep.DecodeNS)
	r := ColdStartRun{
		TotalMS:      ms(t1.Sub(t0) - decode),
		LoadMS:       ms(time.Duration(rep.LoadNS)),
		FirstBatchMS: ms(time.Duration(rep.BatchNS)),
		DecodeMS:     ms(decode),
		ExitMS:       ms(t2.Sub(t0) - decode),
	}
	r.ProcessMS = max(0, r.TotalMS-r.LoadMS-r.FirstBatchMS)
	return r, nil
}

// coldStartPhase names the progress bar of t's cold starts.
func coldStartPhase(t *Target) string {
	if t.Label == "" {
		return "cold starts (new processes)"
	}
	return "cold starts (new processes), " + t.Label
}
