package kinesisout

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/kpl"
)

// TestParallelWrite: under random partition keys a write is aggregated by
// several goroutines and its PutRecords calls go in parallel, and every
// output arrives exactly once, each aggregated record holding a run of
// consecutive outputs in order; under a batch_key (WriteKey) the records
// arrive in the outputs' order. Run with -cpu 1,2,4.
func TestParallelWrite(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	outputs := make([]engine.Output, 6000)
	for i := range outputs {
		outputs[i] = engine.Output{Data: fmt.Appendf(nil, `{"i":%d,"pad":"%0900d"}`, i, i)}
	}
	type testCase struct {
		name      string
		proto     Protocol
		aggregate bool
		key       string
	}
	var cases []testCase
	for _, proto := range protocols {
		cases = append(cases,
			testCase{"records, random keys", proto, false, ""},
			testCase{"aggregated, random keys", proto, true, ""},
			testCase{"records, batch_key", proto, false, "tenant-1"},
			testCase{"aggregated, batch_key", proto, true, "tenant-1"})
	}
	for _, tc := range cases {
		t.Run(string(tc.proto)+"/"+tc.name, func(t *testing.T) {
			k := &largeKinesis{}
			srv := httptest.NewServer(k)
			defer srv.Close()
			sink := New(kinesisClient(ctx, t, tc.proto, srv.URL, 1, 10*time.Millisecond), Options{Stream: "s", Aggregate: tc.aggregate, Parallel: 4})
			if err := sink.WriteKey(ctx, tc.key, outputs); err != nil {
				t.Fatal(err)
			}
			if len(k.calls) < 2 {
				t.Fatalf("%d PutRecords calls: the test needs several", len(k.calls))
			}
			// The user records of every Kinesis record, in arrival order.
			var runs [][][]byte
			for _, rec := range k.accepted {
				users, err := kpl.Deaggregate(rec)
				if err != nil {
					t.Fatal(err)
				}
				if tc.aggregate != kpl.IsAggregated(rec) {
					t.Fatalf("aggregated %v, want %v", kpl.IsAggregated(rec), tc.aggregate)
				}
				var run [][]byte
				for _, u := range users {
					run = append(run, u.Data)
				}
				runs = append(runs, run)
			}
			index := map[string]int{}
			for i, o := range outputs {
				index[string(o.Data)] = i
			}
			seen := make([]int, len(outputs))
			last := -1
			for _, run := range runs {
				first, ok := index[string(run[0])]
				if !ok {
					t.Fatalf("a record holds %.40q, no output", run[0])
				}
				for j, u := range run {
					if !bytes.Equal(u, outputs[first+j].Data) {
						t.Fatalf("an aggregated record holds output %d then not output %d", first, first+j)
					}
					seen[first+j]++
				}
				if tc.key != "" && first != last+1 {
					t.Fatalf("under a batch_key, output %d arrived after output %d", first, last)
				}
				last = first + len(run) - 1
			}
			for i, n := range seen {
				if n != 1 {
					t.Fatalf("output %d arrived %d times", i, n)
				}
			}
		})
	}
}
