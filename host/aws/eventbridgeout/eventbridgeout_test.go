package eventbridgeout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/deliver"
	"github.com/weirhq/weir/host/hosttest"
)

// fakeEventBridge is a loopback server speaking EventBridge's JSON 1.1
// protocol (AWSEvents.PutEvents). It checks the service's limits (10
// entries; 256 KiB counting Source, DetailType and Detail), records the
// details it accepted, throttles the first call when throttle is set, and
// fails entries as fail says.
type fakeEventBridge struct {
	mu       sync.Mutex
	calls    [][]string
	accepted []string
	throttle bool
	fail     func(call int, detail string) string
}

func (f *fakeEventBridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		http.Error(w, "unexpected request", 400)
		return
	}
	var req struct {
		Entries []struct{ Source, DetailType, Detail, EventBusName string }
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	refuse := func(typ, msg string) {
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"__type":%q,"message":%q}`, typ, msg)
	}
	if f.throttle {
		f.throttle = false
		refuse("ThrottlingException", "Rate exceeded")
		return
	}
	size := 0
	for _, e := range req.Entries {
		size += len(e.Source) + len(e.DetailType) + len(e.Detail)
		if e.EventBusName != "security" || e.Source != "weir.test" || e.DetailType != "finding" {
			refuse("ValidationException", "bus, source or detail type")
			return
		}
	}
	if len(req.Entries) > 10 {
		refuse("ValidationException", "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10")
		return
	}
	if size > 256<<10 {
		refuse("ValidationException", "Total size of the entries in the request is over the limit.")
		return
	}
	type entry struct {
		EventID      string `json:"EventId,omitempty"`
		ErrorCode    string `json:",omitempty"`
		ErrorMessage string `json:",omitempty"`
	}
	resp := struct {
		FailedEntryCount int
		Entries          []entry
	}{}
	var details []string
	for i, e := range req.Entries {
		details = append(details, e.Detail)
		if code := f.fail(len(f.calls)+1, e.Detail); code != "" {
			resp.FailedEntryCount++
			resp.Entries = append(resp.Entries, entry{ErrorCode: code, ErrorMessage: "injected"})
			continue
		}
		f.accepted = append(f.accepted, e.Detail)
		resp.Entries = append(resp.Entries, entry{EventID: fmt.Sprintf("e-%d-%d", len(f.calls), i)})
	}
	f.calls = append(f.calls, details)
	_ = json.NewEncoder(w).Encode(resp)
}

// TestEventBridgeOutput: 25 outputs, some of 60 KB, through a loopback
// EventBridge that throttles the first call and fails two entries of the
// next: calls within 10 entries and 256 KiB, failed entries re-sent alone,
// every event put once. Entry errors that are the sender's, running out
// of attempts, a non-object output and an oversize one are errors naming
// the outputs.
func TestEventBridgeOutput(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	f := &fakeEventBridge{throttle: true, fail: func(call int, d string) string {
		if call == 1 && (strings.HasSuffix(d, `"i":0}`) || strings.HasSuffix(d, `"i":3}`)) {
			return "ThrottlingException"
		}
		return ""
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	oc := engine.OutputConfig{Type: engine.OutputEventBridge, EventBus: "security", Source: "weir.test", DetailType: "finding", Endpoint: srv.URL}
	s, err := Open(ctx, "bus", oc, nil)
	if err != nil {
		t.Fatal(err)
	}
	var outs []engine.Output
	for i := range 25 {
		pad := ""
		if i >= 12 && i < 18 {
			pad = strings.Repeat("p", 60<<10)
		}
		outs = append(outs, engine.Output{Data: fmt.Appendf(nil, `{"pad":"%s","i":%d}`, pad, i)})
	}
	if err := s.Write(ctx, outs); err != nil {
		t.Fatal(err)
	}
	hosttest.CheckDeliveredOnce(t, outs, f.accepted, "", "put")
	sizes := hosttest.CallSizes(f.calls)
	if fmt.Sprint(sizes) != "[10 2 6 9]" || f.throttle {
		t.Errorf("events per call %v (throttle left %v)", sizes, f.throttle)
	}

	f.fail = func(_ int, d string) string {
		if strings.HasSuffix(d, `"i":1}`) {
			return "MalformedDetail"
		}
		return ""
	}
	err = s.Write(ctx, outs[:3])
	var de *deliver.Error
	if !errors.As(err, &de) || fmt.Sprint(de.OutputIndexes()) != "[1]" || !strings.Contains(err.Error(), "MalformedDetail") {
		t.Errorf("entry error: %v", err)
	}
	f.fail = func(int, string) string { return "InternalFailure" }
	err = New(s.(*Sink).client, "security", "weir.test", "finding", 2).Write(ctx, outs[:3])
	if err == nil || !strings.Contains(err.Error(), "still failed after 2 attempts: InternalFailure") {
		t.Errorf("out of attempts: %v", err)
	}
	f.fail = func(int, string) string { return "" }
	for _, tc := range []struct{ data, want string }{
		{`{"big":"` + strings.Repeat("x", 256<<10) + `"}`, "output 1: 262170 bytes exceeds the 256 KiB event limit"},
		{`["not","an","object"]`, "output 1: not a JSON object"},
		{`null`, "output 1: not a JSON object"},
		{` {"truncated":`, "output 1: not a JSON object"},
	} {
		if err := s.Write(ctx, []engine.Output{outs[0], {Data: []byte(tc.data)}}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
