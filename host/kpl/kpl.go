// Package kpl reads and writes Kinesis Producer Library (KPL) aggregated
// records.
//
// An aggregated record is the 4-byte magic F3 89 9A C2, a protobuf
// AggregatedRecord (a partition key table, an optional explicit hash key
// table and the user records), and the MD5 digest of the protobuf bytes.
// Deaggregate checks the digest and decodes the protobuf with protowire
// (no reflection); an Aggregator packs user records into aggregated
// records that fit Kinesis' 1 MiB record limit. Digests computes the MD5
// of many records at once in the CPU's vector lanes; DeaggregateSum and
// Aggregator.DeferDigest with Seal let a caller that handles many records
// (the Lambda handler, the Kinesis output) use it. The format is the one of
// github.com/awslabs/kinesis-aggregation, against whose decoder this
// package is tested.
package kpl

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
)

// Magic is the prefix of every KPL-aggregated record.
var Magic = []byte{0xF3, 0x89, 0x9A, 0xC2}

// DigestSize is the size of the MD5 digest that ends an aggregated record.
const DigestSize = md5.Size

// MaxRecordSize is the largest Kinesis record by default: data plus
// partition key, 1 MiB.
const MaxRecordSize = 1 << 20

// MaxLargeRecordSize is the largest record of a stream whose maximum
// record size was raised (UpdateMaxRecordSize): 10 MiB.
const MaxLargeRecordSize = 10 << 20

// ErrDigest is matched by errors.Is when an aggregated record's MD5 digest
// does not match its content.
var ErrDigest = errors.New("kpl: MD5 digest mismatch")

// ErrCorrupt is matched by errors.Is when an aggregated record's protobuf
// cannot be decoded.
var ErrCorrupt = errors.New("kpl: corrupt aggregated record")

// UserRecord is one record inside an aggregated record.
type UserRecord struct {
	// PartitionKey is the user record's partition key.
	PartitionKey string
	// ExplicitHashKey is the user record's explicit hash key ("" if none).
	ExplicitHashKey string
	// Data is the user record's payload. Deaggregate returns slices of its
	// input.
	Data []byte
}

// IsAggregated reports whether data starts with the KPL magic and is long
// enough to hold a digest. It does not check the digest.
func IsAggregated(data []byte) bool {
	return len(data) > len(Magic)+DigestSize && bytes.HasPrefix(data, Magic)
}

// Deaggregate returns the user records of an aggregated record, in order.
// Data that is not aggregated (see IsAggregated) is returned as one user
// record with an empty partition key (the caller knows the Kinesis one).
// A digest mismatch returns an error matching ErrDigest; a protobuf that
// cannot be decoded, or a user record whose key index is out of range,
// an error matching ErrCorrupt. The returned Data slices data.
func Deaggregate(data []byte) ([]UserRecord, error) {
	return deaggregate(data, nil)
}

// DeaggregateSum is Deaggregate with sum, the MD5 of the record's Body
// computed beforehand (Digests over the bodies of many records is faster
// than one by one): sum is checked against the digest the record carries
// as Deaggregate checks its own.
func DeaggregateSum(data []byte, sum [DigestSize]byte) ([]UserRecord, error) {
	return deaggregate(data, &sum)
}

