package kinesisin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// FileCheckpoints keeps checkpoints in a JSON file ({"shardId":
// "sequenceNumber"}), rewritten atomically (temporary file + rename) on
// every Put.
type FileCheckpoints struct {
	Path string
	mu   sync.Mutex
	m    map[string]string
}

func (f *FileCheckpoints) load() error {
	if f.m != nil {
		return nil
	}
	f.m = map[string]string{}
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &f.m); err != nil {
		return fmt.Errorf("checkpoint file %s: %w", f.Path, err)
	}
	return nil
}

// Get returns the shard's checkpoint.
func (f *FileCheckpoints) Get(_ context.Context, shard string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.load(); err != nil {
		return "", err
	}
	return f.m[shard], nil
}

// Put stores the shard's checkpoint.
func (f *FileCheckpoints) Put(_ context.Context, shard, seq string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.load(); err != nil {
		return err
	}
	f.m[shard] = seq
	b, err := json.MarshalIndent(f.m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.Path), ".checkpoints-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), f.Path)
}

// DynamoDBCheckpoints keeps checkpoints in a DynamoDB table whose
// partition key is the string attribute "shard" (the item holds
// "stream", "shard" as "stream/shardId" and "sequence_number").
type DynamoDBCheckpoints struct {
	Client *dynamodb.Client
	Table  string
	Stream string
}

func (d *DynamoDBCheckpoints) key(shard string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{"shard": &ddbtypes.AttributeValueMemberS{Value: d.Stream + "/" + shard}}
}

// Get returns the shard's checkpoint.
func (d *DynamoDBCheckpoints) Get(ctx context.Context, shard string) (string, error) {
	out, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: d.key(shard), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("checkpoint table %s: %w", d.Table, err)
	}
	if v, ok := out.Item["sequence_number"].(*ddbtypes.AttributeValueMemberS); ok {
		return v.Value, nil
	}
	return "", nil
}

// Put stores the shard's checkpoint.
func (d *DynamoDBCheckpoints) Put(ctx context.Context, shard, seq string) error {
	item := d.key(shard)
	item["sequence_number"] = &ddbtypes.AttributeValueMemberS{Value: seq}
	item["stream"] = &ddbtypes.AttributeValueMemberS{Value: d.Stream}
	if _, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.Table), Item: item}); err != nil {
		return fmt.Errorf("checkpoint table %s: %w", d.Table, err)
	}
	return nil
}

var (
	_ Checkpoints = (*FileCheckpoints)(nil)
	_ Checkpoints = (*DynamoDBCheckpoints)(nil)
)
