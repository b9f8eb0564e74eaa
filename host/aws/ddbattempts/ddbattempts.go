// Package ddbattempts keeps the failure counts of weir's Lambda handler
// (lambda.AttemptStore) in a DynamoDB table, so that they survive retries
// on other containers. The table's hash key is the string attribute "id"
// (a unit key such as "shardId-000000000000:4959..."); items carry
// "attempts" (a number) and "expires_at" (epoch seconds, for the table's
// TTL, so forgotten counts expire).
package ddbattempts

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DefaultTTL is how long a count is kept after its last failure.
const DefaultTTL = 7 * 24 * time.Hour

// Store is a lambda.AttemptStore on a DynamoDB table.
type Store struct {
	client *dynamodb.Client
	table  string
	ttl    time.Duration
}

// New returns a store on table.
func New(client *dynamodb.Client, table string) *Store {
	return &Store{client: client, table: table, ttl: DefaultTTL}
}

// Increment adds one to key's count atomically (UpdateItem ADD).
func (s *Store) Increment(ctx context.Context, key string) (int, error) {
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(s.table),
		Key:              map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: key}},
		UpdateExpression: aws.String("ADD attempts :one SET expires_at = :exp"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": &types.AttributeValueMemberN{Value: "1"},
			":exp": &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(s.ttl).Unix(), 10)},
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("attempts table %s: key %s: %w", s.table, key, err)
	}
	n, ok := out.Attributes["attempts"].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("attempts table %s: key %s: no attempts attribute returned", s.table, key)
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		return 0, fmt.Errorf("attempts table %s: key %s: %w", s.table, key, err)
	}
	return v, nil
}

// Delete removes key's count.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table),
		Key:       map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: key}},
	})
	if err != nil {
		return fmt.Errorf("attempts table %s: key %s: %w", s.table, key, err)
	}
	return nil
}
