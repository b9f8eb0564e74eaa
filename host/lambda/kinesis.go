package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/weirhq/weir/engine"
	fastb64 "github.com/weirhq/weir/host/internal/b64"
	"github.com/weirhq/weir/host/internal/par"
	"github.com/weirhq/weir/host/kpl"
)

// kinesisUnits decodes a Kinesis event into units, one per Kinesis
// record: base64, KPL de-aggregation (MD5 checked), gzip/zstd, NDJSON and
// JSON arrays. Exported through DecodeEvent for replay.
//
// The event is scanned once by scanKinesisEvent (an event of 10,000
// records holds ~20 MB of base64, which encoding/json takes five times
// longer to scan, and which a general parser such as fastjson copies and
// scans three times), which checks it is JSON and finds each record's
// fields in its text; they are then read and decoded straight from the
// event, with no copy, by one worker per CPU (GOMAXPROCS), each unit on
// its own:
// a record with invalid base64 or a bad KPL digest fails alone. The KPL
// MD5 digests of all records are computed together (kpl.Digests: many
// records at once in the vector lanes) between decoding and
// de-aggregation, which checks each against its record. The decoded
// data (which the records slice) is taken from the invocation's batch
// arena when ctx has one (engine.ArenaFrom): reused memory, not ~11 MB
// allocated, cleared and collected per event.
func kinesisUnits(ctx context.Context, payload []byte) ([]*unit, error) {
	arena := engine.ArenaFrom(ctx)
	fields := eventFields.Swap(nil)
	if fields == nil {
		fields = new([]kinesisText)
	}
	recs, err := scanKinesisEvent(payload, *fields)
	defer func() {
		// No pointer into this event is kept for the next: the slice
		// is all zeros past its length after every call, so only what
		// this one wrote is cleared (all of it when it failed, not
		// saying how far it got).
		if cap(recs) > cap(*fields) {
			*fields = recs[:0]
		}
		if recs != nil {
			clear(recs)
		} else {
			clear((*fields)[:cap(*fields)])
		}
		eventFields.Store(fields)
	}()
	if errors.Is(err, errNoRecords) {
		return []*unit{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lambda: malformed Kinesis event: %w", err)
	}
	// Each record's fields and data, one worker per CPU (a worker reads
	// and unescapes only its own records' values in the event's text).
	units := make([]*unit, len(recs))
	data := make([][]byte, len(recs))
	errs := make([]error, len(recs))
	workers := runtime.GOMAXPROCS(0)
	par.Each(len(recs), workers, func(i int) bool {
		var text []byte
		units[i], text, errs[i] = kinesisUnit(i, &recs[i])
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

// eventFields keeps the slice kinesisUnits read the last event's fields
// into, for the next: an event of 10,000 records has ~2 MB of them
// (pointers into the event), which growing by append allocated and
// copied ~10 MB a time, a third of the event's scan with the collections
// it caused. A decode that finds it taken (concurrent decodes) starts a
// slice of its own.
var eventFields atomic.Pointer[[]kinesisText]

// kinesisUnit reads the i-th record of a Kinesis event: its unit and its
// data's base64 text (in the event's text).
func kinesisUnit(i int, r *kinesisText) (*unit, []byte, error) {
	if !r.object {
		return nil, nil, fmt.Errorf("lambda: malformed Kinesis event: record %d is not an object", i)
	}
	var fields [4][]byte
	for j, f := range []struct {
		name string
		v    jsonText
	}{{"eventID", r.eventID}, {"eventSourceARN", r.source}, {"kinesis.partitionKey", r.partitionKey}, {"kinesis.sequenceNumber", r.sequenceNumber}} {
		var err error
		if fields[j], err = f.v.str(); err != nil {
			return nil, nil, fmt.Errorf("lambda: malformed Kinesis event: record %d: %s: %w", i, f.name, err)
		}
	}
	// The data as it stands in the event (base64 has no character JSON
	// escapes: decodeKinesisData unescapes only when it must).
	var text []byte
	switch r.data.kind {
	case 0, 'n':
	case '"':
		text = r.data.raw
	default:
		return nil, nil, fmt.Errorf("lambda: malformed Kinesis event: record %d: kinesis.data: value is %s, not a string", i, r.data.kindName())
	}
	var arrival float64
	if r.arrival.kind == '0' {
		arrival, _ = strconv.ParseFloat(string(r.arrival.raw), 64)
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

// decodeKinesisData decodes the i-th record's base64 text (as it stands
// in the event: JSON escapes such as \/ are read when the text has any)
// into memory of arena (nil: its own), or sets u.err (with u.raw, the
// data as received).
func decodeKinesisData(arena *engine.Arena, u *unit, i int, text []byte) []byte {
	seq := u.meta.SequenceNumber
	n := base64.StdEncoding.DecodedLen(len(text))
	data := arena.Bytes(n)[:n]
	// Vector instructions (AVX-512 VBMI, AVX2, NEON) over the valid
	// prefix, the rest by encoding/base64: the same bytes and the same
	// errors, ~25x faster on a record's 51 KB (host/internal/b64).
	n, err := fastb64.Decode(data, text)
	if err != nil && bytes.IndexByte(text, '\\') >= 0 {
		if t, uerr := (jsonText{raw: text, kind: '"'}).str(); uerr == nil {
			text = t
			n, err = fastb64.Decode(data, text)
		}
	}
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
