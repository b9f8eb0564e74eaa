package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	asmbase64 "github.com/segmentio/asm/base64"
	"github.com/valyala/fastjson"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/internal/par"
	"github.com/weirhq/weir/host/kpl"
)

// kinesisUnits decodes a Kinesis event into units, one per Kinesis
// record: base64, KPL de-aggregation (MD5 checked), gzip/zstd, NDJSON and
// JSON arrays. Exported through DecodeEvent for replay.
//
// The event is parsed once with fastjson (an event of 10,000 records holds
// ~20 MB of base64, which encoding/json takes five times longer to scan);
// each record's fields and data are then read and decoded straight from
// the parsed text, with no copy, by one worker per CPU (GOMAXPROCS),
// each unit on its own:
// a record with invalid base64 or a bad KPL digest fails alone. The KPL
// MD5 digests of all records are computed together (kpl.Digests: many
// records at once in the vector lanes) between decoding and
// de-aggregation, which checks each against its record. The decoded
// data (which the records slice) is taken from the invocation's batch
// arena when ctx has one (engine.ArenaFrom): reused memory, not ~11 MB
// allocated, cleared and collected per event.
func kinesisUnits(ctx context.Context, payload []byte) ([]*unit, error) {
	arena := engine.ArenaFrom(ctx)
	// A parser copies the event into its own buffer: reused, so that
	// ~20 MB are not allocated (and faulted in) per event. Nothing
	// returned points into it.
	p := kinesisParsers.Get()
	defer kinesisParsers.Put(p)
	v, err := p.ParseBytes(payload)
	if err != nil {
		return nil, fmt.Errorf("lambda: malformed Kinesis event: %w", err)
	}
	if v.Type() != fastjson.TypeObject {
		return nil, fmt.Errorf("lambda: malformed Kinesis event: not a JSON object")
	}
	rv := v.Get("Records")
	if rv == nil {
		return []*unit{}, nil
	}
	recs, err := rv.Array()
	if err != nil {
		return nil, fmt.Errorf("lambda: malformed Kinesis event: Records: %w", err)
	}
	// Each record's fields and data, one worker per CPU (a worker reads
	// and unescapes only its own records' values in the parsed tree).
	units := make([]*unit, len(recs))
	data := make([][]byte, len(recs))
	errs := make([]error, len(recs))
	workers := runtime.GOMAXPROCS(0)
	par.Each(len(recs), workers, func(i int) bool {
		var text []byte
		units[i], text, errs[i] = kinesisUnit(i, recs[i])
		if errs[i] != nil {
			return false
		}
		data[i] = decodeKinesisData(arena, units[i], i, text)
		return true
	})
	// Indexes start in order and none starts after a failure: the first
	// failure by index is the one a loop would have met.
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	// The KPL digests of every aggregated record at once (the vector
	// lanes of every core: faster than one by one), checked by
	// DeaggregateSum below.
	var bodies [][]byte
	which := make([]int, len(units)) // index in bodies + 1; 0: none
	for i := range units {
		if b := kpl.Body(data[i]); units[i].err == nil && b != nil {
			bodies = append(bodies, b)
			which[i] = len(bodies)
		}
	}
	sums := kpl.Digests(bodies)
	par.Each(len(units), workers, func(i int) bool {
		if units[i].err == nil {
			var sum *[kpl.DigestSize]byte
			if which[i] > 0 {
				sum = &sums[which[i]-1]
			}
			unpackKinesisUnit(units[i], i, data[i], sum)
		}
		return true
	})
	return units, nil
}

