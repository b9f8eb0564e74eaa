package engine

import "time"

// Config is a pipeline configuration, read from YAML or JSON. See the
// README's "Pipeline configuration" section for every field.
type Config struct {
	// Version of the configuration format; must be 1.
	Version int `json:"version" yaml:"version"`
	// Name names the pipeline in logs and metrics.
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Stages run in order; the outputs of one stage are the inputs of the
	// next.
	Stages []StageConfig `json:"stages" yaml:"stages"`
	// Outputs maps route names to sinks. The route "default" receives
	// records whose route is empty; when absent, it is stdout.
	Outputs map[string]OutputConfig `json:"outputs,omitempty" yaml:"outputs,omitempty"`
	// Sources configures how remote module references are fetched
	// (s3://, appconfig://, https://).
	Sources SourcesConfig `json:"sources,omitempty" yaml:"sources,omitempty"`
	// Secrets configures how ${secret:ID} references are read from AWS
	// Secrets Manager.
	Secrets SecretsConfig `json:"secrets,omitempty" yaml:"secrets,omitempty"`

	// Dir is the folder of the configuration file; relative module paths
	// and relative file output paths are resolved against it. LoadConfig
	// sets it to the file's absolute folder; empty means the current
	// directory.
	Dir string `json:"-" yaml:"-"`

	// source names where the configuration was read from, for errors.
	source string
	// secrets are the values references resolved to (Resolved), longest
	// first, for Redact.
	secrets []redaction
}

// StageConfig configures one stage: a Wasm module and its settings.
type StageConfig struct {
	// Name identifies the stage in errors, logs and metrics. Defaults to
	// the module file's base name.
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Module is the module reference: a path, file://path, s3://bucket/key,
	// appconfig://app/env/profile or https://host/path. Relative paths are
	// resolved against the configuration file's folder. A stage has either
	// a module or transforms.
	Module string `json:"module,omitempty" yaml:"module,omitempty"`
	// Transforms makes the stage a built-in stage: a list of Substation
	// transform objects ({"type": "object_copy", "settings": {...}}) run
	// natively by package engine/builtin, in place of a module. The
	// module-only fields (sha256, entry, function, config, limits,
	// instances, signatures, poll, smoke, capabilities) do not apply.
	Transforms []RawTransform `json:"transforms,omitempty" yaml:"transforms,omitempty"`
	// SHA256 optionally pins the module's digest (hex, optionally prefixed
	// with "sha256:"). A module whose digest differs is refused.
	SHA256 string `json:"sha256,omitempty" yaml:"sha256,omitempty"`
	// Entry chooses how the host calls the module: "auto" (default: the
	// fast path when exported, else the plain Extism batch export, else
	// per-record), "fast", "batch" (plain Extism export taking a batch
	// frame), or "record" (an unmodified Extism plugin called once per
	// record with the record as input and its output as the record).
	Entry string `json:"entry,omitempty" yaml:"entry,omitempty"`
	// Function names the export called in "record" mode (default
	// "transform").
	Function string `json:"function,omitempty" yaml:"function,omitempty"`
	// Config is handed to the module (Extism config_get).
	Config map[string]string `json:"config,omitempty" yaml:"config,omitempty"`
	// Limits bound what the module may use.
	Limits Limits `json:"limits,omitempty" yaml:"limits,omitempty"`
	// Instances is how many module instances run a batch in parallel.
	// Defaults to the CPUs the Go runtime uses (GOMAXPROCS).
	Instances int `json:"instances,omitempty" yaml:"instances,omitempty"`
	// OnError is the record error policy: "fail" (default: the record is
	// reported failed), "drop" (the record is dropped and counted), or
	// "dead_letter" (the record goes to the DeadLetter output with its
	// error).
	OnError string `json:"on_error,omitempty" yaml:"on_error,omitempty"`
	// DeadLetter names the output failed records go to when OnError is
	// "dead_letter".
	DeadLetter string `json:"dead_letter,omitempty" yaml:"dead_letter,omitempty"`

	// PublicKey, when set, requires the module to be signed: an ed25519
	// public key, "ed25519:" followed by its 32 bytes in standard base64
	// (as written by "weir sign --generate-key").
	PublicKey string `json:"public_key,omitempty" yaml:"public_key,omitempty"`
	// Signature is the reference of the module's signature (base64 of the
	// 64-byte ed25519 signature of the module's bytes). Defaults to the
	// module reference with ".sig" appended to its path.
	Signature string `json:"signature,omitempty" yaml:"signature,omitempty"`
	// Poll is how often the module's source is checked for a new version
	// (hot swap). Zero (the default) loads the module once. AppConfigData
	// sources never poll faster than the server's Next-Poll-Interval.
	Poll Duration `json:"poll,omitempty" yaml:"poll,omitempty"`
	// MaxModuleBytes caps the size of a fetched module (default 128 MiB);
	// a larger version is refused before it is read in full.
	MaxModuleBytes int64 `json:"max_module_bytes,omitempty" yaml:"max_module_bytes,omitempty"`
	// Smoke lists records a new version of the module must process before
	// it is swapped in (and the first version before it serves).
	Smoke []SmokeTest `json:"smoke,omitempty" yaml:"smoke,omitempty"`
	// Capabilities are the host functions (DNS, HTTP, DynamoDB, tables,
	// cache, MMDB) the module may call; denied by default.
	Capabilities Capabilities `json:"capabilities,omitempty" yaml:"capabilities,omitempty"`
}

