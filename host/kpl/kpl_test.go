package kpl

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/awslabs/kinesis-aggregation/go/v2/deaggregator"
)

// seal wraps a protobuf body in the KPL envelope.
func seal(body []byte) []byte {
	sum := md5.Sum(body)
	return append(append(append([]byte{}, Magic...), body...), sum[:]...)
}

func TestRoundTripAgainstReferenceDeaggregator(t *testing.T) {
	cases := []struct {
		name string
		recs []UserRecord
	}{
		{"one", []UserRecord{{PartitionKey: "a", Data: []byte(`{"x":1}`)}}},
		{"shared keys", []UserRecord{{PartitionKey: "a", Data: []byte("1")}, {PartitionKey: "b", Data: []byte("2")}, {PartitionKey: "a", Data: []byte("3")}}},
		{"hash keys", []UserRecord{{PartitionKey: "a", ExplicitHashKey: "123", Data: []byte("1")}, {PartitionKey: "b", Data: []byte("2")}}},
		{"empty data", []UserRecord{{PartitionKey: "a", Data: []byte{}}, {PartitionKey: "a", Data: []byte("x")}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			agg, err := Aggregate(tc.recs, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(agg) != 1 || agg[0].Count != len(tc.recs) || agg[0].PartitionKey != tc.recs[0].PartitionKey {
				t.Fatalf("aggregated = %+v", agg)
			}
			got, err := Deaggregate(agg[0].Data)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.recs) {
				t.Fatalf("got %v, want %v", got, tc.recs)
			}
			ref, err := deaggregator.DeaggregateRecords([]types.Record{{Data: agg[0].Data, PartitionKey: &agg[0].PartitionKey}})
			if err != nil {
				t.Fatal(err)
			}
			if len(ref) != len(tc.recs) {
				t.Fatalf("reference deaggregator found %d records, want %d", len(ref), len(tc.recs))
			}
			for i, r := range ref {
				if *r.PartitionKey != tc.recs[i].PartitionKey || !bytes.Equal(r.Data, tc.recs[i].Data) {
					t.Errorf("reference record %d = %q/%q", i, *r.PartitionKey, r.Data)
				}
			}
		})
	}
}

func TestSizeLimit(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 1000)
	var recs []UserRecord
	for i := 0; i < 5000; i++ {
		recs = append(recs, UserRecord{PartitionKey: fmt.Sprintf("pk-%d", i%7), Data: data})
	}
	agg, err := Aggregate(recs, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, a := range agg {
		if sz := len(a.Data) + len(a.PartitionKey); sz > MaxRecordSize {
			t.Fatalf("record %d is %d bytes", i, sz)
		}
		got, err := Deaggregate(a.Data)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != a.Count {
			t.Fatalf("record %d: %d user records, count %d", i, len(got), a.Count)
		}
		n += len(got)
	}
	if n != len(recs) || len(agg) != 5 {
		t.Fatalf("%d user records in %d aggregated records", n, len(agg))
	}
	// The records are packed tightly: all but the last are over 99% full.
	if sz := len(agg[0].Data); sz < MaxRecordSize*99/100 {
		t.Errorf("first record only %d bytes", sz)
	}
}

func TestOversizeRecord(t *testing.T) {
	big := UserRecord{PartitionKey: "k", Data: make([]byte, MaxRecordSize)}
	_, err := Aggregate([]UserRecord{{PartitionKey: "k", Data: []byte("a")}, big}, 0)
	if err == nil || !strings.Contains(err.Error(), "record 1") {
		t.Fatalf("err = %v, want an error naming record 1", err)
	}
	// A record that fits raw but not in the envelope is sent as is.
	edge := UserRecord{PartitionKey: "k", Data: make([]byte, MaxRecordSize-1)}
	agg, err := Aggregate([]UserRecord{edge}, 0)
	if err != nil || len(agg) != 1 || IsAggregated(agg[0].Data) {
		t.Fatalf("agg = %d, err = %v", len(agg), err)
	}
}

