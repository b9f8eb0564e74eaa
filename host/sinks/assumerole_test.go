package sinks

import (
	"context"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/hosttest"
)

// The credentials the loopback STS hands out.
const (
	assumedKey     = "ASIAASSUMEDKEY000001"
	assumedSecret  = "assumed-secret"
	assumedToken   = "assumed-session-token"
	roleARN        = "arn:aws:iam::210987654321:role/weir-writer"
	baseCredential = "Credential=test/" // hosttest.AWSEnv's access key id
)

// fakeSTS speaks STS's query protocol: AssumeRole answers with
// assumedKey; it records the calls and how each was signed.
type fakeSTS struct {
	mu    sync.Mutex
	calls []string // "RoleArn RoleSessionName signed-with-base"
}

func (f *fakeSTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "AssumeRole" || r.Form.Get("Version") != "2011-06-15" {
		w.WriteHeader(400)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>%s</Message></Error><RequestId>1</RequestId></ErrorResponse>`, r.Form.Encode())
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf("%s %s %v", r.Form.Get("RoleArn"), r.Form.Get("RoleSessionName"),
		strings.Contains(r.Header.Get("Authorization"), baseCredential)))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>%s</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::210987654321:assumed-role/weir-writer/%s</Arn>
      <AssumedRoleId>AROAEXAMPLE:%s</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>`, assumedKey, assumedSecret, assumedToken, time.Now().Add(time.Hour).UTC().Format(time.RFC3339), r.Form.Get("RoleSessionName"), r.Form.Get("RoleSessionName"))
}

// signatures records the credential and session token of every request
// before handing it to next.
type signatures struct {
	mu   sync.Mutex
	seen []string // "access-key-id token"
	next http.Handler
}

func (s *signatures) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	key := "unsigned"
	if _, after, ok := strings.Cut(auth, "Credential="); ok {
		key, _, _ = strings.Cut(after, "/")
	}
	s.mu.Lock()
	s.seen = append(s.seen, key+" "+r.Header.Get("X-Amz-Security-Token"))
	s.mu.Unlock()
	s.next.ServeHTTP(w, r)
}

// jsonAnswer answers the JSON-protocol batch calls of SQS and Firehose
// with every entry accepted.
func jsonAnswer(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch r.Header.Get("X-Amz-Target") {
	case "AmazonSQS.SendMessageBatch":
		var req struct {
			Entries []struct{ Id, MessageBody string }
		}
		_ = json.Unmarshal(body, &req)
		var ok []map[string]string
		for _, e := range req.Entries {
			ok = append(ok, map[string]string{"Id": e.Id, "MessageId": "m" + e.Id, "MD5OfMessageBody": fmt.Sprintf("%x", md5sum(e.MessageBody))})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"Successful": ok, "Failed": []any{}})
	case "Firehose_20150804.PutRecordBatch":
		var req struct{ Records []json.RawMessage }
		_ = json.Unmarshal(body, &req)
		res := make([]map[string]string, len(req.Records))
		for i := range res {
			res[i] = map[string]string{"RecordId": fmt.Sprint(i)}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"FailedPutCount": 0, "RequestResponses": res})
	case "AWSEvents.PutEvents":
		var req struct{ Entries []json.RawMessage }
		_ = json.Unmarshal(body, &req)
		res := make([]map[string]string, len(req.Entries))
		for i := range res {
			res[i] = map[string]string{"EventId": fmt.Sprint(i)}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"FailedEntryCount": 0, "Entries": res})
	default:
		http.Error(w, "unexpected target", 400)
	}
}

// snsAnswer answers SNS PublishBatch (query protocol) accepting every
// entry.
func snsAnswer(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "PublishBatch" {
		http.Error(w, "unexpected action", 400)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	var ok strings.Builder
	for n := 1; r.Form.Has(fmt.Sprintf("PublishBatchRequestEntries.member.%d.Id", n)); n++ {
		id := r.Form.Get(fmt.Sprintf("PublishBatchRequestEntries.member.%d.Id", n))
		fmt.Fprintf(&ok, "<member><Id>%s</Id><MessageId>m%s</MessageId></member>", id, id)
	}
	fmt.Fprintf(w, `<PublishBatchResponse><PublishBatchResult><Successful>%s</Successful><Failed></Failed></PublishBatchResult></PublishBatchResponse>`, ok.String())
}

// lambdaAnswer answers Lambda Invoke (REST: POST
// /2015-03-31/functions/NAME/invocations) with a null result.
func lambdaAnswer(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/invocations") {
		http.Error(w, "unexpected request", 400)
		return
	}
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	_, _ = w.Write([]byte("null"))
}

