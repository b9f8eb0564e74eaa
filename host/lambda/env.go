package lambda

// The environment variables the bootstrap (cmd/bootstrap) reads. The
// bootstrap reads its environment only through these constants, and a
// test of cmd/bootstrap checks that every variable it reads is listed in
// Env, so that deployment templates can be checked against Env (see
// examples/deploy).
const (
	EnvPipeline          = "WEIR_PIPELINE"
	EnvPipelinePoll      = "WEIR_PIPELINE_POLL"
	EnvSource            = "WEIR_SOURCE"
	EnvDeadLetter        = "WEIR_DEAD_LETTER"
	EnvMaxAttempts       = "WEIR_MAX_ATTEMPTS"
	EnvAttemptsTable     = "WEIR_ATTEMPTS_TABLE"
	EnvAttemptsEndpoint  = "WEIR_ATTEMPTS_ENDPOINT"
	EnvS3Endpoint        = "WEIR_S3_ENDPOINT"
	EnvLogLevel          = "WEIR_LOG_LEVEL"
	EnvCacheDir          = "WEIR_CACHE_DIR"
	EnvCacheS3           = "WEIR_CACHE_S3"
	EnvCacheS3Key        = "WEIR_CACHE_S3_KEY"
	EnvMetrics           = "WEIR_METRICS"
	EnvAppConfigHTTPPort = "AWS_APPCONFIG_EXTENSION_HTTP_PORT"
)

// EnvVar describes one environment variable of the bootstrap.
type EnvVar struct {
	// Name is the variable ("WEIR_PIPELINE").
	Name string
	// Default is the value used when it is unset or empty ("" = none).
	Default string
	// TestOnly marks variables meant for local emulators (endpoints); a
	// production deployment leaves them unset.
	TestOnly bool
	// Doc says what it does.
	Doc string
}

// Env lists every environment variable the bootstrap reads.
var Env = []EnvVar{
	{Name: EnvPipeline, Default: "pipeline.yaml", Doc: "the pipeline configuration: a path relative to the package, file://, or a remote reference (appconfig://, s3://, https://)"},
	{Name: EnvPipelinePoll, Default: "0", Doc: "how often a remote pipeline is checked for a new version, which is built and swapped in between batches (0: read once per container)"},
	{Name: EnvSource, Default: SourceAuto, Doc: "the event source (kinesis, sqs, sns, s3, dynamodb, firehose, apigw); auto detects each event's shape"},
	{Name: EnvDeadLetter, Doc: "the output receiving records that failed WEIR_MAX_ATTEMPTS times"},
	{Name: EnvMaxAttempts, Default: "3", Doc: "failures before dead-lettering"},
	{Name: EnvAttemptsTable, Doc: "DynamoDB table (hash key id, S; TTL attribute expires_at) counting failures across containers"},
	{Name: EnvAttemptsEndpoint, TestOnly: true, Doc: "endpoint of the attempts table's service (local emulators)"},
	{Name: EnvS3Endpoint, TestOnly: true, Doc: "S3 endpoint for objects named by S3 notifications (local emulators)"},
	{Name: EnvLogLevel, Default: "info", Doc: "debug, info, warn or error; JSON logs on stderr"},
	{Name: EnvCacheDir, Doc: "wazero compilation cache (default: cache/ in the package when present)"},
	{Name: EnvCacheS3, Doc: "s3://bucket/prefix of a compilation cache shared by containers: code compiled by one is downloaded by the others (host/sharedcache; needs s3:GetObject and s3:PutObject on the prefix, and WEIR_CACHE_S3_KEY)"},
	{Name: EnvCacheS3Key, Doc: "the key (at least 16 bytes) that authenticates the objects of WEIR_CACHE_S3, required with it: a ${secret:ID} or ${secret:ID:KEY} reference (Secrets Manager, read once at start) or the key itself; objects without its HMAC tag are refused and compiled again, so write access to the prefix alone cannot run code in the function"},
	{Name: EnvMetrics, Default: "on", Doc: "off disables the EMF metrics on stdout"},
	{Name: EnvAppConfigHTTPPort, Default: "2772", Doc: "the AppConfig Lambda extension's port, for appconfig:// references (read by host/source)"},
}

// EMF metric names written by Handler (namespace MetricsNamespace,
// dimension MetricsDimension = the pipeline's name). Alarms and
// dashboards refer to these.
const (
	MetricsNamespace       = "weir"
	MetricsDimension       = "Pipeline"
	MetricRecordsIn        = "RecordsIn"
	MetricRecordsOut       = "RecordsOut"
	MetricRecordsDropped   = "RecordsDropped"
	MetricRecordsFailed    = "RecordsFailed"
	MetricUnitsFailed      = "UnitsFailed"
	MetricUnitsDeadLetters = "UnitsDeadLettered"
	MetricBytesIn          = "BytesIn"
	MetricBatchDuration    = "BatchDuration"
	MetricIteratorAge      = "IteratorAge"
	MetricModuleSwaps      = "ModuleSwaps"
	MetricSwapsRefused     = "SwapsRefused"
	MetricSourceErrors     = "ModuleSourceErrors"
	// MetricVersionSwappedIn and MetricVersionRefused count the versions
	// (a module, or the pipeline configuration) swapped in or refused,
	// under the dimensions Pipeline and Version: what `weir release`
	// watches for the version it deployed.
	MetricVersionSwappedIn = "VersionSwappedIn"
	MetricVersionRefused   = "VersionRefused"
	// MetricsVersionDimension is the dimension of MetricVersionSwappedIn
	// and MetricVersionRefused: VersionDimension of the version's digest.
	MetricsVersionDimension = "Version"
	// MetricStageDurationPrefix + a stage's name is that stage's duration.
	MetricStageDurationPrefix = "StageDuration."
)

// MetricNames lists the fixed EMF metric names Handler writes (stage
// durations, named after their stage, aside).
var MetricNames = []string{
	MetricRecordsIn, MetricRecordsOut, MetricRecordsDropped, MetricRecordsFailed,
	MetricUnitsFailed, MetricUnitsDeadLetters, MetricBytesIn, MetricBatchDuration,
	MetricIteratorAge, MetricModuleSwaps, MetricSwapsRefused, MetricSourceErrors,
}

// VersionDimension is the Version dimension value of a version whose
// bytes hash to digest (sha256, hex): its first 16 hex digits.
func VersionDimension(digest string) string {
	if len(digest) > 16 {
		return digest[:16]
	}
	return digest
}