func TestDeaggregateErrors(t *testing.T) {
	good, _ := Aggregate([]UserRecord{{PartitionKey: "a", Data: []byte("1")}}, 0)
	badMD5 := bytes.Clone(good[0].Data)
	badMD5[len(badMD5)-1] ^= 0xff
	body := good[0].Data[len(Magic) : len(good[0].Data)-DigestSize]
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"bad md5", badMD5, ErrDigest},
		{"truncated protobuf", seal(body[:len(body)-1]), ErrCorrupt},
		{"garbage protobuf", seal([]byte{0xff, 0xff, 0xff}), ErrCorrupt},
		{"key index out of range", seal([]byte{0x1a, 0x05, 0x08, 0x05, 0x1a, 0x01, 'x'}), ErrCorrupt},
		{"missing data", seal([]byte{0x0a, 0x01, 'a', 0x1a, 0x02, 0x08, 0x00}), ErrCorrupt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Deaggregate(tc.data)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// Not aggregated: one record, as is.
	for _, d := range [][]byte{[]byte(`{"a":1}`), Magic, nil} {
		got, err := Deaggregate(d)
		if err != nil || len(got) != 1 || !bytes.Equal(got[0].Data, d) {
			t.Fatalf("Deaggregate(%q) = %v, %v", d, got, err)
		}
	}
}

func FuzzDeaggregate(f *testing.F) {
	good, _ := Aggregate([]UserRecord{{PartitionKey: "a", ExplicitHashKey: "1", Data: []byte("1")}}, 0)
	f.Add(good[0].Data[len(Magic) : len(good[0].Data)-DigestSize])
	f.Add([]byte{0x0a, 0x01, 'a', 0x1a, 0x04, 0x08, 0x00, 0x1a, 0x00})
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := Deaggregate(seal(body))
		if err != nil {
			return
		}
		// What decodes re-aggregates to the same records, and the
		// reference deaggregator (awslabs) reads the same ones from
		// the re-aggregated record.
		for _, r := range got {
			if r.PartitionKey == "" {
				return // valid protobuf, but Add refuses it
			}
		}
		agg, err := Aggregate(got, 0)
		if err != nil {
			return // too large for one Kinesis record
		}
		var again []UserRecord
		for _, a := range agg {
			rs, err := Deaggregate(a.Data)
			if err != nil {
				t.Fatalf("re-aggregated record does not decode: %v", err)
			}
			again = append(again, rs...)
			ref, err := deaggregator.DeaggregateRecords([]types.Record{{Data: a.Data, PartitionKey: &a.PartitionKey}})
			if err != nil || len(ref) != len(rs) {
				t.Fatalf("reference deaggregator: %d records, %v; want %d", len(ref), err, len(rs))
			}
			for i, r := range ref {
				if *r.PartitionKey != rs[i].PartitionKey || !bytes.Equal(r.Data, rs[i].Data) {
					t.Fatalf("reference record %d = %q/%q, want %q/%q", i, *r.PartitionKey, r.Data, rs[i].PartitionKey, rs[i].Data)
				}
			}
		}
		if len(again) != len(got) {
			t.Fatalf("%d records, %d after a round trip", len(got), len(again))
		}
		for i := range got {
			if got[i].PartitionKey != again[i].PartitionKey || got[i].ExplicitHashKey != again[i].ExplicitHashKey || !bytes.Equal(got[i].Data, again[i].Data) {
				t.Fatalf("record %d changed in a round trip: %+v -> %+v", i, got[i], again[i])
			}
		}
	})
}

// TestAloneSize: the size Add checks a record against before it is added
// is the size the record takes alone in an empty aggregator.
func TestAloneSize(t *testing.T) {
	for _, r := range []UserRecord{
		{PartitionKey: "k", Data: []byte("x")},
		{PartitionKey: strings.Repeat("p", 300), Data: make([]byte, 200)},
		{PartitionKey: "k", ExplicitHashKey: "12345678901234567890", Data: make([]byte, 70000)},
		{PartitionKey: "k", Data: nil},
	} {
		if got, want := aloneSize(r), NewAggregator(0).added(r); got != want {
			t.Errorf("aloneSize(pk %d, ehk %d, data %d) = %d, want %d", len(r.PartitionKey), len(r.ExplicitHashKey), len(r.Data), got, want)
		}
	}
}

