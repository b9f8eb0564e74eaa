package enrichtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ThrottleBody is the body of DynamoDB's real throttling response.
const ThrottleBody = `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."}`

// Request is a DynamoDB request seen by a ThrottleProxy.
type Request struct {
	// Op is the operation: "GetItem", "BatchGetItem", "Query", "PutItem"...
	Op string
	// Table is the table of the request (BatchGetItem: the first one).
	Table string
	// Keys are the key values of the request, as KeyText gives them:
	// GetItem and DeleteItem one, BatchGetItem all of the table's keys,
	// PutItem the item's "pk" attribute when it has one, Query none.
	Keys []string
	// Body is the request body (JSON).
	Body []byte
}

// Policy chooses which requests a ThrottleProxy answers itself. The proxy
// calls its functions one request at a time (under its lock), so they may
// keep counters without locking.
type Policy struct {
	// Throttle answers the request with ProvisionedThroughputExceededException
	// (HTTP 400) instead of forwarding it.
	Throttle func(r Request) bool
	// Unprocessed leaves one key of a BatchGetItem unprocessed: it is
	// removed from the request forwarded to DynamoDB and returned in
	// UnprocessedKeys, as DynamoDB does when a partition is throttled.
	Unprocessed func(table, key string) bool
}

// ThrottleProxy is a loopback HTTP proxy in front of a DynamoDB endpoint
// (dynalite, which cannot throttle) that answers chosen requests as a
// throttled DynamoDB does.
type ThrottleProxy struct {
	// URL is the proxy's endpoint, for DynamoDBCapability.Endpoint.
	URL string

	target string
	client *http.Client

	mu        sync.Mutex
	policy    Policy
	requests  map[string]int // by operation
	throttled map[string]int // by operation
	unproc    int            // keys returned unprocessed
}

// NewThrottleProxy starts a proxy on 127.0.0.1 forwarding to endpoint
// (http://host:port), stopped when the test ends.
func NewThrottleProxy(tb testing.TB, endpoint string, p Policy) *ThrottleProxy {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	px := &ThrottleProxy{
		URL:       "http://" + l.Addr().String(),
		target:    strings.TrimSuffix(endpoint, "/"),
		client:    &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second},
		policy:    p,
		requests:  map[string]int{},
		throttled: map[string]int{},
	}
	srv := &http.Server{Handler: px, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return px
}

// SetPolicy replaces the policy.
func (px *ThrottleProxy) SetPolicy(p Policy) {
	px.mu.Lock()
	px.policy = p
	px.mu.Unlock()
}

// Requests returns the requests received for op.
func (px *ThrottleProxy) Requests(op string) int {
	px.mu.Lock()
	defer px.mu.Unlock()
	return px.requests[op]
}

// Throttled returns the requests for op answered with a throttling error.
func (px *ThrottleProxy) Throttled(op string) int {
	px.mu.Lock()
	defer px.mu.Unlock()
	return px.throttled[op]
}

// UnprocessedKeys returns the BatchGetItem keys returned unprocessed.
func (px *ThrottleProxy) UnprocessedKeys() int {
	px.mu.Lock()
	defer px.mu.Unlock()
	return px.unproc
}

// KeyText is a key's text: the values of its attributes (each attribute
// value's only member: S, N...), ordered by attribute name, joined with
// "|". {"user_name":{"S":"jdoe"}} is "jdoe".
func KeyText(key map[string]map[string]any) string {
	names := make([]string, 0, len(key))
	for n := range key {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		for _, v := range key[n] {
			parts = append(parts, fmt.Sprint(v))
		}
	}
	return strings.Join(parts, "|")
}

type attrMap = map[string]map[string]any

// ddbBody is the part of a request body the proxy reads.
type ddbBody struct {
	TableName    string                                `json:"TableName"`
	Key          attrMap                               `json:"Key"`
	Item         attrMap                               `json:"Item"`
	RequestItems map[string]map[string]json.RawMessage `json:"RequestItems"`
}

