package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/host/hosttest"
)

// TestMissingInputAmongSeveral: a missing input is reported, the others
// run, and the exit status is 1.
func TestMissingInputAmongSeveral(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeFile(t, dir, "good.ndjson", []byte("{\"eventName\":\"A\"}\n"))
	missing := filepath.Join(dir, "missing.ndjson")
	r := weir(t, nil, "run", "-p", ctPipeline(t), good, missing, good)
	if r.code != 1 || len(r.lines()) != 2 {
		t.Fatalf("want exit 1 and 2 outputs, got %v\nstdout: %s", r, r.stdout)
	}
	if want := "weir: input " + missing + " failed, skipped: run: input: stat " + missing + ": no such file or directory\n"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
}

// TestTruncatedCompressedInput: the records of a cut gzip or zstd input
// that decompressed completely run; the break is reported with its byte
// offset, and the exit status is 1.
func TestTruncatedCompressedInput(t *testing.T) {
	t.Parallel()
	var ndjson []byte
	for i := range 3000 {
		ndjson = fmt.Appendf(ndjson, `{"eventTime":"2024-01-01T00:00:00Z","eventName":"E%d","pad":"%s"}`+"\n", i, strings.Repeat("x", i%50))
	}
	pipe := pipeline(t, ptModule(t), "", "")
	dir := t.TempDir()
	for name, full := range map[string][]byte{"gzip": gzipped(t, ndjson), "zstd": zstded(t, ndjson)} {
		t.Run(name, func(t *testing.T) {
			cut := writeFile(t, dir, "cut."+name, full[:len(full)*2/3])
			r := weir(t, nil, "run", "-p", pipe, cut)
			lines := r.lines()
			if r.code != 1 || len(lines) == 0 {
				t.Fatalf("want exit 1 and the complete records, got %d lines, %v", len(lines), r)
			}
			if !bytes.HasPrefix(ndjson, []byte(r.stdout)) || !strings.HasSuffix(r.stdout, "\n") {
				t.Fatalf("the %d outputs are not the input's first records", len(lines))
			}
			want := fmt.Sprintf("weir: input %s failed after %d records (they ran): codec: %s: %s: unexpected EOF: the input broke here", cut, len(lines), cut, name)
			if !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "at byte offset ") {
				t.Errorf("stderr lacks %q and the offset:\n%s", want, r.stderr)
			}
		})
	}
}

// TestSavedLambdaEventWithoutEvent: a saved Lambda event given as records
// is refused with a hint to use --event, instead of running its envelope
// through the pipeline.
func TestSavedLambdaEventWithoutEvent(t *testing.T) {
	t.Parallel()
	pipe := ctPipeline(t)
	dir := t.TempDir()
	for _, tc := range []struct{ source, event string }{
		{"kinesis", `{"Records":[{"kinesis":{"partitionKey":"p","data":"eyJhIjoxfQ==","sequenceNumber":"1"},"eventSource":"aws:kinesis","eventName":"aws:kinesis:record"}]}`},
		{"sqs", `{"Records":[{"messageId":"m1","body":"{}","eventSource":"aws:sqs"}]}`},
		{"sns", `{"Records":[{"EventSource":"aws:sns","Sns":{"Message":"{}"}}]}`},
		{"s3", `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","eventTime":"2024-01-01T00:00:00Z","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`},
		{"dynamodb", `{"Records":[{"eventSource":"aws:dynamodb","eventName":"INSERT","dynamodb":{"NewImage":{"a":{"S":"b"}}}}]}`},
		{"firehose", `{"invocationId":"i","deliveryStreamArn":"arn:aws:firehose:us-east-1:1:deliverystream/d","region":"us-east-1","records":[{"recordId":"1","data":"e30="}]}`},
		{"apigw", `{"version":"2.0","rawPath":"/","requestContext":{"requestId":"r"},"body":"{}"}`},
	} {
		t.Run(tc.source, func(t *testing.T) {
			f := writeFile(t, dir, tc.source+".json", []byte(tc.event))
			r := weir(t, nil, "run", "-p", pipe, f)
			want := fmt.Sprintf("weir: input %s failed, skipped: this is a saved AWS Lambda %s event (", f, tc.source)
			if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "--event "+tc.source+" ") {
				t.Fatalf("want exit 1, no output and %q, got %v\nstdout: %s", want, r, r.stdout)
			}
		})
	}
	// A CloudTrail file is not mistaken for one.
	r := weir(t, nil, "run", "-p", pipe, writeFile(t, dir, "trail.json",
		[]byte(`{"Records":[{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","eventTime":"2024-01-01T00:00:00Z"}]}`)))
	noFailures(t, r)
}

