package s3out

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/weirhq/weir/engine"
)

// TestS3BatchKeyStorageClassChecksum writes outputs of three accounts
// through an s3 output with batch_key, storage_class and
// checksum_algorithm (opened from YAML, as a pipeline does): one object
// per account under its key, and gofakes3 records the storage class and
// the SHA-256 checksum the SDK sent, which matches the stored body.
func TestS3BatchKeyStorageClassChecksum(t *testing.T) {
	endpoint, c := fakeS3(t, "lake")
	ctx := context.Background()
	engine.RegisterSink(engine.OutputS3, Open)
	pc, err := engine.ParseConfig([]byte(fmt.Sprintf(`version: 1
stages: [{module: a.wasm}]
outputs:
  default: {type: s3, bucket: lake, endpoint: %q, compression: none, batch_key: cloud.account, batch: {count: 100},
            storage_class: GLACIER_IR, checksum_algorithm: SHA256}
`, endpoint)), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sinks, err := engine.OpenSinksContext(ctx, pc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var outs []engine.Output
	accounts := []string{"111111111111", "222222222222", "../etc"}
	for i := 0; i < 30; i++ {
		outs = append(outs, engine.Output{Data: []byte(fmt.Sprintf(`{"cloud":{"account":%q},"i":%d}`, accounts[i%3], i))})
	}
	outs = append(outs, engine.Output{Data: []byte(`{"i":"no account"}`)})
	if err := sinks["default"].Write(ctx, outs); err != nil {
		t.Fatal(err)
	}
	if err := engine.CloseSinks(ctx, sinks); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("lake")})
	if err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	for _, o := range list.Contents {
		key := aws.ToString(o.Key)
		prefixes = append(prefixes, key[:strings.Index(key, "/")])
		head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("lake"), Key: o.Key, ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatal(err)
		}
		obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lake"), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		sum := sha256.Sum256(body)
		if head.StorageClass != types.StorageClassGlacierIr {
			t.Errorf("%s: storage class %q", key, head.StorageClass)
		}
		if got, want := aws.ToString(head.ChecksumSHA256), base64.StdEncoding.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: checksum %q recorded, want %q (SHA-256 of the body)", key, got, want)
		}
		lines := strings.Split(strings.TrimSpace(string(body)), "\n")
		for _, l := range lines {
			if prefixes[len(prefixes)-1] != "_none" && !strings.Contains(l, strings.ReplaceAll(prefixes[len(prefixes)-1], "_", ".")) && !strings.Contains(l, prefixes[len(prefixes)-1]) {
				t.Errorf("%s holds %s", key, l)
			}
		}
	}
	sort.Strings(prefixes)
	if fmt.Sprint(prefixes) != "[111111111111 222222222222 _none etc]" {
		t.Errorf("object key prefixes %v, want one object per account (../etc made safe, none for the output without one)", prefixes)
	}
}

func TestKeySegment(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"123456789012", "123456789012"},
		{"us-east-1/prod", "us-east-1/prod"},
		{"../../x", "x"},
		{"/a//b/", "a/b"},
		{"a b?c", "a_b_c"},
		{"", "_none"},
		{"..", "_none"},
	} {
		if got := KeySegment(tc.in); got != tc.want {
			t.Errorf("KeySegment(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
