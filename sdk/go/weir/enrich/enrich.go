package enrich

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/valyala/fastjson"
	"github.com/weirhq/weir/engine/frame"
)

// Host function names in "extism:host/user".
const (
	FuncDNS      = "weir_dns"
	FuncHTTP     = "weir_http"
	FuncDynamoDB = "weir_dynamodb"
	FuncCache    = "weir_cache"
	FuncMMDB     = "weir_mmdb"
)

// Status is the outcome of one key.
type Status uint8

// Result statuses (the first byte of each result on the wire).
const (
	StatusOK       Status = 0 // Value holds the answer
	StatusNotFound Status = 1 // a negative answer: NXDOMAIN, no item, cache miss, not in the database
	StatusError    Status = 2 // Err says what failed for this key
	StatusDenied   Status = 3 // the stage may not do this (capability, host or table not granted)
)

// String names the status ("ok", "not found", ...).
func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusNotFound:
		return "not found"
	case StatusError:
		return "error"
	case StatusDenied:
		return "denied"
	}
	return "status " + strconv.Itoa(int(s))
}

// Call statuses (the first byte of a response).
const (
	callOK         = 0
	callDenied     = 1
	callBadRequest = 2
	callInternal   = 3
)

// ErrNoHost is the error of every call made outside Wasm without SetHost.
var ErrNoHost = errors.New("enrich: no weir host (native build: install one with SetHost)")

// Result is the outcome of one key. Value's format depends on the
// function: a domain name (ReverseDNS), a JSON document (MMDB, GetItems,
// Query), the cached bytes (CacheGet).
type Result struct {
	Status Status
	Value  []byte
	// Err is set when Status is StatusError or StatusDenied.
	Err error
}

// OK reports whether the key has an answer.
func (r Result) OK() bool { return r.Status == StatusOK }

// String returns the value as a string.
func (r Result) String() string { return string(r.Value) }

// JSON parses the value as JSON (items, MMDB records). The value is
// parsed with a new parser each time: keep the result.
func (r Result) JSON() (*fastjson.Value, error) {
	if !r.OK() {
		return nil, fmt.Errorf("enrich: no value (%s)", r.Status)
	}
	return fastjson.ParseBytes(r.Value)
}

// invoke calls a host function and decodes its response into n results.
func invoke(fn string, req []byte, n int) []Result {
	if n == 0 {
		return nil
	}
	resp, err := call(fn, req)
	if err != nil {
		return fill(n, StatusError, err)
	}
	return decodeResponse(fn, resp, n)
}

func fill(n int, s Status, err error) []Result {
	out := make([]Result, n)
	for i := range out {
		out[i] = Result{Status: s, Err: err}
	}
	return out
}

// decodeResponse reads a response (sdk/ABI.md): u8 call status; then
// either a string message, or a u32 count and count results (u8 status,
// bytes value). A malformed response fails every key.
func decodeResponse(fn string, b []byte, n int) []Result {
	corrupt := func(why string) []Result {
		return fill(n, StatusError, fmt.Errorf("enrich: %s: corrupt response: %s", fn, why))
	}
	if len(b) < 5 {
		return corrupt("shorter than 5 bytes")
	}
	if b[0] != callOK {
		msg, _, ok := readBytes(b, 1)
		if !ok {
			return corrupt("truncated message")
		}
		s := StatusError
		if b[0] == callDenied {
			s = StatusDenied
		}
		return fill(n, s, errors.New(string(msg)))
	}
	count := int(binary.LittleEndian.Uint32(b[1:]))
	if count != n {
		return corrupt(fmt.Sprintf("%d results for %d keys", count, n))
	}
	out := make([]Result, n)
	off := 5
	for i := range out {
		if off >= len(b) {
			return corrupt("truncated")
		}
		st := Status(b[off])
		v, next, ok := readBytes(b, off+1)
		if !ok {
			return corrupt("truncated")
		}
		off = next
		out[i] = Result{Status: st}
		switch st {
		case StatusOK:
			out[i].Value = v
		case StatusNotFound:
		default:
			out[i].Err = errors.New(string(v))
		}
	}
	if off != len(b) {
		return corrupt("trailing bytes")
	}
	return out
}

// readBytes reads a u32-prefixed byte string at off.
func readBytes(b []byte, off int) ([]byte, int, bool) {
	if off+4 > len(b) || off < 0 {
		return nil, 0, false
	}
	n := int(binary.LittleEndian.Uint32(b[off:]))
	off += 4
	if n < 0 || n > len(b)-off {
		return nil, 0, false
	}
	return b[off : off+n : off+n], off + n, true
}

