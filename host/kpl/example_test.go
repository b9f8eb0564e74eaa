package kpl_test

import (
	"fmt"

	"github.com/weirhq/weir/host/kpl"
)

// Aggregate packs user records the way the Kinesis Producer Library does;
// Deaggregate unpacks them, checking the MD5 digest.
func ExampleAggregate() {
	recs := []kpl.UserRecord{
		{PartitionKey: "a", Data: []byte(`{"n":1}`)},
		{PartitionKey: "b", Data: []byte(`{"n":2}`)},
		{PartitionKey: "a", Data: []byte(`{"n":3}`)},
	}
	agg, err := kpl.Aggregate(recs, 0)
	if err != nil {
		panic(err)
	}
	fmt.Println("kinesis records:", len(agg), "aggregated:", kpl.IsAggregated(agg[0].Data))
	back, err := kpl.Deaggregate(agg[0].Data)
	if err != nil {
		panic(err)
	}
	for _, r := range back {
		fmt.Println(r.PartitionKey, string(r.Data))
	}
	// Output:
	// kinesis records: 1 aggregated: true
	// a {"n":1}
	// b {"n":2}
	// a {"n":3}
}
