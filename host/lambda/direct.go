package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/weirhq/weir/engine"
)

// direct handles a direct invocation: the payload is the records (a JSON
// object, a JSON array of them, a CloudTrail {"Records": [...]} document,
// NDJSON in a JSON string is not unwrapped). Each record is a unit; the
// invocation fails, naming the failed records, unless they were
// dead-lettered, so that an asynchronous invocation is retried by Lambda
// and a synchronous caller sees the error.
func (h *Handler) direct(ctx context.Context, payload []byte) (any, error) {
	units, err := directUnits(payload)
	if err != nil {
		return nil, err
	}
	if err := h.async(ctx, SourceDirect, units); err != nil {
		return nil, err
	}
	return map[string]int{"records": len(units)}, nil
}

// directUnits splits a direct invocation's payload into one unit per
// record.
func directUnits(payload []byte) ([]*unit, error) {
	recs, err := engine.DecodeRecords(bytes.NewReader(payload), "invocation")
	if err != nil {
		return nil, fmt.Errorf("lambda: direct invocation: %w", err)
	}
	units := make([]*unit, len(recs))
	for i := range recs {
		recs[i].Meta.SubSequenceNumber = uint64(i)
		recs[i].Meta.SequenceNumber = strconv.Itoa(i)
		units[i] = &unit{id: "record " + strconv.Itoa(i), raw: recs[i].Data, meta: recs[i].Meta, records: recs[i : i+1], attempts: 1}
	}
	return units, nil
}

// eventBridgeEvent is the envelope of an EventBridge event.
type eventBridgeEvent struct {
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Time       time.Time       `json:"time"`
	Detail     json.RawMessage `json:"detail"`
}

// eventBridge handles an EventBridge event (a rule's target, invoked
// asynchronously): the whole event (envelope and detail) is one record,
// except an S3 "Object Created" event, whose object is read and decoded
// like an S3 notification's. A failure fails the invocation (Lambda
// retries it, then sends it to the on-failure destination) unless it was
// dead-lettered.
func (h *Handler) eventBridge(ctx context.Context, payload []byte) (any, error) {
	units, err := h.eventBridgeUnits(ctx, payload)
	if err != nil {
		return nil, err
	}
	return nil, h.async(ctx, SourceEventBridge, units)
}

// eventBridgeUnits decodes an EventBridge event into one unit.
func (h *Handler) eventBridgeUnits(ctx context.Context, payload []byte) ([]*unit, error) {
	var ev eventBridgeEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("lambda: malformed EventBridge event: %w", err)
	}
	meta := engine.Metadata{SequenceNumber: ev.ID, Source: ev.Source, ArrivalTime: ev.Time}
	u := &unit{id: ev.ID, key: "eventbridge:" + ev.ID, meta: meta, raw: bytes.TrimSpace(payload), attempts: 1}
	if ev.Source == "aws.s3" && ev.DetailType == "Object Created" {
		var d struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key       string `json:"key"`
				Sequencer string `json:"sequencer"`
			} `json:"object"`
		}
		if err := json.Unmarshal(ev.Detail, &d); err == nil && d.Bucket.Name != "" && d.Object.Key != "" {
			s3ev := events.S3Event{Records: []events.S3EventRecord{{EventSource: "aws:s3", EventTime: ev.Time, EventName: "ObjectCreated:EventBridge"}}}
			s3ev.Records[0].S3.Bucket.Name = d.Bucket.Name
			s3ev.Records[0].S3.Object.Key = d.Object.Key // EventBridge keys are URL-encoded too
			s3ev.Records[0].S3.Object.Sequencer = d.Object.Sequencer
			recs, err := h.s3Records(ctx, s3ev, meta)
			if err != nil {
				u.err = fmt.Errorf("eventbridge event %s: %w", ev.ID, err)
			}
			u.records = recs
			return []*unit{u}, nil
		}
	}
	u.records = []engine.Record{{Data: u.raw, Meta: meta}}
	return []*unit{u}, nil
}
