package bench_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/weirhq/weir/host/hosttest"
)

// BenchmarkStreamNDJSON pipes a generated NDJSON stream (WEIR_STREAM_GB,
// default 5 GB, of ~1.1 KB records) through "weir run" and the
// passthrough module, counts the outputs, and reports the peak RSS of the
// weir process (getrusage of the child) and the throughput. Streaming
// keeps the RSS flat whatever the size of the input.
func BenchmarkStreamNDJSON(b *testing.B) {
	gb := 5.0
	if s := os.Getenv("WEIR_STREAM_GB"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			b.Fatalf("WEIR_STREAM_GB: %v", err)
		}
		gb = v
	}
	total := int64(gb * (1 << 30))
	bin := hosttest.WeirBinary(b)
	module := hosttest.GoModule(b, "modules/passthrough")
	pipe := filepath.Join(b.TempDir(), "pipeline.yaml")
	if err := os.WriteFile(pipe, []byte("version: 1\nstages:\n  - name: p\n    module: "+module+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	pad := strings.Repeat("abcdefghij", 100)
	for b.Loop() {
		cmd := exec.Command(bin, "run", "-p", pipe)
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		written := make(chan int64, 1)
		go func() {
			w := bufio.NewWriterSize(stdin, 1<<20)
			var n, size int64
			var rec []byte
			for size < total {
				rec = fmt.Appendf(rec[:0], `{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventName":"GetObject","n":%d,"pad":"%s"}`+"\n", n, pad)
				if _, err := w.Write(rec); err != nil {
					break
				}
				size += int64(len(rec))
				n++
			}
			_ = w.Flush()
			_ = stdin.Close()
			written <- n
		}()
		var lines int64
		br := bufio.NewReaderSize(stdout, 1<<20)
		for {
			if _, err := br.ReadSlice('\n'); err != nil {
				break
			}
			lines++
		}
		if err := cmd.Wait(); err != nil {
			b.Fatalf("weir: %v\n%s", err, stderr.String())
		}
		if n := <-written; n != lines {
			b.Fatalf("%d records in, %d out", n, lines)
		}
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB
		b.ReportMetric(float64(rss)/1024, "peak-RSS-MB")
		b.ReportMetric(float64(lines), "records")
		b.SetBytes(total)
	}
}
