// Package httpout is weir's "http" output: it POSTs outputs in batches
// to an allow-listed endpoint, as NDJSON or a JSON array, optionally
// gzip-compressed, with presets shaping requests for Splunk HEC, the
// Datadog logs intake, Elasticsearch/OpenSearch _bulk and Sumo Logic.
//
// Delivery goes through host/deliver: requests stay within the count and
// byte limits (the preset's or the output's), 429, 408 and 5xx answers
// and connection failures are retried with jittered backoff (waiting at
// least what a Retry-After header asks, up to 30s), the items an
// Elasticsearch bulk response fails with 429 or 5xx are re-sent alone,
// and what cannot be delivered is an error naming the outputs. Hosts are
// checked with host/netguard, as for the http host function: the URL's
// host must be in allow_hosts, every resolved address is checked at
// connect time, and credential and metadata endpoints are always refused.
// Errors name the output and the URL's host, never the whole URL (a Sumo
// Logic source URL carries its token) nor a header.
package httpout

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/allowlist"
	"github.com/weirhq/weir/host/deliver"
	"github.com/weirhq/weir/host/netguard"
)

// Preset is what a preset fixes: the default path, body format, limits,
// where the token goes, and how an entry is wrapped.
type Preset struct {
	// Path is used when the URL has none.
	Path string
	// Array: the body is a JSON array (else one entry per line).
	Array bool
	// ContentType of the body.
	ContentType string
	// Limits of one request: entries, uncompressed bytes, bytes per entry.
	MaxEntries, MaxBytes, MaxEntryBytes int
	// TokenHeader and TokenPrefix place OutputConfig.Token.
	TokenHeader, TokenPrefix string
}

// Presets are the built-in presets by OutputConfig.Preset, and "" for a
// plain endpoint.
var Presets = map[string]Preset{
	// A plain endpoint: NDJSON, 1 MiB and 500 outputs per request.
	"": {ContentType: "application/x-ndjson", MaxEntries: 500, MaxBytes: 1 << 20, TokenHeader: "Authorization", TokenPrefix: "Bearer "},
	// Splunk HEC event endpoint: concatenated {"event": ...} envelopes;
	// 1 MiB per request is Splunk Cloud's limit (max_content_length).
	engine.PresetSplunkHEC: {Path: "/services/collector/event", ContentType: "application/json", MaxEntries: 1000, MaxBytes: 1 << 20,
		TokenHeader: "Authorization", TokenPrefix: "Splunk "},
	// Datadog logs intake v2: a JSON array, 5 MB uncompressed, 1000
	// entries and 1 MB per entry.
	engine.PresetDatadog: {Path: "/api/v2/logs", Array: true, ContentType: "application/json", MaxEntries: 1000, MaxBytes: 5_000_000,
		MaxEntryBytes: 1_000_000, TokenHeader: "DD-API-KEY"},
	// Elasticsearch/OpenSearch _bulk: action and document lines; 5 MiB
	// per request is the size Elastic recommends starting from.
	engine.PresetElasticsearch: {Path: "/_bulk", ContentType: "application/x-ndjson", MaxEntries: 1000, MaxBytes: 5 << 20,
		TokenHeader: "Authorization", TokenPrefix: "ApiKey "},
	// Sumo Logic HTTP source: one log per line, 1 MB per request as Sumo
	// recommends; the URL carries the credential.
	engine.PresetSumoLogic: {ContentType: "text/plain", MaxEntries: 1000, MaxBytes: 1_000_000},
}

// maxResponseBytes bounds the response body read (bulk responses list
// every item).
const maxResponseBytes = 16 << 20

// Sink POSTs outputs to one endpoint.
type Sink struct {
	name    string
	preset  string
	p       Preset
	url     string
	host    string
	header  http.Header
	gzip    bool
	action  []byte // the Elasticsearch bulk action line, made once
	policy  *netguard.Policy
	client  *http.Client
	deliver *deliver.Deliverer[[]byte]
}

// Open is the engine.SinkFactory of the "http" output type.
func Open(_ context.Context, name string, oc engine.OutputConfig, _ *engine.Config) (engine.Sink, error) {
	return New(name, oc, 30*time.Second)
}

