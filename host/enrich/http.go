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
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/allowlist"
)

// credentialAddrs are the cloud credential and metadata services. A
// request never reaches them, on any port, whatever the capability says
// (allow_private and allow_hosts included): the check runs at connect time
// on the resolved address, so no host name (nor a DNS rebinding) leads
// there.
var credentialAddrs = map[netip.Addr]string{
	netip.MustParseAddr("169.254.169.254"): "the EC2 instance metadata service (IMDS)",
	netip.MustParseAddr("fd00:ec2::254"):   "the EC2 instance metadata service (IMDS, IPv6)",
	netip.MustParseAddr("169.254.170.2"):   "the ECS task credentials and metadata endpoint",
	netip.MustParseAddr("169.254.170.23"):  "the EKS Pod Identity agent",
	netip.MustParseAddr("fd00:ec2::23"):    "the EKS Pod Identity agent (IPv6)",
}

// nat64 is the well-known NAT64 prefix (RFC 6052): an address in it
// embeds an IPv4 address, checked like the address itself.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// defaultAgentPort is the port of the AppConfig agent (Lambda extension)
// when AWS_APPCONFIG_EXTENSION_HTTP_PORT is not set.
const defaultAgentPort = "2772"

// runtimeEndpoint is a local endpoint of the runtime that requests never
// reach: its port on addr, on every loopback (and unspecified) address
// when loopback is set, or on every address when addr is not valid (a
// host name that cannot be checked at connect time).
type runtimeEndpoint struct {
	addr     netip.Addr
	loopback bool
	port     uint16
	what     string
}

// runtimeEndpoints reads the runtime's endpoints from the environment:
// the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API, also the Extensions and
// Telemetry APIs), the AppConfig agent (AWS_APPCONFIG_EXTENSION_HTTP_PORT,
// or 2772 inside Lambda) and a container credentials endpoint
// (AWS_CONTAINER_CREDENTIALS_FULL_URI). It runs at every connect, so the
// environment in effect then decides.
func runtimeEndpoints() []runtimeEndpoint {
	var eps []runtimeEndpoint
	add := func(hostport, what string) {
		host, port, err := net.SplitHostPort(hostport)
		if err != nil {
			return
		}
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return
		}
		ep := runtimeEndpoint{port: uint16(n), what: what}
		if a, err := netip.ParseAddr(host); err == nil {
			ep.addr, ep.loopback = a.Unmap(), a.IsLoopback()
		} else if strings.EqualFold(host, "localhost") {
			ep.loopback = true
		}
		eps = append(eps, ep)
	}
	runtimeAPI := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	if runtimeAPI != "" {
		add(runtimeAPI, "the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API)")
	}
	if p := os.Getenv("AWS_APPCONFIG_EXTENSION_HTTP_PORT"); p != "" {
		add("localhost:"+p, "the AppConfig agent (AWS_APPCONFIG_EXTENSION_HTTP_PORT)")
	} else if runtimeAPI != "" {
		add("localhost:"+defaultAgentPort, "the AppConfig agent's default port in Lambda")
	}
	if v := os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"); v != "" {
		if u, err := url.Parse(v); err == nil && u.Hostname() != "" {
			port := u.Port()
			if port == "" {
				port = strconv.Itoa(int(allowlist.DefaultPort(u.Scheme)))
			}
			add(net.JoinHostPort(u.Hostname(), port), "the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI)")
		}
	}
	return eps
}

func (ep runtimeEndpoint) matches(ap netip.AddrPort) bool {
	if ap.Port() != ep.port {
		return false
	}
	a := ap.Addr()
	switch {
	case ep.loopback:
		return a.IsLoopback() || a.IsUnspecified()
	case ep.addr.IsValid():
		return a == ep.addr
	}
	return true
}

