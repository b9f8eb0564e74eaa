// Package enrichtest starts the real servers weir's enrichment tests run
// against: dnsmasq (DNS) and dynalite (a DynamoDB implementation), each on
// 127.0.0.1 with a free port, stopped when the test ends. A missing tool
// fails the test in CI and skips it elsewhere (hosttest.Missing).
package enrichtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/miekg/dns"

	"github.com/weirhq/weir/host/hosttest"
)

// start runs cmd until the test ends, failing with its output when it
// exits early.
func start(tb testing.TB, name string, args ...string) *bytes.Buffer {
	tb.Helper()
	var out bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("enrichtest: start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	return &out
}

// Dnsmasq starts dnsmasq on 127.0.0.1 with records given as dnsmasq
// options (--address=/host/ip, --ptr-record=..., --txt-record=...) and
// returns its address (host:port) once it answers.
func Dnsmasq(tb testing.TB, records ...string) string {
	tb.Helper()
	bin := "/usr/sbin/dnsmasq"
	if _, err := os.Stat(bin); err != nil {
		bin = hosttest.RequireTool(tb, "dnsmasq", "apt-get install dnsmasq-base (or scripts/ensure-tools.sh apt)")
	}
	port := hosttest.FreePort(tb)
	args := []string{"--no-daemon", "--port=" + strconv.Itoa(port), "--listen-address=127.0.0.1", "--bind-interfaces",
		"--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=", "--log-facility=-"}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	args = append(args, records...)
	out := start(tb, bin, args...)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion("probe.invalid.", dns.TypeA)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, _, err := c.Exchange(m, addr); err == nil {
			return addr
		}
	}
	tb.Fatalf("enrichtest: dnsmasq did not answer on %s:\n%s", addr, out.String())
	return ""
}

// SilentDNS returns the address of a UDP socket on 127.0.0.1 that reads
// queries and never answers (a resolver that times out).
func SilentDNS(tb testing.TB) string {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	tb.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

// Dynalite starts dynalite (tools/node) on 127.0.0.1 and returns its
// endpoint URL. It also points the AWS SDK of the test process at local
// servers (hosttest.SetAWSEnv: dummy credentials, region us-east-1).
func Dynalite(t *testing.T) string {
	t.Helper()
	endpoint := hosttest.Dynalite(t)
	hosttest.SetAWSEnv(t)
	return endpoint
}

// Client returns a DynamoDB client for endpoint.
func Client(tb testing.TB, endpoint string) *dynamodb.Client {
	tb.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	if err != nil {
		tb.Fatal(err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// Table creates a table with a string partition key and puts items
// (attribute values: strings, numbers as int, []string as L of S).
func Table(tb testing.TB, c *dynamodb.Client, name, key string, items ...map[string]any) {
	tb.Helper()
	ctx := context.Background()
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(key), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(key), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		tb.Fatalf("enrichtest: create table %s: %v", name, err)
	}
	// dynalite may answer CREATING for a moment: poll fast (the waiter's
	// default first delay, 20s, would exceed the wait).
	w := dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 500*time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 20*time.Second); err != nil {
		tb.Fatalf("enrichtest: table %s: %v", name, err)
	}
	for _, it := range items {
		av := map[string]types.AttributeValue{}
		for k, v := range it {
			switch x := v.(type) {
			case string:
				av[k] = &types.AttributeValueMemberS{Value: x}
			case int:
				av[k] = &types.AttributeValueMemberN{Value: strconv.Itoa(x)}
			case int64:
				av[k] = &types.AttributeValueMemberN{Value: strconv.FormatInt(x, 10)}
			case []string:
				l := make([]types.AttributeValue, len(x))
				for i, s := range x {
					l[i] = &types.AttributeValueMemberS{Value: s}
				}
				av[k] = &types.AttributeValueMemberL{Value: l}
			default:
				tb.Fatalf("enrichtest: unsupported attribute %s: %T", k, v)
			}
		}
		if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: av}); err != nil {
			tb.Fatalf("enrichtest: put into %s: %v", name, err)
		}
	}
}

// ReferenceTables creates the reference job's users and accounts tables.
func ReferenceTables(tb testing.TB, c *dynamodb.Client) {
	tb.Helper()
	Table(tb, c, "users", "user_name",
		map[string]any{"user_name": "anonymous", "full_name": "Jane Doe", "roles": []string{"admin", "security"}},
		map[string]any{"user_name": "jdoe", "full_name": "John Doe", "roles": []string{"developer"}})
	Table(tb, c, "accounts", "account_id",
		map[string]any{"account_id": "987654321012", "name": "Development"})
}

// ReferenceDNS are the dnsmasq records of the reference job and of the
// DNS tests.
var ReferenceDNS = []string{
	"--ptr-record=0.2.0.192.in-addr.arpa,c-192-0-2-0.hsd1.ca.comcast.net",
	"--local=/2.0.192.in-addr.arpa/",
	"--address=/host.test/192.0.2.10",
	"--address=/nx.test/",
	"--txt-record=txt.test,v=spf1 -all",
}