// New returns the sink of the http output name; timeout bounds each
// request.
func New(name string, oc engine.OutputConfig, timeout time.Duration) (*Sink, error) {
	p, ok := Presets[oc.Preset]
	if !ok {
		return nil, fmt.Errorf("http output %q: unknown preset %q", name, oc.Preset)
	}
	if oc.Format == engine.HTTPFormatJSONArray {
		p.Array, p.ContentType = true, "application/json"
	}
	if oc.MaxRequestEntries > 0 {
		p.MaxEntries = oc.MaxRequestEntries
	}
	if oc.MaxRequestBytes > 0 {
		p.MaxBytes = oc.MaxRequestBytes
	}
	if oc.MaxEntryBytes > 0 {
		p.MaxEntryBytes = oc.MaxEntryBytes
	}
	u, err := url.Parse(oc.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("http output %q: url is not a valid http(s) URL", name) // the URL may hold a credential: not quoted
	}
	if (u.Path == "" || u.Path == "/") && p.Path != "" {
		u.Path = p.Path
	}
	hosts, err := allowlist.ParseList(oc.AllowHosts)
	if err != nil {
		return nil, fmt.Errorf("http output %q: allow_hosts: %w", name, err)
	}
	policy := &netguard.Policy{Hosts: hosts, AllowPrivate: oc.AllowPrivate, Field: "outputs." + name + ".allow_hosts"}
	if err := policy.CheckURL(u); err != nil {
		return nil, fmt.Errorf("http output %q: %w", name, err)
	}
	s := &Sink{name: name, preset: oc.Preset, p: p, url: u.String(), host: u.Host, header: http.Header{},
		gzip: oc.Compression == engine.CompressionGzip, action: bulkAction(oc.Index), policy: policy, client: policy.Client(timeout, 4)}
	s.header.Set("Content-Type", p.ContentType)
	if oc.Token != "" && p.TokenHeader != "" {
		s.header.Set(p.TokenHeader, p.TokenPrefix+oc.Token)
	}
	for k, v := range oc.Headers {
		s.header.Set(k, v)
	}
	if s.gzip {
		s.header.Set("Content-Encoding", "gzip")
	}
	lim := deliver.Limits{MaxEntries: p.MaxEntries, MaxBytes: p.MaxBytes, MaxEntryBytes: p.MaxEntryBytes, EntryOverhead: 1}
	if p.Array {
		lim.MaxBytes -= 2 // the brackets
	}
	s.deliver = deliver.New(deliver.Config[[]byte]{
		Name: fmt.Sprintf("http output %s (%s)", name, u.Host), Op: "POST", Noun: "entry",
		Limits: lim, Policy: deliver.Policy{MaxAttempts: oc.MaxAttempts}, Send: s.send,
	})
	return s, nil
}

// Write sends outputs in requests within the limits.
func (s *Sink) Write(ctx context.Context, outputs []engine.Output) error {
	entries := make([]deliver.Entry[[]byte], len(outputs))
	for i, o := range outputs {
		item, err := s.entry(o.Data)
		if err != nil {
			return fmt.Errorf("http output %s: output %d: %w", s.name, i, err)
		}
		entries[i] = deliver.Entry[[]byte]{Item: item, Size: len(item), First: i}
	}
	return s.deliver.Deliver(ctx, entries)
}

// entry encodes one output as the preset wants it (without separator).
func (s *Sink) entry(data []byte) ([]byte, error) {
	data = bytes.TrimRight(data, "\r\n")
	switch s.preset {
	case engine.PresetSplunkHEC:
		if !valid(data) {
			data, _ = json.Marshal(string(data))
		}
		return append(append([]byte(`{"event":`), data...), '}'), nil
	case engine.PresetDatadog:
		if !isObject(data) {
			m, _ := json.Marshal(string(data))
			return append(append([]byte(`{"message":`), m...), '}'), nil
		}
		return data, nil
	case engine.PresetElasticsearch:
		if !isObject(data) {
			return nil, errors.New("not a JSON object (an Elasticsearch document must be one)")
		}
		e := make([]byte, 0, len(s.action)+1+len(data))
		return append(append(append(e, s.action...), '\n'), data...), nil
	}
	if s.p.Array && !valid(data) {
		return nil, errors.New("not valid JSON (the body is a JSON array)")
	}
	if bytes.ContainsAny(data, "\n") && !s.p.Array {
		var b bytes.Buffer
		if err := json.Compact(&b, data); err != nil {
			return nil, errors.New("spans several lines and is not JSON (the body is one output per line)")
		}
		return b.Bytes(), nil
	}
	return data, nil
}

// bulkAction is the Elasticsearch bulk action line indexing a document
// (into index, when set).
func bulkAction(index string) []byte {
	if index == "" {
		return []byte(`{"index":{}}`)
	}
	idx, _ := json.Marshal(index)
	return append(append([]byte(`{"index":{"_index":`), idx...), "}}"...)
}

// valid reports whether b is one JSON value (fastjson: ~3x
// encoding/json's Valid, which dominated the output's CPU time).
func valid(b []byte) bool { return fastjson.ValidateBytes(b) == nil }

func isObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 1 && b[0] == '{' && valid(b)
}

