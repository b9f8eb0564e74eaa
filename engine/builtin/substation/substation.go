package substation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-jsonnet"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
)

// substationKeys are the top-level keys of a Substation config file.
var substationKeys = map[string]bool{"transforms": true, "concurrency": true, "metrics": true}

// ReadFile reads a configuration file, evaluating it first when it is
// Jsonnet (.jsonnet, .libsonnet; imports resolve against its folder).
// Substation configs are written in Jsonnet; a weir pipeline may be too.
// A missing import is an error naming it and how to compile the config
// with Substation's tooling instead.
func ReadFile(path string) ([]byte, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonnet", ".libsonnet":
		return evalJsonnet(path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return data, nil
}

// missingImport finds the file named in go-jsonnet's "couldn't open
// import" error.
var missingImport = regexp.MustCompile(`couldn't open import "([^"]+)"`)

// evalJsonnet evaluates a Jsonnet file; imports resolve against its folder.
func evalJsonnet(path string) ([]byte, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.FileImporter{JPaths: []string{filepath.Dir(path)}})
	out, err := vm.EvaluateAnonymousSnippet(path, string(src))
	if err != nil {
		msg := strings.TrimSpace(err.Error())
		if m := missingImport.FindStringSubmatch(msg); m != nil {
			hint := ""
			if strings.HasSuffix(m[1], "substation.libsonnet") {
				hint = " (Substation's own Jsonnet library is not shipped with weir)"
			}
			return nil, fmt.Errorf("%s: jsonnet: cannot import %q: file not found%s; compile the config with Substation's tooling (jsonnet -J <substation>/build/config %s > config.json) and pass the JSON: %w",
				path, m[1], hint, filepath.Base(path), errors.New(firstLine(msg)))
		}
		return nil, fmt.Errorf("%s: jsonnet: %s", path, msg)
	}
	return []byte(out), nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// IsConfig reports whether data is a Substation config file: a JSON
// object with a "transforms" list and only Substation's top-level keys
// (a weir pipeline has "version" and "stages").
func IsConfig(data []byte) bool {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return false
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return false
	}
	t, ok := top["transforms"]
	if !ok || len(bytes.TrimSpace(t)) == 0 || bytes.TrimSpace(t)[0] != '[' {
		return false
	}
	for k := range top {
		if !substationKeys[k] {
			return false
		}
	}
	return true
}

// Load reads the configuration at path, as "weir run -p" does: a weir
// pipeline (YAML or JSON), a Substation config file (converted, with a
// warning on log saying so and the notes at info level; nil logs
// nothing), or either one as Jsonnet. A Substation config with parts that
// have no weir equivalent is an error listing them all. Relative paths in
// the configuration resolve against its folder, as with
// engine.LoadConfig.
func Load(path string, log *slog.Logger) (*engine.Config, error) {
	if path == "" {
		return nil, errors.New("no pipeline configuration: use -p pipeline.yaml")
	}
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !IsConfig(data) {
		if strings.EqualFold(filepath.Ext(path), ".jsonnet") || strings.EqualFold(filepath.Ext(path), ".libsonnet") {
			return engine.ParseConfigFile(data, path)
		}
		return engine.LoadConfig(path)
	}
	conv, err := Convert(data, path)
	if err != nil {
		return nil, err
	}
	if log != nil {
		log.Warn("reading a Substation config: its transforms run as a built-in stage, its send_* transforms as weir outputs (weir import substation prints the pipeline)",
			"config", path, "transforms", conv.Count, "outputs", len(conv.Outputs))
		for _, n := range conv.Notes {
			log.Info("substation config: "+n, "config", path)
		}
	}
	if err := conv.Err(); err != nil {
		return nil, fmt.Errorf("%s: Substation config: %w", path, err)
	}
	return engine.ParseConfigFile([]byte(conv.YAML()), path)
}

