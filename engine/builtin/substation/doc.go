// Package substation reads Substation configurations as weir pipelines.
//
// A Substation config is the JSON its Jsonnet compiles to
// ({"transforms": [...]}), or the .jsonnet source when go-jsonnet can
// evaluate it on its own (ReadFile). Convert turns one into a weir
// pipeline: its transforms become one built-in stage (package
// engine/builtin speaks Substation's vocabulary), a send_* closing the
// list becomes the default output, and a send_* closing a meta_switch
// case a named output the case routes to (builtin.RouteKey). send_stdout
// and send_file map to stdout and file, send_aws_kinesis_data_stream to
// kinesis, send_aws_data_firehose to firehose, send_aws_s3 to s3,
// send_aws_sqs to sqs, send_aws_dynamodb_put to dynamodb. What is mapped
// approximately is listed in Notes, what has no weir equivalent in
// Problems (weir sends a record once, to one output, after its last
// transform: a send mid-list, a second send or a fan-out has no
// equivalent).
//
// "weir run -p config.json" runs a Substation config through Load;
// "weir import substation" prints Conversion.YAML. Like the built-ins,
// the package knows nothing of WebAssembly.
package substation