// SmokeTest is one record a module version must handle before it serves.
type SmokeTest struct {
	// Input is the record's data.
	Input string `json:"input" yaml:"input"`
	// Expect, when present, lists the exact outputs (data, in order) the
	// record must produce; an empty list means "dropped or no output".
	// Absent, the record must only not fail.
	Expect *[]string `json:"expect,omitempty" yaml:"expect,omitempty"`
}

// SourcesConfig configures how remote references are fetched.
type SourcesConfig struct {
	// AppConfig selects how appconfig:// references are read: "agent"
	// (default: the AppConfig agent or Lambda extension's local HTTP
	// endpoint) or "api" (the AppConfigData API, with its session tokens
	// and poll interval).
	AppConfig string `json:"appconfig,omitempty" yaml:"appconfig,omitempty"`
	// AgentAddress is the agent's host:port (default localhost:2772, or
	// localhost:$AWS_APPCONFIG_EXTENSION_HTTP_PORT when that is set).
	AgentAddress string `json:"agent_address,omitempty" yaml:"agent_address,omitempty"`
	// HTTPSAllow lists the hosts https:// references may name (exact host
	// names, optionally with :port). Empty: https:// is refused.
	HTTPSAllow []string `json:"https_allow,omitempty" yaml:"https_allow,omitempty"`
	// Timeout bounds one fetch (default 30s).
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// AssumeRoleARN fetches s3:// and appconfig:// (api mode) module
	// references as this IAM role (STS AssumeRole): modules kept in
	// another account.
	AssumeRoleARN string `json:"assume_role_arn,omitempty" yaml:"assume_role_arn,omitempty"`
}

// SecretsConfig configures the Secrets Manager client that resolves
// ${secret:ID} references (see Config.Resolved).
type SecretsConfig struct {
	// Refresh is how often a secret is fetched again (default 5m; a
	// failed fetch keeps the last value). Outputs holding a secret are
	// reopened with a rotated value (secrets.OpenSinks); stages built
	// later (a hot-swapped pipeline or module version) get it too.
	Refresh Duration `json:"refresh,omitempty" yaml:"refresh,omitempty"`
	// Region overrides the AWS region (default AWS_REGION).
	Region string `json:"region,omitempty" yaml:"region,omitempty"`
	// Endpoint overrides the Secrets Manager endpoint URL.
	Endpoint string `json:"endpoint,omitempty" yaml:"endpoint,omitempty"`
	// AssumeRoleARN reads the secrets as this IAM role (STS AssumeRole):
	// secrets kept in another account.
	AssumeRoleARN string `json:"assume_role_arn,omitempty" yaml:"assume_role_arn,omitempty"`
}