// appendStringList appends a JSON array of strings.
func appendStringList(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = frame.AppendString(b, []byte(s))
	}
	return append(b, ']')
}

// DNS answers.

// Answers is the result of a DNS lookup: Records holds every answer (PTR
// names without their final dot, addresses, TXT strings).
type Answers struct {
	Result
	Records []string
}

// LookupDNS resolves names with the record type typ ("PTR", "A", "AAAA"
// or "TXT"; for PTR the names are IP addresses). One Answers per name, in
// order.
func LookupDNS(typ string, names []string) []Answers {
	names, idx := distinct(names)
	rs := invoke(FuncDNS, dnsRequest(typ, names), len(names))
	out := make([]Answers, len(rs))
	for i, r := range rs {
		out[i].Result = r
		if r.OK() {
			recs, err := decodeStrings(r.Value)
			if err != nil {
				out[i].Result = Result{Status: StatusError, Err: err}
				continue
			}
			out[i].Records = recs
		}
	}
	return expand(out, idx)
}

// dnsRequest is the weir_dns request, built in one allocation.
func dnsRequest(typ string, names []string) []byte {
	n := 32 + len(typ)
	for _, s := range names {
		n += len(s) + 3
	}
	req := append(make([]byte, 0, n), `{"type":`...)
	req = frame.AppendString(req, []byte(typ))
	req = append(req, `,"names":`...)
	return append(appendStringList(req, names), '}')
}

