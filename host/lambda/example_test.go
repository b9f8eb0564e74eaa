package lambda_test

import (
	"fmt"

	"github.com/weirhq/weir/host/lambda"
)

// Detect tells the event source from an event's shape, so one bootstrap
// can serve several triggers (WEIR_SOURCE=auto).
func ExampleDetect() {
	for _, ev := range []string{
		`{"Records":[{"eventSource":"aws:kinesis","kinesis":{"data":"e30=","sequenceNumber":"1"}}]}`,
		`{"Records":[{"eventSource":"aws:sqs","messageId":"m1","body":"{}"}]}`,
		`{"invocationId":"i","deliveryStreamArn":"arn:aws:firehose:us-east-1:1:deliverystream/d","records":[]}`,
	} {
		src, err := lambda.Detect([]byte(ev))
		if err != nil {
			panic(err)
		}
		fmt.Println(src)
	}
	// Output:
	// kinesis
	// sqs
	// firehose
}