// TestFormatLinesAndRaw: --format lines gives one record per line, bytes
// as they are; --format raw one record per input.
func TestFormatLinesAndRaw(t *testing.T) {
	t.Parallel()
	pipe := pipeline(t, ptModule(t), "", "")
	dir := t.TempDir()
	text := "<34>Oct 11 22:14:15 host su: 'su root' failed  \r\n\n  {not json\n<13>last line"
	f := writeFile(t, dir, "syslog.log", []byte(text))
	r := weir(t, nil, "run", "-p", pipe, "--format", "lines", f)
	noFailures(t, r)
	if want := "<34>Oct 11 22:14:15 host su: 'su root' failed  \n  {not json\n<13>last line\n"; r.stdout != want {
		t.Fatalf("lines: output %q, want %q", r.stdout, want)
	}
	r = weir(t, strings.NewReader(text), "run", "-p", pipe, "--format", "lines", "--batch-size", "1")
	noFailures(t, r)
	if len(r.lines()) != 3 {
		t.Fatalf("lines from stdin: %q", r.stdout)
	}
	// raw: the whole file is one record (a multi-line one is compacted
	// by the NDJSON sink, so these are JSON or one line).
	doc := writeFile(t, dir, "doc.json", []byte("{\"a\": [1,\n 2]}\n"))
	g := writeFile(t, dir, "line.txt.gz", gzipped(t, []byte("<13>one line, no newline")))
	r = weir(t, nil, "run", "-p", pipe, "--format", "raw", doc, g)
	noFailures(t, r)
	if want := "{\"a\":[1,2]}\n<13>one line, no newline\n"; r.stdout != want {
		t.Fatalf("raw: output %q, want %q", r.stdout, want)
	}
}

// ctRecords writes CloudTrail-like NDJSON records numbered from 0 to w
// until stop is closed or n records are written (n < 0: no limit), and
// returns how many it wrote.
func ctRecord(i int, pad int) []byte {
	return fmt.Appendf(nil, `{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventName":"GetObject","eventSource":"s3.amazonaws.com","n":%d,"pad":"%s"}`+"\n",
		i, strings.Repeat("abcdefghij", pad))
}

// TestStreamingBoundedMemory pipes generated inputs of a few hundred MB
// through a real weir process: NDJSON, and a gzip-compressed CloudTrail
// {"Records": [...]} file (one JSON document, streamed element by element
// by the tokenizer). Every record comes out, and the peak RSS stays under
// 256 MB (before streaming, the whole input was read into memory first:
// 1 GB for the 300 MB NDJSON). bench/RESULTS.md has the figure for 5 GB.
func TestStreamingBoundedMemory(t *testing.T) {
	t.Parallel()
	bin := hosttest.WeirBinary(t)
	pipe := pipeline(t, ptModule(t), "", "")
	for _, tc := range []struct {
		name  string
		total int
		gzip  bool
		open  string // before the first record
		sep   string // between records
		close string
	}{
		{name: "ndjson", total: 300 << 20},
		{name: "cloudtrail gzip", total: 200 << 20, gzip: true, open: "{\"Records\": [\n", sep: ",\n", close: "\n], \"x\": 1}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "run", "-p", pipe)
			stdin, stdout, stderr := startPiped(t, cmd)
			// Peak RSS is the child's own VmHWM, polled from /proc: the
			// rusage of a child started by fork+exec also counts the
			// parent's high-water mark (the kernel carries the forked
			// image's into the exec'd process), so a test binary of 280
			// MB made every child "use" 280 MB.
			hwm := make(chan int64, 1)
			go func() {
				var peak int64
				for {
					kb, err := vmHWM(cmd.Process.Pid)
					if err != nil {
						hwm <- peak
						return
					}
					peak = max(peak, kb)
					time.Sleep(20 * time.Millisecond)
				}
			}()
			written := make(chan int, 1)
			go func() {
				var w io.Writer = stdin
				var zw *gzip.Writer
				if tc.gzip {
					zw, _ = gzip.NewWriterLevel(stdin, gzip.BestSpeed)
					w = zw
				}
				bw := bufio.NewWriterSize(w, 1<<20)
				n, size := 0, 0
				_, _ = bw.WriteString(tc.open)
				for size < tc.total {
					rec := ctRecord(n, 100)
					if tc.sep != "" {
						rec = rec[:len(rec)-1]
						if n > 0 {
							_, _ = bw.WriteString(tc.sep)
						}
					}
					if _, err := bw.Write(rec); err != nil {
						break
					}
					size += len(rec)
					n++
				}
				_, _ = bw.WriteString(tc.close)
				_ = bw.Flush()
				if zw != nil {
					_ = zw.Close()
				}
				_ = stdin.Close()
				written <- n
			}()
			outLines, outBytes := 0, 0
			br := bufio.NewReaderSize(stdout, 1<<20)
			for {
				line, err := br.ReadSlice('\n')
				if err == bufio.ErrBufferFull {
					t.Fatal("an output line longer than 1 MiB")
				}
				if err != nil {
					break
				}
				if outLines == 0 && !bytes.Equal(line, ctRecord(0, 100)) {
					t.Fatalf("first output %q", line)
				}
				outLines++
				outBytes += len(line)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("weir: %v\n%s", err, stderr.String())
			}
			n := <-written
			rss := <-hwm // KiB
			t.Logf("%d records, %d MB out; peak RSS %d MB", n, outBytes>>20, rss>>10)
			if outLines != n {
				t.Fatalf("%d records in, %d out", n, outLines)
			}
			if rss > 256<<10 {
				t.Fatalf("peak RSS %d MB, want under 256 MB", rss>>10)
			}
		})
	}
}