// decodeStrings reads u32 count, count × string.
func decodeStrings(b []byte) ([]string, error) {
	if len(b) < 4 {
		return nil, errors.New("enrich: corrupt DNS answer")
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n > len(b)/4 {
		return nil, errors.New("enrich: corrupt DNS answer")
	}
	out := make([]string, 0, n)
	off := 4
	for range n {
		s, next, ok := readBytes(b, off)
		if !ok {
			return nil, errors.New("enrich: corrupt DNS answer")
		}
		out = append(out, string(s))
		off = next
	}
	return out, nil
}

// ReverseDNS returns the PTR name of each IP address (the first one when
// there are several), without its final dot: Result.String() is
// "c-192-0-2-0.hsd1.ca.comcast.net". No PTR record gives StatusNotFound.
func ReverseDNS(ips []string) []Result {
	ips, idx := distinct(ips)
	rs := invoke(FuncDNS, dnsRequest("PTR", ips), len(ips))
	for i := range rs {
		if !rs[i].OK() {
			continue
		}
		name, n, ok := firstString(rs[i].Value)
		switch {
		case !ok:
			rs[i] = Result{Status: StatusError, Err: errors.New("enrich: corrupt DNS answer")}
		case n == 0:
			rs[i] = Result{Status: StatusNotFound}
		default:
			rs[i].Value = name
		}
	}
	return expand(rs, idx)
}

// firstString reads the first string of a DNS answer list (u32 count,
// count × string), aliasing b, and the count.
func firstString(b []byte) ([]byte, int, bool) {
	if len(b) < 4 {
		return nil, 0, false
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n == 0 {
		return nil, 0, len(b) == 4
	}
	s, _, ok := readBytes(b, 4)
	return s, n, ok
}

// MMDB looks IP addresses up in the stage's MaxMind database db (a name
// from capabilities.mmdb). Each found record's Value is its JSON document.
func MMDB(db string, ips []string) []Result {
	ips, idx := distinct(ips)
	return expand(mmdb(db, ips), idx)
}

// mmdb is MMDB for distinct addresses.
func mmdb(db string, ips []string) []Result {
	n := 32 + len(db)
	for _, s := range ips {
		n += len(s) + 3
	}
	req := append(make([]byte, 0, n), `{"db":`...)
	req = frame.AppendString(req, []byte(db))
	req = append(req, `,"ips":`...)
	req = append(appendStringList(req, ips), '}')
	return invoke(FuncMMDB, req, len(ips))
}

// ASNResult is an autonomous system.
type ASNResult struct {
	Result
	Number       uint32
	Organization string
}

// ASN looks IP addresses up in the stage's "asn" database (GeoLite2-ASN
// layout: autonomous_system_number, autonomous_system_organization).
func ASN(ips []string) []ASNResult { return ASNFrom("asn", ips) }

// ASNFrom is ASN with a database name.
func ASNFrom(db string, ips []string) []ASNResult {
	ips, idx := distinct(ips)
	rs := mmdb(db, ips)
	out := make([]ASNResult, len(rs))
	var p fastjson.Parser
	for i, r := range rs {
		out[i].Result = r
		if !r.OK() {
			continue
		}
		v, err := p.ParseBytes(r.Value)
		if err != nil {
			out[i].Result = Result{Status: StatusError, Err: fmt.Errorf("enrich: asn record: %w", err)}
			continue
		}
		out[i].Number = uint32(v.GetUint("autonomous_system_number"))
		out[i].Organization = string(v.GetStringBytes("autonomous_system_organization"))
	}
	return expand(out, idx)
}

// Tables: DynamoDB and local tables.

// Key identifies an item: a JSON object of its key attributes.
type Key []byte

// StringKey is the key {attr: value}.
func StringKey(attr, value string) Key {
	b := append([]byte{'{'}, frame.AppendString(nil, []byte(attr))...)
	b = append(b, ':')
	b = frame.AppendString(b, []byte(value))
	return append(b, '}')
}

// NumberKey is the key {attr: n}.
func NumberKey(attr string, n int64) Key {
	b := append([]byte{'{'}, frame.AppendString(nil, []byte(attr))...)
	b = append(b, ':')
	b = strconv.AppendInt(b, n, 10)
	return append(b, '}')
}

// GetItems fetches items by key from table (a DynamoDB table in
// capabilities.dynamodb.tables, or a local table in capabilities.tables).
// Each found item's Value is a JSON object (DynamoDB attribute values
// converted: S string, N number, BOOL, NULL, L and SS/NS arrays, M object,
// B base64); a missing item gives StatusNotFound.
func GetItems(table string, keys []Key) []Result {
	keys, idx := distinct(keys)
	n := 40 + len(table)
	for _, k := range keys {
		n += len(k) + 1
	}
	req := append(make([]byte, 0, n), `{"op":"get","table":`...)
	req = frame.AppendString(req, []byte(table))
	req = append(req, `,"keys":[`...)
	for i, k := range keys {
		if i > 0 {
			req = append(req, ',')
		}
		req = append(req, k...)
	}
	req = append(req, "]}"...)
	return expand(invoke(FuncDynamoDB, req, len(keys)), idx)
}

// PutItems writes items (JSON objects) to table.
func PutItems(table string, items [][]byte) []Result {
	req := append([]byte(`{"op":"put","table":`), frame.AppendString(nil, []byte(table))...)
	req = append(req, `,"items":[`...)
	for i, it := range items {
		if i > 0 {
			req = append(req, ',')
		}
		req = append(req, it...)
	}
	req = append(req, "]}"...)
	return invoke(FuncDynamoDB, req, len(items))
}

// Query is one DynamoDB Query.
type Query struct {
	// Index names a secondary index ("" = the table).
	Index string
	// KeyCondition is the key condition expression ("pk = :pk").
	KeyCondition string
	// Filter is an optional filter expression.
	Filter string
	// Names are expression attribute names ("#n" -> "name").
	Names map[string]string
	// Values is a JSON object of expression attribute values
	// ({":pk":"x"}).
	Values []byte
	// Limit caps the items evaluated (0 = no limit, one page).
	Limit int32
	// Descending reverses the sort key order.
	Descending bool
}

// QueryItems runs queries on a DynamoDB table; each Value is a JSON array
// of items (one page).
func QueryItems(table string, queries []Query) []Result {
	req := append([]byte(`{"op":"query","table":`), frame.AppendString(nil, []byte(table))...)
	req = append(req, `,"queries":[`...)
	for i, q := range queries {
		if i > 0 {
			req = append(req, ',')
		}
		req = append(req, `{"key_condition":`...)
		req = frame.AppendString(req, []byte(q.KeyCondition))
		if q.Index != "" {
			req = append(req, `,"index":`...)
			req = frame.AppendString(req, []byte(q.Index))
		}
		if q.Filter != "" {
			req = append(req, `,"filter":`...)
			req = frame.AppendString(req, []byte(q.Filter))
		}
		if len(q.Names) > 0 {
			req = append(req, `,"names":`...)
			req = appendStringMap(req, q.Names)
		}
		if len(q.Values) > 0 {
			req = append(req, `,"values":`...)
			req = append(req, q.Values...)
		}
		if q.Limit > 0 {
			req = append(req, `,"limit":`...)
			req = strconv.AppendInt(req, int64(q.Limit), 10)
		}
		if q.Descending {
			req = append(req, `,"descending":true`...)
		}
		req = append(req, '}')
	}
	req = append(req, "]}"...)
	return invoke(FuncDynamoDB, req, len(queries))
}

func appendStringMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = frame.AppendString(b, []byte(k))
		b = append(b, ':')
		b = frame.AppendString(b, []byte(m[k]))
	}
	return append(b, '}')
}

