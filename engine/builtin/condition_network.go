package builtin

import (
	"context"
	"encoding/json"
	"net"
	"net/netip"
)

// Network conditions: network_ip_* test the IP address in the data, or
// at object.source_key, with Go's net.IP predicates, as Substation does
// (text that is not an IP address matches none of them; unicast means
// global or link-local unicast).

func init() {
	for name, pred := range map[string]func(net.IP) bool{
		"network_ip_valid":                nil, // any address: no net.IP needed
		"network_ip_global_unicast":       net.IP.IsGlobalUnicast,
		"network_ip_link_local_multicast": net.IP.IsLinkLocalMulticast,
		"network_ip_link_local_unicast":   net.IP.IsLinkLocalUnicast,
		"network_ip_loopback":             net.IP.IsLoopback,
		"network_ip_multicast":            net.IP.IsMulticast,
		"network_ip_private":              net.IP.IsPrivate,
		"network_ip_unicast":              func(ip net.IP) bool { return ip.IsGlobalUnicast() || ip.IsLinkLocalUnicast() },
		"network_ip_unspecified":          net.IP.IsUnspecified,
	} {
		RegisterCondition(name, newNetworkIP(pred))
	}
}

func newNetworkIP(pred func(net.IP) bool) ConditionFactory {
	return func(c *Compiler, raw json.RawMessage) (Condition, error) {
		var s objectSettings
		if err := c.Decode(raw, &s); err != nil {
			return nil, err
		}
		src := s.Object.SourceKey
		return ConditionFunc(func(_ context.Context, m *Message) (bool, error) {
			if src == "" {
				ip := net.ParseIP(string(m.Data()))
				if pred == nil {
					return ip != nil, nil
				}
				return pred(ip), nil
			}
			// The text is read in the scratch buffer and parsed as
			// net.ParseIP does (netip without a zone), without copies.
			b := m.b
			start := len(b.scratch)
			b.scratch = m.GetValue(src).AppendText(b.scratch)
			if !ipChars(b.scratch[start:]) {
				// Not an address: ParseAddr would allocate its error.
				b.scratch = b.scratch[:start]
				return false, nil
			}
			addr, err := netip.ParseAddr(b.scratchString(start))
			b.scratch = b.scratch[:start]
			if err != nil || addr.Zone() != "" {
				return false, nil
			}
			if pred == nil {
				return true, nil
			}
			a := addr.As16()
			return pred(net.IP(a[:])), nil
		}), nil
	}
}

// ipChars reports whether s could be an IP address without a zone, by
// rules ParseAddr applies: not empty; only hex digits, '.' and ':'; and
// without ':', four decimal fields, none with a leading zero. What it
// rejects, ParseAddr rejects too (or it has a zone, which the conditions
// reject) with an error that allocates: CloudTrail puts service names and
// zero-padded addresses ("253.252.51.07") in sourceIPAddress.
func ipChars(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	v6 := false
	for _, c := range s {
		if !ipChar[c] {
			return false
		}
		v6 = v6 || c == ':'
	}
	if v6 {
		return true
	}
	fields, digits := 1, 0
	for i, c := range s {
		switch {
		case c == '.':
			if digits == 0 {
				return false
			}
			fields, digits = fields+1, 0
		case c < '0' || c > '9':
			return false
		case digits == 1 && s[i-1] == '0':
			return false // leading zero
		default:
			digits++
		}
	}
	return fields == 4 && digits > 0
}

var ipChar = func() (t [256]bool) {
	for _, c := range "0123456789abcdefABCDEF.:" {
		t[c] = true
	}
	return t
}()
