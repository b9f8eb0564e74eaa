package sqsout

import (
	"context"
	"crypto/md5"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/hosttest"
)

// fakeSQS is a loopback server speaking SQS's JSON protocol
// (AmazonSQS.SendMessageBatch). It checks the service limits, records
// the messages it accepted, and fails entries as fail says.
type fakeSQS struct {
	mu       sync.Mutex
	calls    [][]string // message bodies per call
	accepted []string
	// fail returns the error code for an entry of call n (1-based), ""
	// to accept it; senderFault marks the code as the sender's.
	fail func(call int, body string) (code string, senderFault bool)
	// FIFO queues (URL ending in .fifo): the group of every accepted
	// message, and the deduplication ids seen (a message with a seen id
	// is answered as sent but not stored, as SQS does).
	groups []string
	dedup  map[string]bool
}

func (f *fakeSQS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "AmazonSQS.SendMessageBatch" {
		http.Error(w, "unexpected target "+r.Header.Get("X-Amz-Target"), 400)
		return
	}
	var req struct {
		QueueURL string `json:"QueueUrl"`
		Entries  []struct{ Id, MessageBody, MessageGroupId, MessageDeduplicationId string }
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	// The service's limits, written out rather than taken from the
	// package: at most 10 entries; 1 MiB per message and per batch.
	const maxEntries, maxMessage, maxBatch = 10, 1 << 20, 1 << 20
	size := 0
	for _, e := range req.Entries {
		size += len(e.MessageBody)
		if len(e.MessageBody) > maxMessage {
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"__type":"com.amazonaws.sqs#InvalidParameterValue","message":"One or more parameters are invalid. Reason: Message must be shorter than %d bytes."}`, maxMessage)
			return
		}
	}
	if len(req.Entries) > maxEntries {
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"__type":"com.amazonaws.sqs#TooManyEntriesInBatchRequest","message":"%d entries"}`, len(req.Entries))
		return
	}
	fifo := strings.HasSuffix(req.QueueURL, ".fifo")
	for _, e := range req.Entries {
		if fifo && (e.MessageGroupId == "" || e.MessageDeduplicationId == "") {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"__type":"com.amazonaws.sqs#MissingParameter","message":"The request must contain the parameter MessageGroupId."}`)
			return
		}
		if !fifo && (e.MessageGroupId != "" || e.MessageDeduplicationId != "") {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"__type":"com.amazonaws.sqs#InvalidParameterValue","message":"MessageGroupId is only for FIFO queues"}`)
			return
		}
	}
	if size > maxBatch {
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"__type":"com.amazonaws.sqs#BatchRequestTooLong","message":"%d bytes"}`, size)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var bodies []string
	type ok struct{ Id, MessageId, MD5OfMessageBody string }
	type failed struct {
		Id, Code, Message string
		SenderFault       bool
	}
	resp := struct {
		Successful []ok
		Failed     []failed
	}{Successful: []ok{}, Failed: []failed{}}
	for _, e := range req.Entries {
		bodies = append(bodies, e.MessageBody)
		if code, sender := f.fail(len(f.calls)+1, e.MessageBody); code != "" {
			resp.Failed = append(resp.Failed, failed{Id: e.Id, Code: code, Message: "injected", SenderFault: sender})
			continue
		}
		if fifo {
			if f.dedup == nil {
				f.dedup = map[string]bool{}
			}
			if !f.dedup[e.MessageDeduplicationId] {
				f.dedup[e.MessageDeduplicationId] = true
				f.accepted = append(f.accepted, e.MessageBody)
				f.groups = append(f.groups, e.MessageGroupId)
			}
		} else {
			f.accepted = append(f.accepted, e.MessageBody)
		}
		resp.Successful = append(resp.Successful, ok{Id: e.Id, MessageId: "m-" + e.Id, MD5OfMessageBody: fmt.Sprintf("%x", md5.Sum([]byte(e.MessageBody)))})
	}
	f.calls = append(f.calls, bodies)
	_ = json.NewEncoder(w).Encode(resp)
}

// TestSQSOutput sends 25 outputs, some of 100 KB, through a loopback SQS
// that fails every third message of the first call: calls of at most 10
// messages and 1 MiB, the failed entries re-sent alone, every message
// delivered once. A sender fault, an oversize output and invalid UTF-8
// are errors naming the output.
func TestSQSOutput(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	f := &fakeSQS{fail: func(call int, body string) (string, bool) {
		if call == 1 && strings.HasSuffix(body, `0"}`) || call == 1 && strings.HasSuffix(body, `3"}`) {
			return "InternalError", false
		}
		return "", false
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	queue := srv.URL + "/123456789012/q"
	s, err := Open(ctx, "queue", engine.OutputConfig{Type: "sqs", QueueURL: queue, Endpoint: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var outs []engine.Output
	var want []string
	for i := 0; i < 25; i++ {
		pad := ""
		if i >= 12 && i < 18 {
			pad = strings.Repeat("p", 100<<10)
		}
		d := fmt.Sprintf(`{"pad":"%s","i":"%d"}`, pad, i)
		outs = append(outs, engine.Output{Data: []byte(d)})
		want = append(want, d)
	}
	if err := s.Write(ctx, outs); err != nil {
		t.Fatal(err)
	}
	if len(f.accepted) != 25 {
		t.Fatalf("%d messages accepted, want 25", len(f.accepted))
	}
	seen := map[string]int{}
	for _, b := range f.accepted {
		seen[b]++
	}
	for _, w := range want {
		if seen[w] != 1 {
			t.Errorf("message %.20q…%q accepted %d times", w, w[len(w)-8:], seen[w])
		}
	}
	sizes := hosttest.CallSizes(f.calls)
	// 10 small (0 and 3 failed) → 2 re-sent; 2 small + 6 large + 2 small
	// (600 KB, under 1 MiB); 5 small.
	if fmt.Sprint(sizes) != "[10 2 10 5]" {
		t.Errorf("messages per call %v", sizes)
	}

	f.fail = func(int, string) (string, bool) { return "InvalidMessageContents", true }
	err = s.Write(ctx, outs[:3])
	if err == nil || !strings.Contains(err.Error(), "outputs 0-2 refused: InvalidMessageContents") || !strings.Contains(err.Error(), queue) {
		t.Errorf("sender fault: %v", err)
	}
	f.fail = func(int, string) (string, bool) { return "ServiceUnavailable", false }
	s2 := New(s.(*Sink).client, queue, 2)
	err = s2.Write(ctx, outs[:3])
	if err == nil || !strings.Contains(err.Error(), "still failed after 2 attempts: ServiceUnavailable") {
		t.Errorf("out of attempts: %v", err)
	}
	for _, tc := range []struct{ data, want string }{
		{strings.Repeat("x", 1<<20+1), "output 1: 1048577 bytes exceeds the 1 MiB message limit"},
		{"\xff\xfe", "output 1: not valid UTF-8"},
	} {
		if err := s.Write(ctx, []engine.Output{outs[0], {Data: []byte(tc.data)}}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

// TestSQSMessageLimits: messages up to 1 MiB go out (SQS raised the limit
// from 256 KiB), batches are split at 1 MiB, and a larger message is an
// error naming the output, before any call.
func TestSQSMessageLimits(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	f := &fakeSQS{fail: func(int, string) (string, bool) { return "", false }}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s, err := Open(ctx, "queue", engine.OutputConfig{Type: "sqs", QueueURL: srv.URL + "/123456789012/q", Endpoint: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := func(i, n int) engine.Output {
		return engine.Output{Data: []byte(fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, strings.Repeat("p", n)))}
	}
	outs := []engine.Output{msg(0, 900<<10), msg(1, 400<<10), msg(2, 400<<10), msg(3, 400<<10), msg(4, 1<<20-20)}
	if err := s.Write(ctx, outs); err != nil {
		t.Fatal(err)
	}
	sizes := hosttest.CallSizes(f.calls)
	if fmt.Sprint(sizes) != "[1 2 1 1]" || len(f.accepted) != len(outs) {
		t.Fatalf("messages per call %v, %d accepted; want [1 2 1 1] and %d", sizes, len(f.accepted), len(outs))
	}
	for i, o := range outs {
		if f.accepted[i] != string(o.Data) {
			t.Fatalf("message %d differs", i)
		}
	}
	f.calls = nil
	err = s.Write(ctx, []engine.Output{msg(0, 10), msg(1, 1<<20)})
	if err == nil || !strings.Contains(err.Error(), "output 1:") || !strings.Contains(err.Error(), "exceeds the 1 MiB message limit") || len(f.calls) != 0 {
		t.Fatalf("oversize: %v after %d calls", err, len(f.calls))
	}
}

// TestSQSFIFO: on a .fifo queue every message carries the group id read
// from message_group_key (DefaultGroup without it) and a deduplication id
// (dedup_key's value, else the body's SHA-256): a message re-sent after
// an injected failure, or sent twice, is stored once.
func TestSQSFIFO(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	engine.RegisterSink(engine.OutputSQS, Open)
	for _, tc := range []struct {
		name, settings string
		groups         string // of the accepted messages, in order (bob's failed and was re-sent last)
		accepted       int
	}{
		{"group from a field, dedup by hash", "message_group_key: user", "[alice alice weir alice bob]", 5},
		{"dedup from a field", "message_group_key: user, dedup_key: event.id", "[alice weir bob]", 3},
		{"no keys: one group", "", "[weir weir weir weir weir]", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSQS{fail: func(call int, body string) (string, bool) {
				if call == 1 && strings.Contains(body, `"n":1`) {
					return "InternalError", false
				}
				return "", false
			}}
			srv := httptest.NewServer(f)
			defer srv.Close()
			pc, err := engine.ParseConfig([]byte(fmt.Sprintf(`version: 1