// Values of SourcesConfig.AppConfig.
const (
	AppConfigAgent = "agent"
	AppConfigAPI   = "api"
)

// Limits bound a module's resources. Zero values mean the defaults
// documented on each field.
type Limits struct {
	// MemoryPages caps the module's linear memory in 64 KiB pages
	// (default 1024 = 64 MiB; maximum 65536 = 4 GiB).
	MemoryPages uint32 `json:"memory_pages,omitempty" yaml:"memory_pages,omitempty"`
	// Timeout is the deadline for one batch call (default 10s).
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// MaxOutputBytes caps the bytes a module may return for one batch
	// (default 64 MiB).
	MaxOutputBytes int64 `json:"max_output_bytes,omitempty" yaml:"max_output_bytes,omitempty"`
	// Preempt enforces Timeout inside the guest (default true): the host
	// adds a fuel counter to every loop header at load time and stops a
	// batch running past Timeout at its next check. false leaves the
	// deadline unenforceable inside the guest: past Timeout (or on Ctrl-C)
	// the batch fails and its instance is abandoned, its call left running
	// on a CPU with the garbage collector off until it returns.
	// Deprecated: false is no longer faster in practice (bench/RESULTS.md,
	// BenchmarkPreemptInterleaved); weir warns when it is set.
	Preempt *bool `json:"preempt,omitempty" yaml:"preempt,omitempty"`
}

// Preempts reports whether the deadline is enforced (Preempt unset or
// true).
func (l Limits) Preempts() bool { return l.Preempt == nil || *l.Preempt }

