package engine

import (
	"context"
	"time"
)

// Metadata describes where a record came from. Every field is optional;
// sources fill what they know (Kinesis fills all of them).
type Metadata struct {
	// PartitionKey is the Kinesis partition key (or the SQS message group).
	PartitionKey string
	// SequenceNumber identifies the record in its source: the Kinesis
	// sequence number, the SQS message id, the line number of a file...
	SequenceNumber string
	// SubSequenceNumber is the index of a record inside a KPL-aggregated
	// Kinesis record (0 when not aggregated).
	SubSequenceNumber uint64
	// ArrivalTime is when the source received the record (zero if unknown).
	ArrivalTime time.Time
	// Source names the source: a stream ARN, a queue, a file name.
	Source string
}

// Record is one event travelling through a pipeline.
type Record struct {
	// Data is the record's payload, usually one JSON document.
	Data []byte
	// Meta is the record's provenance.
	Meta Metadata
}

// Output is one record produced by a stage.
type Output struct {
	// Route names the pipeline output the record goes to. Empty means the
	// pipeline's default output.
	Route string
	// Data is the produced payload.
	Data []byte
}

// Status is the outcome of one input record in one stage.
type Status uint8

// The three outcomes a stage can give a record.
const (
	// StatusOK means the record was transformed; Result.Outputs holds what
	// it produced (possibly nothing).
	StatusOK Status = iota
	// StatusDropped means the stage filtered the record out on purpose.
	StatusDropped
	// StatusFailed means the stage could not transform the record;
	// Result.Err says why.
	StatusFailed
)

// String returns "ok", "dropped" or "failed".
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusDropped:
		return "dropped"
	case StatusFailed:
		return "failed"
	}
	return "unknown"
}

// Result is what a stage made of one input record.
type Result struct {
	Status  Status
	Outputs []Output
	// Err is set when Status is StatusFailed.
	Err error
	// Joined lists other records of the batch (positions in the records
	// given to Process) whose data this record's outputs carry: an
	// aggregate of several records is the output of one of them, and the
	// others, with no output of their own, are joined to it. Whatever
	// happens to this record later happens to them: if it fails, they
	// fail too (so a source that retries failed records one by one, such
	// as SQS, retries every record the aggregate held); if it is
	// dead-lettered, each of them is dead-lettered with its own record.
	Joined []int
}

// Stage transforms batches of records. Implementations must be safe for
// concurrent use by multiple goroutines: the pipeline may run several
// batches at once.
type Stage interface {
	// Process returns exactly one Result per record, in order. A non-nil
	// error fails the whole batch (see the package documentation).
	Process(ctx context.Context, records []Record) ([]Result, error)
	// Close releases the stage's resources.
	Close(ctx context.Context) error
}

// Describer is implemented by stages that can name the code they run, so
// that record errors can say which module (and which version of it) failed.
type Describer interface {
	// Describe returns the module reference and its sha256 digest (hex).
	Describe() (module, digest string)
}