// deaggregate is Deaggregate, computing the MD5 when sum is nil.
func deaggregate(data []byte, sum *[DigestSize]byte) ([]UserRecord, error) {
	if !IsAggregated(data) {
		return []UserRecord{{Data: data}}, nil
	}
	body := data[len(Magic) : len(data)-DigestSize]
	if sum == nil {
		s := md5.Sum(body)
		sum = &s
	}
	if !bytes.Equal(sum[:], data[len(data)-DigestSize:]) {
		return nil, ErrDigest
	}
	// The tables' keys and the records are collected in pooled scratch
	// (they point into data), then the keys made strings at once: one
	// allocation per table, not one per key (~33 per 51 KB record).
	sc := deaggPool.Get().(*deaggScratch)
	defer func() {
		// No pointers into data kept in the pool.
		clear(sc.recs)
		clear(sc.pks)
		clear(sc.ehks)
		sc.pks, sc.ehks, sc.recs = sc.pks[:0], sc.ehks[:0], sc.recs[:0]
		deaggPool.Put(sc)
	}()
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, protowire.ParseError(n))
		}
		body = body[n:]
		if typ != protowire.BytesType || num < 1 || num > 3 {
			n = protowire.ConsumeFieldValue(num, typ, body)
			if n < 0 {
				return nil, fmt.Errorf("%w: field %d: %v", ErrCorrupt, num, protowire.ParseError(n))
			}
			body = body[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(body)
		if n < 0 {
			return nil, fmt.Errorf("%w: field %d: %v", ErrCorrupt, num, protowire.ParseError(n))
		}
		body = body[n:]
		switch num {
		case 1:
			sc.pks = append(sc.pks, v)
		case 2:
			sc.ehks = append(sc.ehks, v)
		case 3:
			r := rawRecord{}
			hasPK, hasData := false, false
			for len(v) > 0 {
				fn, ft, m := protowire.ConsumeTag(v)
				if m < 0 {
					return nil, fmt.Errorf("%w: user record %d: %v", ErrCorrupt, len(sc.recs), protowire.ParseError(m))
				}
				v = v[m:]
				switch {
				case fn == 1 && ft == protowire.VarintType:
					r.pk, m = protowire.ConsumeVarint(v)
					hasPK = true
				case fn == 2 && ft == protowire.VarintType:
					r.ehk, m = protowire.ConsumeVarint(v)
					r.hasEHK = true
				case fn == 3 && ft == protowire.BytesType:
					r.data, m = protowire.ConsumeBytes(v)
					hasData = true
				default:
					m = protowire.ConsumeFieldValue(fn, ft, v)
				}
				if m < 0 {
					return nil, fmt.Errorf("%w: user record %d: field %d: %v", ErrCorrupt, len(sc.recs), fn, protowire.ParseError(m))
				}
				v = v[m:]
			}
			if !hasPK || !hasData {
				return nil, fmt.Errorf("%w: user record %d: missing partition key index or data", ErrCorrupt, len(sc.recs))
			}
			sc.recs = append(sc.recs, r)
		}
	}
	pks, ehks := strs(sc.pks), strs(sc.ehks)
	out := make([]UserRecord, len(sc.recs))
	for i, r := range sc.recs {
		if r.pk >= uint64(len(pks)) {
			return nil, fmt.Errorf("%w: user record %d: partition key index %d out of range (table has %d)", ErrCorrupt, i, r.pk, len(pks))
		}
		out[i] = UserRecord{PartitionKey: pks[r.pk], Data: r.data}
		if r.hasEHK {
			if r.ehk >= uint64(len(ehks)) {
				return nil, fmt.Errorf("%w: user record %d: explicit hash key index %d out of range (table has %d)", ErrCorrupt, i, r.ehk, len(ehks))
			}
			out[i].ExplicitHashKey = ehks[r.ehk]
		}
	}
	return out, nil
}

// rawRecord is a user record as deaggregate reads it: its keys' indexes
// in the tables and its data.
type rawRecord struct {
	pk, ehk uint64
	hasEHK  bool
	data    []byte
}

// deaggScratch is deaggregate's scratch, kept between calls.
type deaggScratch struct {
	pks, ehks [][]byte
	recs      []rawRecord
}

var deaggPool = sync.Pool{New: func() any { return new(deaggScratch) }}

// strs returns bs as strings sharing one allocation.
func strs(bs [][]byte) []string {
	if len(bs) == 0 {
		return nil
	}
	n := 0
	for _, b := range bs {
		n += len(b)
	}
	var all strings.Builder
	all.Grow(n)
	for _, b := range bs {
		all.Write(b)
	}
	s := all.String()
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i], s = s[:len(b)], s[len(b):]
	}
	return out
}

// Aggregated is one Kinesis record made by an Aggregator.
type Aggregated struct {
	// PartitionKey and ExplicitHashKey are the Kinesis record's keys: those
	// of its first user record.
	PartitionKey    string
	ExplicitHashKey string
	// Data is the aggregated record (or the user record's data itself
	// when the record holds a single user record, see Aggregator).
	Data []byte
	// Count is the number of user records in Data.
	Count int
	// Unsealed is set when Data's digest is left to Seal
	// (Aggregator.DeferDigest).
	Unsealed bool
}