// TestAssumeRoleEveryAWSOutput opens every AWS output with
// assume_role_arn from a YAML pipeline: each calls the loopback STS once,
// signed with the base credentials, and then signs its service calls with
// the assumed credentials and session token (kinesis to kinesalite,
// dynamodb to dynalite, s3 to gofakes3, sqs, firehose, eventbridge, sns and lambda to loopback
// servers), and the write succeeds.
func TestAssumeRoleEveryAWSOutput(t *testing.T) {
	hosttest.SetAWSEnv(t)
	Register()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sts := &fakeSTS{}
	stsSrv := httptest.NewServer(sts)
	defer stsSrv.Close()
	t.Setenv("AWS_ENDPOINT_URL_STS", stsSrv.URL)

	proxyTo := func(endpoint string) http.Handler {
		u, _ := url.Parse(endpoint)
		return httputil.NewSingleHostReverseProxy(u)
	}
	base, err := awsconf.Load(ctx, "us-east-1", 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	kin := hosttest.Kinesalite(t)
	kc := kinesis.NewFromConfig(base, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(kin) })
	hosttest.CreateStream(ctx, t, kc, "x-account", 1)
	ddb := hosttest.Dynalite(t)
	dc := dynamodb.NewFromConfig(base, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(ddb) })
	hosttest.CreateTable(ctx, t, dc, "ctx", "id")
	s3srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer s3srv.Close()
	if _, err := s3.NewFromConfig(base, func(o *s3.Options) { o.BaseEndpoint = aws.String(s3srv.URL); o.UsePathStyle = true }).
		CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		typ, settings string
		next          http.Handler
	}{
		{"kinesis", "stream: x-account", proxyTo(kin)},
		{"dynamodb", "table: ctx", proxyTo(ddb)},
		{"s3", "bucket: lake", proxyTo(s3srv.URL)},
		{"sqs", "queue_url: https://sqs.us-east-1.amazonaws.com/210987654321/q", http.HandlerFunc(jsonAnswer)},
		{"firehose", "stream: d", http.HandlerFunc(jsonAnswer)},
		{"eventbridge", "event_bus: security", http.HandlerFunc(jsonAnswer)},
		{"sns", "topic_arn: arn:aws:sns:us-east-1:210987654321:alerts", http.HandlerFunc(snsAnswer)},
		{"lambda", "function: ticketing", http.HandlerFunc(lambdaAnswer)},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			sts.mu.Lock()
			sts.calls = nil
			sts.mu.Unlock()
			sig := &signatures{next: tc.next}
			srv := httptest.NewServer(sig)
			defer srv.Close()
			pc, err := engine.ParseConfig([]byte(fmt.Sprintf("version: 1\nstages: [{module: a.wasm}]\noutputs:\n  default: {type: %s, %s, endpoint: %q, assume_role_arn: %q}\n",
				tc.typ, tc.settings, srv.URL, roleARN)), "p.yaml")
			if err != nil {
				t.Fatal(err)
			}
			sinks, err := engine.OpenSinksContext(ctx, pc, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer engine.CloseSinks(ctx, sinks)
			for i := 0; i < 2; i++ {
				if err := sinks["default"].Write(ctx, []engine.Output{{Data: []byte(fmt.Sprintf(`{"id":"k%d","v":1}`, i))}}); err != nil {
					t.Fatal(err)
				}
			}
			sts.mu.Lock()
			calls := fmt.Sprint(sts.calls)
			sts.mu.Unlock()
			if want := fmt.Sprintf("[%s weir true]", roleARN); calls != want {
				t.Errorf("STS calls %s, want %s (one AssumeRole signed with the base credentials, then cached)", calls, want)
			}
			sig.mu.Lock()
			defer sig.mu.Unlock()
			if len(sig.seen) == 0 {
				t.Fatal("no service call")
			}
			for _, s := range sig.seen {
				if s != assumedKey+" "+assumedToken {
					t.Errorf("service call signed with %q, want the assumed credentials %s %s", s, assumedKey, assumedToken)
				}
			}
		})
	}
}

func md5sum(s string) []byte {
	h := md5.Sum([]byte(s))
	return h[:]
}
