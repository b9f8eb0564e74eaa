package ddbattempts

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/lambda"
)

var _ lambda.AttemptStore = (*Store)(nil)

// TestStore counts attempts in dynalite: increments are atomic (two
// stores, as two containers, counting concurrently), keys are
// independent, the TTL attribute is set, Delete starts a key over, and a
// missing table is an error naming the table and the key.
func TestStore(t *testing.T) {
	hosttest.SetAWSEnv(t)
	endpoint := hosttest.Dynalite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg, err := awsconf.Load(ctx, "us-east-1", 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	hosttest.CreateTable(ctx, t, client, "attempts", "id")
	a, b := New(client, "attempts"), New(client, "attempts")
	const key = "kinesis:shardId-000000000000:49590338271490256608559692538361571095921575989136588898"
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Increment(ctx, key); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n, err := a.Increment(ctx, key); err != nil || n != 11 {
		t.Fatalf("Increment = %d, %v; want 11", n, err)
	}
	if n, err := b.Increment(ctx, "sqs:other"); err != nil || n != 1 {
		t.Fatalf("another key: %d, %v; want 1", n, err)
	}
	got, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("attempts"), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: key}}})
	if err != nil {
		t.Fatal(err)
	}
	exp, ok := got.Item["expires_at"].(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("no expires_at: %#v", got.Item)
	}
	if v, _ := strconv.ParseInt(exp.Value, 10, 64); v < time.Now().Add(DefaultTTL-time.Hour).Unix() {
		t.Errorf("expires_at %s is not a week away", exp.Value)
	}
	if err := b.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Increment(ctx, key); err != nil || n != 1 {
		t.Fatalf("after Delete: %d, %v; want 1", n, err)
	}
	_, err = New(client, "missing").Increment(ctx, "k1")
	if err == nil || !strings.Contains(err.Error(), "attempts table missing: key k1") || !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Errorf("missing table: %v", err)
	}
}
