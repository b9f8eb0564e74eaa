package builtin

// The catalog lists every transform and condition type of Substation
// v2.8.0 (its transform.New and condition factories). A type is
// implemented when a factory is registered for it, refused when its entry
// says why (and what to use instead), and otherwise "not implemented yet":
// compiling it fails with that message until a factory is added.

const (
	useOutput  = "weir delivers records through outputs, not transforms: route the record to a pipeline output of the matching type"
	useDNS     = "use a Wasm stage calling weir's DNS host function (capabilities: dns)"
	useHTTP    = "use a Wasm stage calling weir's HTTP host function (capabilities: http)"
	useDynamo  = "use a Wasm stage calling weir's DynamoDB host function (capabilities: dynamodb)"
	useKV      = "use a Wasm stage with weir's table or cache host functions (capabilities: tables, cache)"
	useMetrics = "weir measures records in/out/dropped/failed, bytes, per-stage duration and iterator age itself (EMF metrics on Lambda, see WEIR_METRICS; weir run --summary): remove this transform"
)

var transformCatalog = catalog(map[string]string{
	// Aggregation.
	"aggregate_from_array":  "",
	"aggregate_to_array":    "",
	"aggregate_from_string": "",
	"aggregate_to_string":   "",
	// Array.
	"array_join": "",
	"array_zip":  "",
	// Enrichment: weir does I/O through host functions called by Wasm
	// modules, with capabilities granted per stage.
	"enrich_aws_dynamodb_query": useDynamo,
	"enrich_aws_lambda":         "weir does not invoke Lambda functions per record; write the logic as a Wasm stage",
	"enrich_dns_ip_lookup":      useDNS,
	"enrich_dns_domain_lookup":  useDNS,
	"enrich_dns_text_lookup":    useDNS,
	"enrich_http_get":           useHTTP,
	"enrich_http_post":          useHTTP,
	"enrich_kv_store_get":       useKV,
	"enrich_kv_store_item_get":  useKV,
	"enrich_kv_store_set":       useKV,
	"enrich_kv_store_item_set":  useKV,
	"enrich_kv_store_set_add":   useKV,
	// Format.
	"format_from_base64":       "",
	"format_to_base64":         "",
	"format_from_gzip":         "",
	"format_to_gzip":           "",
	"format_from_pretty_print": "",
	"format_from_zip":          "",
	"format_from_parquet":      "",
	// Hash.
	"hash_md5":    "",
	"hash_sha256": "",
	// Meta.
	"meta_err":             "",
	"meta_for_each":        "",
	"meta_kv_store_lock":   "KV store locks guard enrich_kv_store_* and send_* transforms, which weir does not run; deduplicate or lock in a Wasm stage with weir's table or cache host functions (capabilities: tables, cache)",
	"meta_metric_duration": "weir measures every stage's duration itself (EMF metrics on Lambda, weir run --summary): list the wrapped transforms directly in the stage",
	"meta_retry":           "built-in transforms do no I/O, so a retry gives the same result; catch errors with meta_err or the stage's on_error, and let the source retry failed records (Lambda event source retries, WEIR_MAX_ATTEMPTS)",
	"meta_switch":          "",
	// Number.
	"number_maximum":             "",
	"number_minimum":             "",
	"number_math_addition":       "",
	"number_math_division":       "",
	"number_math_multiplication": "",
	"number_math_subtraction":    "",
	// Network.
	"network_domain_registered_domain": "",
	"network_domain_subdomain":         "",
	"network_domain_top_level_domain":  "",
	// Object.
	"object_copy":                "",
	"object_delete":              "",
	"object_insert":              "",
	"object_jq":                  "",
	"object_to_boolean":          "",
	"object_to_float":            "",
	"object_to_integer":          "",
	"object_to_string":           "",
	"object_to_unsigned_integer": "",
	// Send: weir outputs.
	"send_aws_dynamodb_put":        useOutput + " (type: dynamodb)",
	"send_aws_eventbridge":         useOutput + " (EventBridge has no weir output yet)",
	"send_aws_data_firehose":       useOutput + " (type: firehose)",
	"send_aws_kinesis_data_stream": useOutput + " (type: kinesis)",
	"send_aws_lambda":              useOutput + " (Lambda has no weir output yet)",
	"send_aws_s3":                  useOutput + " (type: s3)",
	"send_aws_sns":                 useOutput + " (SNS has no weir output yet)",
	"send_aws_sqs":                 useOutput + " (type: sqs)",
	"send_gcp_storage":             useOutput + " (GCP has no weir output)",
	"send_file":                    useOutput + " (type: file)",
	"send_http_post":               useOutput + " (HTTP has no weir output yet)",
	"send_stdout":                  useOutput + " (type: stdout)",
	// String.
	"string_append":   "",
	"string_capture":  "",
	"string_to_lower": "",
	"string_to_snake": "",
	"string_to_upper": "",
	"string_replace":  "",
	"string_split":    "",
	"string_uuid":     "",
	// Test.
	"test_message": "",
	// Time.
	"time_from_string":     "",
	"time_from_unix":       "",
	"time_from_unix_milli": "",
	"time_now":             "",
	"time_to_string":       "",
	"time_to_unix":         "",
	"time_to_unix_milli":   "",
	// Utility.
	"utility_control":          "weir batches at the source (weir run --batch-size, the Lambda event source's batch) and aggregate_* flush at the end of every batch: remove this transform",
	"utility_delay":            "a pipeline stage must not sleep; rate-limit at the source or output",
	"utility_drop":             "",
	"utility_err":              "",
	"utility_metric_bytes":     useMetrics,
	"utility_metric_count":     useMetrics,
	"utility_metric_freshness": useMetrics,
	"utility_secret":           "weir reads no secrets inside pipelines (Substation uses them for enrich_http_* and send_* credentials, which weir refuses): give a Wasm stage its settings through the stage's config",
})

var conditionCatalog = catalog(map[string]string{
	// Operators, under both names Substation v2 accepts.
	"all": "", "any": "", "none": "",
	"meta_all": "", "meta_any": "", "meta_none": "",
	// Format.
	"format_json": "",
	"format_mime": "",
	// Network.
	"network_ip_global_unicast":       "",
	"network_ip_link_local_multicast": "",
	"network_ip_link_local_unicast":   "",
	"network_ip_loopback":             "",
	"network_ip_multicast":            "",
	"network_ip_private":              "",
	"network_ip_unicast":              "",
	"network_ip_unspecified":          "",
	"network_ip_valid":                "",
	// Number.
	"number_equal_to":            "",
	"number_greater_than":        "",
	"number_less_than":           "",
	"number_bitwise_and":         "",
	"number_bitwise_or":          "",
	"number_bitwise_xor":         "",
	"number_bitwise_not":         "",
	"number_length_equal_to":     "",
	"number_length_greater_than": "",
	"number_length_less_than":    "",
	// String.
	"string_contains":     "",
	"string_ends_with":    "",
	"string_equal_to":     "",
	"string_greater_than": "",
	"string_less_than":    "",
	"string_starts_with":  "",
	"string_match":        "",
	// Utility.
	"utility_random": "",
})

func catalog(m map[string]string) map[string]CatalogEntry {
	out := make(map[string]CatalogEntry, len(m))
	for k, v := range m {
		out[k] = CatalogEntry{Name: k, Refused: v}
	}
	return out
}
