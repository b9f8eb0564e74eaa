package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/weirhq/weir/engine"
)

// sqs handles an SQS event: one unit per message, failures reported by
// message id, attempts taken from ApproximateReceiveCount. A message body
// that is an S3 notification (S3 -> SQS, or S3 -> SNS -> SQS) is replaced
// by the objects it names.
func (h *Handler) sqs(ctx context.Context, payload []byte) (*events.SQSEventResponse, error) {
	units, err := h.sqsUnits(ctx, payload)
	if err != nil {
		return nil, err
	}
	res, err := h.run(ctx, SourceSQS, units, false, false)
	if err != nil {
		return nil, err
	}
	resp := &events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for i, r := range res {
		if r.failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: units[i].id})
		}
	}
	return resp, nil
}

// sqsUnits decodes an SQS event: one unit per message.
func (h *Handler) sqsUnits(ctx context.Context, payload []byte) ([]*unit, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("lambda: malformed SQS event: %w", err)
	}
	units := make([]*unit, len(ev.Records))
	for i, m := range ev.Records {
		if m.MessageId == "" {
			return nil, fmt.Errorf("lambda: malformed SQS event: message %d has no messageId", i)
		}
		meta := engine.Metadata{SequenceNumber: m.MessageId, PartitionKey: m.Attributes["MessageGroupId"], Source: m.EventSourceARN}
		if ms, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64); err == nil {
			meta.ArrivalTime = time.UnixMilli(ms).UTC()
		}
		u := &unit{id: m.MessageId, key: "sqs:" + m.MessageId, meta: meta, raw: []byte(m.Body)}
		if n, err := strconv.Atoi(m.Attributes["ApproximateReceiveCount"]); err == nil && n > 0 {
			u.attempts = n
		}
		units[i] = u
		h.fill(ctx, u, []byte(m.Body), fmt.Sprintf("sqs message %d (%s)", i, m.MessageId))
	}
	return units, nil
}

// fill sets a unit's records from a message body: the objects of an S3
// notification (bare or wrapped in an SNS envelope), else the body split
// into records.
func (h *Handler) fill(ctx context.Context, u *unit, body []byte, what string) {
	var env struct {
		Type    string `json:"Type"`
		Message string `json:"Message"`
	}
	if json.Unmarshal(body, &env) == nil && env.Type == "Notification" && env.Message != "" {
		body = []byte(env.Message) // SNS -> SQS without raw message delivery
	}
	if isS3TestEvent(body) {
		return // sent once when a bucket's notifications are set up: no records
	}
	if s3ev, ok := asS3Event(body); ok {
		recs, err := h.s3Records(ctx, s3ev, u.meta)
		if err != nil {
			u.err = fmt.Errorf("%s: %w", what, err)
			return
		}
		u.records = recs
		return
	}
	var sub uint64
	recs, err := split(body, u.meta, &sub)
	if err != nil {
		u.err = fmt.Errorf("%s: %w", what, err)
		return
	}
	u.records = recs
}

// isS3TestEvent reports whether body is the s3:TestEvent message S3
// sends to a queue or topic when notifications are configured.
func isS3TestEvent(body []byte) bool {
	if !bytes.Contains(body, []byte("s3:TestEvent")) {
		return false
	}
	var ev struct {
		Service string `json:"Service"`
		Event   string `json:"Event"`
	}
	return json.Unmarshal(body, &ev) == nil && ev.Service == "Amazon S3" && ev.Event == "s3:TestEvent"
}

// asS3Event reports whether body is an S3 event notification.
func asS3Event(body []byte) (events.S3Event, bool) {
	var ev events.S3Event
	if !bytes.Contains(body, []byte(`"s3"`)) || json.Unmarshal(body, &ev) != nil || len(ev.Records) == 0 {
		return ev, false
	}
	for _, r := range ev.Records {
		if r.EventSource != "aws:s3" || r.S3.Bucket.Name == "" {
			return ev, false
		}
	}
	return ev, true
}

