package enrich

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/allowlist"
	"github.com/weirhq/weir/host/netguard"
)

// httpService makes HTTP requests to allow-listed hosts for one Env: its
// client (connection pool) and cache are shared with the Envs of the same
// capability; its counters and concurrency are its own.
type httpService struct {
	*httpClient
	spec batchSpec
}

// httpClient is the shared part of an httpService.
type httpClient struct {
	*httpPolicy
	client  *http.Client
	maxBody int64
	cache   *ttlCache
}

// httpPolicy decides which URLs and addresses requests may reach. It is
// apart from httpClient so that the transport (which checks addresses at
// dial time) does not reference the httpClient: a client no Env uses is
// collected and its idle connections closed.
type httpPolicy = netguard.Policy

// testResolver, when set, resolves the host names of HTTP requests
// instead of the system's resolver (tests point it at dnsmasq).
var testResolver atomic.Pointer[net.Resolver]

// sharedHTTP holds the HTTP clients by capability.
var sharedHTTP registry[httpClient]

type httpRequest struct {
	Requests []httpReq `json:"requests"`
}

type httpReq struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// httpIdleConnsPerHost bounds the idle connections kept per host.
const httpIdleConnsPerHost = 32

func newHTTP(c engine.HTTPCapability, cnt *counters) (*httpService, error) {
	s := &httpService{spec: batchSpec{
		ttl:         durationOr(c.CacheTTL, 0),
		negTTL:      durationOr(c.CacheTTL, 0),
		concurrency: c.Concurrency,
		counters:    cnt,
	}}
	if s.spec.concurrency == 0 {
		s.spec.concurrency = 16
	}
	// Everything but the concurrency changes what a request may reach or
	// what a cached response is: it is the sharing key.
	kc := c
	kc.Concurrency = 0
	key, _ := json.Marshal(kc)
	var err error
	if s.httpClient, err = sharedHTTP.get(string(key), func() (*httpClient, error) { return newHTTPClient(c) }); err != nil {
		return nil, err
	}
	s.spec.cache = s.cache
	return s, nil
}

func newHTTPClient(c engine.HTTPCapability) (*httpClient, error) {
	hosts, err := allowlist.ParseList(c.AllowHosts)
	if err != nil {
		return nil, fmt.Errorf("enrich: http.allow_hosts: %w", err)
	}
	p := &httpPolicy{Hosts: hosts, AllowPrivate: c.AllowPrivate, Field: "http.allow_hosts", Resolver: testResolver.Load}
	s := &httpClient{httpPolicy: p, maxBody: c.MaxBodyBytes}
	if durationOr(c.CacheTTL, 0) > 0 {
		s.cache = newTTLCache(10_000)
	}
	if s.maxBody == 0 {
		s.maxBody = 1 << 20
	}
	s.client = p.Client(durationOr(c.Timeout, 5*time.Second), httpIdleConnsPerHost)
	tr := s.client.Transport.(*http.Transport)
	// Close the pool's idle connections once no Env uses the client.
	runtime.AddCleanup(s, func(tr *http.Transport) { tr.CloseIdleConnections() }, tr)
	return s, nil
}

func (s *httpService) call(ctx context.Context, req []byte) ([]Result, error) {
	var r httpRequest
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	if len(r.Requests) > maxKeys {
		return nil, fmt.Errorf("%d requests (max %d)", len(r.Requests), maxKeys)
	}
	// GETs are keyed by their canonical form: identical ones are made
	// once per call and cached; other methods are made one by one and
	// never cached.
	var getKeys, otherKeys []string
	var getIdx, otherIdx []int
	byKey := make(map[string]httpReq, len(r.Requests))
	for i, q := range r.Requests {
		if q.Method == "" {
			q.Method = http.MethodGet
		}
		q.Method = strings.ToUpper(q.Method)
		k := requestKey(q)
		if q.Method == http.MethodGet {
			getKeys, getIdx = append(getKeys, k), append(getIdx, i)
		} else {
			k = fmt.Sprintf("#%d %s", i, k)
			otherKeys, otherIdx = append(otherKeys, k), append(otherIdx, i)
		}
		byKey[k] = q
	}
	do := func(ctx context.Context, k string) Result { return s.do(ctx, byKey[k]) }
	out := make([]Result, len(r.Requests))
	for j, res := range resolve(ctx, s.spec, getKeys, do) {
		out[getIdx[j]] = res
	}
	if len(otherKeys) > 0 {
		spec := s.spec
		spec.cache = nil
		for j, res := range resolve(ctx, spec, otherKeys, do) {
			out[otherIdx[j]] = res
		}
	}
	return out, nil
}

func requestKey(q httpReq) string {
	var b strings.Builder
	b.WriteString(q.Method)
	b.WriteByte(' ')
	b.WriteString(q.URL)
	names := make([]string, 0, len(q.Headers))
	for n := range q.Headers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "\n%s: %s", strings.ToLower(n), q.Headers[n])
	}
	if q.Body != "" {
		fmt.Fprintf(&b, "\n\n%s", q.Body)
	}
	return b.String()
}

// do makes one request. The response value is: u32 status, u32 header
// count, (string name, string value) per header, bytes body.
func (s *httpClient) do(ctx context.Context, q httpReq) Result {
	u, err := url.Parse(q.URL)
	if err != nil {
		return errResult("invalid URL %q: %v", q.URL, err)
	}
	if err := s.CheckURL(u); err != nil {
		return deniedResult("%v", err)
	}
	var body io.Reader
	if q.Body != "" {
		body = strings.NewReader(q.Body)
	}
	req, err := http.NewRequestWithContext(ctx, q.Method, u.String(), body)
	if err != nil {
		return errResult("request: %v", err)
	}
	for k, v := range q.Headers {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if errors.Is(err, netguard.ErrBlocked) {
			return deniedResult("%v", err)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return errResult("%s %s: timeout", q.Method, u.Redacted())
		}
		return errResult("%s %s: %v", q.Method, u.Redacted(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, s.maxBody+1))
	if err != nil {
		return errResult("%s %s: reading the body: %v", q.Method, u.Redacted(), err)
	}
	if int64(len(b)) > s.maxBody {
		return errResult("%s %s: response body over %d bytes (http.max_body_bytes)", q.Method, u.Redacted(), s.maxBody)
	}
	v := binary.LittleEndian.AppendUint32(nil, uint32(resp.StatusCode))
	names := make([]string, 0, len(resp.Header))
	for n := range resp.Header {
		names = append(names, n)
	}
	sort.Strings(names)
	hs := make([]string, 0, 2*len(names))
	for _, n := range names {
		hs = append(hs, n, strings.Join(resp.Header[n], ", "))
	}
	v = binary.LittleEndian.AppendUint32(v, uint32(len(names)))
	for _, h := range hs {
		v = binary.LittleEndian.AppendUint32(v, uint32(len(h)))
		v = append(v, h...)
	}
	v = binary.LittleEndian.AppendUint32(v, uint32(len(b)))
	v = append(v, b...)
	return okResult(v)
}