// body joins items into a request body.
func (s *Sink) body(items [][]byte) ([]byte, error) {
	var b bytes.Buffer
	var w io.Writer = &b
	var zw *gzip.Writer
	if s.gzip {
		zw = gzip.NewWriter(&b)
		w = zw
	}
	if s.p.Array {
		_, _ = w.Write([]byte{'['})
	}
	for i, it := range items {
		if s.p.Array && i > 0 {
			_, _ = w.Write([]byte{','})
		}
		_, _ = w.Write(it)
		if !s.p.Array {
			_, _ = w.Write([]byte{'\n'})
		}
	}
	if s.p.Array {
		_, _ = w.Write([]byte{']'})
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// statusError is a non-2xx answer.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string {
	if e.body == "" {
		return fmt.Sprintf("HTTP %d", e.status)
	}
	return fmt.Sprintf("HTTP %d: %s", e.status, e.body)
}

// retryableStatus reports whether an answer is worth retrying: throttling
// (429), a request timeout (408) and server errors.
func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// send makes one request (a deliver.SendFunc).
func (s *Sink) send(ctx context.Context, items [][]byte) ([]deliver.Failure, error) {
	body, err := s.body(items)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return nil, errors.New("building the request failed")
	}
	req.Header = s.header.Clone()
	resp, err := s.client.Do(req)
	if err != nil {
		if errors.Is(err, netguard.ErrBlocked) {
			return nil, errors.Unwrap(err) // *url.Error quotes the whole URL: keep only the cause
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, deliver.Retryable(fmt.Errorf("request failed: %w", err))
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, deliver.Retryable(fmt.Errorf("reading the response: %w", err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := &statusError{status: resp.StatusCode, body: snippet(rb)}
		if retryableStatus(resp.StatusCode) {
			return nil, deliver.RetryAfter(se, retryAfter(resp.Header.Get("Retry-After")))
		}
		if s.preset == engine.PresetSplunkHEC {
			if f, ok := splunkInvalidEvent(rb, len(items)); ok {
				return []deliver.Failure{f}, nil
			}
		}
		return nil, se
	}
	if s.preset == engine.PresetElasticsearch {
		return bulkFailures(rb, len(items))
	}
	return nil, nil
}

// maxRetryAfter caps the wait a Retry-After header may ask for.
const maxRetryAfter = 30 * time.Second

// retryAfter reads a Retry-After header: seconds or an HTTP date (0 when
// absent or unreadable), capped at maxRetryAfter.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	return max(0, min(d, maxRetryAfter))
}

// snippet is the start of a response body for error messages.
func snippet(b []byte) string {
	const max = 300
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// splunkInvalidEvent reads HEC's answer to a batch holding an event it
// cannot parse: {"text":"Invalid data format","code":6,
// "invalid-event-number":N}.
func splunkInvalidEvent(b []byte, n int) (deliver.Failure, bool) {
	var r struct {
		Text   string `json:"text"`
		Code   int    `json:"code"`
		Number *int   `json:"invalid-event-number"`
	}
	if json.Unmarshal(b, &r) != nil || r.Number == nil || *r.Number < 0 || *r.Number >= n {
		return deliver.Failure{}, false
	}
	return deliver.Failure{Index: *r.Number, Code: "HEC code " + strconv.Itoa(r.Code), Message: r.Text}, true
}

// bulkFailures reads a _bulk response: items failed with 429 or a 5xx
// are retryable, others (mapping errors) are not.
func bulkFailures(b []byte, n int) ([]deliver.Failure, error) {
	var r struct {
		Errors bool                         `json:"errors"`
		Items  []map[string]json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("reading the bulk response: %w", err)
	}
	if !r.Errors {
		return nil, nil
	}
	if len(r.Items) != n {
		return nil, fmt.Errorf("the bulk response lists %d items for %d sent", len(r.Items), n)
	}
	var fs []deliver.Failure
	for i, it := range r.Items {
		for _, raw := range it { // one key: the action
			var res struct {
				Status int `json:"status"`
				Error  *struct {
					Type   string `json:"type"`
					Reason string `json:"reason"`
				} `json:"error"`
			}
			if err := json.Unmarshal(raw, &res); err != nil {
				return nil, fmt.Errorf("reading bulk item %d: %w", i, err)
			}
			if res.Status >= 200 && res.Status <= 299 {
				continue
			}
			f := deliver.Failure{Index: i, Retryable: retryableStatus(res.Status), Code: strconv.Itoa(res.Status)}
			if res.Error != nil {
				f.Code += " " + res.Error.Type
				f.Message = res.Error.Reason
			}
			fs = append(fs, f)
		}
	}
	return fs, nil
}

// Close releases idle connections.
func (s *Sink) Close(context.Context) error {
	s.client.CloseIdleConnections()
	return nil
}

var _ engine.Sink = (*Sink)(nil)
