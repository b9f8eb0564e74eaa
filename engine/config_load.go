package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/token"
)

// Defaults and bounds applied by ApplyDefaults and checked by Validate.
const (
	// DefaultMemoryPages is the default Limits.MemoryPages (64 MiB).
	DefaultMemoryPages = 1024
	// MaxMemoryPages is the largest Limits.MemoryPages (4 GiB, the whole
	// 32-bit Wasm address space).
	MaxMemoryPages = 65536
	// DefaultTimeout is the default Limits.Timeout.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxOutputBytes is the default Limits.MaxOutputBytes (64 MiB).
	DefaultMaxOutputBytes = 64 << 20
	// MaxMaxOutputBytes is the largest Limits.MaxOutputBytes (4 GiB: a
	// module cannot return more than its address space).
	MaxMaxOutputBytes = 4 << 30
	// DefaultFunction is the default StageConfig.Function.
	DefaultFunction = "transform"
	// DefaultRoute is the output that receives records with an empty route.
	DefaultRoute = "default"
)

// Values of StageConfig.Entry.
const (
	EntryAuto   = "auto"
	EntryFast   = "fast"
	EntryBatch  = "batch"
	EntryRecord = "record"
)

// Values of StageConfig.OnError.
const (
	OnErrorFail       = "fail"
	OnErrorDrop       = "drop"
	OnErrorDeadLetter = "dead_letter"
)

// Values of OutputConfig.Type.
const (
	OutputStdout  = "stdout"
	OutputStderr  = "stderr"
	OutputFile    = "file"
	OutputDiscard = "discard"
	// The AWS outputs; their sinks live outside engine (RegisterSink).
	OutputKinesis     = "kinesis"
	OutputFirehose    = "firehose"
	OutputS3          = "s3"
	OutputSQS         = "sqs"
	OutputDynamoDB    = "dynamodb"
	OutputSNS         = "sns"
	OutputEventBridge = "eventbridge"
	OutputLambda      = "lambda"
	// OutputHTTP POSTs batches to an allow-listed endpoint.
	OutputHTTP = "http"
)

// Values of OutputConfig.Preset.
const (
	PresetSplunkHEC     = "splunk_hec"
	PresetDatadog       = "datadog"
	PresetElasticsearch = "elasticsearch"
	PresetSumoLogic     = "sumologic"
)

// Values of OutputConfig.Format.
const (
	HTTPFormatNDJSON    = "ndjson"
	HTTPFormatJSONArray = "json_array"
)

// Values of OutputConfig.Compression.
const (
	CompressionGzip = "gzip"
	CompressionZstd = "zstd"
	CompressionNone = "none"
)

// DefaultS3Key is the default OutputConfig.Key.
const DefaultS3Key = "{date}/{hour}/{uuid}.ndjson{ext}"

// outputFields lists, per output type, the fields it requires and the
// optional ones it accepts (by YAML name).
var outputFields = map[string]struct{ required, optional []string }{
	OutputStdout:      {},
	OutputStderr:      {},
	OutputDiscard:     {},
	OutputFile:        {required: []string{"path"}},
	OutputKinesis:     {required: []string{"stream"}, optional: []string{"aggregate", "endpoint", "region", "max_attempts", "max_record_bytes"}},
	OutputFirehose:    {required: []string{"stream"}, optional: []string{"endpoint", "region", "max_attempts"}},
	OutputS3:          {required: []string{"bucket"}, optional: []string{"key", "compression", "endpoint", "region", "max_attempts"}},
	OutputSQS:         {required: []string{"queue_url"}, optional: []string{"endpoint", "region", "max_attempts"}},
	OutputDynamoDB:    {required: []string{"table"}, optional: []string{"endpoint", "region", "max_attempts"}},
	OutputSNS:         {required: []string{"topic_arn"}, optional: []string{"endpoint", "region", "max_attempts"}},
	OutputEventBridge: {optional: []string{"event_bus", "source", "detail_type", "endpoint", "region", "max_attempts"}},
	OutputLambda:      {required: []string{"function"}, optional: []string{"invocation_type", "endpoint", "region", "max_attempts"}},
	OutputHTTP: {required: []string{"url", "allow_hosts"}, optional: []string{"preset", "headers", "token", "format", "compression",
		"max_request_bytes", "max_request_entries", "max_entry_bytes", "index", "allow_private", "max_attempts"}},
}

// outputTypeList is the list of output types, for messages.
const outputTypeList = "stdout, stderr, file, discard, kinesis, firehose, s3, sqs, dynamodb, sns, eventbridge, lambda, http"

// moreOutputFields are optional fields added by issue #13 (kept apart
// from outputFields so that the table's lines stay as they were).
var moreOutputFields = map[string][]string{
	OutputS3:  {"storage_class", "checksum_algorithm"},
	OutputSQS: {"message_group_key", "dedup_key"},
	// PutRecords over CBOR (issue #11).
	OutputKinesis: {"protocol"},
}

