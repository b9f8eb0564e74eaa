package kinesisin

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/hosttest"
)

// TestCheckpoints runs both stores through the same table: a shard never
// seen has no checkpoint, Put then Get round-trips, a later Put replaces,
// shards are independent, and a new store instance reads what was stored.
func TestCheckpoints(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	filePath := filepath.Join(t.TempDir(), "cp.json")
	// Each store opens with the subtest's t: a missing dynalite then
	// skips (or fails, in CI) that subtest alone.
	stores := map[string]func(t *testing.T) Checkpoints{
		"file": func(*testing.T) Checkpoints { return &FileCheckpoints{Path: filePath} },
		"dynamodb": func(t *testing.T) Checkpoints {
			endpoint := hosttest.Dynalite(t)
			hosttest.SetAWSEnv(t)
			cfg, err := awsconf.Load(ctx, "us-east-1", 3, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
			_, err = c.CreateTable(ctx, &dynamodb.CreateTableInput{
				TableName:            aws.String("checkpoints"),
				AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("shard"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
				KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("shard"), KeyType: ddbtypes.KeyTypeHash}},
				BillingMode:          ddbtypes.BillingModePayPerRequest,
			})
			if err != nil {
				t.Fatal(err)
			}
			return &DynamoDBCheckpoints{Client: c, Table: "checkpoints", Stream: "s"}
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			steps := []struct {
				put, shard, want string
			}{
				{"", "shard-0", ""},
				{"100", "shard-0", "100"},
				{"200", "shard-0", "200"},
				{"7", "shard-1", "7"},
				{"", "shard-0", "200"},
			}
			for i, st := range steps {
				if st.put != "" {
					if err := s.Put(ctx, st.shard, st.put); err != nil {
						t.Fatalf("step %d: Put: %v", i, err)
					}
				}
				got, err := s.Get(ctx, st.shard)
				if err != nil || got != st.want {
					t.Fatalf("step %d: Get(%s) = %q, %v; want %q", i, st.shard, got, err, st.want)
				}
			}
			if name == "file" {
				again := &FileCheckpoints{Path: filePath}
				if got, err := again.Get(ctx, "shard-1"); err != nil || got != "7" {
					t.Fatalf("a new store read %q, %v", got, err)
				}
			}
		})
	}
}
