// Command coldstart measures the Lambda function's cold start: a Lambda
// package (make lambda-zip) is unpacked as the function's task root, and
// each run starts its bootstrap as a new container would (an empty
// temporary folder, the package read-only: run as nobody when root) under
// a minimal Lambda runtime API on 127.0.0.1 that hands it one invocation.
// It reports, over the runs, the time from process start to the first
// request for an invocation (init) and to that invocation's response
// (first batch done).
//
//	go run ./bench/coldstart -zip bin/weir-lambda-amd64.zip -runs 9 -cache zip
//
// -cache says where compiled code comes from: "zip" (the package's cache/
// folder, as shipped), "none" (cache/ removed: every run compiles), or
// "s3" (cache/ removed; a shared cache in gofakes3, WEIR_CACHE_S3: the
// first run compiles and uploads, and is reported apart; the others
// download).
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/weirhq/weir/host/aws/awsconf"
)

func main() {
	zipPath := flag.String("zip", "bin/weir-lambda-amd64.zip", "the Lambda package")
	runs := flag.Int("runs", 9, "cold starts to measure")
	cache := flag.String("cache", "zip", "zip, none or s3")
	event := flag.String("event", "examples/cloudtrail-ecs/data/consolelogin.json", "the invocation's payload")
	flag.BoolVar(&showLog, "log", false, "run the bootstrap at WEIR_LOG_LEVEL=debug and print the last run's log")
	flag.StringVar(&wrapper, "exec", "", "run the bootstrap through this program (qemu-aarch64-static for an arm64 package: checks its cache, times mean nothing)")
	flag.Parse()
	if err := run(*zipPath, *runs, *cache, *event); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

// showLog prints the last run's log (-log).
var (
	showLog bool
	lastLog string
	wrapper string
)

// nobody is the user the bootstrap runs as when this runs as root, so
// that the package is read-only to it, as on Lambda.
const nobody = 65534

func run(zipPath string, runs int, cache, eventPath string) error {
	payload, err := os.ReadFile(eventPath)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "weir-coldstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := os.Chmod(work, 0o755); err != nil {
		return err
	}
	root := filepath.Join(work, "task")
	if err := unzip(zipPath, root); err != nil {
		return err
	}
	env := []string{
		"PATH=/usr/bin:/bin", "LAMBDA_TASK_ROOT=" + root, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
	}
	switch cache {
	case "zip": // as shipped (a package without modules has no cache/)
	case "none":
		_ = os.RemoveAll(filepath.Join(root, "cache"))
	case "s3":
		_ = os.RemoveAll(filepath.Join(root, "cache"))
		srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
		defer srv.Close()
		ctx := context.Background()
		for _, kv := range env[2:] { // this process's client: the same dummy credentials
			k, v, _ := strings.Cut(kv, "=")
			if strings.HasPrefix(k, "AWS_") {
				_ = os.Setenv(k, v)
			}
		}
		cfg, err := awsconf.Load(ctx, "us-east-1", 1, 0)
		if err != nil {
			return err
		}
		client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(srv.URL); o.UsePathStyle = true })
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("cache")}); err != nil {
			return err
		}
		env = append(env, "WEIR_CACHE_S3=s3://cache/weir/", "WEIR_CACHE_S3_KEY=coldstart-harness-cache-key", "WEIR_S3_ENDPOINT="+srv.URL)
		first, err := once(work, root, env, payload)
		if err != nil {
			return err
		}
		fmt.Printf("first container (compiles, uploads): init %s, first batch done %s\n", ms(first.init), ms(first.done))
	default:
		return fmt.Errorf("-cache %q: want zip, none or s3", cache)
	}
	if showLog {
		env = append(env, "WEIR_LOG_LEVEL=debug")
	}
	var inits, dones, cpus []time.Duration
	compiled := 0
	for range runs {
		r, err := once(work, root, env, payload)
		if err != nil {
			return err
		}
		inits, dones, cpus = append(inits, r.init), append(dones, r.done), append(cpus, r.cpu)
		if r.compiled {
			compiled++
		}
	}
	if showLog {
		fmt.Print(lastLog)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	missed := ""
	if cache == "zip" {
		missed = fmt.Sprintf(" (the package's cache missed in %d)", compiled)
	}
	fmt.Printf("%s, cache %s, %d runs%s: init median %s (%s-%s), first batch done median %s (%s-%s), CPU median %s; load average %s\n",
		filepath.Base(zipPath), cache, runs, missed, ms(median(inits)), ms(slices.Min(inits)), ms(slices.Max(inits)),
		ms(median(dones)), ms(slices.Min(dones)), ms(slices.Max(dones)), ms(median(cpus)), strings.Join(strings.Fields(string(load))[:3], " "))
	return nil
}

