package firehoseout

import (
	"context"
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

// fakeFirehose is a loopback server speaking Firehose's JSON protocol
// (Firehose_20150804.PutRecordBatch). It checks the service limits,
// records what it accepted, and fails the records fail names.
type fakeFirehose struct {
	mu       sync.Mutex
	calls    []int // records per call
	accepted []string
	fail     func(call int, data string) string // error code, "" to accept
}

func (f *fakeFirehose) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "Firehose_20150804.PutRecordBatch" {
		http.Error(w, "unexpected target "+r.Header.Get("X-Amz-Target"), 400)
		return
	}
	var req struct {
		DeliveryStreamName string
		Records            []struct{ Data []byte }
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	size := 0
	for _, rec := range req.Records {
		size += len(rec.Data)
		if len(rec.Data) > MaxRecordBytes {
			size = MaxBytesPerCall + 1
		}
	}
	if len(req.Records) > MaxRecordsPerCall || size > MaxBytesPerCall || req.DeliveryStreamName != "d" {
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"__type":"ValidationException","message":"%d records, %d bytes"}`, len(req.Records), size)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, len(req.Records))
	type result struct {
		RecordID     string `json:"RecordId,omitempty"`
		ErrorCode    string `json:"ErrorCode,omitempty"`
		ErrorMessage string `json:"ErrorMessage,omitempty"`
	}
	var res []result
	failed := 0
	for i, rec := range req.Records {
		if code := f.fail(len(f.calls), string(rec.Data)); code != "" {
			failed++
			res = append(res, result{ErrorCode: code, ErrorMessage: "injected"})
			continue
		}
		f.accepted = append(f.accepted, string(rec.Data))
		res = append(res, result{RecordID: fmt.Sprint("rid-", i)})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"FailedPutCount": failed, "Encrypted": false, "RequestResponses": res})
}

// TestFirehoseOutput sends 1,200 small outputs and 6 of 900 KB through a
// loopback Firehose failing the records of the first call whose number ends in 7: calls of
// at most 500 records and 4 MiB, the failed records re-sent alone, each
// output delivered once with a newline. An oversize output and running
// out of attempts are errors naming the outputs.
func TestFirehoseOutput(t *testing.T) {
	hosttest.SetAWSEnv(t)
	ctx := context.Background()
	f := &fakeFirehose{fail: func(call int, data string) string {
		if call == 1 && strings.HasSuffix(data, "7}\n") {
			return "ServiceUnavailableException"
		}
		return ""
	}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s, err := Open(ctx, "fh", engine.OutputConfig{Type: "firehose", Stream: "d", Endpoint: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var outs []engine.Output
	for i := 0; i < 1200; i++ {
		outs = append(outs, engine.Output{Data: []byte(fmt.Sprintf(`{"i":%d}`, i))})
	}
	for i := 0; i < 6; i++ {
		outs = append(outs, engine.Output{Data: []byte(fmt.Sprintf(`{"big":%d,"pad":"%s"}`, i, strings.Repeat("p", 900<<10)))})
	}
	if err := s.Write(ctx, outs); err != nil {
		t.Fatal(err)
	}
	hosttest.CheckDeliveredOnce(t, outs, f.accepted, "\n", "delivered")
	if len(f.accepted) != len(outs) {
		t.Errorf("%d records accepted, want %d", len(f.accepted), len(outs))
	}
	// 500 (some failed, re-sent alone), 500, 200 small + 4 big (a fifth
	// would pass 4 MiB), 2 big.
	if len(f.calls) != 5 || f.calls[0] != 500 || f.calls[1] >= 500 || f.calls[2] != 500 || f.calls[3] != 204 || f.calls[4] != 2 {
		t.Errorf("records per call %v", f.calls)
	}

	f.fail = func(int, string) string { return "InternalFailure" }
	err = New(s.(*Sink).client, "d", 2).Write(ctx, outs[:3])
	if err == nil || !strings.Contains(err.Error(), "firehose d: 3 records (outputs 0-2) still failed after 2 attempts: InternalFailure") {
		t.Errorf("out of attempts: %v", err)
	}
	big := engine.Output{Data: []byte(strings.Repeat("x", MaxRecordBytes))}
	if err := s.Write(ctx, []engine.Output{outs[0], big}); err == nil || !strings.Contains(err.Error(), "output 1: 1024001 bytes exceeds the 1000 KiB record limit") {
		t.Errorf("oversize: %v", err)
	}
}
