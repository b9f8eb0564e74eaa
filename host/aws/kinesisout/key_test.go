package kinesisout

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/kpl"
)

// TestBatchKeyPartitionKey: with batch_key, a kinesis output puts each
// key's outputs under that key (aggregated or not, over either wire
// format), so one key's records land on one shard of a 4-shard kinesalite
// stream, in order.
func TestBatchKeyPartitionKey(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	engine.RegisterSink(engine.OutputKinesis, Open)
	for _, tc := range []struct {
		proto     Protocol
		aggregate bool
	}{{CBOR, true}, {CBOR, false}, {JSON, true}} {
		proto, aggregate := tc.proto, tc.aggregate
		t.Run(fmt.Sprintf("%s/aggregate=%v", proto, aggregate), func(t *testing.T) {
			// A kinesalite each: its account takes 10 shards.
			kin := hosttest.Kinesalite(t)
			kc := kinesisClient(ctx, t, proto, kin, 3, 100*time.Millisecond)
			stream := fmt.Sprintf("keyed-%s-%v", proto, aggregate)
			hosttest.CreateStream(ctx, t, kc, stream, 4)
			pc, err := engine.ParseConfig([]byte(fmt.Sprintf(`version: 1
stages: [{module: a.wasm}]
outputs:
  default: {type: kinesis, stream: %s, endpoint: %q, aggregate: %v, batch_key: user.name, batch: {count: 1000}, protocol: %s}
`, stream, kin, aggregate, proto)), "p.yaml")
			if err != nil {
				t.Fatal(err)
			}
			sinks, err := engine.OpenSinksContext(ctx, pc, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			users := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}
			var outs []engine.Output
			for i := 0; i < 400; i++ {
				outs = append(outs, engine.Output{Data: []byte(fmt.Sprintf(`{"user":{"name":%q},"i":%d}`, users[i%len(users)], i))})
			}
			if err := sinks["default"].Write(ctx, outs); err != nil {
				t.Fatal(err)
			}
			if err := engine.CloseSinks(ctx, sinks); err != nil {
				t.Fatal(err)
			}
			d, err := kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)})
			if err != nil {
				t.Fatal(err)
			}
			shardOf := map[string]string{}
			last := map[string]int{}
			n, shardsUsed := 0, map[string]bool{}
			for _, sh := range d.StreamDescription.Shards {
				it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: sh.ShardId, ShardIteratorType: "TRIM_HORIZON"})
				if err != nil {
					t.Fatal(err)
				}
				got, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range got.Records {
					users, err := kpl.Deaggregate(r.Data)
					if err != nil {
						t.Fatal(err)
					}
					for _, u := range users {
						var name string
						var i int
						if _, err := fmt.Sscanf(strings.ReplaceAll(string(u.Data), `"`, " "), "{ user :{ name : %s },  i :%d}", &name, &i); err != nil {
							t.Fatalf("record %q: %v", u.Data, err)
						}
						if aws.ToString(r.PartitionKey) != name || (aggregate && u.PartitionKey != name) {
							t.Errorf("record of %s under partition key %q (user record %q)", name, aws.ToString(r.PartitionKey), u.PartitionKey)
						}
						if s, ok := shardOf[name]; ok && s != *sh.ShardId {
							t.Errorf("%s on shards %s and %s", name, s, *sh.ShardId)
						}
						shardOf[name] = *sh.ShardId
						shardsUsed[*sh.ShardId] = true
						if prev, ok := last[name]; ok && i <= prev {
							t.Errorf("%s: output %d after %d", name, i, prev)
						}
						last[name] = i
						n++
					}
				}
			}
			if n != len(outs) || len(shardOf) != len(users) {
				t.Fatalf("%d outputs of %d users read back, want %d of %d", n, len(shardOf), len(outs), len(users))
			}
			if len(shardsUsed) < 2 {
				t.Errorf("every key on one shard: %v", shardOf)
			}
		})
	}
}

func TestPartitionKey(t *testing.T) {
	long := strings.Repeat("é", MaxPartitionKeyChars+1)
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"alice", "alice"},
		{strings.Repeat("é", MaxPartitionKeyChars), strings.Repeat("é", MaxPartitionKeyChars)},
	} {
		if got := PartitionKey(tc.in); got != tc.want {
			t.Errorf("PartitionKey(%q) = %q", tc.in, got)
		}
	}
	if got := PartitionKey(long); len(got) != 64 {
		t.Errorf("PartitionKey(%d chars) = %q, want a SHA-256 in hex", MaxPartitionKeyChars+1, got)
	}
}
