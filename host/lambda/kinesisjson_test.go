package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestScanKinesisEvent: the fields kinesisUnits reads from an event are
// the ones encoding/json reads, escapes, white space and unknown values
// of every JSON type included.
func TestScanKinesisEvent(t *testing.T) {
	data := base64.StdEncoding.EncodeToString([]byte(`{"a":1}`))
	tests := []struct {
		name  string
		event string
	}{
		{"plain", `{"Records":[{"eventID":"shardId-000:1","eventSourceARN":"arn:aws:kinesis:us-east-1:1:stream/s","kinesis":{"partitionKey":"pk","sequenceNumber":"1","data":"` + data + `","approximateArrivalTimestamp":1700000000.25}}]}`},
		{"white space", " \n{ \"Records\" :\t[ { \"kinesis\" : { \"sequenceNumber\" : \"7\" , \"data\" : \"" + data + "\" } } ] }\r\n"},
		{"escapes", `{"Records":[{"eventID":"shard\u0049d-0:2","kinesis":{"partitionKey":"\u00e9t\u00e9 \"q\" \\ \/ \ud83d\ude00","sequenceNumber":"2","data":"` + strings.ReplaceAll(base64.StdEncoding.EncodeToString([]byte("?>?>?>")), "/", `\/`) + `"}}]}`},
		{"escaped key", `{"Rec\u006frds":[{"kinesis":{"sequence\u004eumber":"3","data":"` + data + `"}}]}`},
		{"other values", `{"a":[1,-2.5e3,0,true,false,null,{"b":{}},[]],"Records":[{"x":{"y":[{"z":"\""}]},"kinesis":{"q":-0.0e+1,"sequenceNumber":"4","data":"` + data + `","approximateArrivalTimestamp":-1E-2}}],"z":"}"}`},
		{"no records", `{"other":1}`},
		{"empty records", `{"Records":[]}`},
		{"null fields", `{"Records":[{"eventID":null,"kinesis":{"partitionKey":null,"sequenceNumber":"5","data":"` + data + `"}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := scanKinesisEvent([]byte(tt.event), nil)
			var want struct {
				Records []struct {
					EventID        *string `json:"eventID"`
					EventSourceARN *string `json:"eventSourceARN"`
					Kinesis        struct {
						PartitionKey   *string  `json:"partitionKey"`
						SequenceNumber *string  `json:"sequenceNumber"`
						Data           *string  `json:"data"`
						Arrival        *float64 `json:"approximateArrivalTimestamp"`
					} `json:"kinesis"`
				}
			}
			if jerr := json.Unmarshal([]byte(tt.event), &want); jerr != nil {
				t.Fatal(jerr)
			}
			if err == errNoRecords && want.Records == nil {
				return
			}
			if err != nil || len(recs) != len(want.Records) {
				t.Fatalf("%d records, %v; want %d", len(recs), err, len(want.Records))
			}
			for i, w := range want.Records {
				r := &recs[i]
				for _, f := range []struct {
					name string
					got  jsonText
					want *string
				}{{"eventID", r.eventID, w.EventID}, {"eventSourceARN", r.source, w.EventSourceARN}, {"partitionKey", r.partitionKey, w.Kinesis.PartitionKey},
					{"sequenceNumber", r.sequenceNumber, w.Kinesis.SequenceNumber}, {"data", r.data, w.Kinesis.Data}} {
					got, err := f.got.str()
					if err != nil || (f.want == nil) != (got == nil) || f.want != nil && string(got) != *f.want {
						t.Errorf("record %d %s: %q (%v), want %v", i, f.name, got, err, f.want)
					}
				}
				u, _, err := kinesisUnit(i, r)
				if err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				if w.Kinesis.Arrival != nil && u.meta.ArrivalTime != secondsTime(*w.Kinesis.Arrival) {
					t.Errorf("record %d arrival %v, want %v", i, u.meta.ArrivalTime, secondsTime(*w.Kinesis.Arrival))
				}
			}
			// And the units decode.
			units, err := kinesisUnits(context.Background(), []byte(tt.event))
			if err != nil || len(units) != len(want.Records) {
				t.Fatalf("kinesisUnits: %d units, %v", len(units), err)
			}
			for i, u := range units {
				if u.err != nil || len(u.records) != 1 || string(u.records[0].Data) != `{"a":1}` && tt.name != "escapes" {
					t.Errorf("unit %d: %+v", i, u)
				}
			}
		})
	}
}

// TestScanKinesisEventErrors: an event that is not one valid JSON object,
// or whose Records is not an array, is malformed as a whole; a field of
// the wrong type names its record; the first of duplicate keys counts.
func TestScanKinesisEventErrors(t *testing.T) {
	rec := `{"kinesis":{"sequenceNumber":"1","data":"e30="}}`
	tests := []struct {
		name, event, want string
	}{
		{"empty", ``, "malformed Kinesis event"},
		{"not an object", `[` + rec + `]`, "not a JSON object"},
		{"truncated", `{"Records":[` + rec, "malformed Kinesis event"},
		{"unterminated string", `{"Records":[{"kinesis":{"data":"e30=`, "unterminated string"},
		{"trailing data", `{"Records":[` + rec + `]} x`, "after the event"},
		{"two objects", `{"Records":[]}{}`, "after the event"},
		{"missing comma", `{"Records":[` + rec + ` ` + rec + `]}`, "want ',' or ']'"},
		{"trailing comma", `{"Records":[` + rec + `,]}`, "malformed Kinesis event"},
		{"bad number", `{"n":01,"Records":[]}`, "malformed Kinesis event"},
		{"bad literal", `{"n":nul,"Records":[]}`, "malformed Kinesis event"},
		{"Records not an array", `{"Records":{"a":1}}`, "Records value is an object"},
		{"Records null", `{"Records":null}`, "Records value is null"},
		{"invalid JSON after a bad Records", `{"Records":5,"x":}`, "offset"},
		{"too deep", `{"Records":[],"x":` + strings.Repeat("[", 400) + strings.Repeat("]", 400) + `}`, "nested too deep"},
		{"data not a string", `{"Records":[{"kinesis":{"sequenceNumber":"1","data":5}}]}`, "record 0: kinesis.data: value is a number, not a string"},
		{"sequence number an object", `{"Records":[` + rec + `,{"kinesis":{"sequenceNumber":{},"data":"e30="}}]}`, "record 1: kinesis.sequenceNumber"},
		{"kinesis not an object", `{"Records":[{"kinesis":"x"}]}`, "record 0 has no sequence number"},
		{"first kinesis counts", `{"Records":[{"kinesis":"x","kinesis":{"sequenceNumber":"1","data":"e30="}}]}`, "record 0 has no sequence number"},
		{"first sequence number counts", `{"Records":[{"kinesis":{"sequenceNumber":null,"sequenceNumber":"1","data":"e30="}}]}`, "record 0 has no sequence number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := kinesisUnits(context.Background(), []byte(tt.event))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// FuzzScanKinesisEvent: whatever encoding/json finds valid,
// scanKinesisEvent reads without a syntax error (an event whose Records
// is not an array, or that is not an object, aside), and it never
// panics on anything else.
func FuzzScanKinesisEvent(f *testing.F) {
	for _, s := range []string{`{"Records":[{"kinesis":{"sequenceNumber":"1","data":"e30="}}]}`, `{"a":[1,2.5e-3,true,null,"\u00e9\""]}`, `{}`, `[]`, `{"Records":[1,"x",{}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := scanKinesisEvent(b, nil)
		if err == nil || err == errNoRecords || !json.Valid(b) {
			return
		}
		var top map[string]json.RawMessage
		if json.Unmarshal(b, &top) != nil {
			return // not an object
		}
		if r, ok := top["Records"]; ok && !strings.HasPrefix(strings.TrimSpace(string(r)), "[") {
			return // Records not an array (or a duplicate key encoding/json resolves to the last)
		}
		if strings.Contains(err.Error(), "offset") && !strings.Contains(err.Error(), "nested too deep") {
			t.Fatalf("valid JSON %q: %v", b, err)
		}
	})
}

// TestKinesisFieldsReused: the fields slice kept for the next event holds
// no pointer into the last one (which it would keep from the collector),
// whether the event decoded or failed, and a smaller event after a larger
// one reads only its own records.
func TestKinesisFieldsReused(t *testing.T) {
	rec := `{"kinesis":{"sequenceNumber":"1","data":"e30="}}`
	tests := []struct {
		name  string
		event string
		units int // -1: malformed
	}{
		{"three", `{"Records":[` + rec + `,` + rec + `,` + rec + `]}`, 3},
		{"malformed", `{"Records":[` + rec + `,` + rec + `,`, -1},
		{"one", `{"Records":[` + rec + `]}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			units, err := kinesisUnits(context.Background(), []byte(tt.event))
			if tt.units < 0 && err == nil || tt.units >= 0 && (err != nil || len(units) != tt.units) {
				t.Fatalf("%d units, %v; want %d", len(units), err, tt.units)
			}
			kept := eventFields.Load()
			if kept == nil {
				t.Fatal("no fields slice kept for the next event")
			}
			for i, r := range (*kept)[:cap(*kept)] {
				if r.object || r.data.raw != nil || r.sequenceNumber.raw != nil {
					t.Fatalf("kept fields %d still point into the event: %+v", i, r)
				}
			}
		})
	}
}

// BenchmarkScanKinesisEvent times scanKinesisEvent alone, the fields
// slice reused as kinesisUnits reuses it, on the two shapes of a large
// event: 10,000 records of 1.5 KB (the event source mapping's largest
// batch, ~24 MB) and 300 KPL-aggregated records of 38 KB (~15 MB).
func BenchmarkScanKinesisEvent(b *testing.B) {
	for _, shape := range []struct{ n, size int }{{10000, 1500}, {300, 38000}} {
		krs := make([]KinesisRecord, shape.n)
		for i := range krs {
			data := bytes.Repeat([]byte{byte(i)}, shape.size)
			krs[i] = KinesisRecord{ShardID: "shardId-000000000000", SequenceNumber: fmt.Sprintf("49590338271490256608559692538361571095921575989136%06d", i),
				PartitionKey: fmt.Sprint("pk-", i%64), Data: data, ArrivalTime: time.Unix(1700000000, 0)}
		}
		event, err := NewKinesisEvent("arn:aws:kinesis:us-east-1:123456789012:stream/in", krs)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dx%d", shape.n, shape.size), func(b *testing.B) {
			b.SetBytes(int64(len(event)))
			var fields []kinesisText
			for b.Loop() {
				if fields, err = scanKinesisEvent(event, fields); err != nil || len(fields) != shape.n {
					b.Fatalf("%d records, %v", len(fields), err)
				}
			}
		})
	}
}
