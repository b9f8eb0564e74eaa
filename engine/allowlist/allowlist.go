// Package allowlist parses and matches host allow-lists (a stage's
// capabilities.http.allow_hosts).
//
// An entry is one of:
//
//   - a host name: "api.example.com" (case-insensitive; a trailing dot is
//     ignored);
//   - a suffix pattern: "*.example.com" matches every name under
//     example.com (not example.com itself). "*" may only be the whole first
//     label, and a pattern never matches an IP literal: "*.0.0.1" is
//     rejected, since it could only ever match addresses;
//   - an IP literal: "192.0.2.10", "2001:db8::1" or "[2001:db8::1]";
//   - "*": any host. Who may use it is the caller's policy (weir's HTTP
//     host function lets "*" reach public addresses only);
//
// each optionally followed by ":port" ("api.example.com:8443",
// "[2001:db8::1]:8443", "*:443"). An entry without a port allows every
// port; an entry with a port allows that port only. URLs without a port
// are matched on their scheme's default port (80, 443).
package allowlist

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrEntry is the error of an entry that does not parse.
var ErrEntry = errors.New("bad allow-list entry")

// Rule is one parsed entry.
type Rule struct {
	// Host is the lower-case host name, "*.suffix" pattern or "*"; empty
	// for an IP literal.
	Host string
	// Addr is the address of an IP literal entry.
	Addr netip.Addr
	// Port is the only port allowed, or 0 for any port.
	Port uint16
}

// Any reports whether r is "*" (any host).
func (r Rule) Any() bool { return r.Host == "*" }

// String returns the entry in canonical form.
func (r Rule) String() string {
	h := r.Host
	if r.Addr.IsValid() {
		h = r.Addr.String()
		if r.Addr.Is6() && r.Port != 0 {
			h = "[" + h + "]"
		}
	}
	if r.Port != 0 {
		h += ":" + strconv.Itoa(int(r.Port))
	}
	return h
}

// Parse parses one entry.
func Parse(entry string) (Rule, error) {
	bad := func(why string) (Rule, error) {
		return Rule{}, fmt.Errorf("%w: %q %s", ErrEntry, entry, why)
	}
	s := entry
	if s == "" {
		return bad("is empty")
	}
	if strings.ContainsAny(s, "/@?#\\ \t") {
		return bad("is not a host: want a host name, *.suffix, * or an IP address, optionally with :port (no scheme, path or CIDR range)")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return Rule{Addr: a.Unmap()}, nil // a bare IPv4 or IPv6 literal
	}
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return bad("has no closing ]")
		}
		host = s[1:end]
		rest := s[end+1:]
		if rest != "" {
			p, ok := strings.CutPrefix(rest, ":")
			if !ok {
				return bad("has text after ]")
			}
			port = p
		}
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return bad("has brackets around something that is not an IPv6 address")
		}
	case strings.Contains(s, ":"):
		i := strings.LastIndexByte(s, ':')
		host, port = s[:i], s[i+1:]
		if strings.Contains(host, ":") {
			return bad("is neither an IPv6 address nor host:port (write an IPv6 address with a port as [address]:port)")
		}
	}
	var r Rule
	if port != "" || strings.HasSuffix(s, ":") {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return bad("has a port that is not a number from 1 to 65535")
		}
		r.Port = uint16(n)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		r.Addr = a.Unmap()
		return r, nil
	}
	host = strings.ToLower(host)
	if host == "*" {
		r.Host = "*"
		return r, nil
	}
	name, wildcard := strings.CutPrefix(host, "*.")
	name = strings.TrimSuffix(name, ".")
	if name == "" || strings.Contains(name, "*") {
		return bad("uses * other than as a whole first label (*.example.com) or alone (*)")
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return bad("is not a valid host name")
		}
	}
	if wildcard && strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return bad("is a wildcard over a numeric suffix: wildcards match host names, never IP addresses; list the address itself")
	}
	r.Host = name
	if wildcard {
		r.Host = "*." + name
	}
	return r, nil
}

// List is a parsed allow-list.
type List []Rule

// ParseList parses entries, joining the errors of every bad one.
func ParseList(entries []string) (List, error) {
	l := make(List, 0, len(entries))
	var errs []error
	for _, e := range entries {
		r, err := Parse(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l = append(l, r)
	}
	return l, errors.Join(errs...)
}

// DefaultPort returns the port of a URL scheme without an explicit port
// (80 for http, 443 for https, else 0).
func DefaultPort(scheme string) uint16 {
	switch strings.ToLower(scheme) {
	case "http":
		return 80
	case "https":
		return 443
	}
	return 0
}

// Match reports whether host (a URL's host name without brackets) on
// port is allowed, and whether an entry naming it (an entry other than
// "*") allows it.
func (l List) Match(host string, port uint16) (allowed, named bool) {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	a, err := netip.ParseAddr(h)
	isIP := err == nil
	a = a.Unmap()
	for _, r := range l {
		if r.Port != 0 && r.Port != port {
			continue
		}
		switch {
		case r.Any():
			allowed = true
		case r.Addr.IsValid():
			if isIP && a == r.Addr {
				return true, true
			}
		case isIP:
			// Names and patterns never match an IP literal.
		case strings.HasPrefix(r.Host, "*."):
			if strings.HasSuffix(h, r.Host[1:]) {
				return true, true
			}
		case h == r.Host:
			return true, true
		}
	}
	return allowed, false
}
