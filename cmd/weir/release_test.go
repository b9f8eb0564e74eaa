package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/encoding/cbor"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/lambda"
	"github.com/weirhq/weir/host/source"
)

func tagModule(t *testing.T, dir, tag, imp string) string {
	t.Helper()
	name := strings.TrimSuffix(tag, ":") + imp
	return hosttest.WAT(t, writeFile(t, dir, name+".wat", hosttest.TagWAT(t, tag, false, imp)))
}

// fakeAppConfig is a loopback AWS AppConfig: the control plane calls the
// release flow makes (hosted configuration versions, deployments; REST
// JSON, driven by the real SDK client) and the AppConfig agent endpoint
// the Lambda extension serves the function (the deployed version's
// content, by names). A deployment completes at once.
type fakeAppConfig struct {
	mu          sync.Mutex
	app, env    string // ids
	profile     string
	names       [3]string // application, environment, profile names
	versions    map[int32][]byte
	deployments []map[string]any
	url         string
}

func newFakeAppConfig(t *testing.T) *fakeAppConfig {
	a := &fakeAppConfig{app: "app1234", env: "env1234", profile: "prf1234", names: [3]string{"weir", "prod", "pipeline"}, versions: map[int32][]byte{}}
	mux := http.NewServeMux()
	base := "/applications/{app}/configurationprofiles/{prof}/hostedconfigurationversions"
	mux.HandleFunc("POST "+base, a.createVersion)
	mux.HandleFunc("GET "+base+"/{v}", a.getVersion)
	deps := "/applications/{app}/environments/{env}/deployments"
	mux.HandleFunc("POST "+deps, a.startDeployment)
	mux.HandleFunc("GET "+deps, a.listDeployments)
	mux.HandleFunc("GET "+deps+"/{n}", a.getDeployment)
	mux.HandleFunc("GET /applications/{app}/environments/{env}/configurations/{prof}", a.agent)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

func (a *fakeAppConfig) check(w http.ResponseWriter, r *http.Request, withEnv bool) bool {
	if r.PathValue("app") != a.app || (withEnv && r.PathValue("env") != a.env) || (!withEnv && r.PathValue("prof") != a.profile) {
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		http.Error(w, `{"Message":"not found"}`, http.StatusNotFound)
		return false
	}
	return true
}

func (a *fakeAppConfig) createVersion(w http.ResponseWriter, r *http.Request) {
	if !a.check(w, r, false) {
		return
	}
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	defer a.mu.Unlock()
	latest := int32(len(a.versions))
	if lv := r.Header.Get("Latest-Version-Number"); lv != "" && lv != fmt.Sprint(latest) {
		w.Header().Set("X-Amzn-Errortype", "ConflictException")
		http.Error(w, `{"Message":"Latest-Version-Number does not match"}`, http.StatusConflict)
		return
	}
	v := latest + 1
	a.versions[v] = body
	w.Header().Set("Version-Number", fmt.Sprint(v))
	w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(body)
}

func (a *fakeAppConfig) getVersion(w http.ResponseWriter, r *http.Request) {
	if !a.check(w, r, false) {
		return
	}
	n, _ := strconv.Atoi(r.PathValue("v"))
	a.mu.Lock()
	body, ok := a.versions[int32(n)]
	a.mu.Unlock()
	if !ok {
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		http.Error(w, `{"Message":"no such version"}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Version-Number", r.PathValue("v"))
	w.Header().Set("Content-Type", "application/x-yaml")
	_, _ = w.Write(body)
}

func (a *fakeAppConfig) startDeployment(w http.ResponseWriter, r *http.Request) {
	if !a.check(w, r, true) {
		return
	}
	var in struct{ ConfigurationProfileId, ConfigurationVersion, DeploymentStrategyId, Description string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ConfigurationProfileId != a.profile || in.DeploymentStrategyId == "" {
		w.Header().Set("X-Amzn-Errortype", "BadRequestException")
		http.Error(w, `{"Message":"bad deployment request"}`, http.StatusBadRequest)
		return
	}
	n, _ := strconv.Atoi(in.ConfigurationVersion)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.versions[int32(n)]; !ok {
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		http.Error(w, `{"Message":"no such version"}`, http.StatusNotFound)
		return
	}
	d := map[string]any{"ApplicationId": a.app, "EnvironmentId": a.env, "DeploymentNumber": len(a.deployments) + 1,
		"ConfigurationProfileId": a.profile, "ConfigurationName": a.names[2], "ConfigurationVersion": in.ConfigurationVersion,
		"DeploymentStrategyId": in.DeploymentStrategyId, "Description": in.Description, "State": "COMPLETE", "PercentageComplete": 100}
	a.deployments = append(a.deployments, d)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(d)
}

func (a *fakeAppConfig) listDeployments(w http.ResponseWriter, r *http.Request) {
	if !a.check(w, r, true) {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"Items": a.deployments})
}

func (a *fakeAppConfig) getDeployment(w http.ResponseWriter, r *http.Request) {
	if !a.check(w, r, true) {
		return
	}
	n, _ := strconv.Atoi(r.PathValue("n"))
	a.mu.Lock()
	defer a.mu.Unlock()
	if n < 1 || n > len(a.deployments) {
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		http.Error(w, `{"Message":"no such deployment"}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(a.deployments[n-1])
}

// deployed is the configuration version of the last deployment.
func (a *fakeAppConfig) deployed() (int32, []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.deployments) == 0 {
		return 0, nil
	}
	n, _ := strconv.Atoi(a.deployments[len(a.deployments)-1]["ConfigurationVersion"].(string))
	return int32(n), a.versions[int32(n)]
}

// agent serves the deployed version as the AppConfig Lambda extension
// does, by names.
func (a *fakeAppConfig) agent(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("app") != a.names[0] || r.PathValue("env") != a.names[1] || r.PathValue("prof") != a.names[2] {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	v, body := a.deployed()
	if body == nil {
		http.Error(w, "not deployed", http.StatusNotFound)
		return
	}
	w.Header().Set("Configuration-Version", fmt.Sprint(v))
	w.Header().Set("Content-Type", "application/x-yaml")
	_, _ = w.Write(body)
}

// fakeCloudWatch is a loopback CloudWatch answering GetMetricData (RPC v2
// CBOR, driven by the real SDK client) from EMF documents, as the Lambda
// service turns a function's EMF log lines into metrics.
type fakeCloudWatch struct {
	mu     sync.Mutex
	points []emfPoint
	url    string
}

type emfPoint struct {
	ns, name string
	dims     map[string]string
	t        time.Time
	v        float64
}

func newFakeCloudWatch(t *testing.T) *fakeCloudWatch {
	c := &fakeCloudWatch{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /service/GraniteServiceVersion20100801/operation/GetMetricData", c.getMetricData)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

// ingest reads EMF lines (other lines are skipped) until r ends.
func (c *fakeCloudWatch) ingest(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if i := bytes.IndexByte(line, '{'); i >= 0 {
			line = line[i:]
		}
		var doc map[string]any
		if json.Unmarshal(line, &doc) != nil {
			continue
		}
		var meta struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name string }
			}
		}
		raw, _ := json.Marshal(doc["_aws"])
		if json.Unmarshal(raw, &meta) != nil {
			continue
		}
		c.mu.Lock()
		for _, cw := range meta.CloudWatchMetrics {
			for _, set := range cw.Dimensions {
				dims := map[string]string{}
				for _, d := range set {
					dims[d], _ = doc[d].(string)
				}
				for _, m := range cw.Metrics {
					if v, ok := doc[m.Name].(float64); ok {
						c.points = append(c.points, emfPoint{ns: cw.Namespace, name: m.Name, dims: dims, t: time.UnixMilli(meta.Timestamp), v: v})
					}
				}
			}
		}
		c.mu.Unlock()
	}
}

func cborString(m cbor.Map, k string) string { s, _ := m[k].(cbor.String); return string(s) }

func cborTime(v cbor.Value) time.Time {
	t, _ := cbor.AsTime(v)
	return t
}

func (c *fakeCloudWatch) getMetricData(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	v, err := cbor.Decode(body)
	in, ok := v.(cbor.Map)
	if err != nil || !ok || r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	from, to := cborTime(in["StartTime"]), cborTime(in["EndTime"])
	queries, _ := in["MetricDataQueries"].(cbor.List)
	var results cbor.List
	c.mu.Lock()
	for _, q := range queries {
		qm, _ := q.(cbor.Map)
		ms, _ := qm["MetricStat"].(cbor.Map)
		metric, _ := ms["Metric"].(cbor.Map)
		if cborString(ms, "Stat") != "Sum" {
			http.Error(w, "only Sum", http.StatusBadRequest)
			c.mu.Unlock()
			return
		}
		want := map[string]string{}
		dl, _ := metric["Dimensions"].(cbor.List)
		for _, d := range dl {
			dm, _ := d.(cbor.Map)
			want[cborString(dm, "Name")] = cborString(dm, "Value")
		}
		var sum float64
		var n int
		for _, p := range c.points {
			if p.ns != cborString(metric, "Namespace") || p.name != cborString(metric, "MetricName") || fmt.Sprint(p.dims) != fmt.Sprint(want) || p.t.Before(from) || !p.t.Before(to) {
				continue
			}
			sum += p.v
			n++
		}
		res := cbor.Map{"Id": cbor.String(cborString(qm, "Id")), "Label": cbor.String(cborString(metric, "MetricName")), "StatusCode": cbor.String("Complete"),
			"Timestamps": cbor.List{}, "Values": cbor.List{}}
		if n > 0 {
			res["Timestamps"] = cbor.List{&cbor.Tag{ID: 1, Value: cbor.Float64(float64(from.Unix()))}}
			res["Values"] = cbor.List{cbor.Float64(sum)}
		}
		results = append(results, res)
	}
	c.mu.Unlock()
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	_, _ = w.Write(cbor.Encode(cbor.Map{"MetricDataResults": results}))
}

// TestReleaseRehearsal rehearses the module release flow of
// examples/deploy end to end, on loopback servers: the real bootstrap
// binary under aws-lambda-rie reads its pipeline from a loopback AppConfig
// agent (WEIR_PIPELINE=appconfig://weir/prod/pipeline, watched every
// 200ms) and its modules from gofakes3 (versioned); "weir release" signs
// and uploads a module, pins it in a new pipeline version through the
// AppConfig control plane, deploys it and watches VersionSwappedIn and
// VersionRefused of that configuration version in a loopback CloudWatch
// fed with the function's own EMF output. It releases v1 then v2 (swapped in), a v3 every container
// refuses (release fails and redeploys the previous version: v2 keeps
// serving), then rolls back to v1 by its S3 version id.
func TestReleaseRehearsal(t *testing.T) {
	rie := hosttest.RequireTool(t, "aws-lambda-rie", "scripts/ensure-tools.sh go")
	hosttest.SetAWSEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()

	// S3 (versioned), AppConfig, CloudWatch.
	s3srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer s3srv.Close()
	ac := newFakeAppConfig(t)
	cw := newFakeCloudWatch(t)
	t.Setenv("AWS_ENDPOINT_URL_S3", s3srv.URL)
	t.Setenv("AWS_ENDPOINT_URL_APPCONFIG", ac.url)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH", cw.url)
	t.Setenv("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required")
	t.Setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
	awsCfg, err := awsconf.Load(ctx, "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	sc := s3.NewFromConfig(awsCfg)
	bucket := "weir-modules"
	if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &bucket,
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}

	// The key pair, the modules, and the pipeline as the stack deploys it:
	// the stage names the (not yet uploaded) module, unpinned.
	key := filepath.Join(dir, "weir.key")
	if r := weir(t, nil, "sign", "--generate-key", key); r.code != 0 {
		t.Fatal(r)
	}
	pub := strings.TrimSpace(weir(t, nil, "sign", "--generate-key", filepath.Join(dir, "other.key")).stdout)
	pubOK, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	v1, v2, bad := tagModule(t, dir, "v1:", ""), tagModule(t, dir, "v2:", ""), tagModule(t, dir, "v3:", "not_provided")
	out := filepath.Join(dir, "out.ndjson")
	initial := fmt.Sprintf(`version: 1
name: rehearsal
stages:
  - name: tag
    module: s3://%s/modules/tag.wasm
    entry: record
    public_key: %q
    poll: 60s
    smoke:
      - input: x
outputs:
  default: {type: file, path: %s}
`, bucket, strings.TrimSpace(string(pubOK)), out)
	ac.versions[1] = []byte(initial)
	ac.deployments = append(ac.deployments, map[string]any{"ApplicationId": ac.app, "EnvironmentId": ac.env, "DeploymentNumber": 1, "ConfigurationProfileId": ac.profile,
		"ConfigurationName": "pipeline", "ConfigurationVersion": "1", "DeploymentStrategyId": "imm1234", "State": "COMPLETE"})

	release := func(args ...string) result {
		t.Helper()
		base := []string{"release", "--bucket", bucket, "--key", "modules/tag.wasm", "--stage", "tag", "--application", ac.app,
			"--environment", ac.env, "--profile", ac.profile, "--strategy", "imm1234", "--watch-interval", "100ms", "--watch", "60s"}
		return weir(t, nil, append(base, args...)...)
	}

	// A module signed with another key is refused before anything is
	// uploaded.
	if r := release("-k", filepath.Join(dir, "other.key"), v1); r.code == 0 || !strings.Contains(r.stderr, "expects modules signed by") {
		t.Fatalf("release with the wrong key: %v (public key %s)", r, pub)
	}
	// v1: nothing runs yet, so no swap is watched.
	if r := release("-k", key, "--watch", "0", v1); r.code != 0 {
		t.Fatalf("release v1: %v\n%s", r, r.stdout)
	}

	// The function.
	bin := filepath.Join(dir, "bootstrap")
	build := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", bin, "../bootstrap")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	port, apiPort := hosttest.FreePort(t), hosttest.FreePort(t)
	agentPort := strings.TrimPrefix(ac.url, "http://127.0.0.1:")
	env := append(os.Environ(), "WEIR_PIPELINE=appconfig://weir/prod/pipeline", "WEIR_PIPELINE_POLL=200ms", "WEIR_SOURCE=kinesis",
		"AWS_APPCONFIG_EXTENSION_HTTP_PORT="+agentPort, "LAMBDA_TASK_ROOT="+dir, "WEIR_LOG_LEVEL=info")
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", port),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort), bin)
	cmd.Env, cmd.Dir = env, dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var logsMu sync.Mutex
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			logsMu.Lock()
			logs.WriteString(sc.Text() + "\n")
			logsMu.Unlock()
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cw.ingest(io.TeeReader(stdout, writerFunc(func(p []byte) {
		logsMu.Lock()
		logs.Write(p)
		logsMu.Unlock()
	})))
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = pw.Close()
		if t.Failed() {
			logsMu.Lock()
			t.Logf("function output:\n%s", logs.String())
			logsMu.Unlock()
		}
	})
	hosttest.WaitPort(t, port, 20*time.Second)

	// Traffic: one record per invocation, every 50ms, while releasing.
	var seq int
	var invokeErr error
	invokeOnce := func() {
		seq++
		ev, err := lambda.NewKinesisEvent("arn:aws:kinesis:us-east-1:123456789012:stream/in", []lambda.KinesisRecord{{ShardID: "shardId-000000000000",
			SequenceNumber: fmt.Sprint(1000 + seq), PartitionKey: "k", Data: []byte(fmt.Sprintf(`{"n":%d}`, seq)), ArrivalTime: time.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", port), "application/json", bytes.NewReader(ev))
		if err != nil {
			invokeErr = err
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || bytes.Contains(b, []byte("errorMessage")) {
			invokeErr = fmt.Errorf("invoke: %s %s", resp.Status, b)
		}
	}
	lastOutput := func() string {
		t.Helper()
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		return lines[len(lines)-1]
	}
	withTraffic := func(f func() result) result {
		t.Helper()
		done := make(chan result)
		go func() { done <- f() }()
		for {
			select {
			case r := <-done:
				return r
			case <-time.After(50 * time.Millisecond):
				invokeOnce()
			}
		}
	}

	invokeOnce()
	if invokeErr != nil {
		t.Fatal(invokeErr)
	}
	if got := lastOutput(); got != fmt.Sprintf(`v1:{"n":%d}`, seq) {
		t.Fatalf("first output %q, want v1", got)
	}

	// swappedIn reports whether a release's output says the configuration
	// deployed now (by its digest) was swapped in: the watch follows that
	// version, not any swap.
	swappedIn := func(r result) bool {
		_, content := ac.deployed()
		return strings.Contains(r.stdout, "version "+lambda.VersionDimension(source.Digest(content))+" swapped in")
	}

	// v2: swapped in, seen in the metrics.
	r := withTraffic(func() result { return release("-k", key, v2) })
	if r.code != 0 || !swappedIn(r) {
		t.Fatalf("release v2: %v\n%s", r, r.stdout)
	}
	invokeOnce()
	if got := lastOutput(); !strings.HasPrefix(got, "v2:") {
		t.Fatalf("after releasing v2, output %q", got)
	}
	goodVersion, _ := ac.deployed()

	// v3 imports a function weir does not provide: every container refuses
	// it; release reports the refusal and redeploys the previous version.
	r = withTraffic(func() result { return release("-k", key, bad) })
	if r.code == 0 || !strings.Contains(r.stderr, "refused") || !strings.Contains(r.stderr, "rolled back") {
		t.Fatalf("release of a refused version: %v\n%s", r, r.stdout)
	}
	if v, _ := ac.deployed(); v != goodVersion {
		t.Fatalf("after the refusal, configuration version %d is deployed, want %d", v, goodVersion)
	}
	// The function takes the redeployed configuration back within a few
	// polls (200 ms each). (Its swap back to v2, even if reported late,
	// cannot pass for the rollback's own: the watch follows the version.)
	for range 3 {
		time.Sleep(time.Second)
		invokeOnce()
	}
	if got := lastOutput(); !strings.HasPrefix(got, "v2:") {
		t.Fatalf("after the refused release, output %q, want v2 still", got)
	}
	logsMu.Lock()
	refusedLogged := strings.Contains(logs.String(), "swap: version refused")
	logsMu.Unlock()
	if !refusedLogged {
		t.Error("the function did not log the refusal")
	}

	// Roll back to v1 by its S3 version id, found with --history.
	h := weir(t, nil, "release", "--history", "--bucket", bucket, "--key", "modules/tag.wasm")
	hist := h.lines()
	if h.code != 0 || len(hist) != 3 {
		t.Fatalf("history: %v\n%s", h, h.stdout)
	}
	v1Sum, badSum := source.Digest(mustRead(t, v1)), source.Digest(mustRead(t, bad))
	var v1ID string
	for _, line := range hist {
		if strings.Contains(line, "sha256:"+v1Sum) {
			v1ID, _, _ = strings.Cut(line, " ")
		}
		if strings.HasSuffix(line, "(latest upload)") != strings.Contains(line, "sha256:"+badSum) {
			t.Errorf("history line %q: the latest upload is v3 (sha256:%s)", line, badSum)
		}
	}
	if v1ID == "" {
		t.Fatalf("no version of sha256:%s in the history:\n%s", v1Sum, h.stdout)
	}
	r = withTraffic(func() result { return release("--rollback-to", v1ID) })
	if r.code != 0 || !swappedIn(r) {
		t.Fatalf("rollback to v1: %v\n%s", r, r.stdout)
	}
	invokeOnce()
	if got := lastOutput(); !strings.HasPrefix(got, "v1:") {
		t.Fatalf("after the rollback, output %q, want v1", got)
	}
	if invokeErr != nil {
		t.Fatalf("an invocation failed: %v", invokeErr)
	}
	// The deployed pipeline pins the module, its signature and its digest.
	_, content := ac.deployed()
	for _, want := range []string{"versionId=" + v1ID, "tag.wasm.sig?versionId=", "sha256: " + v1Sum} {
		if !bytes.Contains(content, []byte(want)) {
			t.Errorf("deployed pipeline lacks %q:\n%s", want, content)
		}
	}
}

type writerFunc func(p []byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