// TestAggregatorBuffer: with Buffer set, Flush builds each aggregated
// record in the buffer it returns when that is large enough (and in a new
// one when not, or nil), with the same bytes as without Buffer.
func TestAggregatorBuffer(t *testing.T) {
	recs := make([]UserRecord, 300)
	for i := range recs {
		recs[i] = UserRecord{PartitionKey: fmt.Sprint("pk-", i%7), Data: bytes.Repeat([]byte{byte(i)}, 100+i)}
	}
	want, err := Aggregate(recs, 8000)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		spare int // capacity of the buffers Buffer returns beyond n; < 0: too small
		own   bool
	}{{"exact", 0, true}, {"larger", 100, true}, {"too small", -1, false}, {"nil", -1 << 30, false}} {
		t.Run(tc.name, func(t *testing.T) {
			var given [][]byte
			a := NewAggregator(8000)
			a.Buffer = func(n int) []byte {
				if n+tc.spare < 0 {
					return nil
				}
				b := make([]byte, 7, n+tc.spare) // not empty: Flush must reset it
				given = append(given, b)
				return b
			}
			var got []*Aggregated
			for _, r := range recs {
				full, err := a.Add(r)
				if err != nil {
					t.Fatal(err)
				}
				if full != nil {
					got = append(got, full)
				}
			}
			got = append(got, a.Flush())
			if len(got) != len(want) {
				t.Fatalf("%d records, want %d", len(got), len(want))
			}
			if tc.spare >= -1 && len(given) != len(want) {
				t.Fatalf("%d buffers asked for %d records", len(given), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i].Data, want[i].Data) {
					t.Fatalf("record %d differs from Aggregate's", i)
				}
				if own := tc.spare >= 0 && &given[i][:1][0] == &got[i].Data[0]; own != tc.own {
					t.Errorf("record %d in the given buffer: %v, want %v", i, own, tc.own)
				}
			}
		})
	}
}

// TestDigests: Digests returns crypto/md5's digest of every buffer, in
// each of its ways on this machine (crypto/md5, md5-simd's servers,
// md5x16), for buffers of every length around the 64-byte block and the
// 56 bytes where the padding takes a second block, of the shapes of a
// Kinesis event (many of one size, a few large ones and many small ones,
// fewer than 16 lanes' worth) and on one and on several cores.
func TestDigests(t *testing.T) {
	fill := func(n, seed int) []byte {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(seed*31 + j*7 + j>>8)
		}
		return b
	}
	var mixed, edges, equal, large [][]byte
	for i := range 200 {
		mixed = append(mixed, fill((i*977)%70000+i%130, i))
	}
	for n := range 300 {
		edges = append(edges, fill(n, n))
	}
	edges = append(edges, fill(1<<20, 1)) // one long lane among short ones
	for i := range 40 {
		equal = append(equal, fill(51200, i))
	}
	for i := range 24 {
		large = append(large, fill(1<<20-i*1000, i))
	}
	large = append(large, fill(0, 0), fill(55, 1), fill(56, 2), fill(63, 3), fill(64, 4), fill(65, 5), fill(119, 6), fill(120, 7))
	for _, tc := range []struct {
		name string
		bufs [][]byte
	}{
		{"none", nil},
		{"few small", [][]byte{{}, []byte("a"), bytes.Repeat([]byte("x"), 64), bytes.Repeat([]byte("y"), 65)}},
		{"mixed", mixed},
		{"every length to 300", edges},
		{"equal", equal},
		{"large", large},
		{"fewer than the lanes", large[:5]},
	} {
		for _, way := range append(digestWays(), struct {
			name string
			way  int
		}{"auto", wayAuto}) {
			for _, procs := range []int{1, 2, 3} {
				t.Run(fmt.Sprintf("%s/%s/%d", tc.name, way.name, procs), func(t *testing.T) {
					digestWay = way.way
					defer func() { digestWay = wayAuto }()
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
					got := Digests(tc.bufs)
					if len(got) != len(tc.bufs) {
						t.Fatalf("%d digests for %d buffers", len(got), len(tc.bufs))
					}
					for i, b := range tc.bufs {
						if got[i] != md5.Sum(b) {
							t.Fatalf("buffer %d (%d bytes): digest %x, want %x", i, len(b), got[i], md5.Sum(b))
						}
					}
				})
			}
		}
	}
}