// TestHotSwapWhileStdinFlows swaps a polled module file while the test is
// still writing to weir's stdin: outputs switch from the old version to
// the new one in input order, before stdin closes, and none is lost.
func TestHotSwapWhileStdinFlows(t *testing.T) {
	t.Parallel()
	bin := hosttest.WeirBinary(t)
	dir := t.TempDir()
	module := filepath.Join(dir, "m.wasm")
	copyFile(t, ptModule(t), module)
	pipe := pipeline(t, module, "    poll: 50ms\n", "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "-p", pipe, "--batch-size", "50")
	stdin, stdout, stderr := startPiped(t, cmd)
	swapped := make(chan struct{}) // the first new-version output was read
	written := make(chan int, 1)
	go func() {
		n := 0
		defer func() { _ = stdin.Close(); written <- n }()
		after := -1
		deadline := time.Now().Add(60 * time.Second) // give up: no swap seen while writing
		for {
			if _, err := stdin.Write(ctRecord(n, 1)); err != nil {
				return
			}
			n++
			select {
			case <-swapped:
				if after < 0 {
					after = n
				}
			default:
			}
			if after >= 0 && n >= after+200 || time.Now().After(deadline) {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var lines []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	first := -1
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) == 100 {
			copyFile(t, ctModule(t), module+".new")
			if err := os.Rename(module+".new", module); err != nil {
				t.Error(err)
			}
		}
		if first < 0 && strings.Contains(sc.Text(), `"event":{`) {
			first = len(lines) - 1
			close(swapped)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("weir: %v\n%s", err, stderr.String())
	}
	n := <-written
	if first < 0 {
		t.Fatalf("no output from the new version among %d (%d written)\n%s", len(lines), n, stderr.String())
	}
	if len(lines) != n {
		t.Fatalf("%d records written, %d outputs", n, len(lines))
	}
	if n < first+200 {
		t.Fatalf("stdin closed at record %d, before the new version's first output %d was read", n, first)
	}
	for i, l := range lines {
		old := l+"\n" == string(ctRecord(i, 1))
		if old != (i < first) {
			t.Fatalf("output %d is from the %s version (the new one starts at %d): %.100s", i, map[bool]string{true: "old", false: "new"}[old], first, l)
		}
	}
	t.Logf("swapped at output %d of %d, stdin still open", first, n)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestNotCloudTrail: {"Records": null} and {} are not CloudTrail events:
// the reference module fails them, naming the record, instead of writing
// an almost empty document with outcome "success" (exit 0).
func TestNotCloudTrail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pipe := ctPipeline(t)
	for name, in := range map[string]string{"records-null.json": `{"Records": null}`, "empty.json": "{}\n"} {
		f := writeFile(t, dir, name, []byte(in))
		r := weir(t, nil, "run", "-p", pipe, f)
		want := "weir: record 0 (" + f + ", seq 0) failed: stage \"normalize\" (module "
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, want) ||
			!strings.Contains(r.stderr, "cloudtrail-ecs: not a CloudTrail event: no eventTime and no eventName") {
			t.Errorf("%s: want exit 1, no output and the record named, got %v\nstdout: %s", name, r, r.stdout)
		}
	}
}

// vmHWM returns the peak resident set size (KiB) of process pid, from
// /proc/pid/status, or an error once the process is gone.
func vmHWM(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// startPiped starts cmd with pipes on its stdin and stdout and its stderr
// collected in a buffer.
func startPiped(t *testing.T, cmd *exec.Cmd) (io.WriteCloser, io.ReadCloser, *bytes.Buffer) {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return stdin, stdout, &stderr
}
