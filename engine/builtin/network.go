package builtin

import (
	"encoding/json"
	"errors"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Network transforms: network_domain_registered_domain (the eTLD+1,
// "c.b.com" → "b.com"), network_domain_subdomain ("c.b.com" → "c"),
// network_domain_top_level_domain (the public suffix, "b.co.uk" →
// "co.uk"), by the public suffix list of golang.org/x/net/publicsuffix,
// the library Substation uses. A name with no registered domain (or no
// subdomain) fails the record, as in Substation; top_level_domain never
// fails.

func init() {
	RegisterTransform("network_domain_registered_domain", newNetworkDomain(func(dst []byte, s string) ([]byte, error) {
		d, err := publicsuffix.EffectiveTLDPlusOne(s)
		if err != nil {
			return dst, err
		}
		return append(dst, d...), nil
	}))
	RegisterTransform("network_domain_subdomain", newNetworkDomain(func(dst []byte, s string) ([]byte, error) {
		d, err := publicsuffix.EffectiveTLDPlusOne(s)
		if err != nil {
			return dst, err
		}
		// Substation removes the first "."+d from s (not necessarily the
		// suffix) and fails when what is left is d; done here without
		// building strings.
		head, tail := s, ""
		for from := 0; ; {
			j := strings.Index(s[from:], d)
			if j < 0 {
				break
			}
			j += from
			if j > 0 && s[j-1] == '.' {
				head, tail = s[:j-1], s[j+len(d):]
				break
			}
			from = j + 1
		}
		if len(head)+len(tail) == len(d) && strings.HasPrefix(d, head) && strings.HasSuffix(d, tail) {
			return dst, errNoSubdomain
		}
		return append(append(dst, head...), tail...), nil
	}))
	RegisterTransform("network_domain_top_level_domain", newNetworkDomain(func(dst []byte, s string) ([]byte, error) {
		d, _ := publicsuffix.PublicSuffix(s)
		return append(dst, d...), nil
	}))
}

var errNoSubdomain = errors.New("no subdomain")

func newNetworkDomain(fn func(dst []byte, s string) ([]byte, error)) TransformFactory {
	return func(c *Compiler, raw json.RawMessage) (Transform, error) {
		var s objectSettings
		if err := c.Decode(raw, &s); err != nil {
			return nil, err
		}
		return PerValue(s.Object, func(in, dst []byte) ([]byte, error) { return fn(dst, string(in)) })
	}
}