// TestSealAndDeaggregateSum: records built with DeferDigest and sealed
// are the records Aggregate builds; DeaggregateSum accepts the right
// digest and refuses a wrong one as Deaggregate does.
func TestSealAndDeaggregateSum(t *testing.T) {
	recs := make([]UserRecord, 500)
	for i := range recs {
		recs[i] = UserRecord{PartitionKey: fmt.Sprint("pk-", i%5), Data: bytes.Repeat([]byte{byte(i)}, 3000+i)}
	}
	want, err := Aggregate(recs, 100000)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAggregator(100000)
	a.DeferDigest = true
	var got [][]byte
	for _, r := range recs {
		full, err := a.Add(r)
		if err != nil {
			t.Fatal(err)
		}
		if full != nil {
			if !full.Unsealed {
				t.Fatal("a deferred record is not marked Unsealed")
			}
			got = append(got, full.Data)
		}
	}
	got = append(got, a.Flush().Data)
	if _, err := Deaggregate(got[0]); !errors.Is(err, ErrDigest) {
		t.Fatalf("an unsealed record de-aggregates: %v", err)
	}
	Seal(got)
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	var bodies [][]byte
	for i := range got {
		if !bytes.Equal(got[i], want[i].Data) {
			t.Fatalf("sealed record %d differs from Aggregate's", i)
		}
		bodies = append(bodies, Body(got[i]))
	}
	sums := Digests(bodies)
	if users, err := DeaggregateSum(got[0], sums[0]); err != nil || len(users) != want[0].Count {
		t.Fatalf("DeaggregateSum: %d records, %v", len(users), err)
	}
	if _, err := DeaggregateSum(got[0], sums[1]); !errors.Is(err, ErrDigest) {
		t.Fatalf("DeaggregateSum with another record's digest: %v", err)
	}
	if Body([]byte(`{"plain":1}`)) != nil {
		t.Fatal("Body of a plain record")
	}
}

// FuzzDigests: every way of Digests gives crypto/md5's digest for buffers
// of any lengths and contents (the input is cut into buffers at lengths
// read from its own bytes, so that lanes see uneven, short and
// block-straddling buffers side by side). The lanes run on several
// goroutines, so coverage differs between runs of one input and the
// fuzzer's minimizer cannot settle: run it with -fuzzminimizetime 0.
func FuzzDigests(f *testing.F) {
	f.Add([]byte("abc"), uint8(3))
	f.Add(bytes.Repeat([]byte{0x40, 0x41, 0x7f, 0x00}, 300), uint8(17))
	f.Fuzz(func(t *testing.T, data []byte, count uint8) {
		var bufs [][]byte
		for i, rest := 0, data; i < int(count)%40+1; i++ {
			n := 0
			if len(rest) > 0 {
				n = int(rest[0]) * (1 + i%5) % (len(rest) + 1)
			}
			bufs = append(bufs, rest[:n])
			rest = rest[n:]
			if len(rest) == 0 {
				rest = data
			}
		}
		for _, way := range digestWays() {
			digestWay = way.way
			got := Digests(bufs)
			digestWay = wayAuto
			for i, b := range bufs {
				if got[i] != md5.Sum(b) {
					t.Fatalf("%s, buffer %d of %d (%d bytes): digest %x, want %x", way.name, i, len(bufs), len(b), got[i], md5.Sum(b))
				}
			}
		}
	})
}