// OutputConfig configures a sink.
type OutputConfig struct {
	// Type is "stdout", "stderr", "file", "discard", or one of the AWS
	// outputs "kinesis", "firehose", "s3", "sqs", "dynamodb", "sns",
	// "eventbridge", "lambda", or "http" (served by sinks registered with
	// RegisterSink).
	Type string `json:"type" yaml:"type"`
	// Path is the file written by the "file" type (NDJSON, appended).
	// A relative path is resolved against Config.Dir.
	Path string `json:"path,omitempty" yaml:"path,omitempty"`
	// Stream is the Kinesis stream name or ARN ("kinesis"), or the
	// Firehose delivery stream name ("firehose").
	Stream string `json:"stream,omitempty" yaml:"stream,omitempty"`
	// Bucket is the S3 bucket ("s3").
	Bucket string `json:"bucket,omitempty" yaml:"bucket,omitempty"`
	// Key is the S3 object key template ("s3"); {date} (2006-01-02),
	// {hour} (15), {uuid}, {route} and {ext} are replaced. Default
	// DefaultS3Key.
	Key string `json:"key,omitempty" yaml:"key,omitempty"`
	// Compression of S3 objects: "gzip" (default), "zstd" or "none".
	Compression string `json:"compression,omitempty" yaml:"compression,omitempty"`
	// QueueURL is the SQS queue URL ("sqs").
	QueueURL string `json:"queue_url,omitempty" yaml:"queue_url,omitempty"`
	// Table is the DynamoDB table ("dynamodb"); every output must be a
	// JSON object holding the table's key attributes.
	Table string `json:"table,omitempty" yaml:"table,omitempty"`
	// Aggregate packs Kinesis outputs into KPL-aggregated records
	// ("kinesis"; default true).
	Aggregate *bool `json:"aggregate,omitempty" yaml:"aggregate,omitempty"`
	// Batch groups outputs before they are written (any type but stdout,
	// stderr and discard); see BatchConfig. Without it every route's
	// outputs of a pipeline run are written at once.
	Batch *BatchConfig `json:"batch,omitempty" yaml:"batch,omitempty"`
	// BatchKey is a JSON path (gjson syntax, as transforms' key paths)
	// into each output: outputs with the same value travel together, in
	// their own writes ("s3": one object per key, {key} in the key
	// template; "kinesis": the value is the partition key, so one key's
	// records stay on one shard, in order). An output without the field
	// has the empty key.
	BatchKey string `json:"batch_key,omitempty" yaml:"batch_key,omitempty"`
	// AssumeRoleARN makes an AWS output act as this IAM role (STS
	// AssumeRole from the default credentials, refreshed before they
	// expire): cross-account delivery.
	AssumeRoleARN string `json:"assume_role_arn,omitempty" yaml:"assume_role_arn,omitempty"`
	// StorageClass of S3 objects ("s3"; e.g. STANDARD_IA, INTELLIGENT_TIERING,
	// GLACIER_IR; default the bucket's, STANDARD).
	StorageClass string `json:"storage_class,omitempty" yaml:"storage_class,omitempty"`
	// ChecksumAlgorithm has S3 verify each object's upload ("s3": CRC32,
	// CRC32C, CRC64NVME, SHA1 or SHA256; default the SDK's CRC32 when it
	// can compute one).
	ChecksumAlgorithm string `json:"checksum_algorithm,omitempty" yaml:"checksum_algorithm,omitempty"`
	// MessageGroupKey is a JSON path whose value is the message group id
	// of an SQS FIFO queue (queue URL ending in .fifo); outputs without
	// it, or with no key set, go to group "weir".
	MessageGroupKey string `json:"message_group_key,omitempty" yaml:"message_group_key,omitempty"`
	// DedupKey is a JSON path whose value is the deduplication id of an
	// SQS FIFO message; default (and when the value is missing or longer
	// than 128 characters) the SHA-256 of the message body (or value).
	DedupKey string `json:"dedup_key,omitempty" yaml:"dedup_key,omitempty"`
	// Endpoint overrides the AWS service endpoint URL (local emulators,
	// VPC endpoints). Empty: the SDK's default resolution, which honours
	// AWS_ENDPOINT_URL.
	Endpoint string `json:"endpoint,omitempty" yaml:"endpoint,omitempty"`
	// Region overrides the AWS region (default: AWS_REGION).
	Region string `json:"region,omitempty" yaml:"region,omitempty"`
	// MaxAttempts bounds the calls made to deliver one batch when the
	// service throttles or fails entries (default 8).
	MaxAttempts int `json:"max_attempts,omitempty" yaml:"max_attempts,omitempty"`
	// MaxRecordBytes is the Kinesis stream's maximum record size, data
	// plus partition key ("kinesis"): 1 MiB (default), up to 10 MiB for a
	// stream whose maximum record size was raised (UpdateMaxRecordSize).
	// Larger outputs are errors naming them; aggregated records are
	// packed up to it.
	MaxRecordBytes int64 `json:"max_record_bytes,omitempty" yaml:"max_record_bytes,omitempty"`
	// Protocol is the wire format of the Kinesis output's PutRecords
	// calls ("kinesis"): "cbor" (AWS CBOR 1.1, records as raw bytes; the
	// default) or "json" (awsJson 1.1, records in base64). Other calls
	// are JSON either way.
	Protocol string `json:"protocol,omitempty" yaml:"protocol,omitempty"`

	// URL is the endpoint the "http" output POSTs to; with a Preset, the
	// preset's path is used when URL has none (Splunk HEC:
	// /services/collector/event, Datadog: /api/v2/logs, Elasticsearch:
	// /_bulk or /<index>/_bulk; Sumo Logic: the HTTP source URL as is).
	URL string `json:"url,omitempty" yaml:"url,omitempty"`
	// Preset shapes "http" requests for a SIEM: "splunk_hec", "datadog",
	// "elasticsearch" (also OpenSearch) or "sumologic" (see HTTPPresets).
	Preset string `json:"preset,omitempty" yaml:"preset,omitempty"`
	// Headers are set on every "http" request (values may be
	// ${secret:ID} references).
	Headers map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	// Token is the credential a Preset puts where its service expects it
	// (Splunk: "Authorization: Splunk <token>"; Datadog: DD-API-KEY;
	// Elasticsearch: "Authorization: ApiKey <token>"); use ${secret:ID}.
	Token string `json:"token,omitempty" yaml:"token,omitempty"`
	// Format of an "http" request body: "ndjson" (one output per line,
	// the default) or "json_array". Presets fix their own.
	Format string `json:"format,omitempty" yaml:"format,omitempty"`
	// MaxRequestBytes and MaxRequestEntries bound one "http" request
	// (uncompressed body bytes, outputs); 0: the preset's, else 1 MiB and
	// 500. MaxEntryBytes bounds one output (0: the preset's, else
	// MaxRequestBytes).
	MaxRequestBytes   int `json:"max_request_bytes,omitempty" yaml:"max_request_bytes,omitempty"`
	MaxRequestEntries int `json:"max_request_entries,omitempty" yaml:"max_request_entries,omitempty"`
	MaxEntryBytes     int `json:"max_entry_bytes,omitempty" yaml:"max_entry_bytes,omitempty"`
	// Index is the Elasticsearch/OpenSearch index of the "elasticsearch"
	// preset's bulk actions (else the URL's /<index>/_bulk decides).
	Index string `json:"index,omitempty" yaml:"index,omitempty"`
	// AllowHosts lists the hosts the "http" output may reach, with the
	// semantics of capabilities.http.allow_hosts; the URL's host must be
	// in it. Credential and metadata endpoints are always refused.
	AllowHosts []string `json:"allow_hosts,omitempty" yaml:"allow_hosts,omitempty"`
	// AllowPrivate lets the hosts AllowHosts names (not "*") resolve to
	// loopback and private addresses ("http").
	AllowPrivate bool `json:"allow_private,omitempty" yaml:"allow_private,omitempty"`
	// TopicARN is the SNS topic ("sns").
	TopicARN string `json:"topic_arn,omitempty" yaml:"topic_arn,omitempty"`
	// EventBus is the EventBridge event bus name or ARN ("eventbridge";
	// default "default"); Source and DetailType are set on every event
	// (default "weir" and "weir.output").
	EventBus   string `json:"event_bus,omitempty" yaml:"event_bus,omitempty"`
	Source     string `json:"source,omitempty" yaml:"source,omitempty"`
	DetailType string `json:"detail_type,omitempty" yaml:"detail_type,omitempty"`
	// Function is the Lambda function name or ARN ("lambda");
	// InvocationType is "RequestResponse" (default: the function's result
	// is awaited and a function error fails delivery) or "Event".
	Function       string `json:"function,omitempty" yaml:"function,omitempty"`
	InvocationType string `json:"invocation_type,omitempty" yaml:"invocation_type,omitempty"`
}

