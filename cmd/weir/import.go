package main

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
	"github.com/spf13/cobra"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
)

// This file reads Substation configurations: the JSON a Substation Jsonnet
// config compiles to ({"transforms": [...]}), or the .jsonnet source when
// go-jsonnet can evaluate it on its own. A Substation config becomes a
// weir pipeline: its transforms a built-in stage, its send_* transforms
// weir outputs. "weir run -p" does that on the fly; "weir import
// substation" prints the pipeline YAML.

// substationKeys are the top-level keys of a Substation config file.
var substationKeys = map[string]bool{"transforms": true, "concurrency": true, "metrics": true}

// readPipelineSource reads a configuration file, evaluating it first when
// it is Jsonnet (.jsonnet, .libsonnet).
func readPipelineSource(path string) ([]byte, error) {
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

// isSubstationConfig reports whether data is a Substation config file: a
// JSON object with a "transforms" list and only Substation's top-level
// keys (a weir pipeline has "version" and "stages").
func isSubstationConfig(data []byte) bool {
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

// loadPipeline reads a configuration: a weir pipeline (YAML or JSON), a
// Substation config file (converted, with a log line saying so), or
// either one as Jsonnet.
func loadPipeline(path string, log *slog.Logger) (*engine.Config, error) {
	if path == "" {
		return nil, errors.New("no pipeline configuration: use -p pipeline.yaml")
	}
	data, err := readPipelineSource(path)
	if err != nil {
		return nil, err
	}
	if !isSubstationConfig(data) {
		if strings.EqualFold(filepath.Ext(path), ".jsonnet") || strings.EqualFold(filepath.Ext(path), ".libsonnet") {
			return finishConfig(engine.ParseConfig(data, path))(path)
		}
		return engine.LoadConfig(path)
	}
	conv, err := convertSubstation(data, path)
	if err != nil {
		return nil, err
	}
	if log != nil {
		log.Warn("reading a Substation config: its transforms run as a built-in stage, its send_* transforms as weir outputs (weir import substation prints the pipeline)",
			"config", path, "transforms", conv.count, "outputs", len(conv.outputs))
		for _, n := range conv.notes {
			log.Info("substation config: "+n, "config", path)
		}
	}
	if len(conv.problems) > 0 {
		return nil, fmt.Errorf("%s: Substation config: %w", path, errors.Join(conv.problemErrors()...))
	}
	return finishConfig(engine.ParseConfig([]byte(conv.yaml()), path))(path)
}

// finishConfig sets what LoadConfig sets after parsing: the folder of the
// file, against which relative paths resolve.
func finishConfig(cfg *engine.Config, err error) func(path string) (*engine.Config, error) {
	return func(path string) (*engine.Config, error) {
		if err != nil {
			return nil, err
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		cfg.Dir = filepath.Dir(abs)
		for i := range cfg.Stages {
			cfg.Stages[i].Capabilities = cfg.Stages[i].Capabilities.WithBaseDir(cfg.Dir)
		}
		return cfg, nil
	}
}

// conversion is a Substation config turned into a weir pipeline.
type conversion struct {
	name       string
	transforms []json.RawMessage // the built-in stage
	count      int               // Substation transforms read (top level)
	outputs    map[string]engine.OutputConfig
	order      []string // output names, in the order met
	notes      []string // what is mapped approximately (comments)
	problems   []string // what has no weir equivalent
	routed     bool     // a meta_switch case routes (send inside a case)
	trailing   string   // type of the top-level send, if any
}

func (c *conversion) problemErrors() []error {
	errs := make([]error, len(c.problems))
	for i, p := range c.problems {
		errs[i] = errors.New(p)
	}
	return errs
}

// substationTransform is one transform object, its settings kept by key.
type substationTransform struct {
	Type     string                     `json:"type"`
	Settings map[string]json.RawMessage `json:"settings,omitempty"`
}

// convertSubstation converts a Substation config file.
func convertSubstation(data []byte, path string) (*conversion, error) {
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
	c := &conversion{name: name, outputs: map[string]engine.OutputConfig{}, count: len(sc.Transforms)}
	if len(sc.Concurrency) > 0 {
		c.notes = append(c.notes, "concurrency is not mapped: weir runs a batch's records on every core")
	}
	if len(sc.Metrics) > 0 {
		c.notes = append(c.notes, "metrics is not mapped: weir logs a summary line per batch and `weir run --report` writes metrics")
	}
	out, err := c.list("transforms", sc.Transforms, true)
	if err != nil {
		return nil, fmt.Errorf("%s: Substation config: %w", path, err)
	}
	c.transforms = out
	switch {
	case c.trailing == "" && !c.routed:
		c.addOutput(engine.DefaultRoute, engine.OutputConfig{Type: engine.OutputStdout})
		c.notes = append(c.notes, "the config has no send_* transform: Substation would keep no result; weir writes every record to stdout")
	case c.trailing == "":
		c.addOutput(engine.DefaultRoute, engine.OutputConfig{Type: engine.OutputDiscard})
		c.notes = append(c.notes, "records no meta_switch case sends are discarded, as in Substation")
	}
	if len(c.transforms) > 0 {
		if _, err := builtin.Compile(c.transforms); err != nil {
			c.problems = append(c.problems, err.Error())
		}
	}
	return c, nil
}

// list converts a transforms list. At the top level, send_* transforms
// must close the list; elsewhere they are handled by meta_switch.
func (c *conversion) list(path string, raws []json.RawMessage, top bool) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(raws))
	for i, raw := range raws {
		p := fmt.Sprintf("%s[%d]", path, i)
		var t substationTransform
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if strings.HasPrefix(t.Type, "send_") {
			if !top {
				c.problems = append(c.problems, fmt.Sprintf("%s (%s): a send inside %s has no weir equivalent (weir sends a record once, to the output its route names; sends may close the top-level list or a meta_switch case)", p, t.Type, path))
				continue
			}
			for j := i + 1; j < len(raws); j++ {
				var next substationTransform
				if json.Unmarshal(raws[j], &next) == nil && !strings.HasPrefix(next.Type, "send_") {
					c.problems = append(c.problems, fmt.Sprintf("%s (%s) is followed by %s[%d] (%s): Substation sends a copy mid-pipeline; weir sends each record once, after its last transform", p, t.Type, path, j, next.Type))
					break
				}
			}
			if c.trailing != "" {
				c.send(p, t, "")
				c.problems = append(c.problems, fmt.Sprintf("%s (%s): a second send after %s: weir sends a record to one output, not to several", p, t.Type, c.trailing))
				continue
			}
			if c.routed {
				c.problems = append(c.problems, fmt.Sprintf("%s (%s): records a meta_switch case sent would also be sent here; weir sends a record to one output, not to several", p, t.Type))
			}
			c.trailing = t.Type
			c.send(p, t, engine.DefaultRoute)
			continue
		}
		if c.routed && top && c.trailing == "" {
			c.problems = append(c.problems, fmt.Sprintf("%s (%s) follows a meta_switch case that sends: Substation sends before this transform, weir delivers after it", p, t.Type))
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
func (c *conversion) nested(p string, t substationTransform, raw json.RawMessage) (json.RawMessage, error) {
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
func (c *conversion) caseList(path string, raws []json.RawMessage) ([]json.RawMessage, error) {
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
func (c *conversion) outputName(t substationTransform) string {
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
		if _, taken := c.outputs[name]; !taken && name != engine.DefaultRoute {
			return name
		}
		name = base + "_" + strconv.Itoa(i)
	}
}

func (c *conversion) addOutput(name string, oc engine.OutputConfig) {
	if _, ok := c.outputs[name]; !ok {
		c.order = append(c.order, name)
	}
	c.outputs[name] = oc
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
func (c *conversion) send(p string, t substationTransform, name string) {
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
			c.notes = append(c.notes, where+": batch is not mapped: weir delivers each input batch when it is done (outputs batch to the service's own limits)")
		case "auxiliary_transforms", "aux_tforms":
			c.problems = append(c.problems, where+": auxiliary_transforms has no weir equivalent (transform the records in the stage before they are sent)")
		default:
			c.notes = append(c.notes, fmt.Sprintf("%s: setting %q is not mapped", where, key))
		}
	}
	if aws.AssumeRoleARN != "" {
		c.notes = append(c.notes, where+": aws.assume_role_arn is not mapped: weir uses the SDK's default credentials")
	}
	region, account, resource, hasARN := arnParts(aws.ARN)
	if aws.Region != "" {
		region = aws.Region
	}
	needARN := func(what string) bool {
		if !hasARN {
			c.problems = append(c.problems, fmt.Sprintf("%s: aws.arn must be the %s ARN (got %q)", where, what, aws.ARN))
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
		c.notes = append(c.notes, where+": Substation writes one file per batch (prefix/time_format/uuid); weir appends NDJSON to one file, "+oc.Path)
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
			c.notes = append(c.notes, where+": file_path is not mapped: weir names objects with the s3 output's key template")
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
		c.problems = append(c.problems, fmt.Sprintf("%s has no weir output (weir outputs: stdout, stderr, file, kinesis, firehose, s3, sqs, dynamodb)", where))
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

// yaml writes the pipeline: notes and problems as comments, the
// transforms one JSON object per line (JSON is YAML).
func (c *conversion) yaml() string {
	var b strings.Builder
	b.WriteString("# Converted from a Substation config by weir import substation.\n")
	for _, n := range c.notes {
		fmt.Fprintf(&b, "# note: %s\n", n)
	}
	for _, p := range c.problems {
		fmt.Fprintf(&b, "# NOT CONVERTED: %s\n", p)
	}
	b.WriteString("version: 1\n")
	fmt.Fprintf(&b, "name: %s\n", yamlString(c.name))
	b.WriteString("stages:\n")
	if len(c.transforms) == 0 {
		// A config of sends only: the records pass through unchanged.
		b.WriteString("  - name: substation\n    transforms:\n      # no transforms: records pass through unchanged\n      - {\"type\":\"meta_switch\",\"settings\":{\"cases\":[]}}\n")
	} else {
		b.WriteString("  - name: substation\n    transforms:\n")
		for _, t := range c.transforms {
			var buf bytes.Buffer
			_ = json.Compact(&buf, t)
			fmt.Fprintf(&b, "      - %s\n", buf.String())
		}
	}
	b.WriteString("outputs:\n")
	for _, name := range c.order {
		oc := c.outputs[name]
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

func newImportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Convert other tools' configurations to weir pipelines",
	}
	var force bool
	sub := &cobra.Command{
		Use:   "substation config.json|config.jsonnet",
		Short: "Print the weir pipeline YAML equivalent to a Substation config",
		Long: `Import substation reads a Substation config file ({"transforms": [...]}, as
Substation's Jsonnet compiles to, or the .jsonnet source when it imports
nothing weir lacks) and prints the equivalent weir pipeline: the transforms
become one built-in stage ("transforms:"), a send_* transform closing the
list becomes the default output, and a send_* closing a meta_switch case
becomes a named output the case routes to ("meta route"). send_stdout and
send_file map to stdout and file, send_aws_kinesis_data_stream to kinesis,
send_aws_data_firehose to firehose, send_aws_s3 to s3, send_aws_sqs to sqs,
send_aws_dynamodb_put to dynamodb. What is mapped approximately is listed
as "# note:" comments; what has no weir equivalent as "# NOT CONVERTED:"
comments, and the exit status is then 2 unless --force.

"weir run -p config.json" runs a Substation config directly, converting it
the same way (and refusing what is not converted).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			data, err := readPipelineSource(path)
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			if !isSubstationConfig(data) {
				return fmt.Errorf("import: %s: not a Substation config (want a JSON object with a \"transforms\" list)", path)
			}
			conv, err := convertSubstation(data, path)
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			text := conv.yaml()
			if _, err := engine.ParseConfig([]byte(text), path); err != nil && len(conv.problems) == 0 {
				return fmt.Errorf("import: the converted pipeline is invalid: %w", err)
			}
			fmt.Fprint(g.stdout, text)
			if len(conv.problems) > 0 {
				for _, p := range conv.problems {
					fmt.Fprintf(g.stderr, "weir: import: not converted: %s\n", p)
				}
				if !force {
					return exitError{code: exitUsage}
				}
			}
			return nil
		},
	}
	sub.Flags().BoolVar(&force, "force", false, "print the pipeline and exit 0 even when parts have no weir equivalent (they are left out, as comments)")
	cmd.AddCommand(sub)
	return cmd
}