// ServeHTTP answers a DynamoDB request: with the throttling response its
// policy chooses, else by forwarding it to dynalite.
func (px *ThrottleProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	op := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	var b ddbBody
	_ = json.Unmarshal(body, &b)
	req := Request{Op: op, Table: b.TableName, Body: body}
	var batchTables []string
	batchKeys := map[string][]attrMap{}
	switch {
	case b.Key != nil:
		req.Keys = []string{KeyText(b.Key)}
	case b.Item != nil:
		if pk, ok := b.Item["pk"]; ok {
			req.Keys = []string{KeyText(attrMap{"pk": pk})}
		}
	case b.RequestItems != nil:
		for t := range b.RequestItems {
			batchTables = append(batchTables, t)
		}
		sort.Strings(batchTables)
		for _, t := range batchTables {
			var keys []attrMap
			_ = json.Unmarshal(b.RequestItems[t]["Keys"], &keys)
			batchKeys[t] = keys
		}
		if len(batchTables) > 0 {
			req.Table = batchTables[0]
			for _, k := range batchKeys[req.Table] {
				req.Keys = append(req.Keys, KeyText(k))
			}
		}
	}

	px.mu.Lock()
	px.requests[op]++
	throttle := px.policy.Throttle != nil && px.policy.Throttle(req)
	if throttle {
		px.throttled[op]++
	}
	// BatchGetItem: split each table's keys into forwarded and unprocessed.
	unprocessed := map[string][]attrMap{}
	if !throttle && op == "BatchGetItem" && px.policy.Unprocessed != nil {
		for _, t := range batchTables {
			var keep []attrMap
			for _, k := range batchKeys[t] {
				if px.policy.Unprocessed(t, KeyText(k)) {
					unprocessed[t] = append(unprocessed[t], k)
					px.unproc++
				} else {
					keep = append(keep, k)
				}
			}
			batchKeys[t] = keep
		}
	}
	px.mu.Unlock()

	if throttle {
		writeDDB(w, http.StatusBadRequest, "ProvisionedThroughputExceededException", []byte(ThrottleBody))
		return
	}
	if len(unprocessed) == 0 {
		px.forward(w, r, body, nil)
		return
	}
	// Rewrite the request without the unprocessed keys; when nothing is
	// left, answer without DynamoDB.
	items := map[string]map[string]json.RawMessage{}
	for _, t := range batchTables {
		if len(batchKeys[t]) == 0 {
			continue
		}
		ka := map[string]json.RawMessage{}
		for k, v := range b.RequestItems[t] {
			ka[k] = v
		}
		ka["Keys"], _ = json.Marshal(batchKeys[t])
		items[t] = ka
	}
	unproc := map[string]any{}
	for t, keys := range unprocessed {
		ka := map[string]any{}
		for k, v := range b.RequestItems[t] {
			ka[k] = v
		}
		ka["Keys"] = keys
		unproc[t] = ka
	}
	if len(items) == 0 {
		resp := map[string]any{"Responses": map[string]any{}, "UnprocessedKeys": unproc}
		for _, t := range batchTables {
			resp["Responses"].(map[string]any)[t] = []any{}
		}
		out, _ := json.Marshal(resp)
		writeDDB(w, http.StatusOK, "", out)
		return
	}
	fwd, _ := json.Marshal(map[string]any{"RequestItems": items})
	px.forward(w, r, fwd, unproc)
}

// forward sends body to the target; with unproc, a successful response
// gets those keys in its UnprocessedKeys.
func (px *ThrottleProxy) forward(w http.ResponseWriter, r *http.Request, body []byte, unproc map[string]any) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, px.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, v := range r.Header {
		if k != "Content-Length" {
			out.Header[k] = v
		}
	}
	resp, err := px.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if unproc != nil && resp.StatusCode == http.StatusOK {
		var m map[string]any
		if err := json.Unmarshal(rb, &m); err == nil {
			existing, _ := m["UnprocessedKeys"].(map[string]any)
			if existing == nil {
				existing = map[string]any{}
			}
			for t, ka := range unproc {
				existing[t] = ka
			}
			m["UnprocessedKeys"] = existing
			rb, _ = json.Marshal(m)
		}
	}
	for k, v := range resp.Header {
		switch k {
		case "Content-Length", "X-Amz-Crc32":
		default:
			w.Header()[k] = v
		}
	}
	writeDDB(w, resp.StatusCode, "", rb)
}

// writeDDB writes a DynamoDB response with its CRC32 header (which the
// SDK checks).
func writeDDB(w http.ResponseWriter, status int, errorType string, body []byte) {
	h := w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/x-amz-json-1.0")
	}
	if errorType != "" {
		h.Set("x-amzn-ErrorType", errorType)
		h.Set("x-amzn-RequestId", "WEIRTHROTTLEPROXY")
	}
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