// Conversion is a Substation config turned into a weir pipeline: its
// transforms one built-in stage ("transforms:"), its send_* transforms
// weir outputs. YAML writes it.
type Conversion struct {
	// Name is the pipeline's name: the file's, or its folder's for
	// config.json.
	Name string
	// Transforms are the built-in stage's transforms, the sends taken out
	// (a send closing a meta_switch case becomes an object_insert of its
	// output's name at builtin.RouteKey).
	Transforms []json.RawMessage
	// Count is the number of Substation transforms read (top level).
	Count int
	// Outputs are the weir outputs, by name (engine.DefaultRoute for the
	// send closing the top-level list).
	Outputs map[string]engine.OutputConfig
	// Notes say what is mapped approximately.
	Notes []string
	// Problems say what has no weir equivalent (left out).
	Problems []string

	order    []string // output names, in the order met
	routed   bool     // a meta_switch case routes (send inside a case)
	trailing string   // type of the top-level send, if any
}

// Err returns the Problems joined as one error (one line each), or nil.
func (c *Conversion) Err() error {
	errs := make([]error, len(c.Problems))
	for i, p := range c.Problems {
		errs[i] = errors.New(p)
	}
	return errors.Join(errs...)
}

// substationTransform is one transform object, its settings kept by key.
type substationTransform struct {
	Type     string                     `json:"type"`
	Settings map[string]json.RawMessage `json:"settings,omitempty"`
}

// Convert converts the Substation config file data, read from path (which
// names the pipeline and the errors). What has no weir equivalent is in
// the result's Problems, not the error: the error is for a config that
// does not parse.
func Convert(data []byte, path string) (*Conversion, error) {
	var sc struct {
		Transforms  []json.RawMessage `json:"transforms"`
		Concurrency json.RawMessage   `json:"concurrency"`
		Metrics     json.RawMessage   `json:"metrics"`
	}
	if err := json.Unmarshal(data, &sc); err != nil {
		return nil, fmt.Errorf("%s: Substation config: %w", path, err)
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if abs, err := filepath.Abs(path); err == nil && name == "config" {
		name = filepath.Base(filepath.Dir(abs))
	}
	c := &Conversion{Name: name, Outputs: map[string]engine.OutputConfig{}, Count: len(sc.Transforms)}
	if len(sc.Concurrency) > 0 {
		c.Notes = append(c.Notes, "concurrency is not mapped: weir runs a batch's records on every core")
	}
	if len(sc.Metrics) > 0 {
		c.Notes = append(c.Notes, "metrics is not mapped: weir logs a summary line per batch and `weir run --report` writes metrics")
	}
	out, err := c.list("transforms", sc.Transforms, true)
	if err != nil {
		return nil, fmt.Errorf("%s: Substation config: %w", path, err)
	}
	c.Transforms = out
	switch {
	case c.trailing == "" && !c.routed:
		c.addOutput(engine.DefaultRoute, engine.OutputConfig{Type: engine.OutputStdout})
		c.Notes = append(c.Notes, "the config has no send_* transform: Substation would keep no result; weir writes every record to stdout")
	case c.trailing == "":
		c.addOutput(engine.DefaultRoute, engine.OutputConfig{Type: engine.OutputDiscard})
		c.Notes = append(c.Notes, "records no meta_switch case sends are discarded, as in Substation")
	}
	if len(c.Transforms) > 0 {
		if _, err := builtin.Compile(c.Transforms); err != nil {
			c.Problems = append(c.Problems, err.Error())
		}
	}
	return c, nil
}

// list converts a transforms list. At the top level, send_* transforms
// must close the list; elsewhere they are handled by meta_switch.
func (c *Conversion) list(path string, raws []json.RawMessage, top bool) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(raws))
	for i, raw := range raws {
		p := fmt.Sprintf("%s[%d]", path, i)
		var t substationTransform
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if strings.HasPrefix(t.Type, "send_") {
			if !top {
				c.Problems = append(c.Problems, fmt.Sprintf("%s (%s): a send inside %s has no weir equivalent (weir sends a record once, to the output its route names; sends may close the top-level list or a meta_switch case)", p, t.Type, path))
				continue
			}
			for j := i + 1; j < len(raws); j++ {
				var next substationTransform
				if json.Unmarshal(raws[j], &next) == nil && !strings.HasPrefix(next.Type, "send_") {
					c.Problems = append(c.Problems, fmt.Sprintf("%s (%s) is followed by %s[%d] (%s): Substation sends a copy mid-pipeline; weir sends each record once, after its last transform", p, t.Type, path, j, next.Type))
					break
				}
			}
			if c.trailing != "" {
				c.send(p, t, "")
				c.Problems = append(c.Problems, fmt.Sprintf("%s (%s): a second send after %s: weir sends a record to one output, not to several", p, t.Type, c.trailing))
				continue
			}
			if c.routed {
				c.Problems = append(c.Problems, fmt.Sprintf("%s (%s): records a meta_switch case sent would also be sent here; weir sends a record to one output, not to several", p, t.Type))
			}
			c.trailing = t.Type
			c.send(p, t, engine.DefaultRoute)
			continue
		}
		if c.routed && top && c.trailing == "" {
			c.Problems = append(c.Problems, fmt.Sprintf("%s (%s) follows a meta_switch case that sends: Substation sends before this transform, weir delivers after it", p, t.Type))
		}
		conv, err := c.nested(p, t, raw)
		if err != nil {
			return nil, err
		}
		out = append(out, conv)
	}
	return out, nil
}

