package builtin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
)

// BenchmarkTransform runs one transform at a time over 100-record
// batches (the reference ConsoleLogin record unless the case brings its
// own); ns/op and allocs/op are per record and include parsing the
// record and serializing the output, the fixed cost of any plan.
//
//	go test ./engine/builtin -run '^$' -bench 'BenchmarkTransform' -benchmem
func BenchmarkTransform(b *testing.B) {
	ref := consoleLogin(b)
	nums := []byte(`{"bytes":[1024,2048,512.5],"limit":100,"event":"x"}`)
	for _, bc := range []struct {
		name, settings string
		rec            []byte
	}{
		{"string_replace", `{"object":{"source_key":"userAgent","target_key":"user_agent"},"pattern":"Windows NT","replacement":"WinNT"}`, nil},
		{"string_replace/regexp", `{"object":{"source_key":"userAgent","target_key":"user_agent"},"pattern":"Chrome/(\\d+)","replacement":"chrome-$1"}`, nil},
		{"string_capture", `{"object":{"source_key":"userIdentity.arn","target_key":"user.name"},"pattern":"/([^/]+)$"}`, nil},
		{"string_capture/named", `{"object":{"source_key":"userIdentity.principalId","target_key":"user"},"pattern":"(?P<id>[^:]+):(?P<email>.+)"}`, nil},
		{"string_to_lower", `{"object":{"source_key":"eventName","target_key":"event.action"}}`, nil},
		{"string_to_upper", `{"object":{"source_key":"awsRegion","target_key":"cloud.region"}}`, nil},
		{"string_split", `{"object":{"source_key":"userIdentity.arn","target_key":"arn_parts"},"separator":":"}`, nil},
		{"string_append", `{"object":{"source_key":"eventName","target_key":"event.action"},"suffix":"-v1"}`, nil},
		{"number_math_addition", `{"object":{"source_key":"bytes","target_key":"total"}}`, nums},
		{"number_math_subtraction", `{"object":{"source_key":"bytes","target_key":"total"}}`, nums},
		{"number_math_multiplication", `{"object":{"source_key":"bytes","target_key":"total"}}`, nums},
		{"number_math_division", `{"object":{"source_key":"bytes","target_key":"total"}}`, nums},
		{"number_maximum", `{"object":{"source_key":"limit","target_key":"limit"},"value":5000}`, nums},
		{"network_domain_registered_domain", `{"object":{"source_key":"tlsDetails.clientProvidedHostHeader","target_key":"domain"}}`, nil},
		{"network_domain_subdomain", `{"object":{"source_key":"tlsDetails.clientProvidedHostHeader","target_key":"subdomain"}}`, nil},
		{"network_domain_top_level_domain", `{"object":{"source_key":"tlsDetails.clientProvidedHostHeader","target_key":"tld"}}`, nil},
		{"array_join", `{"object":{"source_key":"bytes","target_key":"joined"},"separator":","}`, nums},
	} {
		typ, _, _ := strings.Cut(bc.name, "/")
		b.Run(bc.name, func(b *testing.B) {
			cfg, _ := json.Marshal(map[string]any{"type": typ, "settings": json.RawMessage(bc.settings)})
			plan, err := builtin.Compile([]json.RawMessage{cfg})
			if err != nil {
				b.Fatal(err)
			}
			rec := bc.rec
			if rec == nil {
				rec = ref
			}
			recs := batchOf(rec)
			// Check once that the transform did its work.
			res, err := plan.Process(context.Background(), recs[:1])
			if err != nil || res[0].Status != engine.StatusOK || len(res[0].Outputs[0].Data) == len(rec) {
				b.Fatalf("%v %+v", err, res[0])
			}
			runBatches(b, plan, recs)
		})
	}
	benchDataTransforms(b) // time_*, hash_*, format_*, object_jq, aggregate_* (bench_data_test.go)
}