// Aggregator packs user records into aggregated records no larger than
// MaxSize (data plus partition key, as Kinesis counts). Add records, then
// Flush the last one. The zero value is not usable: use NewAggregator.
type Aggregator struct {
	// MaxSize bounds an aggregated record's data plus partition key.
	MaxSize int
	// Single, when true, emits a record holding one user record as the
	// plain user data, without the KPL envelope (what the KPL does).
	Single bool
	// Buffer, when set, returns the buffer an aggregated record is built
	// in (length 0, capacity at least n; nil: a new one), so that the
	// caller can reuse buffers once the records are sent. Unset, each
	// record gets a new buffer.
	Buffer func(n int) []byte
	// DeferDigest, when true, leaves the MD5 digest of the records Flush
	// builds zero (Aggregated.Unsealed) for the caller to write with Seal,
	// many records at once.
	DeferDigest bool

	pks, ehks     []string
	pkIdx, ehkIdx map[string]uint64
	recs          []UserRecord
	size          int // protobuf size so far
}

// NewAggregator returns an aggregator for records of at most maxSize bytes
// (0 means MaxRecordSize; more than MaxLargeRecordSize means
// MaxLargeRecordSize).
func NewAggregator(maxSize int) *Aggregator {
	if maxSize <= 0 {
		maxSize = MaxRecordSize
	}
	if maxSize > MaxLargeRecordSize {
		maxSize = MaxLargeRecordSize
	}
	return &Aggregator{MaxSize: maxSize, pkIdx: map[string]uint64{}, ehkIdx: map[string]uint64{}}
}

// Len returns the number of user records waiting in the aggregator.
func (a *Aggregator) Len() int { return len(a.recs) }

// recordSize is the protobuf size of one user record's message, keyed by
// the given table indexes.
func recordSize(pk uint64, ehk uint64, hasEHK bool, n int) int {
	s := protowire.SizeTag(1) + protowire.SizeVarint(pk) + protowire.SizeTag(3) + protowire.SizeBytes(n)
	if hasEHK {
		s += protowire.SizeTag(2) + protowire.SizeVarint(ehk)
	}
	return s
}

// added returns the protobuf size r would add to the current record.
func (a *Aggregator) added(r UserRecord) int {
	s := 0
	pk, ok := a.pkIdx[r.PartitionKey]
	if !ok {
		pk = uint64(len(a.pks))
		s += protowire.SizeTag(1) + protowire.SizeBytes(len(r.PartitionKey))
	}
	var ehk uint64
	if r.ExplicitHashKey != "" {
		if ehk, ok = a.ehkIdx[r.ExplicitHashKey]; !ok {
			ehk = uint64(len(a.ehks))
			s += protowire.SizeTag(2) + protowire.SizeBytes(len(r.ExplicitHashKey))
		}
	}
	return s + protowire.SizeTag(3) + protowire.SizeBytes(recordSize(pk, ehk, r.ExplicitHashKey != "", len(r.Data)))
}

// aloneSize is the protobuf size of an aggregated record holding r alone
// (what added returns on an empty aggregator).
func aloneSize(r UserRecord) int {
	s := protowire.SizeTag(1) + protowire.SizeBytes(len(r.PartitionKey))
	if r.ExplicitHashKey != "" {
		s += protowire.SizeTag(2) + protowire.SizeBytes(len(r.ExplicitHashKey))
	}
	return s + protowire.SizeTag(3) + protowire.SizeBytes(recordSize(0, 0, r.ExplicitHashKey != "", len(r.Data)))
}

// total is the Kinesis size of an aggregated record with a protobuf of
// size body and the current first partition key.
func (a *Aggregator) total(body int, firstPK string) int {
	return len(Magic) + body + DigestSize + len(firstPK)
}