// optionalFields lists the optional fields of output type typ: its own,
// assume_role_arn for the AWS outputs (those taking a region), and batch
// and batch_key for every type but stdout, stderr and discard.
func optionalFields(typ string) []string {
	opt := append(append([]string(nil), outputFields[typ].optional...), moreOutputFields[typ]...)
	if contains(opt, "region") {
		opt = append(opt, "assume_role_arn")
	}
	if !contains([]string{OutputStdout, OutputStderr, OutputDiscard}, typ) {
		opt = append(opt, "batch", "batch_key")
	}
	return opt
}

// typesUsing lists the output types that use field, for messages.
func typesUsing(field string) string {
	var types []string
	for _, t := range sortedKeys(outputFields) {
		if contains(outputFields[t].required, field) || contains(optionalFields(t), field) {
			types = append(types, t)
		}
	}
	return strings.Join(types, ", ")
}

// setFields returns the YAML names of the fields of oc that are set.
func (oc OutputConfig) setFields() map[string]bool {
	set := map[string]bool{}
	for name, v := range map[string]bool{
		"path": oc.Path != "", "stream": oc.Stream != "", "bucket": oc.Bucket != "", "key": oc.Key != "",
		"compression": oc.Compression != "", "queue_url": oc.QueueURL != "", "table": oc.Table != "",
		"aggregate": oc.Aggregate != nil, "endpoint": oc.Endpoint != "", "region": oc.Region != "",
		"max_attempts": oc.MaxAttempts != 0, "max_record_bytes": oc.MaxRecordBytes != 0,
		"url": oc.URL != "", "preset": oc.Preset != "", "headers": len(oc.Headers) > 0, "token": oc.Token != "",
		"format": oc.Format != "", "max_request_bytes": oc.MaxRequestBytes != 0, "max_request_entries": oc.MaxRequestEntries != 0,
		"max_entry_bytes": oc.MaxEntryBytes != 0, "index": oc.Index != "", "allow_hosts": len(oc.AllowHosts) > 0,
		"allow_private": oc.AllowPrivate, "topic_arn": oc.TopicARN != "", "event_bus": oc.EventBus != "", "source": oc.Source != "",
		"detail_type": oc.DetailType != "", "function": oc.Function != "", "invocation_type": oc.InvocationType != "",
	} {
		if v {
			set[name] = true
		}
	}
	for name, v := range map[string]bool{
		"batch": oc.Batch != nil, "batch_key": oc.BatchKey != "", "assume_role_arn": oc.AssumeRoleARN != "",
		"storage_class": oc.StorageClass != "", "checksum_algorithm": oc.ChecksumAlgorithm != "",
		"message_group_key": oc.MessageGroupKey != "", "dedup_key": oc.DedupKey != "", "protocol": oc.Protocol != "",
	} {
		if v {
			set[name] = true
		}
	}
	return set
}

// moduleSchemes are the module URI schemes a configuration may use; a
// module without "://" is a path.
var moduleSchemes = []string{"file", "s3", "appconfig", "https"}

// ErrInvalidConfig is matched by errors.Is for every problem LoadConfig,
// ParseConfig, Validate and NewPipeline find in a configuration.
var ErrInvalidConfig = errors.New("invalid pipeline configuration")

// ConfigError is one problem in a configuration. Validate joins several of
// them with errors.Join; use errors.As to get the first.
type ConfigError struct {
	// Source is the configuration's file name, or "config" when unknown.
	Source string
	// Line and Column locate the problem in the source (1-based); zero
	// when the problem is about a value rather than a place.
	Line, Column int
	// Field is the path of the offending field, such as
	// "stages[1].on_error"; empty for syntax errors.
	Field string
	// Msg says what is wrong.
	Msg string
}

// Error formats the problem as "source[:line:col]: [field: ]msg".
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is reports whether target is ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// positionError carries a YAML position out of a value unmarshaler.
type positionError struct {
	tok *token.Token
	msg string
}

func (e *positionError) Error() string { return e.msg }

// LoadConfig reads, decodes, defaults and validates the configuration file
// at path (YAML or JSON, by content). Config.Dir is set to the file's
// absolute folder.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseConfigFile(data, path)
}

// ParseConfigFile is ParseConfig for the contents of the file at path
// (read by the caller, or made from it: a converted Substation config),
// setting what LoadConfig sets: Config.Dir is the file's absolute folder,
// against which module and capability paths resolve.
func ParseConfigFile(data []byte, path string) (*Config, error) {
	cfg, err := ParseConfig(data, path)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg.Dir = filepath.Dir(abs)
	// Capability files (dns.static, tables, mmdb) are relative to the
	// configuration file, like module paths.
	for i := range cfg.Stages {
		cfg.Stages[i].Capabilities = cfg.Stages[i].Capabilities.WithBaseDir(cfg.Dir)
	}
	return cfg, nil
}

