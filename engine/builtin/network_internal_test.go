package builtin

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestIPCharsRejectsOnlyWhatParseAddrRejects checks ipChars, the
// pre-filter of the network_ip_* conditions, against netip.ParseAddr on
// random strings made of address characters: whatever it rejects must be
// rejected by ParseAddr too (or carry a zone).
func TestIPCharsRejectsOnlyWhatParseAddrRejects(t *testing.T) {
	const alphabet = "0123456789.:af%x"
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[bool]int{}
	for i := 0; i < 200000; i++ {
		n := 1 + r.IntN(16)
		b := make([]byte, n)
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		if r.IntN(4) == 0 { // plausible IPv4 shapes, some zero-padded
			b = []byte(netip.AddrFrom4([4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(3)), byte(r.IntN(256))}).String())
			if r.IntN(2) == 0 {
				b = append(b[:len(b):len(b)], '0')
			}
			if r.IntN(3) == 0 {
				b = append([]byte("0"), b...)
			}
		}
		addr, err := netip.ParseAddr(string(b))
		valid := err == nil && addr.Zone() == ""
		seen[valid]++
		if valid && !ipChars(b) {
			t.Fatalf("ipChars(%q) = false, but ParseAddr takes it", b)
		}
	}
	if seen[true] == 0 || seen[false] == 0 {
		t.Fatalf("the random strings did not exercise both answers: %v", seen)
	}
}
