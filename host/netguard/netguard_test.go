package netguard_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine/allowlist"
	"github.com/weirhq/weir/host/netguard"
)

func TestCheckAddr(t *testing.T) {
	p := &netguard.Policy{AllowPrivate: true}
	for _, tc := range []struct {
		addr      string
		privateOK bool
		want      string // "" allowed
	}{
		{"169.254.169.254:80", true, "instance metadata"},
		{"[64:ff9b::a9fe:a9fe]:80", true, "instance metadata"}, // NAT64 form of IMDS
		{"169.254.170.2:80", true, "ECS task credentials"},
		{"127.0.0.1:8080", false, "only hosts named"},
		{"10.1.2.3:443", false, "only hosts named"},
		{"127.0.0.1:8080", true, ""},
		{"93.184.216.34:443", false, ""},
	} {
		err := p.CheckAddr(netip.MustParseAddrPort(tc.addr), tc.privateOK)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want allowed", tc.addr, err)
		case tc.want != "" && (err == nil || !errors.Is(err, netguard.ErrBlocked) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want ErrBlocked with %q", tc.addr, err, tc.want)
		}
	}
}

// TestClient: the client reaches an allow-listed loopback host only with
// AllowPrivate, refuses hosts not listed, and refuses a redirect to
// the metadata address.
func TestClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	hosts, err := allowlist.ParseList([]string{u.Host})
	if err != nil {
		t.Fatal(err)
	}
	get := func(p *netguard.Policy, path string) error {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+path, nil)
		if err := p.CheckURL(req.URL); err != nil {
			return err
		}
		resp, err := p.Client(0, 2).Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	if err := get(&netguard.Policy{Hosts: hosts, AllowPrivate: true}, "/"); err != nil {
		t.Errorf("allow-listed loopback with AllowPrivate: %v", err)
	}
	if err := get(&netguard.Policy{Hosts: hosts}, "/"); !errors.Is(err, netguard.ErrBlocked) {
		t.Errorf("loopback without AllowPrivate: %v, want ErrBlocked", err)
	}
	other, _ := allowlist.ParseList([]string{"example.com"})
	if err := get(&netguard.Policy{Hosts: other, AllowPrivate: true}, "/"); !errors.Is(err, netguard.ErrBlocked) {
		t.Errorf("host not listed: %v, want ErrBlocked", err)
	}
	if err := get(&netguard.Policy{Hosts: hosts, AllowPrivate: true}, "/redirect"); !errors.Is(err, netguard.ErrBlocked) {
		t.Errorf("redirect to IMDS: %v, want ErrBlocked", err)
	}
}
