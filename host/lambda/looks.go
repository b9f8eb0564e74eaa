package lambda

import (
	"strings"

	"github.com/valyala/fastjson"
)

// LooksLikeEvent reports whether rec, the first record decoded from a
// file of records, is in fact (part of) a saved Lambda event: a whole
// event (one line of NDJSON), or an element of its Records array (eventSource aws:kinesis, aws:sqs, aws:s3,
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
	if recs := v.GetArray("Records"); len(recs) > 0 && recs[0].Type() == fastjson.TypeObject {
		if source, why, ok := looksLikeEvent(recs[0]); ok {
			return source, why, ok
		}
	}
	return looksLikeEvent(v)
}

// looksLikeEvent is LooksLikeEvent for one parsed object.
func looksLikeEvent(v *fastjson.Value) (source, why string, ok bool) {
	str := func(keys ...string) string { return string(v.GetStringBytes(keys...)) }
	member := map[string]string{SourceKinesis: "kinesis", SourceSQS: "body", SourceS3: "s3", SourceDynamoDB: "dynamodb"}
	if src, found := strings.CutPrefix(str("eventSource"), "aws:"); found && member[src] != "" && v.Exists(member[src]) {
		return src, `its records have "eventSource": "aws:` + src + `"`, true
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
