package httpout_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/deliver"
	"github.com/weirhq/weir/host/httpout"
	"github.com/weirhq/weir/host/netguard"
)

func outputs(n, pad int) []engine.Output {
	out := make([]engine.Output, n)
	for i := range out {
		out[i] = engine.Output{Data: fmt.Appendf(nil, `{"n":%d,"msg":%q}`, i, strings.Repeat("x", pad))}
	}
	return out
}

// delivered checks that the server accepted outputs 0..n-1 exactly once.
func delivered(t *testing.T, s *siem, n int) {
	t.Helper()
	_, docs := s.snapshot()
	seen := make([]int, n)
	for _, d := range docs {
		var v struct{ N int }
		if err := json.Unmarshal(d, &v); err != nil || v.N < 0 || v.N >= n {
			t.Fatalf("accepted document %s", d)
		}
		seen[v.N]++
	}
	for i, c := range seen {
		if c != 1 {
			t.Errorf("output %d accepted %d times, want once", i, c)
		}
	}
}

func open(t *testing.T, s *siem, oc engine.OutputConfig) *httpout.Sink {
	t.Helper()
	oc.Type = engine.OutputHTTP
	oc.URL = s.srv.URL + oc.URL
	oc.AllowHosts = []string{"127.0.0.1"}
	oc.AllowPrivate = true
	sink, err := httpout.New("siem", oc, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close(context.Background()) })
	return sink
}

// TestPresets: each preset's requests have the shape its service expects,
// stay within its limits, survive throttling and partial failures, and
// deliver every output exactly once.
func TestPresets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		oc     engine.OutputConfig
		server *siem
		n, pad int
		minReq int
	}{
		{
			name: "splunk_hec throttled then busy",
			oc:   engine.OutputConfig{Preset: engine.PresetSplunkHEC, Token: "hec-token"},
			server: &siem{preset: "splunk_hec", path: "/services/collector/event", header: [2]string{"Authorization", "Splunk hec-token"},
				maxEntries: 1000, maxBytes: 1 << 20,
				answer: func(n int, _ []json.RawMessage) (int, string, []bool) {
					switch n {
					case 1:
						return http.StatusServiceUnavailable, `{"text":"Server is busy","code":9}`, nil
					case 2:
						return http.StatusTooManyRequests, "", nil
					}
					return 200, `{"text":"Success","code":0}`, nil
				}},
			n: 2500, minReq: 5,
		},
		{
			name: "datadog gzip, 1000 entries and 5 MB per request",
			oc:   engine.OutputConfig{Preset: engine.PresetDatadog, Token: "dd-key", Compression: engine.CompressionGzip},
			server: &siem{preset: "datadog", path: "/api/v2/logs", header: [2]string{"DD-API-KEY", "dd-key"},
				maxEntries: 1000, maxBytes: 5_000_000,
				answer: func(n int, _ []json.RawMessage) (int, string, []bool) {
					if n == 1 {
						return http.StatusTooManyRequests, `{"errors":[{"status":"429"}]}`, nil
					}
					return http.StatusAccepted, "{}", nil
				}},
			n: 1500, pad: 6000, minReq: 3, // 9 MB: split by bytes, not count
		},
		{
			name: "elasticsearch bulk: failed items re-sent alone",
			oc:   engine.OutputConfig{Preset: engine.PresetElasticsearch, Token: "es-key", Index: "logs-weir"},
			server: &siem{preset: "elasticsearch", path: "/_bulk", header: [2]string{"Authorization", "ApiKey es-key"},
				maxEntries: 1000, index: "logs-weir",
				answer: func(n int, docs []json.RawMessage) (int, string, []bool) {
					switch n {
					case 1: // items 1 and 7 throttled, 3 an internal error
						st := map[int]int{1: 429, 7: 429, 3: 503}
						ok := make([]bool, len(docs))
						for i := range ok {
							_, failed := st[i]
							ok[i] = !failed
						}
						return 200, bulkAnswer(len(docs), st), ok
					case 2:
						if len(docs) != 3 {
							return 500, fmt.Sprintf("re-sent %d items, want the 3 failed", len(docs)), nil
						}
					}
					return 200, bulkAnswer(len(docs), nil), nil
				}},
			n: 10, minReq: 2,
		},
		{
			name: "sumologic ndjson",
			oc:   engine.OutputConfig{Preset: engine.PresetSumoLogic, URL: "/receiver/v1/http/SUMOTOKEN", Headers: map[string]string{"X-Sumo-Category": "weir"}},
			server: &siem{preset: "sumologic", path: "/receiver/v1/http/SUMOTOKEN", header: [2]string{"X-Sumo-Category", "weir"},
				maxEntries: 1000, maxBytes: 1_000_000},
			n: 3000, pad: 100, minReq: 3,
		},
		{
			name: "plain endpoint, json_array, custom limits",
			oc:   engine.OutputConfig{URL: "/ingest", Format: engine.HTTPFormatJSONArray, MaxRequestEntries: 7, Headers: map[string]string{"X-Api-Key": "k"}},
			server: &siem{preset: "datadog", path: "/ingest", header: [2]string{"X-Api-Key", "k"}, maxEntries: 7,
				answer: func(n int, _ []json.RawMessage) (int, string, []bool) {
					if n%2 == 1 {
						return http.StatusBadGateway, "", nil
					}
					return 200, "", nil
				}},
			n: 20, minReq: 6,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSIEM(t, tc.server)
			sink := open(t, s, tc.oc)
			if err := sink.Write(context.Background(), outputs(tc.n, tc.pad)); err != nil {
				t.Fatal(err)
			}
			delivered(t, s, tc.n)
			if req, _ := s.snapshot(); req < tc.minReq {
				t.Errorf("%d requests, want at least %d", req, tc.minReq)
			}
		})
	}
}

