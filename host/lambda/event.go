package lambda

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// KinesisRecord is one record of a Kinesis event built by
// NewKinesisEvent: what GetRecords returns for it, plus its shard.
type KinesisRecord struct {
	// ShardID is the shard the record came from ("shardId-000000000000").
	ShardID string
	// SequenceNumber and PartitionKey are the record's Kinesis keys.
	SequenceNumber string
	PartitionKey   string
	// Data is the record's payload (a KPL-aggregated record included).
	Data []byte
	// ArrivalTime is the approximate arrival timestamp.
	ArrivalTime time.Time
}

// NewKinesisEvent encodes records as the event Lambda's Kinesis event
// source mapping delivers from the stream streamARN. weir consume builds
// its batches with it; tests use it to replay what they read from a
// stream.
func NewKinesisEvent(streamARN string, recs []KinesisRecord) ([]byte, error) {
	ev := events.KinesisEvent{Records: make([]events.KinesisEventRecord, len(recs))}
	for i, r := range recs {
		ev.Records[i] = events.KinesisEventRecord{
			EventID:        r.ShardID + ":" + r.SequenceNumber,
			EventName:      "aws:kinesis:record",
			EventSource:    "aws:kinesis",
			EventSourceArn: streamARN,
			EventVersion:   "1.0",
			Kinesis: events.KinesisRecord{
				Data:                        r.Data,
				PartitionKey:                r.PartitionKey,
				SequenceNumber:              r.SequenceNumber,
				KinesisSchemaVersion:        "1.0",
				ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: r.ArrivalTime},
			},
		}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("lambda: encode Kinesis event: %w", err)
	}
	return b, nil
}
