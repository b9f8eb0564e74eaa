package lambda

import "github.com/valyala/fastjson"

// LooksLikeEvent reports whether rec, the first record decoded from a
// file of records, is in fact (part of) a saved Lambda event: an element
// of its Records array (eventSource aws:kinesis, aws:sqs, aws:s3,
// aws:dynamodb, or EventSource aws:sns, which no CloudTrail event has:
// theirs name an AWS service such as "signin.amazonaws.com"), a Firehose
// transformation event or an HTTP request. It returns the source to pass
// to "weir run --event" and the field that tells.
func LooksLikeEvent(rec []byte) (source, why string, ok bool) {
	var p fastjson.Parser
	v, err := p.ParseBytes(rec)
	if err != nil || v.Type() != fastjson.TypeObject {
		return "", "", false
	}
	str := func(keys ...string) string { return string(v.GetStringBytes(keys...)) }
	switch str("eventSource") {
	case "aws:kinesis":
		return SourceKinesis, `its records have "eventSource": "aws:kinesis"`, v.Exists("kinesis")
	case "aws:sqs":
		return SourceSQS, `its records have "eventSource": "aws:sqs"`, v.Exists("body") || v.Exists("messageId")
	case "aws:s3":
		return SourceS3, `its records have "eventSource": "aws:s3"`, v.Exists("s3")
	case "aws:dynamodb":
		return SourceDynamoDB, `its records have "eventSource": "aws:dynamodb"`, v.Exists("dynamodb")
	}
	if str("EventSource") == "aws:sns" && v.Exists("Sns") {
		return SourceSNS, `its records have "EventSource": "aws:sns"`, true
	}
	if v.Exists("records") && (str("deliveryStreamArn") != "" || str("invocationId") != "") {
		return SourceFirehose, `it has "invocationId", "deliveryStreamArn" and "records"`, true
	}
	if v.Exists("requestContext") && (v.Exists("rawPath") || v.Exists("httpMethod")) {
		return SourceAPIGW, `it has "requestContext" and "rawPath" or "httpMethod"`, true
	}
	return "", "", false
}