// BatchConfig is an output's batching (OutputConfig.Batch): outputs are
// held, per BatchKey value, until Count outputs or Bytes bytes (data plus
// a newline each) are waiting, or the oldest has waited Interval, and
// then written together (the service limits still split a write into
// calls). Whatever waits is written when the sinks are flushed: at the
// end of every invocation in Lambda (so a batch never outlives the
// invocation that produced it, and its failure fails that invocation)
// and when the CLI closes its outputs. A zero field is no limit;
// Interval defaults to DefaultBatchInterval.
type BatchConfig struct {
	Count    int      `json:"count,omitempty" yaml:"count,omitempty"`
	Bytes    int64    `json:"bytes,omitempty" yaml:"bytes,omitempty"`
	Interval Duration `json:"interval,omitempty" yaml:"interval,omitempty"`
}

// DefaultBatchInterval is BatchConfig.Interval's default (Substation's
// batch duration).
const DefaultBatchInterval = Duration(time.Minute)

// The values of OutputConfig.Protocol.
const (
	KinesisProtocolCBOR = "cbor"
	KinesisProtocolJSON = "json"
)

// Kinesis record size limits (OutputConfig.MaxRecordBytes).
const (
	KinesisDefaultRecordBytes = 1 << 20  // a stream's default maximum record size
	KinesisMaxRecordBytes     = 10 << 20 // the largest a stream can be configured for
)

// Duration is a time.Duration read from a string such as "5s" or "250ms".
type Duration time.Duration
