package deliver_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/weirhq/weir/host/deliver"
)

// An output configures a Deliverer with its service's limits and a
// function making one call; here the "service" accepts at most 3 entries
// of at most 10 bytes per call and throttles the entry "c" once.
func Example() {
	throttled := false
	d := deliver.New(deliver.Config[string]{
		Name:   "demo queue",
		Op:     "SendBatch",
		Noun:   "message",
		Limits: deliver.Limits{MaxEntries: 3, MaxEntryBytes: 10},
		Send: func(_ context.Context, items []string) ([]deliver.Failure, error) {
			fmt.Println("call:", items)
			var failed []deliver.Failure
			for i, it := range items {
				if it == "c" && !throttled {
					throttled = true
					failed = append(failed, deliver.Failure{Index: i, Retryable: true, Code: "Throttled"})
				}
			}
			return failed, nil
		},
	})
	var entries []deliver.Entry[string]
	for i, s := range []string{"a", "b", "c", "d"} {
		entries = append(entries, deliver.Entry[string]{Item: s, Size: len(s), First: i})
	}
	fmt.Println(d.Deliver(context.Background(), entries))

	err := d.Deliver(context.Background(), []deliver.Entry[string]{{Item: "far too long", Size: 12, First: 0}})
	fmt.Println(errors.Is(err, deliver.ErrNotDelivered), err)
	// Output:
	// call: [a b c]
	// call: [c]
	// call: [d]
	// <nil>
	// true demo queue: output 0: 12 bytes exceeds the 10-byte message limit: entry too large
}