// nested converts the transform lists inside t: meta_switch cases (where a
// closing send becomes a route) and the transforms of other meta_*.
func (c *Conversion) nested(p string, t substationTransform, raw json.RawMessage) (json.RawMessage, error) {
	changed := false
	if t.Type == "meta_switch" {
		var cases []map[string]json.RawMessage
		if rc, ok := t.Settings["cases"]; ok {
			if err := json.Unmarshal(rc, &cases); err != nil {
				return nil, fmt.Errorf("%s (meta_switch): settings.cases: %w", p, err)
			}
			for k, cs := range cases {
				cp := fmt.Sprintf("%s.cases[%d]", p, k)
				for _, key := range []string{"transforms", "transform"} {
					rl, ok := cs[key]
					if !ok {
						continue
					}
					var list []json.RawMessage
					if key == "transform" {
						list = []json.RawMessage{rl}
					} else if err := json.Unmarshal(rl, &list); err != nil {
						return nil, fmt.Errorf("%s.%s: %w", cp, key, err)
					}
					conv, err := c.caseList(cp+"."+key, list)
					if err != nil {
						return nil, err
					}
					delete(cs, key)
					b, _ := json.Marshal(conv)
					cs["transforms"] = b
					changed = true
				}
			}
			if changed {
				t.Settings["cases"], _ = json.Marshal(cases)
			}
		}
	} else if rl, ok := t.Settings["transforms"]; ok {
		var list []json.RawMessage
		if err := json.Unmarshal(rl, &list); err == nil {
			conv, err := c.list(p+".settings.transforms", list, false)
			if err != nil {
				return nil, err
			}
			t.Settings["transforms"], _ = json.Marshal(conv)
			changed = true
		}
	}
	if !changed {
		return raw, nil
	}
	return json.Marshal(t)
}

// caseList converts a meta_switch case's transforms: a send closing the
// list becomes an object_insert of the output's name at "meta route".
func (c *Conversion) caseList(path string, raws []json.RawMessage) ([]json.RawMessage, error) {
	n := len(raws)
	var send *substationTransform
	if n > 0 {
		var last substationTransform
		if err := json.Unmarshal(raws[n-1], &last); err == nil && strings.HasPrefix(last.Type, "send_") {
			send, raws = &last, raws[:n-1]
		}
	}
	out, err := c.list(path, raws, false)
	if err != nil {
		return nil, err
	}
	if send == nil {
		return out, nil
	}
	name := c.outputName(*send)
	c.send(fmt.Sprintf("%s[%d]", path, n-1), *send, name)
	c.routed = true
	route, _ := json.Marshal(struct {
		Type     string `json:"type"`
		Settings any    `json:"settings"`
	}{"object_insert", map[string]any{"object": map[string]string{"target_key": builtin.RouteKey}, "value": name}})
	return append(out, route), nil
}