// s3Records reads and splits every object an S3 event names.
func (h *Handler) s3Records(ctx context.Context, ev events.S3Event, meta engine.Metadata) ([]engine.Record, error) {
	if h.Objects == nil {
		return nil, fmt.Errorf("S3 notification, but no S3 client is configured")
	}
	var out []engine.Record
	var sub uint64
	for i, r := range ev.Records {
		key, err := url.QueryUnescape(r.S3.Object.Key) // keys arrive URL-encoded
		if err != nil {
			key = r.S3.Object.Key
		}
		if !strings.HasPrefix(r.EventName, "ObjectCreated") && r.EventName != "" {
			continue
		}
		body, err := h.Objects(ctx, r.S3.Bucket.Name, key)
		if err != nil {
			return nil, fmt.Errorf("object %d s3://%s/%s: %w", i, r.S3.Bucket.Name, key, err)
		}
		m := meta
		m.Source = "s3://" + r.S3.Bucket.Name + "/" + key
		m.ArrivalTime = r.EventTime
		if m.SequenceNumber == "" {
			m.SequenceNumber = r.S3.Object.Sequencer
		}
		recs, err := engine.DecodeRecords(body, m.Source)
		_ = body.Close()
		if err != nil {
			return nil, fmt.Errorf("object %d s3://%s/%s: %w", i, r.S3.Bucket.Name, key, err)
		}
		for j := range recs {
			mm := m
			mm.SubSequenceNumber = sub
			sub++
			recs[j].Meta = mm
		}
		out = append(out, recs...)
	}
	return out, nil
}

// sns handles an SNS event (one message per invocation). SNS invokes
// asynchronously: a failure is returned as the invocation's error, so
// that Lambda retries it (and then sends it to the function's on-failure
// destination), unless it was dead-lettered.
func (h *Handler) sns(ctx context.Context, payload []byte) (any, error) {
	units, err := h.snsUnits(ctx, payload)
	if err != nil {
		return nil, err
	}
	return nil, h.async(ctx, SourceSNS, units)
}

// snsUnits decodes an SNS event: one unit per message.
func (h *Handler) snsUnits(ctx context.Context, payload []byte) ([]*unit, error) {
	var ev events.SNSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("lambda: malformed SNS event: %w", err)
	}
	units := make([]*unit, len(ev.Records))
	for i, r := range ev.Records {
		m := r.SNS
		meta := engine.Metadata{SequenceNumber: m.MessageID, Source: m.TopicArn, ArrivalTime: m.Timestamp}
		u := &unit{id: m.MessageID, key: "sns:" + m.MessageID, meta: meta, raw: []byte(m.Message)}
		units[i] = u
		h.fill(ctx, u, []byte(m.Message), fmt.Sprintf("sns message %d (%s)", i, m.MessageID))
	}
	return units, nil
}

// s3 handles an S3 notification invoking the function directly.
func (h *Handler) s3(ctx context.Context, payload []byte) (any, error) {
	units, err := h.s3Units(ctx, payload)
	if err != nil {
		return nil, err
	}
	return nil, h.async(ctx, SourceS3, units)
}

// s3Units decodes an S3 notification: one unit per object.
func (h *Handler) s3Units(ctx context.Context, payload []byte) ([]*unit, error) {
	ev, ok := asS3Event(payload)
	if !ok {
		return nil, fmt.Errorf("lambda: malformed S3 event")
	}
	units := make([]*unit, len(ev.Records))
	for i, r := range ev.Records {
		id := r.S3.Bucket.Name + "/" + r.S3.Object.Key + "@" + r.S3.Object.Sequencer
		u := &unit{id: id, key: "s3:" + id, meta: engine.Metadata{SequenceNumber: r.S3.Object.Sequencer}}
		units[i] = u
		recs, err := h.s3Records(ctx, events.S3Event{Records: ev.Records[i : i+1]}, u.meta)
		if err != nil {
			u.err = fmt.Errorf("s3 record %d: %w", i, err)
		}
		u.records = recs
	}
	return units, nil
}