// kinesisUnit reads the i-th record of a Kinesis event: its unit and its
// data's base64 text (in the parser's memory).
func kinesisUnit(i int, r *fastjson.Value) (*unit, []byte, error) {
	if r.Type() != fastjson.TypeObject {
		return nil, nil, fmt.Errorf("lambda: malformed Kinesis event: record %d is not an object", i)
	}
	str := func(path ...string) ([]byte, error) {
		f := r.Get(path...)
		if f == nil || f.Type() == fastjson.TypeNull {
			return nil, nil
		}
		b, err := f.StringBytes()
		if err != nil {
			return nil, fmt.Errorf("lambda: malformed Kinesis event: record %d: %s: %w", i, strings.Join(path, "."), err)
		}
		return b, nil
	}
	var fields [4][]byte
	var err error
	for j, path := range [][]string{{"eventID"}, {"eventSourceARN"}, {"kinesis", "partitionKey"}, {"kinesis", "sequenceNumber"}} {
		if fields[j], err = str(path...); err != nil {
			return nil, nil, err
		}
	}
	text, err := str("kinesis", "data")
	if err != nil {
		return nil, nil, err
	}
	var arrival float64
	if t := r.Get("kinesis", "approximateArrivalTimestamp"); t != nil && t.Type() == fastjson.TypeNumber {
		arrival = t.GetFloat64()
	}
	seq := string(fields[3])
	if seq == "" {
		return nil, nil, fmt.Errorf("lambda: malformed Kinesis event: record %d has no sequence number", i)
	}
	shard := fields[0]
	if j := bytes.IndexByte(shard, ':'); j >= 0 {
		shard = shard[:j]
	}
	return &unit{id: seq, key: "kinesis:" + string(shard) + ":" + seq, meta: engine.Metadata{
		PartitionKey:   string(fields[2]),
		SequenceNumber: seq,
		ArrivalTime:    secondsTime(arrival),
		Source:         string(fields[1]),
	}}, text, nil
}

// kinesisParsers are the parsers of kinesisUnits.
var kinesisParsers fastjson.ParserPool

// decodeKinesisData decodes the i-th record's base64 text into memory of
// arena (nil: its own), or sets u.err (with u.raw, the data as received).
func decodeKinesisData(arena *engine.Arena, u *unit, i int, text []byte) []byte {
	seq := u.meta.SequenceNumber
	n := base64.StdEncoding.DecodedLen(len(text))
	data := arena.Bytes(n)[:n]
	// Vector instructions (AVX2, NEON) over the valid prefix, the rest by
	// encoding/base64: the same bytes and the same errors, ~10x faster
	// on a record's 51 KB.
	n, err := asmbase64.StdEncoding.Decode(data, text)
	if err != nil {
		// encoding/base64 again, for an error naming the right offset.
		_, err = base64.StdEncoding.Decode(data, text)
		u.err, u.raw = fmt.Errorf("kinesis record %d (seq %s): invalid base64 data: %w", i, seq, err), bytes.Clone(text)
		return nil
	}
	u.raw = data[:n]
	return u.raw
}

// unpackKinesisUnit turns the i-th record's data into u's records (KPL
// de-aggregation, its digest checked against sum when given, else
// computed; split), or sets u.err.
func unpackKinesisUnit(u *unit, i int, data []byte, sum *[kpl.DigestSize]byte) {
	seq := u.meta.SequenceNumber
	var users []kpl.UserRecord
	var err error
	if sum != nil {
		users, err = kpl.DeaggregateSum(data, *sum)
	} else {
		users, err = kpl.Deaggregate(data)
	}
	if err != nil {
		u.err = fmt.Errorf("kinesis record %d (seq %s): %w", i, seq, err)
		return
	}
	var sub uint64
	u.records = make([]engine.Record, 0, len(users))
	for j, ur := range users {
		m := u.meta
		if ur.PartitionKey != "" {
			m.PartitionKey = ur.PartitionKey
		}
		if u.records, err = appendSplit(u.records, ur.Data, m, &sub); err != nil {
			u.err = fmt.Errorf("kinesis record %d (seq %s) user record %d: %w", i, seq, j, err)
			u.records = nil
			return
		}
	}
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
	units, err := kinesisUnits(ctx, payload)
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
