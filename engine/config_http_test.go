package engine_test

import (
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
)

// TestNewOutputsConfig: the settings of the sns, eventbridge, lambda and
// http outputs are checked at load, each problem named by its field.
func TestNewOutputsConfig(t *testing.T) {
	for _, tc := range []struct {
		output, want string // want "" = valid
	}{
		{`{type: http, url: "https://hec.example.com:8088", allow_hosts: ["hec.example.com:8088"], preset: splunk_hec, token: t, compression: gzip}`, ""},
		{`{type: http, url: "${secret:sumo-url}", allow_hosts: ["*.sumologic.com"], preset: sumologic}`, ""},
		{`{type: http, url: "https://es.example.com/logs/_bulk", allow_hosts: ["es.example.com"], preset: elasticsearch, index: logs}`, ""},
		{`{type: http, url: "https://hec.example.com", allow_hosts: ["other.example.com"]}`, `outputs.o.url: host "hec.example.com" port 443 is not in allow_hosts`},
		{`{type: http, url: "https://hec.example.com:8088", allow_hosts: ["hec.example.com:443"]}`, `port 8088 is not in allow_hosts`},
		{`{type: http, url: "https://hec.example.com"}`, `outputs.o.allow_hosts: required for type http`},
		{`{type: http, url: "ftp://x", allow_hosts: [x]}`, `outputs.o.url: must be an http:// or https:// URL`},
		{`{type: http, url: "https://x", allow_hosts: [x], preset: kafka}`, `outputs.o.preset: must be one of splunk_hec, datadog, elasticsearch, sumologic (got "kafka")`},
		{`{type: http, url: "https://x", allow_hosts: [x], preset: datadog, format: ndjson}`, `outputs.o.format: the datadog preset fixes the body format`},
		{`{type: http, url: "https://x", allow_hosts: [x], compression: zstd}`, `outputs.o.compression: must be gzip or none for type http`},
		{`{type: http, url: "https://x", allow_hosts: [x], index: logs}`, `outputs.o.index: only used by the elasticsearch preset`},
		{`{type: http, url: "https://x", allow_hosts: ["*.0.0.1"]}`, `outputs.o.allow_hosts:`},
		{`{type: sns, topic_arn: "arn:aws:sns:us-east-1:1:t"}`, ""},
		{`{type: sns}`, `outputs.o.topic_arn: required for type sns`},
		{`{type: eventbridge}`, ""},
		{`{type: eventbridge, event_bus: b, source: s, detail_type: d, topic_arn: x}`, `outputs.o.topic_arn: only used by type sns`},
		{`{type: lambda, function: f, invocation_type: Event}`, ""},
		{`{type: lambda, function: f, invocation_type: DryRun}`, `outputs.o.invocation_type: must be RequestResponse or Event`},
		{`{type: sqs, queue_url: "https://q", allow_hosts: [x]}`, `outputs.o.allow_hosts: only used by type http`},
	} {
		_, err := engine.ParseConfig([]byte("version: 1\nstages: [{module: a.wasm}]\noutputs:\n  o: "+tc.output+"\n"), "p.yaml")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.output, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.output, err, tc.want)
		}
	}
}