// HTTP.

// Request is one HTTP request.
type Request struct {
	Method  string // default GET
	URL     string
	Headers map[string]string
	Body    string
}

// Response is the outcome of one request. A response with any status
// code (5xx included) is StatusOK; a refused host, a timeout or a body
// over the stage's cap are errors.
type Response struct {
	Result
	StatusCode int
	// Header holds the response headers, several values joined with ", ".
	Header map[string]string
	Body   []byte
}

// HTTP makes requests (to hosts in capabilities.http.allow_hosts),
// concurrently on the host. Identical GETs are made once and may be
// served from the host's cache.
func HTTP(reqs []Request) []Response {
	b := []byte(`{"requests":[`)
	for i, q := range reqs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"method":`...)
		b = frame.AppendString(b, []byte(q.Method))
		b = append(b, `,"url":`...)
		b = frame.AppendString(b, []byte(q.URL))
		if len(q.Headers) > 0 {
			b = append(b, `,"headers":`...)
			b = appendStringMap(b, q.Headers)
		}
		if q.Body != "" {
			b = append(b, `,"body":`...)
			b = frame.AppendString(b, []byte(q.Body))
		}
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	rs := invoke(FuncHTTP, b, len(reqs))
	out := make([]Response, len(rs))
	for i, r := range rs {
		out[i].Result = r
		if r.OK() {
			if err := out[i].decode(r.Value); err != nil {
				out[i].Result = Result{Status: StatusError, Err: err}
			}
		}
	}
	return out
}

// decode reads u32 status, u32 header count, (string, string) per header,
// bytes body.
func (resp *Response) decode(b []byte) error {
	bad := errors.New("enrich: corrupt HTTP response")
	if len(b) < 8 {
		return bad
	}
	resp.StatusCode = int(binary.LittleEndian.Uint32(b))
	n := int(binary.LittleEndian.Uint32(b[4:]))
	if n > len(b)/8 {
		return bad
	}
	resp.Header = make(map[string]string, n)
	off := 8
	for range n {
		k, next, ok := readBytes(b, off)
		if !ok {
			return bad
		}
		v, next2, ok := readBytes(b, next)
		if !ok {
			return bad
		}
		resp.Header[string(k)] = string(v)
		off = next2
	}
	body, end, ok := readBytes(b, off)
	if !ok || end != len(b) {
		return bad
	}
	resp.Body = body
	return nil
}

// Cache.

// Entry is a cache entry to set.
type Entry struct {
	Key   string
	Value string
	// TTL is the entry's lifetime (0: the stage's default_ttl), in whole
	// seconds.
	TTL time.Duration
}

func cacheKeys(op string, keys []string) []Result {
	keys, idx := distinct(keys)
	req := append([]byte(`{"op":"`+op+`","keys":`), appendStringList(nil, keys)...)
	return expand(invoke(FuncCache, append(req, '}'), len(keys)), idx)
}

// CacheGet reads keys from the stage's cache: Value is the cached value;
// a missing or expired key gives StatusNotFound.
func CacheGet(keys []string) []Result { return cacheKeys("get", keys) }

// CacheDelete removes keys from the cache.
func CacheDelete(keys []string) []Result { return cacheKeys("delete", keys) }

// CacheSet stores entries in the cache.
func CacheSet(entries []Entry) []Result {
	b := []byte(`{"op":"set","entries":[`)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"key":`...)
		b = frame.AppendString(b, []byte(e.Key))
		b = append(b, `,"value":`...)
		b = frame.AppendString(b, []byte(e.Value))
		if s := int64(e.TTL / time.Second); s > 0 {
			b = append(b, `,"ttl_seconds":`...)
			b = strconv.AppendInt(b, s, 10)
		}
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	return invoke(FuncCache, b, len(entries))
}

// Get reads one key from the cache.
func Get(key string) ([]byte, bool) {
	r := CacheGet([]string{key})[0]
	return r.Value, r.OK()
}

// Set stores one entry in the cache.
func Set(key, value string, ttl time.Duration) error {
	return CacheSet([]Entry{{Key: key, Value: value, TTL: ttl}})[0].Err
}