// ParseConfig decodes a configuration from YAML or JSON (JSON is YAML), then
// applies defaults and validates it. Decoding is strict: unknown keys,
// duplicate keys and values of the wrong type are errors that give their
// line and column. name labels the source in errors ("pipeline.yaml");
// Config.Dir is left empty (the current directory).
func ParseConfig(data []byte, name string) (*Config, error) {
	if name == "" {
		name = "config"
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &ConfigError{Source: name, Msg: "empty configuration"}
	}
	cfg := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.Strict())
	if err := dec.Decode(cfg); err != nil {
		if err == io.EOF {
			return nil, &ConfigError{Source: name, Msg: "empty configuration"}
		}
		return nil, decodeError(name, err)
	}
	var extra any
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return nil, decodeError(name, err)
		}
		return nil, &ConfigError{Source: name, Msg: "only one YAML document is allowed (found a \"---\" separator followed by another document)"}
	}
	cfg.source = name
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// decodeError turns a goccy/go-yaml error into a ConfigError with the
// error's position and without its source excerpt.
func decodeError(name string, err error) error {
	ce := &ConfigError{Source: name, Msg: err.Error()}
	var (
		pe  *positionError
		te  *yaml.TypeError
		oe  *yaml.OverflowError
		ye  yaml.Error
		tok *token.Token
	)
	switch {
	case errors.As(err, &pe):
		ce.Msg, tok = pe.msg, pe.tok
		ce.Field = keyOf(tok)
	case errors.As(err, &te):
		// goccy names Go types and fields ("Go struct field
		// Config.Stages of type uint32"); say it in the file's terms.
		ce.Msg, tok = fmt.Sprintf("want %s, got %s", yamlKind(te.DstType), yamlKind(te.SrcType)), te.Token
		ce.Field = keyOf(tok)
	case errors.As(err, &oe):
		ce.Msg, tok = fmt.Sprintf("%s is out of range for %s", oe.SrcNum, oe.DstType), oe.Token
		ce.Field = keyOf(tok)
	case errors.As(err, &ye):
		ce.Msg, tok = ye.GetMessage(), ye.GetToken()
	}
	if tok != nil {
		ce.Line, ce.Column = tok.Position.Line, tok.Position.Column
	}
	return ce
}

// keyOf returns the mapping key a value token belongs to, or "".
func keyOf(tok *token.Token) string {
	if tok == nil || tok.Prev == nil || tok.Prev.Type != token.MappingValueType || tok.Prev.Prev == nil {
		return ""
	}
	return tok.Prev.Prev.Value
}

// yamlKind names a Go type the way a configuration author thinks of it.
func yamlKind(t reflect.Type) string {
	if t == nil {
		return "nothing"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

// ApplyDefaults fills every unset field that has a default: stage names
// (the module's base name without extension), entry "auto", function
// "transform", on_error "fail", the limits (DefaultMemoryPages,
// DefaultTimeout, DefaultMaxOutputBytes), instances (the CPUs the Go runtime uses:
// GOMAXPROCS, which follows the container's CPU limit),
// and a "default" output on stdout when none is configured. It does not
// validate.
func (c *Config) ApplyDefaults() {
	for i := range c.Stages {
		if c.Stages[i].Name == "" && c.Stages[i].IsBuiltin() {
			c.Stages[i].Name = builtinStageName(i)
		}
		c.Stages[i] = c.Stages[i].withDefaults()
	}
	if c.Outputs == nil {
		c.Outputs = map[string]OutputConfig{}
	}
	if _, ok := c.Outputs[DefaultRoute]; !ok {
		c.Outputs[DefaultRoute] = OutputConfig{Type: OutputStdout}
	}
}

func (sc StageConfig) withDefaults() StageConfig {
	if sc.Name == "" {
		sc.Name = defaultStageName(sc.Module)
	}
	if sc.Entry == "" {
		sc.Entry = EntryAuto
	}
	if sc.Function == "" {
		sc.Function = DefaultFunction
	}
	if sc.OnError == "" {
		sc.OnError = OnErrorFail
	}
	if sc.Limits.MemoryPages == 0 {
		sc.Limits.MemoryPages = DefaultMemoryPages
	}
	if sc.Limits.Timeout == 0 {
		sc.Limits.Timeout = Duration(DefaultTimeout)
	}
	if sc.Limits.MaxOutputBytes == 0 {
		sc.Limits.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if sc.Instances == 0 {
		sc.Instances = runtime.GOMAXPROCS(0)
	}
	return sc
}

// builtinStageName is the default name of a built-in stage:
// "transforms-<index>".
func builtinStageName(i int) string { return fmt.Sprintf("transforms-%d", i) }

// defaultStageName is the module's base name without its extension:
// "s3://b/mods/normalize.wasm?versionId=3" gives "normalize".
func defaultStageName(module string) string {
	m := module
	if i := strings.IndexAny(m, "?#"); i >= 0 && strings.Contains(m, "://") {
		m = m[:i]
	}
	m = strings.TrimRight(m, "/")
	if i := strings.LastIndexAny(m, `/\`); i >= 0 {
		m = m[i+1:]
	}
	if i := strings.LastIndexByte(m, '.'); i > 0 {
		m = m[:i]
	}
	return m
}