// maxRedirects bounds the redirects one request follows.
const maxRedirects = 5

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
type httpPolicy struct {
	c     engine.HTTPCapability
	hosts allowlist.List
}

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
	p := &httpPolicy{c: c, hosts: hosts}
	s := &httpClient{httpPolicy: p, maxBody: c.MaxBodyBytes}
	if durationOr(c.CacheTTL, 0) > 0 {
		s.cache = newTTLCache(10_000)
	}
	if s.maxBody == 0 {
		s.maxBody = 1 << 20
	}
	tr := &http.Transport{
		Proxy:                 nil, // never through an environment proxy: the dial check must see the real peer
		DialContext:           p.dial,
		MaxIdleConnsPerHost:   httpIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: durationOr(c.Timeout, 5*time.Second),
	}
	s.client = &http.Client{
		Transport: tr,
		Timeout:   durationOr(c.Timeout, 5*time.Second),
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			return p.checkURL(req.URL)
		},
	}
	// Close the pool's idle connections once no Env uses the client.
	runtime.AddCleanup(s, func(tr *http.Transport) { tr.CloseIdleConnections() }, tr)
	return s, nil
}

// dial connects to addr (host:port, the host not yet resolved). The
// address check runs in the dialer's Control, on each resolved address
// right before connecting. Private addresses are allowed only for a host
// that an allow_hosts entry names (not "*") when allow_private is set.
func (s *httpPolicy) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	n, _ := strconv.ParseUint(port, 10, 16)
	_, named := s.hosts.Match(host, uint16(n))
	privateOK := s.c.AllowPrivate && named
	if a, err := netip.ParseAddr(host); err == nil {
		// An IP literal is checked before a socket exists (the same check
		// runs again in Control), so the refusal does not depend on the
		// address family being available here.
		if err := s.checkAddr(netip.AddrPortFrom(a, uint16(n)), privateOK); err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
	}
	d := net.Dialer{Timeout: 5 * time.Second, Resolver: testResolver.Load(),
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dial %s: %w", address, err)
			}
			return s.checkAddr(ap, privateOK)
		}}
	return d.DialContext(ctx, network, addr)
}

// errBlockedAddr marks a refused destination address.
var errBlockedAddr = errors.New("destination address not allowed")

// checkAddr refuses credential and runtime endpoints always, and
// loopback, private, link-local, multicast and unspecified addresses
// unless privateOK.
func (s *httpPolicy) checkAddr(ap netip.AddrPort, privateOK bool) error {
	a := ap.Addr().Unmap().WithZone("")
	ap = netip.AddrPortFrom(a, ap.Port())
	check := a
	if nat64.Contains(a) {
		b := a.As16()
		check = netip.AddrFrom4([4]byte(b[12:]))
	}
	if what, ok := credentialAddrs[check]; ok {
		return fmt.Errorf("%w: %s is %s, a cloud metadata and credentials address, always refused", errBlockedAddr, a, what)
	}
	for _, ep := range runtimeEndpoints() {
		if ep.matches(ap) {
			return fmt.Errorf("%w: %s is %s, always refused", errBlockedAddr, ap, ep.what)
		}
	}
	if privateOK {
		return nil
	}
	switch {
	case a.IsLoopback(), a.IsPrivate(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(), a.IsUnspecified(), a.IsMulticast(), a.IsInterfaceLocalMulticast(),
		check.IsLoopback(), check.IsPrivate(), check.IsLinkLocalUnicast(), check.IsUnspecified():
		if s.c.AllowPrivate {
			return fmt.Errorf("%w: %s is a loopback, private, link-local or unspecified address, and only hosts named in http.allow_hosts may reach those (\"*\" allows public addresses only)", errBlockedAddr, a)
		}
		return fmt.Errorf("%w: %s is a loopback, private, link-local or unspecified address (set allow_private)", errBlockedAddr, a)
	}
	return nil
}

// checkURL refuses schemes other than http(s) and hosts (and ports) not
// allow-listed.
func (s *httpPolicy) checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q (want http or https)", errBlockedAddr, u.Scheme)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return fmt.Errorf("%w: no host in %q", errBlockedAddr, u.Redacted())
	}
	port := allowlist.DefaultPort(u.Scheme)
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return fmt.Errorf("%w: bad port in %q", errBlockedAddr, u.Redacted())
		}
		port = uint16(n)
	}
	if ok, _ := s.hosts.Match(host, port); !ok {
		return fmt.Errorf("%w: host %q port %d is not in http.allow_hosts", errBlockedAddr, host, port)
	}
	return nil
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
	if err := s.checkURL(u); err != nil {
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
		if errors.Is(err, errBlockedAddr) {
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