// timing is one cold start: wall times from process start, and the
// process's CPU time (user + system, until it was stopped after the
// response), which the machine's load inflates less.
type timing struct {
	init, done, cpu time.Duration
	compiled        bool // wazero wrote compiled code: no cache served the module
}

// once starts the bootstrap as a new container and serves it one
// invocation.
func once(work, root string, env []string, payload []byte) (timing, error) {
	tmp, err := os.MkdirTemp(work, "tmp-")
	if err != nil {
		return timing{}, err
	}
	defer os.RemoveAll(tmp)
	type result struct {
		at   time.Time
		body []byte
		err  error
	}
	var (
		nextAt = make(chan time.Time, 1)
		done   = make(chan result, 1)
		served atomic.Bool
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		if served.Swap(true) { // the next invocation never comes
			<-r.Context().Done()
			return
		}
		select {
		case nextAt <- time.Now():
		default:
		}
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", "req-1")
		w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:weir")
		_, _ = w.Write(payload)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/req-1/response", func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		done <- result{at: at, body: b}
	})
	fail := func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		done <- result{err: fmt.Errorf("%s: %s", r.URL.Path, b)}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/req-1/error", fail)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", fail)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cmd := exec.Command(filepath.Join(root, "bootstrap"))
	if wrapper != "" {
		cmd = exec.Command(wrapper, filepath.Join(root, "bootstrap"))
	}
	cmd.Dir = root
	cmd.Env = append(slices.Clone(env), "AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(srv.URL, "http://"), "TMPDIR="+tmp, "HOME="+tmp)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if os.Geteuid() == 0 {
		if err := os.Chown(tmp, nobody, nobody); err != nil {
			return timing{}, err
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return timing{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() time.Duration { // kills the process, returns its CPU time
		_ = cmd.Process.Kill()
		err := <-exited
		exited <- err
		return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	defer stop()
	var r result
	select {
	case r = <-done:
	case err := <-exited:
		exited <- err
		return timing{}, fmt.Errorf("the bootstrap exited (%v): %s", err, stderr.String())
	case <-time.After(2 * time.Minute):
		return timing{}, errors.New("no response in 2 minutes: " + stderr.String())
	}
	if r.err != nil {
		return timing{}, fmt.Errorf("%w\n%s", r.err, stderr.String())
	}
	var resp struct{ Records int }
	if err := json.Unmarshal(r.body, &resp); err != nil || resp.Records == 0 {
		return timing{}, fmt.Errorf("response %s (%v), want {\"records\": N}: %s", r.body, err, stderr.String())
	}
	if showLog {
		lastLog = stderr.String()
	}
	t := timing{init: (<-nextAt).Sub(start), done: r.at.Sub(start), cpu: stop()}
	t.compiled = wroteCode(tmp)
	return t, nil
}

// wroteCode reports whether wazero wrote compiled code under the run's
// temporary folder. With -cache zip, the shipped cache is mirrored there
// by symbolic links, so a regular file means the package's cache missed
// (another wazero version or CPU) and the module was compiled (a
// bootstrap older than the mirror copied the cache: always "missed"). (Without
// a cache folder nothing is written; a downloaded file is regular too.)
func wroteCode(tmp string) bool {
	found := false
	_ = filepath.WalkDir(tmp, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.HasPrefix(filepath.Base(filepath.Dir(p)), "wazero-") {
			found = true
		}
		return nil
	})
	return found
}

func unzip(path, dst string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		p := filepath.Join(dst, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(p, dst+string(filepath.Separator)) {
			return fmt.Errorf("%s: %s is outside the package", path, f.Name)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		mode := f.Mode().Perm() | 0o444
		if err := os.WriteFile(p, data, mode); err != nil {
			return err
		}
	}
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
