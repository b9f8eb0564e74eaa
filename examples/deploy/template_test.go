package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/lambda"
	"github.com/weirhq/weir/host/sinks"
	"github.com/weirhq/weir/host/source"
)

// template is the part of a CloudFormation template the tests read.
type template struct {
	Parameters map[string]json.RawMessage
	Mappings   map[string]map[string]map[string]string
	Resources  map[string]struct {
		Type       string
		Properties map[string]any
	}
	Outputs map[string]json.RawMessage

	// params are the values Refs to parameters resolve to.
	params map[string]string
}

type parameter struct {
	Type, AllowedPattern string
	Default              any
}

func loadTemplate(t *testing.T) *template {
	t.Helper()
	raw, err := os.ReadFile("template.json")
	if err != nil {
		t.Fatal(err)
	}
	var tpl template
	if err := json.Unmarshal(raw, &tpl); err != nil {
		t.Fatalf("template.json: %v", err)
	}
	// A parameter resolves to its default, else (the module public key)
	// to a real key, which must match the parameter's pattern.
	tpl.params = map[string]string{}
	for name, rawp := range tpl.Parameters {
		var p parameter
		if err := json.Unmarshal(rawp, &p); err != nil {
			t.Fatal(err)
		}
		switch {
		case p.Default != nil:
			tpl.params[name] = fmt.Sprint(p.Default)
		case strings.Contains(p.AllowedPattern, "ed25519:"):
			pub, _, err := source.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(p.AllowedPattern).MatchString(pub) {
				t.Fatalf("parameter %s: a public key from weir sign --generate-key (%s) does not match its pattern %s", name, pub, p.AllowedPattern)
			}
			tpl.params[name] = pub
		}
	}
	return &tpl
}

// only returns the logical id and properties of the one resource of type
// typ.
func (tpl *template) only(t *testing.T, typ string) (string, map[string]any) {
	t.Helper()
	var ids []string
	for id, r := range tpl.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d resources of type %s (%v), want 1", len(ids), typ, ids)
	}
	return ids[0], tpl.Resources[ids[0]].Properties
}

// placeholder stands for the value of a Ref or Fn::GetAtt: lower case, so
// that it is a valid bucket, table or stream name in a configuration.
func placeholder(id string) string { return "ref-" + strings.ToLower(id) }

// resolve renders a template value to a string, replacing Refs and
// Fn::GetAtts with placeholders (see placeholder) and joining Fn::Joins.
func (tpl *template) resolve(t *testing.T, v any) string {
	t.Helper()
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprint(x)
	case map[string]any:
		if r, ok := x["Ref"].(string); ok {
			if p, ok := tpl.params[r]; ok {
				return p
			}
			return placeholder(r)
		}
		if ga, ok := x["Fn::GetAtt"].([]any); ok {
			return placeholder(ga[0].(string)) + "." + strings.ToLower(ga[1].(string))
		}
		if j, ok := x["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, tpl.resolve(t, p))
			}
			return strings.Join(parts, j[0].(string))
		}
	}
	t.Fatalf("cannot resolve %v", v)
	return ""
}

// pipeline returns the pipeline configuration the stack stores in
// AppConfig, parsed and validated by weir's own parser.
func pipeline(t *testing.T, tpl *template) *engine.Config {
	t.Helper()
	_, hv := tpl.only(t, "AWS::AppConfig::HostedConfigurationVersion")
	if hv["ContentType"] != "application/x-yaml" {
		t.Errorf("pipeline content type %v", hv["ContentType"])
	}
	sinks.Register()
	cfg, err := engine.ParseConfig([]byte(tpl.resolve(t, hv["Content"])), "template.json pipeline")
	if err != nil {
		t.Fatalf("the pipeline in AppConfig does not parse: %v", err)
	}
	return cfg
}

