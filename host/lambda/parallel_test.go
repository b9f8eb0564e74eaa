package lambda

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/internal/par"
	"github.com/weirhq/weir/host/kpl"
)

// chunkStage is jsonStage run the way the Wasm host runs a stage with
// several instances: contiguous chunks on GOMAXPROCS goroutines.
type chunkStage struct{}

func (chunkStage) Process(ctx context.Context, recs []engine.Record) ([]engine.Result, error) {
	out := make([]engine.Result, len(recs))
	k := runtime.GOMAXPROCS(0)
	size := max((len(recs)+k-1)/k, 1)
	par.Each((len(recs)+size-1)/size, k, func(c int) bool {
		lo, hi := c*size, min((c+1)*size, len(recs))
		res, _ := jsonStage{}.Process(ctx, recs[lo:hi])
		copy(out[lo:hi], res)
		return true
	})
	return out, nil
}

func (chunkStage) Close(context.Context) error { return nil }

// TestKinesisParallel: an event of 64 KPL-aggregated Kinesis records of
// 50 user records each, decoded on every core (run with -cpu 1,2,4), keeps
// what the sequential path guarantees: every failed unit is reported in
// batchItemFailures, named in its error by index and sequence number;
// outputs are delivered in input order, and only those of the units before
// the first failure; past MaxAttempts the failed records go to the
// dead-letter output, each entry naming its record, and every other
// output (those of a dead-lettered unit's good records included) is
// delivered, in order.
func TestKinesisParallel(t *testing.T) {
	const units, perUnit = 64, 50
	badB64, badMD5, badUser := 5, 17, 30 // units that fail
	var datas []string
	var want []string // outputs of every good record, in order
	for u := range units {
		var users []kpl.UserRecord
		for j := range perUnit {
			d := fmt.Sprintf(`{"u":%d,"j":%d}`, u, j)
			if u == badUser && j == 7 {
				d = "oops"
			}
			users = append(users, kpl.UserRecord{PartitionKey: fmt.Sprint("pk-", j%3), Data: []byte(d)})
		}
		agg, err := kpl.Aggregate(users, 0)
		if err != nil || len(agg) != 1 {
			t.Fatalf("aggregate: %v (%d records)", err, len(agg))
		}
		data := agg[0].Data
		switch u {
		case badB64:
			datas = append(datas, "!!"+base64.StdEncoding.EncodeToString(data))
			continue
		case badMD5:
			data[len(data)-1] ^= 1
		}
		datas = append(datas, base64.StdEncoding.EncodeToString(data))
		if u != badMD5 {
			for _, ur := range users {
				if string(ur.Data) != "oops" {
					want = append(want, string(ur.Data))
				}
			}
		}
	}
	ev := kinesisJSON(datas...)
	// kinesisJSON numbers the records' sequence numbers from 1.
	seq := func(u int) string { return fmt.Sprint(u + 1) }
	cfg := &engine.Config{Version: 1, Stages: []engine.StageConfig{{Name: "s", Module: "x.wasm"}}}
	p, err := engine.NewPipeline(context.Background(), cfg, func(context.Context, engine.StageConfig, string) (engine.Stage, error) { return chunkStage{}, nil })
	if err != nil {
		t.Fatal(err)
	}
	out, dlq := &memSink{}, &memSink{}
	h := &Handler{Pipeline: p, Sinks: map[string]engine.Sink{"default": out, "dlq": dlq}, DeadLetter: "dlq", MaxAttempts: 2,
		Attempts: &MemoryAttempts{}, Logger: slog.New(slog.DiscardHandler)}
	for attempt := 1; attempt <= 2; attempt++ {
		out.got, dlq.got = nil, nil
		resp, err := h.Invoke(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			BatchItemFailures []struct{ ItemIdentifier string } `json:"batchItemFailures"`
		}
		if err := json.Unmarshal(resp, &got); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, f := range got.BatchItemFailures {
			ids = append(ids, f.ItemIdentifier)
		}
		var wantIDs, wantOut []string
		if attempt == 1 {
			wantIDs = []string{seq(badB64), seq(badMD5), seq(badUser)}
			wantOut = want[:badB64*perUnit] // the units before the first failure
		} else {
			wantOut = want
		}
		if fmt.Sprint(ids) != fmt.Sprint(wantIDs) {
			t.Fatalf("attempt %d: batchItemFailures %v, want %v", attempt, ids, wantIDs)
		}
		if len(out.got) != len(wantOut) {
			t.Fatalf("attempt %d: %d outputs delivered, want %d", attempt, len(out.got), len(wantOut))
		}
		for i := range wantOut {
			if string(out.got[i]) != wantOut[i] {
				t.Fatalf("attempt %d: output %d is %s, want %s (input order)", attempt, i, out.got[i], wantOut[i])
			}
		}
	}
	// Attempt 2 dead-lettered the three units, in order, each naming its
	// record.
	var entries []engine.DeadLetterEntry
	for _, d := range dlq.got {
		var e engine.DeadLetterEntry
		if err := json.Unmarshal(d, &e); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	if len(entries) != 3 {
		t.Fatalf("%d dead letters, want 3: %q", len(entries), dlq.got)
	}
	for i, w := range []struct {
		seq, stage, err string
		index           int
		record          string
	}{
		{seq(badB64), "decode", fmt.Sprintf("kinesis record %d (seq %s): invalid base64 data", badB64, seq(badB64)), 0, datas[badB64]},
		{seq(badMD5), "decode", fmt.Sprintf("kinesis record %d (seq %s): kpl: MD5 digest mismatch", badMD5, seq(badMD5)), 0, ""},
		{seq(badUser), "s", "not a JSON object (after 2 attempts)", 7, "oops"},
	} {
		e := entries[i]
		if e.SequenceNumber != w.seq || e.Stage != w.stage || !strings.Contains(e.Error, w.err) || e.Index != w.index || w.record != "" && e.Record != w.record {
			t.Errorf("dead letter %d: %+v, want seq %s stage %s index %d error containing %q", i, e, w.seq, w.stage, w.index, w.err)
		}
	}
	if e := entries[1]; e.RecordBase64 == "" {
		t.Errorf("the corrupt KPL record's dead letter carries no data: %+v", e)
	}
}

// TestKinesisMalformed: a malformed record fails the whole event with an
// error naming the first such record by index, whichever worker reads it
// first. Run with -cpu 1,2,4.
func TestKinesisMalformed(t *testing.T) {
	good := func(i int) string {
		return fmt.Sprintf(`{"eventID":"shardId-0:%d","kinesis":{"data":%q,"partitionKey":"p","sequenceNumber":"%d"}}`, i, base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)), i)
	}
	event := func(bad map[int]string) []byte {
		var recs []string
		for i := range 200 {
			if b, ok := bad[i]; ok {
				recs = append(recs, b)
			} else {
				recs = append(recs, good(i))
			}
		}
		return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
	}
	tests := []struct {
		name string
		bad  map[int]string
		want string
	}{
		{"no sequence number", map[int]string{150: `{"kinesis":{"data":"e30="}}`}, "record 150 has no sequence number"},
		{"first of several", map[int]string{170: `7`, 40: `{"kinesis":{"data":5,"sequenceNumber":"1"}}`, 90: `"x"`}, "record 40: kinesis.data"},
		{"not an object", map[int]string{3: `[]`, 199: `{}`}, "record 3 is not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := kinesisUnits(context.Background(), event(tt.bad))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	units, err := kinesisUnits(context.Background(), event(nil))
	if err != nil || len(units) != 200 || units[199].id != "199" {
		t.Fatalf("a good event: %d units, %v", len(units), err)
	}
}
