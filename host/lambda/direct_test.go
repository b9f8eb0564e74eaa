package lambda

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// TestDirectInvocation: a plain JSON object, an array and a CloudTrail
// document invoking the function directly are processed, one record per
// element; a failed record is dead-lettered, and without a dead-letter
// output it fails the invocation, naming it.
func TestDirectInvocation(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		out     int
		dead    int
	}{
		{"object", `{"eventName":"ConsoleLogin"}`, 1, 0},
		{"array", `[{"a":1},{"b":2},"not an object",{"c":3}]`, 3, 1},
		{"cloudtrail", `{"Records":[{"a":1},{"b":2}]}`, 2, 0},
		{"empty array", `[]`, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, out, dlq := newHandler(t, 1)
			resp, err := h.Invoke(context.Background(), []byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if len(out.got) != tt.out || len(dlq.got) != tt.dead {
				t.Fatalf("%d outputs, %d dead letters; want %d, %d (response %s)", len(out.got), len(dlq.got), tt.out, tt.dead, resp)
			}
		})
	}
	h, _, _ := newHandler(t, 1)
	h.DeadLetter = ""
	_, err := h.Invoke(context.Background(), []byte(`[{"a":1},"bad"]`))
	if err == nil || !strings.Contains(err.Error(), "direct: 1 of 2 failed (record 1)") {
		t.Fatalf("undeliverable record: err = %v", err)
	}
}

// TestEventBridgeInput: an EventBridge event is one record, the whole
// event; an S3 "Object Created" event reads the object it names.
func TestEventBridgeInput(t *testing.T) {
	h, out, _ := newHandler(t, 1)
	ev := `{"version":"0","id":"6a7e8feb","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"123456789012","time":"2026-12-07T06:00:00Z","region":"us-east-1","resources":[],"detail":{"severity":8}}`
	if _, err := h.Invoke(context.Background(), []byte(ev)); err != nil {
		t.Fatal(err)
	}
	if len(out.got) != 1 || string(out.got[0]) != ev {
		t.Fatalf("outputs %q", out.got)
	}
	recs, _, err := h.DecodeEvent(context.Background(), []byte(ev))
	if err != nil || len(recs) != 1 || recs[0].Meta.SequenceNumber != "6a7e8feb" || recs[0].Meta.Source != "aws.guardduty" || recs[0].Meta.ArrivalTime.IsZero() {
		t.Fatalf("DecodeEvent: %+v, %v", recs, err)
	}

	h, out, _ = newHandler(t, 1)
	var opened []string
	h.Objects = func(_ context.Context, bucket, key string) (io.ReadCloser, error) {
		opened = append(opened, bucket+"/"+key)
		return io.NopCloser(strings.NewReader("{\"a\":1}\n{\"b\":2}\n")), nil
	}
	s3ev := map[string]any{"version": "0", "id": "e2", "detail-type": "Object Created", "source": "aws.s3", "time": "2026-12-07T06:00:00Z",
		"detail": map[string]any{"bucket": map[string]string{"name": "logs"}, "object": map[string]any{"key": "AWSLogs/a%3Db.json", "size": 16}}}
	b, _ := json.Marshal(s3ev)
	if _, err := h.Invoke(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(opened) != 1 || opened[0] != "logs/AWSLogs/a=b.json" || len(out.got) != 2 {
		t.Fatalf("opened %v, outputs %q", opened, out.got)
	}
}

// TestDeadLetterRedacted: Handler.Redact (engine.Config.Redact in the
// bootstrap) is applied to the error text of the dead letters the
// handler writes.
func TestDeadLetterRedacted(t *testing.T) {
	h, _, dlq := newHandler(t, 1)
	h.Redact = func(s string) string { return strings.ReplaceAll(s, "JSON object", "${secret:x}") }
	if _, err := h.Invoke(context.Background(), []byte(`["bad"]`)); err != nil {
		t.Fatal(err)
	}
	if len(dlq.got) != 1 || !strings.Contains(string(dlq.got[0]), `not a ${secret:x}`) || strings.Contains(string(dlq.got[0]), "JSON object") {
		t.Fatalf("dead letters %q", dlq.got)
	}
}