// TestUndeliverable: what cannot be delivered is an error naming the
// outputs, and never the credential.
func TestUndeliverable(t *testing.T) {
	t.Run("elasticsearch mapping error stops, naming the item", func(t *testing.T) {
		s := newSIEM(t, &siem{preset: "elasticsearch", path: "/_bulk",
			answer: func(n int, docs []json.RawMessage) (int, string, []bool) {
				return 200, bulkAnswer(len(docs), map[int]int{4: 400}), []bool{true, true, true, true, false, true}
			}})
		err := open(t, s, engine.OutputConfig{Preset: engine.PresetElasticsearch}).Write(context.Background(), outputs(6, 0))
		var de *deliver.Error
		if !errors.As(err, &de) || fmt.Sprint(de.OutputIndexes()) != "[4]" || !strings.Contains(err.Error(), "mapper_parsing_exception") {
			t.Fatalf("got %v, want a delivery error naming output 4 and the mapping error", err)
		}
	})
	t.Run("splunk invalid event", func(t *testing.T) {
		s := newSIEM(t, &siem{preset: "splunk_hec", path: "/services/collector/event",
			answer: func(int, []json.RawMessage) (int, string, []bool) {
				return 400, `{"text":"Invalid data format","code":6,"invalid-event-number":2}`, make([]bool, 5)
			}})
		err := open(t, s, engine.OutputConfig{Preset: engine.PresetSplunkHEC, Token: "SECRETTOKEN"}).Write(context.Background(), outputs(5, 0))
		var de *deliver.Error
		if !errors.As(err, &de) || fmt.Sprint(de.OutputIndexes()) != "[2]" || !strings.Contains(err.Error(), "Invalid data format") {
			t.Fatalf("got %v, want output 2 named with HEC's reason", err)
		}
		if strings.Contains(err.Error(), "SECRETTOKEN") {
			t.Errorf("error holds the token: %v", err)
		}
	})
	t.Run("throttled forever: bounded attempts, URL token not in the error", func(t *testing.T) {
		s := newSIEM(t, &siem{preset: "sumologic", path: "/receiver/v1/http/SUMOTOKEN",
			answer: func(int, []json.RawMessage) (int, string, []bool) { return 429, "slow down", nil }})
		err := open(t, s, engine.OutputConfig{Preset: engine.PresetSumoLogic, URL: "/receiver/v1/http/SUMOTOKEN", MaxAttempts: 3}).
			Write(context.Background(), outputs(4, 0))
		if !errors.Is(err, deliver.ErrNotDelivered) || !strings.Contains(err.Error(), "429") {
			t.Fatalf("got %v, want not delivered after 429s", err)
		}
		if req, _ := s.snapshot(); req != 3 {
			t.Errorf("%d requests, want 3 (max_attempts)", req)
		}
		if strings.Contains(err.Error(), "SUMOTOKEN") {
			t.Errorf("error holds the URL's token: %v", err)
		}
	})
	t.Run("entry over the datadog 1 MB limit: nothing sent", func(t *testing.T) {
		s := newSIEM(t, &siem{preset: "datadog", path: "/api/v2/logs"})
		out := outputs(3, 0)
		out[1].Data = fmt.Appendf(nil, `{"n":1,"msg":%q}`, strings.Repeat("x", 1_000_001))
		err := open(t, s, engine.OutputConfig{Preset: engine.PresetDatadog}).Write(context.Background(), out)
		if !errors.Is(err, deliver.ErrTooLarge) || !strings.Contains(err.Error(), "output 1") {
			t.Fatalf("got %v, want output 1 too large", err)
		}
		if req, _ := s.snapshot(); req != 0 {
			t.Errorf("%d requests, want none", req)
		}
	})
}

