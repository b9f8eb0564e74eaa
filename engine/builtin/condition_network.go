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
