package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/kpl"
)

// kinesisEvent mirrors events.KinesisEvent with the data kept as text, so
// that a record with invalid base64 fails alone instead of failing the
// decoding of the whole event.
type kinesisEvent struct {
	Records []struct {
		EventID        string `json:"eventID"`
		EventSourceArn string `json:"eventSourceARN"`
		Kinesis        struct {
			ApproximateArrivalTimestamp float64 `json:"approximateArrivalTimestamp"`
			Data                        string  `json:"data"`
			PartitionKey                string  `json:"partitionKey"`
			SequenceNumber              string  `json:"sequenceNumber"`
		} `json:"kinesis"`
	} `json:"Records"`
}

// KinesisUnits decodes a Kinesis event into units, one per Kinesis
// record: base64, KPL de-aggregation (MD5 checked), gzip/zstd, NDJSON and
// JSON arrays. Exported through DecodeEvent for replay.
func kinesisUnits(payload []byte) ([]*unit, error) {
	var ev kinesisEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("lambda: malformed Kinesis event: %w", err)
	}
	units := make([]*unit, len(ev.Records))
	for i, r := range ev.Records {
		k := r.Kinesis
		shard := r.EventID
		if j := indexByte(shard, ':'); j >= 0 {
			shard = shard[:j]
		}
		meta := engine.Metadata{
			PartitionKey:   k.PartitionKey,
			SequenceNumber: k.SequenceNumber,
			ArrivalTime:    secondsTime(k.ApproximateArrivalTimestamp),
			Source:         r.EventSourceArn,
		}
		u := &unit{id: k.SequenceNumber, key: "kinesis:" + shard + ":" + k.SequenceNumber, meta: meta}
		units[i] = u
		if k.SequenceNumber == "" {
			return nil, fmt.Errorf("lambda: malformed Kinesis event: record %d has no sequence number", i)
		}
		data, err := base64.StdEncoding.DecodeString(k.Data)
		if err != nil {
			u.err, u.raw = fmt.Errorf("kinesis record %d (seq %s): invalid base64 data: %w", i, k.SequenceNumber, err), []byte(k.Data)
			continue
		}
		u.raw = data
		users, err := kpl.Deaggregate(data)
		if err != nil {
			u.err = fmt.Errorf("kinesis record %d (seq %s): %w", i, k.SequenceNumber, err)
			continue
		}
		var sub uint64
		for j, ur := range users {
			m := meta
			if ur.PartitionKey != "" {
				m.PartitionKey = ur.PartitionKey
			}
			recs, err := split(ur.Data, m, &sub)
			if err != nil {
				u.err = fmt.Errorf("kinesis record %d (seq %s) user record %d: %w", i, k.SequenceNumber, j, err)
				u.records = nil
				break
			}
			u.records = append(u.records, recs...)
		}
	}
	return units, nil
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// secondsTime converts epoch seconds with a fraction.
func secondsTime(s float64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	sec, frac := math.Modf(s)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// kinesis handles a Kinesis event: see the package documentation.
func (h *Handler) kinesis(ctx context.Context, payload []byte) (*events.KinesisEventResponse, error) {
	units, err := kinesisUnits(payload)
	if err != nil {
		return nil, err
	}
	res, err := h.run(ctx, SourceKinesis, units, true, false)
	if err != nil {
		return nil, err
	}
	resp := &events.KinesisEventResponse{BatchItemFailures: []events.KinesisBatchItemFailure{}}
	for i, r := range res {
		if r.failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: units[i].id})
		}
	}
	return resp, nil
}