// outputName names the output of a send inside a meta_switch case: its id
// setting, or its weir output type, made unique.
func (c *Conversion) outputName(t substationTransform) string {
	base := ""
	if raw, ok := t.Settings["id"]; ok {
		_ = json.Unmarshal(raw, &base)
	}
	if base == "" {
		base = strings.TrimPrefix(t.Type, "send_")
		base = strings.TrimPrefix(base, "aws_")
	}
	name := base
	for i := 2; ; i++ {
		if _, taken := c.Outputs[name]; !taken && name != engine.DefaultRoute {
			return name
		}
		name = base + "_" + strconv.Itoa(i)
	}
}

func (c *Conversion) addOutput(name string, oc engine.OutputConfig) {
	if _, ok := c.Outputs[name]; !ok {
		c.order = append(c.order, name)
	}
	c.Outputs[name] = oc
}

// awsSettings are the "aws" settings of Substation's AWS sends.
type awsSettings struct {
	ARN           string `json:"arn"`
	Region        string `json:"region"`
	AssumeRoleARN string `json:"assume_role_arn"`
}

// arnParts splits "arn:partition:service:region:account:resource".
func arnParts(arn string) (region, account, resource string, ok bool) {
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" {
		return "", "", "", false
	}
	return f[3], f[4], f[5], true
}

// send maps a send_* transform to a weir output named name (none when
// name is empty: the send is only checked).
func (c *Conversion) send(p string, t substationTransform, name string) {
	where := fmt.Sprintf("%s (%s)", p, t.Type)
	str := func(key string) string {
		var s string
		if raw, ok := t.Settings[key]; ok {
			_ = json.Unmarshal(raw, &s)
		}
		return s
	}
	var aws awsSettings
	if raw, ok := t.Settings["aws"]; ok {
		_ = json.Unmarshal(raw, &aws)
	}
	for _, key := range sortedSettingKeys(t.Settings) {
		switch key {
		case "id", "aws", "file_path", "enable_record_aggregation", "stream_name":
		case "batch":
			c.Notes = append(c.Notes, where+": batch is not mapped: weir delivers each input batch when it is done (outputs batch to the service's own limits)")
		case "auxiliary_transforms", "aux_tforms":
			c.Problems = append(c.Problems, where+": auxiliary_transforms has no weir equivalent (transform the records in the stage before they are sent)")
		default:
			c.Notes = append(c.Notes, fmt.Sprintf("%s: setting %q is not mapped", where, key))
		}
	}
	if aws.AssumeRoleARN != "" {
		c.Notes = append(c.Notes, where+": aws.assume_role_arn is not mapped: weir uses the SDK's default credentials")
	}
	region, account, resource, hasARN := arnParts(aws.ARN)
	if aws.Region != "" {
		region = aws.Region
	}
	needARN := func(what string) bool {
		if !hasARN {
			c.Problems = append(c.Problems, fmt.Sprintf("%s: aws.arn must be the %s ARN (got %q)", where, what, aws.ARN))
		}
		return hasARN
	}
	oc := engine.OutputConfig{Region: region}
	switch t.Type {
	case "send_stdout":
		oc = engine.OutputConfig{Type: engine.OutputStdout}
	case "send_file":
		var fp struct {
			Prefix string `json:"prefix"`
			Suffix string `json:"suffix"`
		}
		if raw, ok := t.Settings["file_path"]; ok {
			_ = json.Unmarshal(raw, &fp)
		}
		file := "substation" + fp.Suffix
		if fp.Suffix == "" {
			file += ".ndjson"
		}
		oc = engine.OutputConfig{Type: engine.OutputFile, Path: filepath.Join(fp.Prefix, file)}
		c.Notes = append(c.Notes, where+": Substation writes one file per batch (prefix/time_format/uuid); weir appends NDJSON to one file, "+oc.Path)
	case "send_aws_kinesis_data_stream":
		oc.Type = engine.OutputKinesis
		switch {
		case hasARN:
			// The name, not the ARN: with an ARN the SDK resolves an
			// account-specific endpoint and ignores AWS_ENDPOINT_URL.
			oc.Stream = strings.TrimPrefix(resource, "stream/")
		case str("stream_name") != "":
			oc.Stream = str("stream_name")
		default:
			needARN("Kinesis data stream")
			return
		}
		var agg bool
		if raw, ok := t.Settings["enable_record_aggregation"]; ok {
			_ = json.Unmarshal(raw, &agg)
		}
		oc.Aggregate = &agg
	case "send_aws_data_firehose":
		if !needARN("Firehose delivery stream") {
			return
		}
		oc.Type, oc.Stream = engine.OutputFirehose, strings.TrimPrefix(resource, "deliverystream/")
	case "send_aws_s3":
		if !needARN("S3 bucket") {
			return
		}
		oc.Type, oc.Bucket = engine.OutputS3, resource
		if _, ok := t.Settings["file_path"]; ok {
			c.Notes = append(c.Notes, where+": file_path is not mapped: weir names objects with the s3 output's key template")
		}
	case "send_aws_sqs":
		if !needARN("SQS queue") {
			return
		}
		oc.Type = engine.OutputSQS
		oc.QueueURL = fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", region, account, resource)
	case "send_aws_dynamodb_put":
		if !needARN("DynamoDB table") {
			return
		}
		oc.Type, oc.Table = engine.OutputDynamoDB, strings.TrimPrefix(resource, "table/")
	default:
		c.Problems = append(c.Problems, fmt.Sprintf("%s has no weir output (weir outputs: stdout, stderr, file, kinesis, firehose, s3, sqs, dynamodb)", where))
		return
	}
	if name != "" {
		c.addOutput(name, oc)
	}
}

func sortedSettingKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// YAML writes the pipeline, as "weir import substation" prints it: the
// notes ("# note:") and problems ("# NOT CONVERTED:") as comments, the
// transforms one JSON object per line (JSON is YAML), then the outputs.
func (c *Conversion) YAML() string {
	var b strings.Builder
	b.WriteString("# Converted from a Substation config by weir import substation.\n")
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "# note: %s\n", n)
	}
	for _, p := range c.Problems {
		fmt.Fprintf(&b, "# NOT CONVERTED: %s\n", p)
	}
	b.WriteString("version: 1\n")
	fmt.Fprintf(&b, "name: %s\n", yamlString(c.Name))
	b.WriteString("stages:\n")
	if len(c.Transforms) == 0 {
		// A config of sends only: the records pass through unchanged.
		b.WriteString("  - name: substation\n    transforms:\n      # no transforms: records pass through unchanged\n      - {\"type\":\"meta_switch\",\"settings\":{\"cases\":[]}}\n")
	} else {
		b.WriteString("  - name: substation\n    transforms:\n")
		for _, t := range c.Transforms {
			var buf bytes.Buffer
			_ = json.Compact(&buf, t)
			fmt.Fprintf(&b, "      - %s\n", buf.String())
		}
	}
	b.WriteString("outputs:\n")
	for _, name := range c.order {
		oc := c.Outputs[name]
		fmt.Fprintf(&b, "  %s:\n    type: %s\n", yamlString(name), oc.Type)
		for _, kv := range [][2]string{
			{"path", oc.Path}, {"stream", oc.Stream}, {"bucket", oc.Bucket}, {"queue_url", oc.QueueURL},
			{"table", oc.Table}, {"region", oc.Region},
		} {
			if kv[1] != "" {
				fmt.Fprintf(&b, "    %s: %s\n", kv[0], yamlString(kv[1]))
			}
		}
		if oc.Aggregate != nil {
			fmt.Fprintf(&b, "    aggregate: %t\n", *oc.Aggregate)
		}
	}
	return b.String()
}

// yamlString quotes s as a YAML (JSON) string.
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
