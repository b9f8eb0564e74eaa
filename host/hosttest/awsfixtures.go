package hosttest

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// CreateStream creates stream with shards on kc (kinesalite) and waits
// until it is ACTIVE (kinesalite creates it after a delay, as Kinesis
// does), polling every 20-200 ms. A failure fails the test.
func CreateStream(ctx context.Context, tb testing.TB, kc *kinesis.Client, stream string, shards int32) {
	tb.Helper()
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(stream), ShardCount: aws.Int32(shards)}); err != nil {
		tb.Fatal(err)
	}
	waiter := kinesis.NewStreamExistsWaiter(kc, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 200*time.Millisecond
	})
	if err := waiter.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(stream)}, 30*time.Second); err != nil {
		tb.Fatalf("stream %s never became active: %v", stream, err)
	}
}

// CreateTable creates table on client (dynalite): on-demand, keyed by the
// string attribute hashKey. A failure fails the test.
func CreateTable(ctx context.Context, tb testing.TB, client *dynamodb.Client, table, hashKey string) {
	tb.Helper()
	if _, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(hashKey), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(hashKey), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	}); err != nil {
		tb.Fatal(err)
	}
}