// Add adds a user record. When it does not fit in the current aggregated
// record, the current one is returned (full) and r starts the next one.
// A user record too large to fit even alone is an error.
func (a *Aggregator) Add(r UserRecord) (full *Aggregated, err error) {
	if r.PartitionKey == "" {
		return nil, errors.New("kpl: user record without a partition key")
	}
	if n := aloneSize(r); a.total(n, r.PartitionKey) > a.MaxSize && len(r.Data)+len(r.PartitionKey) > a.MaxSize {
		return nil, fmt.Errorf("kpl: user record of %d bytes (partition key %d bytes) exceeds the %d-byte record limit", len(r.Data), len(r.PartitionKey), a.MaxSize)
	}
	first := r.PartitionKey
	if len(a.recs) > 0 {
		first = a.recs[0].PartitionKey
	}
	n := a.added(r)
	if len(a.recs) > 0 && a.total(a.size+n, first) > a.MaxSize {
		full = a.Flush()
		n = a.added(r)
	}
	a.size += n
	if _, ok := a.pkIdx[r.PartitionKey]; !ok {
		a.pkIdx[r.PartitionKey] = uint64(len(a.pks))
		a.pks = append(a.pks, r.PartitionKey)
	}
	if r.ExplicitHashKey != "" {
		if _, ok := a.ehkIdx[r.ExplicitHashKey]; !ok {
			a.ehkIdx[r.ExplicitHashKey] = uint64(len(a.ehks))
			a.ehks = append(a.ehks, r.ExplicitHashKey)
		}
	}
	a.recs = append(a.recs, r)
	return full, nil
}

// Flush returns the current aggregated record and starts a new one; nil
// when empty. A single user record too large for the envelope (but not
// for Kinesis) is returned as plain data.
func (a *Aggregator) Flush() *Aggregated {
	if len(a.recs) == 0 {
		return nil
	}
	first := a.recs[0]
	out := &Aggregated{PartitionKey: first.PartitionKey, ExplicitHashKey: first.ExplicitHashKey, Count: len(a.recs)}
	if len(a.recs) == 1 && (a.Single || a.total(a.size, first.PartitionKey) > a.MaxSize) {
		out.Data = first.Data
	} else {
		n := len(Magic) + a.size + DigestSize
		var buf []byte
		if a.Buffer != nil {
			buf = a.Buffer(n)[:0]
		}
		if cap(buf) < n {
			buf = make([]byte, 0, n)
		}
		buf = append(buf, Magic...)
		for _, pk := range a.pks {
			buf = protowire.AppendTag(buf, 1, protowire.BytesType)
			buf = protowire.AppendString(buf, pk)
		}
		for _, ehk := range a.ehks {
			buf = protowire.AppendTag(buf, 2, protowire.BytesType)
			buf = protowire.AppendString(buf, ehk)
		}
		for _, r := range a.recs {
			pk := a.pkIdx[r.PartitionKey]
			ehk, hasEHK := a.ehkIdx[r.ExplicitHashKey]
			hasEHK = hasEHK && r.ExplicitHashKey != ""
			buf = protowire.AppendTag(buf, 3, protowire.BytesType)
			buf = protowire.AppendVarint(buf, uint64(recordSize(pk, ehk, hasEHK, len(r.Data))))
			buf = protowire.AppendTag(buf, 1, protowire.VarintType)
			buf = protowire.AppendVarint(buf, pk)
			if hasEHK {
				buf = protowire.AppendTag(buf, 2, protowire.VarintType)
				buf = protowire.AppendVarint(buf, ehk)
			}
			buf = protowire.AppendTag(buf, 3, protowire.BytesType)
			buf = protowire.AppendBytes(buf, r.Data)
		}
		var sum [DigestSize]byte
		if !a.DeferDigest {
			sum = md5.Sum(buf[len(Magic):])
		}
		out.Data, out.Unsealed = append(buf, sum[:]...), a.DeferDigest
	}
	a.pks, a.ehks, a.recs, a.size = a.pks[:0], a.ehks[:0], nil, 0
	clear(a.pkIdx)
	clear(a.ehkIdx)
	return out
}

// Aggregate packs records into as few aggregated records of at most
// maxSize bytes as it can, in order.
func Aggregate(records []UserRecord, maxSize int) ([]Aggregated, error) {
	a := NewAggregator(maxSize)
	var out []Aggregated
	for i, r := range records {
		full, err := a.Add(r)
		if err != nil {
			return nil, fmt.Errorf("kpl: record %d: %w", i, err)
		}
		if full != nil {
			out = append(out, *full)
		}
	}
	if last := a.Flush(); last != nil {
		out = append(out, *last)
	}
	return out, nil
}
