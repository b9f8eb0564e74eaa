package enrich

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/weirhq/weir/engine"
)

// maxKeys bounds the keys of one call.
const maxKeys = 100_000

// dnsService answers DNS lookups from a resolver or a static answer file.
type dnsService struct {
	resolver string
	client   *dns.Client
	static   map[string]map[string][]string // type -> name -> answers
	spec     batchSpec
}

// dnsRequest is the weir_dns request.
type dnsRequest struct {
	Type  string   `json:"type"`
	Names []string `json:"names"`
}

func newDNS(c engine.DNSCapability, cnt *counters) (*dnsService, error) {
	s := &dnsService{spec: batchSpec{
		cache:       newTTLCache(0),
		ttl:         durationOr(c.CacheTTL, 5*time.Minute),
		negTTL:      durationOr(c.NegativeTTL, time.Minute),
		concurrency: c.Concurrency,
		counters:    cnt,
	}}
	if s.spec.concurrency == 0 {
		s.spec.concurrency = 32
	}
	if c.Static != "" {
		st, err := loadStaticDNS(c.Static)
		if err != nil {
			return nil, fmt.Errorf("enrich: dns static answers: %w", err)
		}
		s.static = st
		return s, nil
	}
	s.resolver = c.Resolver
	if _, _, err := net.SplitHostPort(s.resolver); err != nil {
		s.resolver = net.JoinHostPort(strings.Trim(s.resolver, "[]"), "53")
	}
	s.client = &dns.Client{Net: "udp", Timeout: durationOr(c.Timeout, 2*time.Second)}
	return s, nil
}

// loadStaticDNS reads {"PTR":{"192.0.2.0":["name."]},"A":{"host":["1.2.3.4"]},...}.
// PTR keys are IP addresses (or in-addr.arpa names); other keys are domain
// names, with or without the final dot.
func loadStaticDNS(path string) (map[string]map[string][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw map[string]map[string][]string
	if err := decode(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]map[string][]string{}
	for typ, m := range raw {
		typ = strings.ToUpper(typ)
		if dns.StringToType[typ] == 0 {
			return nil, fmt.Errorf("%s: unknown record type %q", path, typ)
		}
		out[typ] = map[string][]string{}
		for name, answers := range m {
			key := name
			if typ == "PTR" {
				if a, err := netip.ParseAddr(name); err == nil {
					key, _ = dns.ReverseAddr(a.String())
				}
			}
			out[typ][strings.ToLower(dns.Fqdn(key))] = answers
		}
	}
	return out, nil
}

func (s *dnsService) call(ctx context.Context, req []byte) ([]Result, error) {
	var r dnsRequest
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	typ := strings.ToUpper(r.Type)
	qtype, ok := map[string]uint16{"PTR": dns.TypePTR, "A": dns.TypeA, "AAAA": dns.TypeAAAA, "TXT": dns.TypeTXT}[typ]
	if !ok {
		return nil, fmt.Errorf("type %q: want PTR, A, AAAA or TXT", r.Type)
	}
	if len(r.Names) > maxKeys {
		return nil, fmt.Errorf("%d names (max %d)", len(r.Names), maxKeys)
	}
	spec := s.spec
	spec.prefix = typ + " "
	return resolve(ctx, spec, r.Names, func(ctx context.Context, name string) Result {
		return s.lookup(ctx, typ, qtype, name)
	}), nil
}

// question turns a key into the name to query, or an error result.
func question(typ, key string) (string, *Result) {
	if typ == "PTR" {
		a, err := netip.ParseAddr(key)
		if err != nil {
			r := errResult("%q is not an IP address", key)
			return "", &r
		}
		arpa, err := dns.ReverseAddr(a.Unmap().String())
		if err != nil {
			r := errResult("%q: %v", key, err)
			return "", &r
		}
		return arpa, nil
	}
	if _, ok := dns.IsDomainName(key); !ok || key == "" || strings.ContainsAny(key, " \t\n") {
		r := errResult("%q is not a domain name", key)
		return "", &r
	}
	return strings.ToLower(dns.Fqdn(key)), nil
}

func (s *dnsService) lookup(ctx context.Context, typ string, qtype uint16, key string) Result {
	name, bad := question(typ, key)
	if bad != nil {
		return *bad
	}
	if s.static != nil {
		answers, ok := s.static[typ][name]
		if !ok || len(answers) == 0 {
			return notFound
		}
		if typ == "PTR" {
			answers = trimDots(answers)
		}
		return okResult(appendStrings(nil, answers))
	}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	in, _, err := s.client.ExchangeContext(ctx, m, s.resolver)
	if err == nil && in.Truncated {
		tcp := *s.client
		tcp.Net = "tcp"
		in, _, err = tcp.ExchangeContext(ctx, m, s.resolver)
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return errResult("dns %s %s: timeout after %s", typ, key, s.client.Timeout)
		}
		return errResult("dns %s %s: %v", typ, key, err)
	}
	switch in.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return notFound
	default:
		return errResult("dns %s %s: %s", typ, key, dns.RcodeToString[in.Rcode])
	}
	var answers []string
	for _, rr := range in.Answer {
		switch v := rr.(type) {
		case *dns.PTR:
			if qtype == dns.TypePTR {
				answers = append(answers, strings.TrimSuffix(v.Ptr, "."))
			}
		case *dns.A:
			if qtype == dns.TypeA {
				answers = append(answers, v.A.String())
			}
		case *dns.AAAA:
			if qtype == dns.TypeAAAA {
				answers = append(answers, v.AAAA.String())
			}
		case *dns.TXT:
			if qtype == dns.TypeTXT {
				answers = append(answers, strings.Join(v.Txt, ""))
			}
		}
	}
	if len(answers) == 0 {
		return notFound
	}
	return okResult(appendStrings(nil, answers))
}

func trimDots(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.TrimSuffix(s, ".")
	}
	return out
}
