package lambda

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/valyala/fastjson"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/kpl"
)

// kinesisEvent mirrors events.KinesisEvent with the data kept as text, so
// that a record with invalid base64 fails alone instead of failing the
// decoding of the whole event.
type kinesisEvent struct {
	Records []kinesisEventRecord `json:"Records"`
}

// kinesisEventRecord is one record of a kinesisEvent.
type kinesisEventRecord struct {
	EventID        string `json:"eventID"`
	EventSourceArn string `json:"eventSourceARN"`
	Kinesis        struct {
		ApproximateArrivalTimestamp float64 `json:"approximateArrivalTimestamp"`
		Data                        string  `json:"data"`
		PartitionKey                string  `json:"partitionKey"`
		SequenceNumber              string  `json:"sequenceNumber"`
	} `json:"kinesis"`
}

// KinesisUnits decodes a Kinesis event into units, one per Kinesis
// record: base64, KPL de-aggregation (MD5 checked), gzip/zstd, NDJSON and
// JSON arrays. Exported through DecodeEvent for replay.
func kinesisUnits(payload []byte) ([]*unit, error) {
	ev, err := parseKinesisEvent(payload)
	if err != nil {
		return nil, err
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

// parseKinesisEvent decodes a Kinesis event with fastjson: an event of
// 10,000 records holds ~20 MB of base64, which encoding/json takes five
// times longer to scan.
func parseKinesisEvent(payload []byte) (*kinesisEvent, error) {
	var p fastjson.Parser
	v, err := p.ParseBytes(payload)
	if err != nil {
		return nil, fmt.Errorf("lambda: malformed Kinesis event: %w", err)
	}
	if v.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("lambda: malformed Kinesis event: not a JSON object")
	}
	ev := &kinesisEvent{}
	rv := v.Get("Records")
	if rv == nil {
		return ev, nil
	}
	recs, err := rv.Array()
	if err != nil {
		return nil, fmt.Errorf("lambda: malformed Kinesis event: Records: %w", err)
	}
	ev.Records = make([]kinesisEventRecord, len(recs))
	str := func(v *fastjson.Value, i int, path ...string) (string, error) {
		f := v.Get(path...)
		if f == nil || f.Type() == fastjson.TypeNull {
			return "", nil
		}
		b, err := f.StringBytes()
		if err != nil {
			return "", fmt.Errorf("lambda: malformed Kinesis event: record %d: %s: %w", i, strings.Join(path, "."), err)
		}
		return string(b), nil
	}
	for i, r := range recs {
		if r.Type() != fastjson.TypeObject {
			return nil, fmt.Errorf("lambda: malformed Kinesis event: record %d is not an object", i)
		}
		er := &ev.Records[i]
		fields := []struct {
			dst  *string
			path []string
		}{
			{&er.EventID, []string{"eventID"}},
			{&er.EventSourceArn, []string{"eventSourceARN"}},
			{&er.Kinesis.Data, []string{"kinesis", "data"}},
			{&er.Kinesis.PartitionKey, []string{"kinesis", "partitionKey"}},
			{&er.Kinesis.SequenceNumber, []string{"kinesis", "sequenceNumber"}},
		}
		for _, f := range fields {
			if *f.dst, err = str(r, i, f.path...); err != nil {
				return nil, err
			}
		}
		if t := r.Get("kinesis", "approximateArrivalTimestamp"); t != nil && t.Type() == fastjson.TypeNumber {
			er.Kinesis.ApproximateArrivalTimestamp = t.GetFloat64()
		}
	}
	return ev, nil
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
