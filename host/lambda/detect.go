package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/weirhq/weir/engine"
)

// Event sources (Handler.Source, env WEIR_SOURCE).
const (
	SourceAuto     = "auto"
	SourceKinesis  = "kinesis"
	SourceSQS      = "sqs"
	SourceSNS      = "sns"
	SourceS3       = "s3"
	SourceDynamoDB = "dynamodb"
	SourceFirehose = "firehose"
	SourceAPIGW    = "apigw"
	// SourceEventBridge is an EventBridge event (a rule's target): the
	// whole event is one record.
	SourceEventBridge = "eventbridge"
	// SourceDirect is a direct invocation (aws lambda invoke, a Step
	// Functions task, another function): the payload is the records, a
	// JSON object (one record), a JSON array (one per element) or a
	// CloudTrail {"Records": [...]} document.
	SourceDirect = "direct"
)

const sourceList = "auto, kinesis, sqs, sns, s3, dynamodb, firehose, apigw, eventbridge, direct"

// ParseSource checks a source name ("" means auto).
func ParseSource(s string) (string, error) {
	switch s {
	case "":
		return SourceAuto, nil
	case SourceAuto, SourceKinesis, SourceSQS, SourceSNS, SourceS3, SourceDynamoDB, SourceFirehose, SourceAPIGW, SourceEventBridge, SourceDirect:
		return s, nil
	}
	return "", fmt.Errorf("lambda: unknown source %q (want one of %s)", s, sourceList)
}

// ErrUnknownEvent is matched by errors.Is when Detect cannot tell an
// event's source.
var ErrUnknownEvent = errors.New("lambda: cannot tell the event's source")

// Detect tells an event's source from its shape: Records[0].eventSource
// (aws:kinesis, aws:sqs, aws:s3, aws:dynamodb) or EventSource (aws:sns),
// a Firehose transformation's deliveryStreamArn, an HTTP request's
// requestContext, an EventBridge event's detail-type and detail. Any
// other JSON object or array is a direct invocation (SourceDirect).
func Detect(payload []byte) (string, error) {
	if t := bytes.TrimSpace(payload); len(t) > 0 && t[0] == '[' {
		return SourceDirect, nil
	}
	var probe struct {
		DetailType *string         `json:"detail-type"`
		Detail     json.RawMessage `json:"detail"`
		Records    []struct {
			EventSource    string `json:"eventSource"`
			EventSourceSNS string `json:"EventSource"`
		} `json:"Records"`
		DeliveryStreamArn string          `json:"deliveryStreamArn"`
		InvocationID      string          `json:"invocationId"`
		RequestContext    json.RawMessage `json:"requestContext"`
		HTTPMethod        string          `json:"httpMethod"`
		RawPath           *string         `json:"rawPath"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return "", fmt.Errorf("lambda: malformed event (not a JSON object): %w", err)
	}
	switch {
	case probe.DeliveryStreamArn != "" || probe.InvocationID != "":
		return SourceFirehose, nil
	case len(probe.RequestContext) > 0 || probe.HTTPMethod != "" || probe.RawPath != nil:
		return SourceAPIGW, nil
	case len(probe.Records) > 0:
		r := probe.Records[0]
		src := r.EventSource
		if src == "" {
			src = r.EventSourceSNS
		}
		switch src {
		case "aws:kinesis":
			return SourceKinesis, nil
		case "aws:sqs":
			return SourceSQS, nil
		case "aws:sns":
			return SourceSNS, nil
		case "aws:s3":
			return SourceS3, nil
		case "aws:dynamodb":
			return SourceDynamoDB, nil
		}
		if strings.HasPrefix(src, "aws:") {
			return "", fmt.Errorf("%w: Records[0].eventSource is %q", ErrUnknownEvent, src)
		}
		// A CloudTrail log file ("eventSource": "signin.amazonaws.com")
		// or other records passed directly.
		return SourceDirect, nil
	case probe.DetailType != nil && len(probe.Detail) > 0:
		return SourceEventBridge, nil
	}
	return SourceDirect, nil
}

// split cuts one payload into records: gzip/zstd is decompressed, a JSON
// array gives one record per element, a CloudTrail {"Records": [...]}
// file one per element, NDJSON one per line; a single document (the
// common case, taken without copying) is one record. meta is copied
// into every record, SubSequenceNumber counting from sub.
func split(data []byte, meta engine.Metadata, sub *uint64) ([]engine.Record, error) {
	return appendSplit(nil, data, meta, sub)
}

// appendSplit is split appending the records to dst (a unit of many
// payloads, such as a KPL aggregate's user records, fills one slice).
func appendSplit(dst []engine.Record, data []byte, meta engine.Metadata, sub *uint64) ([]engine.Record, error) {
	trimmed := bytes.TrimSpace(data)
	single := len(trimmed) > 0 && trimmed[0] == '{' && bytes.IndexByte(trimmed, '\n') < 0 && !bytes.Contains(trimmed[:min(len(trimmed), 16)], []byte(`"Records"`))
	if single {
		meta.SubSequenceNumber = *sub
		*sub++
		return append(dst, engine.Record{Data: trimmed, Meta: meta}), nil
	}
	recs, err := engine.DecodeRecords(bytes.NewReader(data), meta.Source)
	if err != nil {
		return dst, err
	}
	for i := range recs {
		m := meta
		m.SubSequenceNumber = *sub
		*sub++
		recs[i].Meta = m
	}
	return append(dst, recs...), nil
}

// DecodeEvent decodes a saved event (for replay with "weir run --event")
// into the records the handler would run, in order, the way the handler
// does: h.Source (a Source* constant, or auto) chooses the decoder and
// h.Objects reads the objects S3 notifications name. Units (a Kinesis
// record, an SQS message, ...) that cannot be decoded do not stop the
// others: each is returned in unitErrs, naming its sequence number,
// message id or record id. err is set when the event itself is malformed.
func (h *Handler) DecodeEvent(ctx context.Context, payload []byte) (recs []engine.Record, unitErrs []error, err error) {
	source := h.Source
	if source == "" || source == SourceAuto {
		if source, err = Detect(payload); err != nil {
			return nil, nil, err
		}
	}
	var units []*unit
	switch source {
	case SourceKinesis:
		units, err = kinesisUnits(ctx, payload)
	case SourceSQS:
		units, err = h.sqsUnits(ctx, payload)
	case SourceSNS:
		units, err = h.snsUnits(ctx, payload)
	case SourceS3:
		units, err = h.s3Units(ctx, payload)
	case SourceDynamoDB:
		units, err = dynamodbUnits(payload)
	case SourceFirehose:
		units, err = firehoseUnits(payload)
	case SourceEventBridge:
		units, err = h.eventBridgeUnits(ctx, payload)
	case SourceDirect:
		units, err = directUnits(payload)
	case SourceAPIGW:
		var body []byte
		var id string
		if body, id, err = apigwBody(payload); err == nil {
			units, err = apigwUnits(body, id)
		}
	default:
		err = fmt.Errorf("lambda: unknown source %q (want one of %s)", source, sourceList)
	}
	if err != nil {
		return nil, nil, err
	}
	for _, u := range units {
		if u.err != nil {
			unitErrs = append(unitErrs, u.err)
			continue
		}
		recs = append(recs, u.records...)
	}
	return recs, unitErrs, nil
}
