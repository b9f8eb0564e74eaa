// Package netguard decides which hosts and addresses weir's outbound HTTP
// may reach: the http host function (capabilities.http) and the http
// output share it. A Policy allows URLs whose host (and port) an
// allow-list names, and checks every resolved address at connect time,
// so no host name and no DNS rebinding leads around it:
//
//   - cloud credential and metadata endpoints (IMDS, the ECS, EKS and
//     container credentials endpoints) and the runtime's local endpoints
//     (the Lambda Runtime API, the AppConfig agent) are always refused,
//     whatever the allow-list and AllowPrivate say;
//   - loopback, private, link-local, multicast and unspecified addresses
//     are refused unless AllowPrivate is set and a host the allow-list
//     names explicitly (not "*") resolves there.
//
// Requests never go through an environment proxy: the check must see the
// real peer.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/weirhq/weir/engine/allowlist"
)

// ErrBlocked is matched by errors.Is for a refused URL or address.
var ErrBlocked = errors.New("destination address not allowed")

// credentialAddrs are the cloud credential and metadata services. A
// request never reaches them, on any port, whatever the policy says.
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

// Policy decides which URLs and addresses requests may reach.
type Policy struct {
	// Hosts is the allow-list of hosts (and ports).
	Hosts allowlist.List
	// AllowPrivate lets hosts that Hosts names (not "*") resolve to
	// loopback, private and link-local addresses.
	AllowPrivate bool
	// Field names the allow-list setting in messages ("http.allow_hosts").
	Field string
	// Resolver, when set, returns the resolver of host names at each dial
	// (nil: the system's). Tests point it at dnsmasq.
	Resolver func() *net.Resolver
}

// Dial connects to addr (host:port, the host not yet resolved). The
// address check runs in the dialer's Control, on each resolved address
// right before connecting. Private addresses are allowed only for a host
// that an allow-list entry names (not "*") when AllowPrivate is set.
func (p *Policy) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	n, _ := strconv.ParseUint(port, 10, 16)
	_, named := p.Hosts.Match(host, uint16(n))
	privateOK := p.AllowPrivate && named
	if a, err := netip.ParseAddr(host); err == nil {
		// An IP literal is checked before a socket exists (the same check
		// runs again in Control), so the refusal does not depend on the
		// address family being available here.
		if err := p.CheckAddr(netip.AddrPortFrom(a, uint16(n)), privateOK); err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
	}
	d := net.Dialer{Timeout: 5 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dial %s: %w", address, err)
			}
			return p.CheckAddr(ap, privateOK)
		}}
	if p.Resolver != nil {
		d.Resolver = p.Resolver()
	}
	return d.DialContext(ctx, network, addr)
}

// CheckAddr refuses credential and runtime endpoints always, and
// loopback, private, link-local, multicast and unspecified addresses
// unless privateOK.
func (p *Policy) CheckAddr(ap netip.AddrPort, privateOK bool) error {
	a := ap.Addr().Unmap().WithZone("")
	ap = netip.AddrPortFrom(a, ap.Port())
	check := a
	if nat64.Contains(a) {
		b := a.As16()
		check = netip.AddrFrom4([4]byte(b[12:]))
	}
	if what, ok := credentialAddrs[check]; ok {
		return fmt.Errorf("%w: %s is %s, a cloud metadata and credentials address, always refused", ErrBlocked, a, what)
	}
	for _, ep := range runtimeEndpoints() {
		if ep.matches(ap) {
			return fmt.Errorf("%w: %s is %s, always refused", ErrBlocked, ap, ep.what)
		}
	}
	if privateOK {
		return nil
	}
	switch {
	case a.IsLoopback(), a.IsPrivate(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(), a.IsUnspecified(), a.IsMulticast(), a.IsInterfaceLocalMulticast(),
		check.IsLoopback(), check.IsPrivate(), check.IsLinkLocalUnicast(), check.IsUnspecified():
		if p.AllowPrivate {
			return fmt.Errorf("%w: %s is a loopback, private, link-local or unspecified address, and only hosts named in %s may reach those (\"*\" allows public addresses only)", ErrBlocked, a, p.field())
		}
		return fmt.Errorf("%w: %s is a loopback, private, link-local or unspecified address (set allow_private)", ErrBlocked, a)
	}
	return nil
}

// CheckURL refuses schemes other than http(s) and hosts (and ports) not
// allow-listed.
func (p *Policy) CheckURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q (want http or https)", ErrBlocked, u.Scheme)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return fmt.Errorf("%w: no host in %q", ErrBlocked, u.Redacted())
	}
	port := allowlist.DefaultPort(u.Scheme)
	if s := u.Port(); s != "" {
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return fmt.Errorf("%w: bad port in %q", ErrBlocked, u.Redacted())
		}
		port = uint16(n)
	}
	if ok, _ := p.Hosts.Match(host, port); !ok {
		return fmt.Errorf("%w: host %q port %d is not in %s", ErrBlocked, host, port, p.field())
	}
	return nil
}

func (p *Policy) field() string {
	if p.Field == "" {
		return "allow_hosts"
	}
	return p.Field
}

// MaxRedirects bounds the redirects a Client follows.
const MaxRedirects = 5

// Client returns an HTTP client whose connections go through p.Dial and
// whose redirects are checked with p.CheckURL; timeout bounds each
// request and the wait for response headers.
func (p *Policy) Client(timeout time.Duration, idleConnsPerHost int) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil, // never through an environment proxy: the dial check must see the real peer
		DialContext:           p.Dial,
		MaxIdleConnsPerHost:   idleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= MaxRedirects {
				return fmt.Errorf("more than %d redirects", MaxRedirects)
			}
			return p.CheckURL(req.URL)
		},
	}
}
