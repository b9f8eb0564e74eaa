package allowlist

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		entry, want, err string
	}{
		{"api.example.com", "api.example.com", ""},
		{"API.Example.com.", "api.example.com", ""},
		{"api.example.com:8443", "api.example.com:8443", ""},
		{"*.example.com", "*.example.com", ""},
		{"*.example.com:443", "*.example.com:443", ""},
		{"*", "*", ""},
		{"*:443", "*:443", ""},
		{"127.0.0.1", "127.0.0.1", ""},
		{"127.0.0.1:9001", "127.0.0.1:9001", ""},
		{"::1", "::1", ""},
		{"[::1]", "::1", ""},
		{"[2001:db8::1]:8443", "[2001:db8::1]:8443", ""},
		{"::ffff:10.0.0.1", "10.0.0.1", ""},
		{"", "", "empty"},
		{"*.0.0.1", "", "never IP addresses"},
		{"*.1", "", "never IP addresses"},
		{"a.*.com", "", "whole first label"},
		{"*example.com", "", "whole first label"},
		{"**", "", "whole first label"},
		{"*.", "", "whole first label"},
		{"https://api.example.com", "", "no scheme"},
		{"10.0.0.0/8", "", "CIDR"},
		{"api.example.com:0", "", "port"},
		{"api.example.com:https", "", "port"},
		{"api.example.com:", "", "port"},
		{"api.example.com:70000", "", "port"},
		{"[api.example.com]:80", "", "not an IPv6"},
		{"[::1", "", "closing ]"},
		{"a:b:c", "", "IPv6 address with a port"},
		{"bad_name!", "", "not a valid host name"},
		{"-x.com", "", "not a valid host name"},
	} {
		t.Run(tc.entry, func(t *testing.T) {
			r, err := Parse(tc.entry)
			if tc.err != "" {
				if !errors.Is(err, ErrEntry) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse(%q) = %v, %v; want an error mentioning %q", tc.entry, r, err, tc.err)
				}
				return
			}
			if err != nil || r.String() != tc.want {
				t.Fatalf("Parse(%q) = %q, %v; want %q", tc.entry, r, err, tc.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	l, err := ParseList([]string{"api.example.com", "*.internal.example", "admin.example.com:8443", "127.0.0.1", "[::1]:9000", "*:443"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host          string
		port          uint16
		allowed, name bool
	}{
		{"api.example.com", 80, true, true},
		{"API.example.com.", 12345, true, true},
		{"x.api.example.com", 80, false, false},
		{"a.internal.example", 80, true, true},
		{"a.b.internal.example", 80, true, true},
		{"internal.example", 80, false, false},
		{"admin.example.com", 8443, true, true},
		{"admin.example.com", 80, false, false},
		{"admin.example.com", 443, true, false}, // by "*:443" only
		{"127.0.0.1", 9001, true, true},
		{"::ffff:127.0.0.1", 80, true, true},
		{"::1", 9000, true, true},
		{"::1", 9001, false, false},
		{"evil.example", 80, false, false},
		{"evil.example", 443, true, false},
		{"10.0.0.1", 443, true, false},
	} {
		allowed, named := l.Match(tc.host, tc.port)
		if allowed != tc.allowed || named != tc.name {
			t.Errorf("Match(%q, %d) = %v, %v; want %v, %v", tc.host, tc.port, allowed, named, tc.allowed, tc.name)
		}
	}
	// A pattern never matches an IP literal, even one that ends like it.
	l = List{{Host: "*.0.0.1"}} // as if it had been accepted
	if ok, _ := l.Match("127.0.0.1", 80); ok {
		t.Error("*.0.0.1 matched the IP literal 127.0.0.1")
	}
}

func ExampleList_Match() {
	l, _ := ParseList([]string{"*.example.com", "api.partner.net:8443"})
	for _, u := range []struct {
		host string
		port uint16
	}{{"geo.example.com", 443}, {"api.partner.net", 8443}, {"api.partner.net", 443}, {"127.0.0.1", 80}} {
		ok, _ := l.Match(u.host, u.port)
		fmt.Println(u.host, u.port, ok)
	}
	// Output:
	// geo.example.com 443 true
	// api.partner.net 8443 true
	// api.partner.net 443 false
	// 127.0.0.1 80 false
}