// TestRetryAfter: a 429 with "Retry-After: 1" delays the retry by at
// least a second.
func TestRetryAfter(t *testing.T) {
	var first time.Time
	s := newSIEM(t, &siem{preset: "plain", path: "/",
		answer: func(n int, _ []json.RawMessage) (int, string, []bool) {
			if n == 1 {
				first = time.Now()
				return http.StatusTooManyRequests, "", nil
			}
			if d := time.Since(first); d < 900*time.Millisecond {
				return http.StatusBadRequest, fmt.Sprintf("retried after %v, before Retry-After", d), nil
			}
			return 200, "", nil
		}})
	s.retryAfter = "1"
	if err := open(t, s, engine.OutputConfig{URL: "/"}).Write(context.Background(), outputs(3, 0)); err != nil {
		t.Fatal(err)
	}
	delivered(t, s, 3)
}

// TestAllowHosts: the URL's host must be allow-listed; a loopback address
// needs allow_private; the metadata address is refused whatever is set.
func TestAllowHosts(t *testing.T) {
	s := newSIEM(t, &siem{preset: "plain", path: "/"})
	for _, tc := range []struct {
		name    string
		url     string
		hosts   []string
		private bool
		atOpen  bool
	}{
		{"host not listed", s.srv.URL + "/", []string{"example.com"}, true, true},
		{"loopback without allow_private", s.srv.URL + "/", []string{"127.0.0.1"}, false, false},
		{"wildcard never reaches loopback", s.srv.URL + "/", []string{"*"}, true, false},
		{"metadata endpoint", "http://169.254.169.254/latest", []string{"169.254.169.254"}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink, err := httpout.New("siem", engine.OutputConfig{Type: engine.OutputHTTP, URL: tc.url, AllowHosts: tc.hosts, AllowPrivate: tc.private}, time.Second)
			if err == nil {
				err = sink.Write(context.Background(), outputs(2, 0))
			} else if !tc.atOpen {
				t.Fatalf("refused at open: %v", err)
			}
			if !errors.Is(err, netguard.ErrBlocked) {
				t.Fatalf("got %v, want ErrBlocked", err)
			}
		})
	}
	if req, _ := s.snapshot(); req != 0 {
		t.Errorf("%d requests reached the server, want none", req)
	}
}