// TestFunctionEnvironment checks the function's environment against what
// the bootstrap reads (lambda.Env, itself checked against the code by
// cmd/bootstrap's TestEnvListed) and against the resources it names.
func TestFunctionEnvironment(t *testing.T) {
	tpl := loadTemplate(t)
	_, fn := tpl.only(t, "AWS::Lambda::Function")
	vars := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
	known := map[string]lambda.EnvVar{}
	for _, e := range lambda.Env {
		known[e.Name] = e
	}
	// The AppConfig extension's own settings (its documentation's list).
	extension := regexp.MustCompile(`^AWS_APPCONFIG_EXTENSION_(POLL_INTERVAL_SECONDS|POLL_TIMEOUT_MILLIS|HTTP_PORT|MAX_CONNECTIONS|LOG_LEVEL|PREFETCH_LIST|ROLE_ARN|ROLE_EXTERNAL_ID|ROLE_SESSION_NAME|SERVICE_REGION|PROXY_URL|PROXY_HEADERS)$`)
	got := map[string]string{}
	for name, v := range vars {
		got[name] = tpl.resolve(t, v)
		e, ok := known[name]
		switch {
		case extension.MatchString(name):
		case !ok:
			t.Errorf("the function sets %s, which the bootstrap does not read", name)
		case e.TestOnly:
			t.Errorf("the function sets %s, meant for local emulators only", name)
		}
	}
	for _, name := range []string{lambda.EnvPipeline, lambda.EnvSource, lambda.EnvDeadLetter, lambda.EnvAttemptsTable} {
		if got[name] == "" {
			t.Errorf("the function does not set %s", name)
		}
	}
	if src, err := lambda.ParseSource(got[lambda.EnvSource]); err != nil || src != lambda.SourceKinesis {
		t.Errorf("%s = %q, want kinesis (%v)", lambda.EnvSource, got[lambda.EnvSource], err)
	}

	// WEIR_PIPELINE names the AppConfig application/environment/profile
	// the stack creates, and the extension prefetches it.
	names := map[string]string{}
	for _, typ := range []string{"AWS::AppConfig::Application", "AWS::AppConfig::Environment", "AWS::AppConfig::ConfigurationProfile"} {
		_, p := tpl.only(t, typ)
		names[typ] = p["Name"].(string)
	}
	ref := fmt.Sprintf("appconfig://%s/%s/%s", names["AWS::AppConfig::Application"], names["AWS::AppConfig::Environment"], names["AWS::AppConfig::ConfigurationProfile"])
	if got[lambda.EnvPipeline] != ref {
		t.Errorf("%s = %q, want %q (the stack's AppConfig names)", lambda.EnvPipeline, got[lambda.EnvPipeline], ref)
	}
	prefetch := fmt.Sprintf("/applications/%s/environments/%s/configurations/%s", names["AWS::AppConfig::Application"], names["AWS::AppConfig::Environment"], names["AWS::AppConfig::ConfigurationProfile"])
	if got["AWS_APPCONFIG_EXTENSION_PREFETCH_LIST"] != prefetch {
		t.Errorf("AWS_APPCONFIG_EXTENSION_PREFETCH_LIST = %q, want %q", got["AWS_APPCONFIG_EXTENSION_PREFETCH_LIST"], prefetch)
	}

	// WEIR_DEAD_LETTER is an output of the pipeline; WEIR_MAX_ATTEMPTS
	// parses as the bootstrap parses it.
	cfg := pipeline(t, tpl)
	if _, ok := cfg.Outputs[got[lambda.EnvDeadLetter]]; !ok {
		t.Errorf("%s = %q is not an output of the pipeline (%v)", lambda.EnvDeadLetter, got[lambda.EnvDeadLetter], keys(cfg.Outputs))
	}
	var n int
	if _, err := fmt.Sscanf(got[lambda.EnvMaxAttempts], "%d", &n); got[lambda.EnvMaxAttempts] != "" && (err != nil || n < 1) {
		t.Errorf("%s = %q", lambda.EnvMaxAttempts, got[lambda.EnvMaxAttempts])
	}

	// WEIR_ATTEMPTS_TABLE is a table keyed by id (S) with TTL on expires_at.
	table := strings.TrimPrefix(got[lambda.EnvAttemptsTable], "ref-")
	var found bool
	for id, r := range tpl.Resources {
		if strings.ToLower(id) != table || r.Type != "AWS::DynamoDB::Table" {
			continue
		}
		found = true
		ks, _ := json.Marshal(r.Properties["KeySchema"])
		ad, _ := json.Marshal(r.Properties["AttributeDefinitions"])
		ttl, _ := json.Marshal(r.Properties["TimeToLiveSpecification"])
		if string(ks) != `[{"AttributeName":"id","KeyType":"HASH"}]` || string(ad) != `[{"AttributeName":"id","AttributeType":"S"}]` || string(ttl) != `{"AttributeName":"expires_at","Enabled":true}` {
			t.Errorf("attempts table %s: key %s %s, TTL %s", id, ks, ad, ttl)
		}
	}
	if !found {
		t.Errorf("%s = %q is not a DynamoDB table of the stack", lambda.EnvAttemptsTable, got[lambda.EnvAttemptsTable])
	}

	if fn["Runtime"] != "provided.al2023" || fn["Handler"] != "bootstrap" || fmt.Sprint(fn["Architectures"]) != "[arm64]" {
		t.Errorf("function runtime %v handler %v architectures %v", fn["Runtime"], fn["Handler"], fn["Architectures"])
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestPipelineResources checks that the pipeline in AppConfig names the
// stack's resources: modules in the module bucket (signed, polled), the
// output stream, the dead-letter bucket, the enrichment tables.
func TestPipelineResources(t *testing.T) {
	tpl := loadTemplate(t)
	cfg := pipeline(t, tpl)
	ids := map[string]string{} // placeholder -> type
	for id, r := range tpl.Resources {
		ids[placeholder(id)] = r.Type
	}
	for _, st := range cfg.Stages {
		bucket, key, ok := strings.Cut(strings.TrimPrefix(st.Module, "s3://"), "/")
		if !strings.HasPrefix(st.Module, "s3://") || !ok || ids[bucket] != "AWS::S3::Bucket" || !strings.HasPrefix(key, "modules/") {
			t.Errorf("stage %s: module %q is not under modules/ in a bucket of the stack", st.Name, st.Module)
		}
		if st.PublicKey == "" || st.Poll <= 0 {
			t.Errorf("stage %s: public_key %q, poll %v: modules must be signed and polled", st.Name, st.PublicKey, st.Poll)
		}
		if st.Capabilities.DynamoDB != nil {
			for _, tb := range st.Capabilities.DynamoDB.Tables {
				if ids[tb] != "AWS::DynamoDB::Table" {
					t.Errorf("stage %s: table %q is not a table of the stack", st.Name, tb)
				}
			}
		}
	}
	for name, o := range cfg.Outputs {
		switch o.Type {
		case "kinesis":
			if ids[o.Stream] != "AWS::Kinesis::Stream" {
				t.Errorf("output %s: stream %q is not a stream of the stack", name, o.Stream)
			}
		case "s3":
			if ids[o.Bucket] != "AWS::S3::Bucket" {
				t.Errorf("output %s: bucket %q is not a bucket of the stack", name, o.Bucket)
			}
		default:
			t.Errorf("output %s: type %s", name, o.Type)
		}
	}
}

// TestEventSourceMapping checks the Kinesis mapping's failure handling.
func TestEventSourceMapping(t *testing.T) {
	tpl := loadTemplate(t)
	_, m := tpl.only(t, "AWS::Lambda::EventSourceMapping")
	if fmt.Sprint(m["FunctionResponseTypes"]) != "[ReportBatchItemFailures]" || m["BisectBatchOnFunctionError"] != true {
		t.Errorf("ReportBatchItemFailures %v, bisect %v", m["FunctionResponseTypes"], m["BisectBatchOnFunctionError"])
	}
	for _, p := range []string{"MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "ParallelizationFactor", "BatchSize", "MaximumBatchingWindowInSeconds", "DestinationConfig"} {
		if m[p] == nil {
			t.Errorf("event source mapping: %s unset", p)
		}
	}
}

// TestMetrics checks that every weir metric the alarms and the dashboard
// use is one the handler emits (lambda.MetricNames, with the namespace
// and dimension of host/lambda), with the pipeline's name as dimension,
// and that the alarms the runbook documents exist.
func TestMetrics(t *testing.T) {
	tpl := loadTemplate(t)
	cfg := pipeline(t, tpl)
	used := map[string]bool{}
	check := func(where, ns, name string, dims map[string]string) {
		if ns != lambda.MetricsNamespace {
			return
		}
		used[name] = true
		if !slices.Contains(lambda.MetricNames, name) {
			t.Errorf("%s: metric %s/%s is not one weir emits (%v)", where, ns, name, lambda.MetricNames)
		}
		if len(dims) != 1 || dims[lambda.MetricsDimension] != cfg.Name {
			t.Errorf("%s: metric %s dimensions %v, want %s=%s", where, name, dims, lambda.MetricsDimension, cfg.Name)
		}
	}
	alarms := map[string]bool{}
	for id, r := range tpl.Resources {
		switch r.Type {
		case "AWS::CloudWatch::Alarm":
			p := r.Properties
			dims := map[string]string{}
			for _, d := range p["Dimensions"].([]any) {
				dm := d.(map[string]any)
				dims[dm["Name"].(string)] = tpl.resolve(t, dm["Value"])
			}
			ns, _ := p["Namespace"].(string)
			name, _ := p["MetricName"].(string)
			check("alarm "+id, ns, name, dims)
			alarms[ns+"/"+name] = true
			if len(p["AlarmActions"].([]any)) == 0 {
				t.Errorf("alarm %s has no action", id)
			}
		case "AWS::CloudWatch::Dashboard":
			var body struct {
				Widgets []struct {
					Properties struct{ Metrics [][]any }
				}
			}
			if err := json.Unmarshal([]byte(tpl.resolve(t, r.Properties["DashboardBody"])), &body); err != nil {
				t.Fatalf("dashboard body: %v", err)
			}
			for _, w := range body.Widgets {
				for _, m := range w.Properties.Metrics {
					// [namespace, name, dimName, dimValue, ..., {options}]
					var strs []string
					for _, x := range m {
						if s, ok := x.(string); ok {
							strs = append(strs, s)
						}
					}
					if len(strs) < 2 {
						continue
					}
					dims := map[string]string{}
					for i := 2; i+1 < len(strs); i += 2 {
						dims[strs[i]] = strs[i+1]
					}
					check("dashboard", strs[0], strs[1], dims)
				}
			}
		}
	}
	for _, want := range []string{"weir/IteratorAge", "weir/RecordsFailed", "weir/UnitsDeadLettered", "weir/SwapsRefused", "weir/BatchDuration", "AWS/Lambda/Errors", "AWS/Lambda/Throttles", "AWS/Lambda/IteratorAge"} {
		if !alarms[want] {
			t.Errorf("no alarm on %s", want)
		}
	}
	for _, name := range lambda.MetricNames {
		if !used[name] {
			t.Errorf("weir emits %s but neither an alarm nor the dashboard shows it", name)
		}
	}
}

// TestPermissionsDocumented checks that the function's policy and the
// README's permission table list the same actions.
func TestPermissionsDocumented(t *testing.T) {
	tpl := loadTemplate(t)
	granted := map[string]bool{}
	for _, r := range tpl.Resources {
		if r.Type != "AWS::IAM::Policy" {
			continue
		}
		for _, st := range r.Properties["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			switch a := st.(map[string]any)["Action"].(type) {
			case string:
				granted[a] = true
			case []any:
				for _, x := range a {
					granted[x.(string)] = true
				}
			}
		}
	}
	for a := range granted {
		if strings.Contains(a, "*") {
			t.Errorf("wildcard action %s", a)
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	// Rows of the permissions table: | `service:Action`, ... | resource | code |
	documented := map[string]bool{}
	for _, line := range strings.Split(string(readme), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cell := strings.Split(line, "|")[1]
		for _, m := range regexp.MustCompile("`([a-z0-9]+:[A-Za-z]+)`").FindAllStringSubmatch(cell, -1) {
			documented[m[1]] = true
		}
	}
	for a := range granted {
		if !documented[a] {
			t.Errorf("the policy grants %s, which README.md's permissions table does not list", a)
		}
	}
	for a := range documented {
		if !granted[a] {
			t.Errorf("README.md lists %s, which the policy does not grant", a)
		}
	}
}
