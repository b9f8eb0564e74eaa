package substation_test

import (
	"fmt"
	"log"

	"github.com/weirhq/weir/engine/builtin/substation"
)

// A Substation config whose meta_switch case sends to SQS becomes a
// built-in stage that routes those records to an sqs output; the others,
// which Substation sends nowhere, go to a discard output.
func ExampleConvert() {
	config := `{"transforms": [
	  {"type": "object_copy", "settings": {"object": {"source_key": "detail.severity", "target_key": "severity"}}},
	  {"type": "meta_switch", "settings": {"cases": [
	    {"condition": {"type": "string_equal_to", "settings": {"object": {"source_key": "severity"}, "value": "high"}},
	     "transforms": [{"type": "send_aws_sqs", "settings": {"id": "alerts", "aws": {"arn": "arn:aws:sqs:eu-west-1:123456789012:alerts"}}}]}
	  ]}}
	]}`
	conv, err := substation.Convert([]byte(config), "/etc/detections/config.json")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(conv.YAML())
	fmt.Println("problems:", len(conv.Problems))
	// Output:
	// # Converted from a Substation config by weir import substation.
	// # note: records no meta_switch case sends are discarded, as in Substation
	// version: 1
	// name: "detections"
	// stages:
	//   - name: substation
	//     transforms:
	//       - {"type":"object_copy","settings":{"object":{"source_key":"detail.severity","target_key":"severity"}}}
	//       - {"type":"meta_switch","settings":{"cases":[{"condition":{"type":"string_equal_to","settings":{"object":{"source_key":"severity"},"value":"high"}},"transforms":[{"type":"object_insert","settings":{"object":{"target_key":"meta route"},"value":"alerts"}}]}]}}
	// outputs:
	//   "alerts":
	//     type: sqs
	//     queue_url: "https://sqs.eu-west-1.amazonaws.com/123456789012/alerts"
	//     region: "eu-west-1"
	//   "default":
	//     type: discard
	// problems: 0
}
