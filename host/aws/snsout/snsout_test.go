package snsout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/deliver"
	"github.com/weirhq/weir/host/hosttest"
)

// fakeSNS is a loopback server speaking SNS's query protocol
// (Action=PublishBatch, form-encoded; XML answers). It checks the
// service's limits, records the messages it accepted, throttles the first
// call as a whole when throttle is set, and fails entries as fail says.
type fakeSNS struct {
	mu       sync.Mutex
	calls    [][]string
	accepted []string
	throttle bool
	fail     func(call int, msg string) (code string, senderFault bool)
}

func (f *fakeSNS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "PublishBatch" || r.Form.Get("Version") != "2010-03-31" {
		http.Error(w, "unexpected request "+r.Form.Encode(), 400)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	senderErr := func(code, msg string) {
		w.WriteHeader(400)
		fmt.Fprintf(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, code, msg)
	}
	if f.throttle {
		f.throttle = false
		senderErr("Throttling", "Rate exceeded")
		return
	}
	if !strings.HasPrefix(r.Form.Get("TopicArn"), "arn:aws:sns:") {
		senderErr("InvalidParameter", "TopicArn")
		return
	}
	type entry struct{ id, msg string }
	var entries []entry
	for n := 1; ; n++ {
		p := "PublishBatchRequestEntries.member." + strconv.Itoa(n)
		if _, ok := r.Form[p+".Id"]; !ok {
			break
		}
		entries = append(entries, entry{r.Form.Get(p + ".Id"), r.Form.Get(p + ".Message")})
	}
	// The service's limits, written out: 10 entries, 256 KiB in all.
	size := 0
	for _, e := range entries {
		size += len(e.msg)
	}
	if len(entries) > 10 {
		senderErr("TooManyEntriesInBatchRequest", strconv.Itoa(len(entries)))
		return
	}
	if size > 256<<10 {
		senderErr("BatchRequestTooLong", strconv.Itoa(size))
		return
	}
	var ok, failed strings.Builder
	var msgs []string
	for _, e := range entries {
		msgs = append(msgs, e.msg)
		if code, sender := f.fail(len(f.calls)+1, e.msg); code != "" {
			fmt.Fprintf(&failed, "<member><Id>%s</Id><Code>%s</Code><Message>injected</Message><SenderFault>%t</SenderFault></member>", e.id, code, sender)
			continue
		}
		f.accepted = append(f.accepted, e.msg)
		fmt.Fprintf(&ok, "<member><Id>%s</Id><MessageId>m-%s</MessageId></member>", e.id, e.id)
	}
	f.calls = append(f.calls, msgs)
	fmt.Fprintf(w, `<PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishBatchResult><Successful>%s</Successful><Failed>%s</Failed></PublishBatchResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishBatchResponse>`, ok.String(), failed.String())
}

// TestSNSOutput: 25 outputs, some of 60 KB, through a loopback SNS that
// throttles the first call and fails entries 0 and 3 of the next: calls
// of at most 10 messages and 256 KiB, the failed entries re-sent alone,
// every message published once. A sender fault, running out of attempts
// and an oversize or non-UTF-8 output are errors naming the outputs.
func TestSNSOutput(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	f := &fakeSNS{throttle: true, fail: func(call int, msg string) (string, bool) {
		if call == 1 && (strings.HasSuffix(msg, `"i":0}`) || strings.HasSuffix(msg, `"i":3}`)) {
			return "InternalError", false
		}
		return "", false
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	const topic = "arn:aws:sns:us-east-1:123456789012:alerts"
	s, err := Open(ctx, "alerts", engine.OutputConfig{Type: engine.OutputSNS, TopicARN: topic, Endpoint: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var outs []engine.Output
	for i := range 25 {
		pad := ""
		if i >= 12 && i < 18 {
			pad = strings.Repeat("p", 60<<10)
		}
		outs = append(outs, engine.Output{Data: fmt.Appendf(nil, `{"pad":"%s","msg":"<&>","i":%d}`, pad, i)})
	}
	if err := s.Write(ctx, outs); err != nil {
		t.Fatal(err)
	}
	hosttest.CheckDeliveredOnce(t, outs, f.accepted, "", "published")
	sizes := hosttest.CallSizes(f.calls)
	// 10 small (0 and 3 failed) → 2 re-sent; 2 small + 4 large (240 KiB);
	// 2 large + 7 small. The throttled call was retried by the SDK.
	if fmt.Sprint(sizes) != "[10 2 6 9]" || f.throttle {
		t.Errorf("messages per call %v", sizes)
	}

	f.fail = func(int, string) (string, bool) { return "InvalidParameter", true }
	err = s.Write(ctx, outs[:3])
	var de *deliver.Error
	if !errors.As(err, &de) || fmt.Sprint(de.OutputIndexes()) != "[0 1 2]" || !strings.Contains(err.Error(), "InvalidParameter") {
		t.Errorf("sender fault: %v", err)
	}
	f.fail = func(int, string) (string, bool) { return "InternalError", false }
	err = New(s.(*Sink).client, topic, 2).Write(ctx, outs[:3])
	if err == nil || !strings.Contains(err.Error(), "still failed after 2 attempts: InternalError") {
		t.Errorf("out of attempts: %v", err)
	}
	f.fail = func(int, string) (string, bool) { return "", false }
	for _, tc := range []struct{ data, want string }{
		{strings.Repeat("x", 256<<10+1), "output 1: 262145 bytes exceeds the 256 KiB message limit"},
		{"\xff\xfe", "output 1: not valid UTF-8"},
	} {
		if err := s.Write(ctx, []engine.Output{outs[0], {Data: []byte(tc.data)}}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