stages: [{module: a.wasm}]
outputs:
  default: {type: sqs, queue_url: %q, endpoint: %q, %s}
`, srv.URL+"/123456789012/alerts.fifo", srv.URL, tc.settings)), "p.yaml")
			if err != nil {
				t.Fatal(err)
			}
			sinks, err := engine.OpenSinksContext(ctx, pc, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var outs []engine.Output
			for _, d := range []string{
				`{"user":"alice","event":{"id":"e1"},"n":0}`,
				`{"user":"bob","event":{"id":"e2"},"n":1}`,
				`{"user":"alice","event":{"id":"e1"},"n":2}`,
				`{"event":{"id":"e3"},"n":3}`,
				`{"user":"alice","event":{"id":"e1"},"n":4}`,
			} {
				outs = append(outs, engine.Output{Data: []byte(d)})
			}
			if err := sinks["default"].Write(ctx, outs); err != nil {
				t.Fatal(err)
			}
			// The same batch again (a Lambda retry): deduplicated.
			if err := sinks["default"].Write(ctx, outs); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(f.groups); got != tc.groups || len(f.accepted) != tc.accepted {
				t.Errorf("groups %s (want %s), %d accepted (want %d)", got, tc.groups, len(f.accepted), tc.accepted)
			}
			if len(f.calls) != 3 || len(f.calls[1]) != 1 {
				t.Errorf("calls %d, the failed message re-sent alone: %v", len(f.calls), f.calls)
			}
		})
	}
	if id := fifoID(strings.Repeat("x", MaxIDChars+1)); len(id) != 64 {
		t.Errorf("long id %q", id)
	}
	if id := fifoID("a b\tc"); id != "a_b_c" {
		t.Errorf("id %q", id)
	}
}
