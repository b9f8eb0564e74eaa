package enrich

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/valyala/fastjson"

	"github.com/weirhq/weir/engine"
)

// maxKeys bounds the keys of one call.
const maxKeys = 100_000

// dnsService answers DNS lookups from a resolver or a static answer
// file. Its cache and static answers are shared with the other Envs of
// the same configuration (shared.go); its counters are the stage's.
type dnsService struct {
	resolver string
	client   *dns.Client
	static   *staticDNS
	spec     batchSpec
}

// staticDNS is a loaded answer file: type -> name -> answers.
type staticDNS struct {
	answers map[string]map[string][]string
}

// dnsTypes are the record types weir_dns serves.
var dnsTypes = map[string]uint16{"PTR": dns.TypePTR, "A": dns.TypeA, "AAAA": dns.TypeAAAA, "TXT": dns.TypeTXT}

func newDNS(c engine.DNSCapability, cnt *counters) (*dnsService, error) {
	s := &dnsService{spec: batchSpec{
		ttl:         durationOr(c.CacheTTL, 5*time.Minute),
		negTTL:      durationOr(c.NegativeTTL, time.Minute),
		concurrency: c.Concurrency,
		counters:    cnt,
	}}
	if s.spec.concurrency == 0 {
		s.spec.concurrency = 32
	}
	if c.Static != "" {
		st, version, err := loadStaticDNS(c.Static)
		if err != nil {
			return nil, fmt.Errorf("enrich: dns static answers: %w", err)
		}
		s.static = st
		if s.spec.ttl > 0 || s.spec.negTTL > 0 {
			s.spec.cache = sharedCache(0, "dns-static", version, durKey(s.spec.ttl), durKey(s.spec.negTTL))
		}
		return s, nil
	}
	s.resolver = c.Resolver
	if _, _, err := net.SplitHostPort(s.resolver); err != nil {
		s.resolver = net.JoinHostPort(strings.Trim(s.resolver, "[]"), "53")
	}
	s.client = &dns.Client{Net: "udp", Timeout: durationOr(c.Timeout, 2*time.Second)}
	if s.spec.ttl > 0 || s.spec.negTTL > 0 {
		s.spec.cache = sharedCache(0, "dns", s.resolver, durKey(s.spec.ttl), durKey(s.spec.negTTL))
	}
	return s, nil
}

// loadStaticDNS reads {"PTR":{"192.0.2.0":["name."]},"A":{"host":["1.2.3.4"]},...},
// once per version of the file (shared with other Envs). PTR keys are IP
// addresses (or in-addr.arpa names); other keys are domain names, with or
// without the final dot. version identifies the file's path and version.
func loadStaticDNS(path string) (st *staticDNS, version string, err error) {
	abs, err := filepath.Abs(strings.TrimPrefix(path, "file://"))
	if err != nil {
		return nil, "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, "", err
	}
	version = fileVersion(abs, fi)
	st, err = sharedStatic.get(version, func() (*staticDNS, error) {
		b, err := os.ReadFile(abs)
		if err != nil {
			return nil, err
		}
		var raw map[string]map[string][]string
		if err := decode(b, &raw); err != nil {
			return nil, fmt.Errorf("%s: %w", abs, err)
		}
		out := map[string]map[string][]string{}
		for typ, m := range raw {
			typ = strings.ToUpper(typ)
			if dns.StringToType[typ] == 0 {
				return nil, fmt.Errorf("%s: unknown record type %q", abs, typ)
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
		return &staticDNS{answers: out}, nil
	})
	return st, version, err
}

// fileVersion identifies a file's content by its path, size and
// modification time: a file replaced in place is a new version.
func fileVersion(abs string, fi os.FileInfo) string {
	return configKey("file", abs, strconv.FormatInt(fi.Size(), 10), strconv.FormatInt(fi.ModTime().UnixNano(), 10))
}

// parserPool holds the JSON parsers of weir_dns and weir_mmdb requests.
var parserPool fastjson.ParserPool

// parseNames reads a request {"<kindField>":"...","<listField>":["...",...]}
// with fastjson (the hot path: no reflection, one string per distinct
// name), returning the kind and the de-duplicated names. Other fields are
// ignored, as encoding/json would.
func parseNames(req []byte, kindField, listField string) (string, *keySet, error) {
	p := parserPool.Get()
	defer parserPool.Put(p)
	v, err := p.ParseBytes(req)
	if err != nil {
		return "", nil, fmt.Errorf("request is not valid JSON: %w", err)
	}
	if v.Type() != fastjson.TypeObject {
		return "", nil, fmt.Errorf("request is not a JSON object")
	}
	var kind string
	switch k := v.Get(kindField); {
	case k == nil || k.Type() == fastjson.TypeNull:
	case k.Type() == fastjson.TypeString:
		kind = string(k.GetStringBytes())
	default:
		return "", nil, fmt.Errorf("%q is not a string", kindField)
	}
	var names []*fastjson.Value
	switch l := v.Get(listField); {
	case l == nil || l.Type() == fastjson.TypeNull:
	case l.Type() == fastjson.TypeArray:
		names, _ = l.Array()
	default:
		return "", nil, fmt.Errorf("%q is not an array", listField)
	}
	if len(names) > maxKeys {
		return "", nil, fmt.Errorf("%d %s (max %d)", len(names), listField, maxKeys)
	}
	ks := getKeySet(len(names))
	for i, n := range names {
		b, err := n.StringBytes()
		if err != nil {
			putKeySet(ks)
			return "", nil, fmt.Errorf("%s[%d] is not a string", listField, i)
		}
		ks.add(b)
	}
	return kind, ks, nil
}

func (s *dnsService) call(ctx context.Context, req []byte) (answer, error) {
	kind, ks, err := parseNames(req, "type", "names")
	if err != nil {
		return answer{}, err
	}
	typ := strings.ToUpper(kind)
	qtype, ok := dnsTypes[typ]
	if !ok {
		putKeySet(ks)
		return answer{}, fmt.Errorf("type %q: want PTR, A, AAAA or TXT", kind)
	}
	spec := s.spec
	spec.prefix = typ
	rs := resolveSet(ctx, spec, ks.distinct, func(ctx context.Context, name string) Result {
		return s.lookup(ctx, typ, qtype, name)
	})
	return answer{rs: rs, idx: ks.idx, keys: ks}, nil
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
		answers, ok := s.static.answers[typ][name]
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
