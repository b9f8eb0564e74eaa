package httpout_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// siem is a loopback server standing in for a SIEM's intake. It checks the
// request shape of the preset it plays (path, credential header, content
// type, body framing, limits), records the documents it accepts, and
// answers the first requests (or items) with throttling or errors as the
// test scripts them.
type siem struct {
	t      testing.TB
	preset string
	path   string
	header [2]string // name, value expected on every request
	// maxEntries and maxBytes are the limits a request must stay within.
	maxEntries, maxBytes int
	// answer scripts the answer to request n (1-based) given its docs;
	// nil: 200 with the preset's success body.
	answer func(n int, docs []json.RawMessage) (status int, body string, accepted []bool)
	// retryAfter is sent as Retry-After with 429 and 503 answers.
	retryAfter string
	// index is the _index every Elasticsearch bulk action must name
	// (empty: none).
	index string

	mu       sync.Mutex
	requests int
	accepted []json.RawMessage
	srv      *httptest.Server
}

func newSIEM(t testing.TB, s *siem) *siem {
	s.t = t
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *siem) fail(w http.ResponseWriter, format string, args ...any) {
	s.t.Errorf("%s server: "+format, append([]any{s.preset}, args...)...)
	http.Error(w, fmt.Sprintf(format, args...), http.StatusBadRequest)
}

func (s *siem) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if r.Method != http.MethodPost || r.URL.Path != s.path {
		s.fail(w, "got %s %s, want POST %s", r.Method, r.URL.Path, s.path)
		return
	}
	if s.header[0] != "" && r.Header.Get(s.header[0]) != s.header[1] {
		s.fail(w, "header %s = %q, want %q", s.header[0], r.Header.Get(s.header[0]), s.header[1])
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			s.fail(w, "gzip: %v", err)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		s.fail(w, "body: %v", err)
		return
	}
	if s.maxBytes > 0 && len(raw) > s.maxBytes {
		s.fail(w, "body of %d bytes over the %d-byte limit", len(raw), s.maxBytes)
		return
	}
	docs, err := s.parse(r, raw)
	if err != nil {
		s.fail(w, "%v", err)
		return
	}
	if s.maxEntries > 0 && len(docs) > s.maxEntries {
		s.fail(w, "%d entries over the limit of %d", len(docs), s.maxEntries)
		return
	}
	status, answer, accepted := 0, "", []bool(nil)
	if s.answer != nil {
		status, answer, accepted = s.answer(s.requests, docs)
	}
	if status == 0 {
		status = http.StatusOK
	}
	for i, d := range docs {
		if status/100 == 2 && (accepted == nil || accepted[i]) {
			s.accepted = append(s.accepted, d)
		}
	}
	if answer == "" && s.preset == "elasticsearch" {
		answer = bulkAnswer(len(docs), nil)
	}
	if s.retryAfter != "" && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) {
		w.Header().Set("Retry-After", s.retryAfter)
	}
	w.WriteHeader(status)
	io.WriteString(w, answer)
}

// parse checks the body's framing for the preset and returns the documents.
func (s *siem) parse(r *http.Request, raw []byte) ([]json.RawMessage, error) {
	var docs []json.RawMessage
	switch s.preset {
	case "splunk_hec":
		// Concatenated event envelopes (whitespace between them allowed).
		dec := json.NewDecoder(bytes.NewReader(raw))
		for dec.More() {
			var env map[string]json.RawMessage
			if err := dec.Decode(&env); err != nil {
				return nil, fmt.Errorf("HEC body: %w", err)
			}
			ev, ok := env["event"]
			if !ok || len(env) != 1 {
				return nil, fmt.Errorf("HEC envelope without event: %v", env)
			}
			docs = append(docs, ev)
		}
	case "datadog":
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			return nil, fmt.Errorf("content type %q", ct)
		}
		if err := json.Unmarshal(raw, &docs); err != nil {
			return nil, fmt.Errorf("datadog body is not a JSON array: %w", err)
		}
		for i, d := range docs {
			if len(d) > 1_000_000 {
				return nil, fmt.Errorf("log %d over 1 MB", i)
			}
		}
	case "elasticsearch":
		if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
			return nil, fmt.Errorf("content type %q", ct)
		}
		if len(raw) == 0 || raw[len(raw)-1] != '\n' {
			return nil, fmt.Errorf("bulk body must end with a newline")
		}
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			var action map[string]map[string]any
			if err := json.Unmarshal(sc.Bytes(), &action); err != nil || action["index"] == nil {
				return nil, fmt.Errorf("bulk action line %q", sc.Text())
			}
			if got, _ := action["index"]["_index"].(string); got != s.index {
				return nil, fmt.Errorf("bulk action line %q: _index %q, want %q", sc.Text(), got, s.index)
			}
			if !sc.Scan() {
				return nil, fmt.Errorf("bulk action without a document")
			}
			docs = append(docs, json.RawMessage(append([]byte(nil), sc.Bytes()...)))
		}
	default: // NDJSON: sumologic and plain
		for _, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
			if !json.Valid([]byte(line)) {
				return nil, fmt.Errorf("line %q is not JSON", line)
			}
			docs = append(docs, json.RawMessage(line))
		}
	}
	return docs, nil
}

// bulkAnswer is a _bulk response; status[i] (0: 201) is item i's.
func bulkAnswer(n int, status map[int]int) string {
	type res struct {
		Status int               `json:"status"`
		Error  map[string]string `json:"error,omitempty"`
	}
	var items []map[string]res
	errs := false
	for i := range n {
		r := res{Status: 201}
		if st, ok := status[i]; ok {
			errs = true
			r.Status = st
			typ := "es_rejected_execution_exception"
			if st == 400 {
				typ = "mapper_parsing_exception"
			}
			r.Error = map[string]string{"type": typ, "reason": "scripted failure"}
		}
		items = append(items, map[string]res{"index": r})
	}
	b, _ := json.Marshal(map[string]any{"took": 1, "errors": errs, "items": items})
	return string(b)
}

func (s *siem) snapshot() (requests int, accepted []json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, append([]json.RawMessage(nil), s.accepted...)
}