// async runs the units of an asynchronous invocation and returns an
// error naming the failed ones.
func (h *Handler) async(ctx context.Context, source string, units []*unit) error {
	res, err := h.run(ctx, source, units, false, false)
	if err != nil {
		return err
	}
	var failed []string
	var first error
	for i, r := range res {
		if r.failed {
			failed = append(failed, units[i].id)
			if first == nil {
				first = r.err
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("lambda: %s: %d of %d failed (%s): %w", source, len(failed), len(units), strings.Join(failed, ", "), first)
	}
	return nil
}

// dynamodb handles a DynamoDB Streams event: one unit per stream record,
// whose record is the JSON document
// {"event_name","keys","new_image","old_image"} with the images in plain
// JSON (not DynamoDB's typed JSON). Ordered like Kinesis.
func (h *Handler) dynamodb(ctx context.Context, payload []byte) (*events.DynamoDBEventResponse, error) {
	units, err := dynamodbUnits(payload)
	if err != nil {
		return nil, err
	}
	res, err := h.run(ctx, SourceDynamoDB, units, true, false)
	if err != nil {
		return nil, err
	}
	resp := &events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{}}
	for i, r := range res {
		if r.failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: units[i].id})
		}
	}
	return resp, nil
}

// dynamodbUnits decodes a DynamoDB Streams event: one unit per stream
// record.
func dynamodbUnits(payload []byte) ([]*unit, error) {
	var ev struct {
		Records []struct {
			EventID        string `json:"eventID"`
			EventName      string `json:"eventName"`
			EventSourceArn string `json:"eventSourceARN"`
			Dynamodb       struct {
				ApproximateCreationDateTime float64                    `json:"ApproximateCreationDateTime"`
				Keys                        map[string]json.RawMessage `json:"Keys"`
				NewImage                    map[string]json.RawMessage `json:"NewImage"`
				OldImage                    map[string]json.RawMessage `json:"OldImage"`
				SequenceNumber              string                     `json:"SequenceNumber"`
			} `json:"dynamodb"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("lambda: malformed DynamoDB Streams event: %w", err)
	}
	units := make([]*unit, len(ev.Records))
	for i, r := range ev.Records {
		d := r.Dynamodb
		meta := engine.Metadata{SequenceNumber: d.SequenceNumber, Source: r.EventSourceArn, ArrivalTime: secondsTime(d.ApproximateCreationDateTime)}
		u := &unit{id: d.SequenceNumber, key: "dynamodb:" + d.SequenceNumber, meta: meta}
		units[i] = u
		if d.SequenceNumber == "" {
			return nil, fmt.Errorf("lambda: malformed DynamoDB Streams event: record %d has no SequenceNumber", i)
		}
		doc := map[string]any{"event_name": r.EventName}
		var err error
		for name, img := range map[string]map[string]json.RawMessage{"keys": d.Keys, "new_image": d.NewImage, "old_image": d.OldImage} {
			if img == nil {
				continue
			}
			if doc[name], err = plainImage(img); err != nil {
				break
			}
		}
		var data []byte
		if err == nil {
			data, err = json.Marshal(doc)
		}
		if err != nil {
			u.err = fmt.Errorf("dynamodb record %d (seq %s): %w", i, d.SequenceNumber, err)
			continue
		}
		u.raw = data
		u.records = []engine.Record{{Data: data, Meta: meta}}
	}
	return units, nil
}

// plainImage converts DynamoDB typed JSON ({"a":{"S":"x"}}) to plain JSON
// values.
func plainImage(img map[string]json.RawMessage) (map[string]any, error) {
	out := make(map[string]any, len(img))
	for k, raw := range img {
		v, err := plainValue(raw)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

func plainValue(raw json.RawMessage) (any, error) {
	var typed map[string]json.RawMessage
	if err := json.Unmarshal(raw, &typed); err != nil || len(typed) != 1 {
		return nil, fmt.Errorf("not a typed DynamoDB value: %s", raw)
	}
	for t, v := range typed {
		switch t {
		case "S", "B":
			var s string
			err := json.Unmarshal(v, &s)
			return s, err
		case "N":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, err
			}
			return json.Number(s), nil
		case "BOOL":
			var b bool
			err := json.Unmarshal(v, &b)
			return b, err
		case "NULL":
			return nil, nil
		case "SS", "NS", "BS":
			var l []string
			err := json.Unmarshal(v, &l)
			return l, err
		case "L":
			var l []json.RawMessage
			if err := json.Unmarshal(v, &l); err != nil {
				return nil, err
			}
			out := make([]any, len(l))
			for i, e := range l {
				x, err := plainValue(e)
				if err != nil {
					return nil, err
				}
				out[i] = x
			}
			return out, nil
		case "M":
			var m map[string]json.RawMessage
			if err := json.Unmarshal(v, &m); err != nil {
				return nil, err
			}
			return plainImage(m)
		}
		return nil, fmt.Errorf("unknown DynamoDB type %q", t)
	}
	return nil, nil
}

// firehose handles a Firehose data transformation: every record gets a
// result by recordId: Ok with the concatenation of ALL its default-route
// outputs (one NDJSON line each), Dropped, or ProcessingFailed (Firehose
// then writes it to its error prefix). Outputs routed elsewhere go to the
// sinks.
func (h *Handler) firehose(ctx context.Context, payload []byte) (*events.KinesisFirehoseResponse, error) {
	units, err := firehoseUnits(payload)
	if err != nil {
		return nil, err
	}
	h2 := *h
	h2.DeadLetter = "" // failed records go to Firehose's own error output
	res, err := h2.run(ctx, SourceFirehose, units, false, true)
	if err != nil {
		return nil, err
	}
	resp := &events.KinesisFirehoseResponse{Records: make([]events.KinesisFirehoseResponseRecord, len(units))}
	for i, r := range res {
		rec := events.KinesisFirehoseResponseRecord{RecordID: units[i].id}
		var buf bytes.Buffer
		for _, o := range r.outputs {
			if o.Route == "" || o.Route == engine.DefaultRoute {
				buf.Write(bytes.TrimRight(o.Data, "\n"))
				buf.WriteByte('\n')
			}
		}
		switch {
		case r.failed:
			rec.Result = events.KinesisFirehoseTransformedStateProcessingFailed
			rec.Data = units[i].raw
		case buf.Len() == 0:
			rec.Result = events.KinesisFirehoseTransformedStateDropped
		default:
			rec.Result = events.KinesisFirehoseTransformedStateOk
			rec.Data = buf.Bytes()
		}
		resp.Records[i] = rec
	}
	return resp, nil
}

// firehoseUnits decodes a Firehose transformation event: one unit per
// recordId.
func firehoseUnits(payload []byte) ([]*unit, error) {
	var ev struct {
		DeliveryStreamArn string `json:"deliveryStreamArn"`
		Records           []struct {
			RecordID                    string `json:"recordId"`
			ApproximateArrivalTimestamp int64  `json:"approximateArrivalTimestamp"`
			Data                        string `json:"data"`
		} `json:"records"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("lambda: malformed Firehose event: %w", err)
	}
	units := make([]*unit, len(ev.Records))
	for i, r := range ev.Records {
		if r.RecordID == "" {
			return nil, fmt.Errorf("lambda: malformed Firehose event: record %d has no recordId", i)
		}
		meta := engine.Metadata{SequenceNumber: r.RecordID, Source: ev.DeliveryStreamArn}
		if r.ApproximateArrivalTimestamp > 0 {
			meta.ArrivalTime = time.UnixMilli(r.ApproximateArrivalTimestamp).UTC()
		}
		// Firehose does not retry a transformation's failed records: they
		// go to its error output, so no attempt counting.
		u := &unit{id: r.RecordID, meta: meta, attempts: 1}
		units[i] = u
		data, err := base64.StdEncoding.DecodeString(r.Data)
		if err != nil {
			u.err = fmt.Errorf("firehose record %d (%s): invalid base64 data: %w", i, r.RecordID, err)
			continue
		}
		u.raw = data
		var sub uint64
		if u.records, err = split(data, meta, &sub); err != nil {
			u.err = fmt.Errorf("firehose record %d (%s): %w", i, r.RecordID, err)
		}
	}
	return units, nil
}

// apigw handles an API Gateway (REST or HTTP API) or Function URL
// request synchronously: the body (NDJSON, a JSON array or document,
// optionally base64) is transformed and the default-route outputs are
// returned as NDJSON. Status 200 when every record went through; 422
// with a JSON list of errors when some failed (the outputs of the others
// are still delivered to non-default routes).
func (h *Handler) apigw(ctx context.Context, payload []byte) (*events.APIGatewayV2HTTPResponse, error) {
	body, id, err := apigwBody(payload)
	if errors.Is(err, errBadBody) {
		return httpError(400, err.Error()), nil
	}
	if err != nil {
		return nil, err
	}
	units, err := apigwUnits(body, id)
	if err != nil {
		return httpError(400, err.Error()), nil
	}
	h2 := *h
	h2.DeadLetter = "" // a caller gets its errors back, nothing is dead-lettered
	res, err := h2.run(ctx, SourceAPIGW, units, false, true)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	var errs []string
	for _, r := range res {
		if r.failed {
			errs = append(errs, r.err.Error())
			continue
		}
		for _, o := range r.outputs {
			if o.Route == "" || o.Route == engine.DefaultRoute {
				out.Write(bytes.TrimRight(o.Data, "\n"))
				out.WriteByte('\n')
			}
		}
	}
	if len(errs) > 0 {
		b, _ := json.Marshal(map[string]any{"errors": errs, "outputs": out.String()})
		return &events.APIGatewayV2HTTPResponse{StatusCode: 422, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}, nil
	}
	return &events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/x-ndjson"}, Body: out.String()}, nil
}

// errBadBody marks a request body that cannot be decoded (a 400).
var errBadBody = errors.New("body")

// apigwBody returns an HTTP event's body (base64-decoded) and request id.
func apigwBody(payload []byte) (body []byte, requestID string, err error) {
	var req struct {
		Body            string `json:"body"`
		IsBase64Encoded bool   `json:"isBase64Encoded"`
		RequestContext  struct {
			RequestID string `json:"requestId"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, "", fmt.Errorf("lambda: malformed HTTP event: %w", err)
	}
	body = []byte(req.Body)
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return nil, "", fmt.Errorf("%w: invalid base64: %w", errBadBody, err)
		}
		body = b
	}
	return body, req.RequestContext.RequestID, nil
}

// apigwUnits splits a request body into units of one record each.
func apigwUnits(body []byte, requestID string) ([]*unit, error) {
	recs, err := engine.DecodeRecords(bytes.NewReader(body), "request "+requestID)
	if err != nil {
		return nil, err
	}
	units := make([]*unit, len(recs))
	for i := range recs {
		recs[i].Meta.SubSequenceNumber = uint64(i)
		units[i] = &unit{id: strconv.Itoa(i), records: recs[i : i+1], attempts: 1}
	}
	return units, nil
}

func httpError(code int, msg string) *events.APIGatewayV2HTTPResponse {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return &events.APIGatewayV2HTTPResponse{StatusCode: code, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}
}
