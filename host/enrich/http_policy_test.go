package enrich

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/enrich/enrichtest"
)

// countingServer is a loopback HTTP server that counts its requests and
// redirects to the URL in ?to= when given one.
type countingServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newCountingServer(t *testing.T) *countingServer {
	t.Helper()
	s := &countingServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		_, _ = w.Write([]byte("reached"))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *countingServer) port() string { return s.URL[strings.LastIndexByte(s.URL, ':')+1:] }

// get makes one request through the HTTP host function.
func get(t *testing.T, env *Env, u string) Result {
	t.Helper()
	return results(t, env.Call(context.Background(), FuncHTTP, httpReqs(u)))[0]
}

// TestHTTPCredentialEndpoints: with allow_private and every address in
// allow_hosts, no request reaches a cloud credential or metadata address
// or the runtime's local endpoints, whether named by address, by a name
// that resolves there (DNS rebinding through dnsmasq) or by a redirect.
// The runtime endpoints are real loopback servers that must see no
// request; the link-local addresses cannot be served on this machine, so
// those cases show the connection is refused before connect() with the
// endpoint's name (unblocked, they would time out or be refused by the
// kernel: an error, not a denial).
func TestHTTPCredentialEndpoints(t *testing.T) {
	runtimeAPI, agent, creds, ok := newCountingServer(t), newCountingServer(t), newCountingServer(t), newCountingServer(t)
	t.Setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:"+runtimeAPI.port())
	t.Setenv("AWS_APPCONFIG_EXTENSION_HTTP_PORT", agent.port())
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", creds.URL+"/v1/credentials")
	dns := enrichtest.Dnsmasq(t,
		"--address=/imds.rebind.test/169.254.169.254",
		"--address=/ecs.rebind.test/169.254.170.2",
		"--address=/eks.rebind.test/169.254.170.23",
		"--address=/runtime.rebind.test/127.0.0.1",
		"--address=/ok.rebind.test/127.0.0.1")
	useResolver(t, dns)
	caps := engine.HTTPCapability{
		AllowHosts: []string{"*.rebind.test", "127.0.0.1", "localhost", "169.254.169.254", "fd00:ec2::254", "169.254.170.2",
			"169.254.170.23", "fd00:ec2::23", "::ffff:169.254.170.2", "64:ff9b::a9fe:a9fe"},
		AllowPrivate: true,
		Timeout:      engine.Duration(2 * time.Second),
	}
	env, err := New(engine.Capabilities{HTTP: &caps}, Options{Stage: "t"})
	if err != nil {
		t.Fatal(err)
	}
	const (
		imds    = "the EC2 instance metadata service"
		ecs     = "the ECS task credentials"
		eks     = "the EKS Pod Identity agent"
		runtime = "the Lambda Runtime API"
	)
	redirect := func(to string) string { return ok.URL + "/?to=" + url.QueryEscape(to) }
	for _, tc := range []struct{ name, url, want string }{
		{"runtime API", "http://127.0.0.1:" + runtimeAPI.port() + "/2018-06-01/runtime/invocation/next", runtime},
		{"runtime API as localhost", "http://localhost:" + runtimeAPI.port() + "/2018-06-01/runtime/invocation/next", runtime},
		{"runtime API by DNS", "http://runtime.rebind.test:" + runtimeAPI.port() + "/", runtime},
		{"runtime API by redirect", redirect("http://127.0.0.1:" + runtimeAPI.port() + "/2018-06-01/runtime/invocation/next"), runtime},
		{"AppConfig agent", "http://localhost:" + agent.port() + "/applications/a/environments/e/configurations/c", "the AppConfig agent"},
		{"container credentials", creds.URL + "/v1/credentials", "the container credentials endpoint"},
		{"IMDS", "http://169.254.169.254/latest/meta-data/iam/security-credentials/", imds},
		{"IMDS IPv6", "http://[fd00:ec2::254]/latest/api/token", imds},
		{"IMDS by DNS", "http://imds.rebind.test/latest/meta-data/", imds},
		{"IMDS through NAT64", "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", imds},
		{"ECS", "http://169.254.170.2/v2/credentials/abc", ecs},
		{"ECS as a mapped address", "http://[::ffff:169.254.170.2]/v2/credentials/abc", ecs},
		{"ECS by DNS", "http://ecs.rebind.test/v2/credentials/abc", ecs},
		{"ECS by redirect", redirect("http://169.254.170.2/v2/credentials/abc"), ecs},
		{"EKS Pod Identity", "http://169.254.170.23/v1/credentials", eks},
		{"EKS Pod Identity IPv6", "http://[fd00:ec2::23]/v1/credentials", eks},
		{"EKS Pod Identity by DNS", "http://eks.rebind.test/v1/credentials", eks},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, env, tc.url)
			if r.Status != StatusDenied || !strings.Contains(string(r.Value), tc.want) || !strings.Contains(string(r.Value), "always refused") {
				t.Fatalf("status %d %q; want denied: %s", r.Status, r.Value, tc.want)
			}
		})
	}
	for name, s := range map[string]*countingServer{"runtime API": runtimeAPI, "AppConfig agent": agent, "credentials": creds} {
		if n := s.hits.Load(); n != 0 {
			t.Errorf("the %s server got %d requests", name, n)
		}
	}
	// The same loopback, another port, by name: reachable.
	if r := get(t, env, "http://ok.rebind.test:"+ok.port()+"/"); r.Status != StatusOK {
		t.Fatalf("a loopback server allowed by name: %d %q", r.Status, r.Value)
	}
}

// TestHTTPAllowHosts: "*" means any host with a public address; a
// wildcard never matches an IP literal; an entry with a port allows that
// port only, one without a port every port.
func TestHTTPAllowHosts(t *testing.T) {
	a, b := newCountingServer(t), newCountingServer(t)
	dns := enrichtest.Dnsmasq(t, "--address=/public.test/192.0.2.1", "--address=/loop.test/127.0.0.1")
	useResolver(t, dns)
	newEnv := func(t *testing.T, private bool, hosts ...string) *Env {
		t.Helper()
		env, err := New(engine.Capabilities{HTTP: &engine.HTTPCapability{AllowHosts: hosts, AllowPrivate: private,
			Timeout: engine.Duration(300 * time.Millisecond)}}, Options{Stage: "t"})
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	type want struct {
		status byte
		msg    string // substring of the error, or the body
	}
	reached := want{StatusOK, "reached"}
	for _, tc := range []struct {
		name    string
		private bool
		hosts   []string
		url     string
		want    want
	}{
		// "*" lets a request through the allow-list to any public
		// address (192.0.2.1 is not routable here: an error, not a denial).
		{"* allows a public host", false, []string{"*"}, "http://public.test/", want{StatusError, "public.test"}},
		{"* never reaches loopback", false, []string{"*"}, a.URL + "/", want{StatusDenied, "set allow_private"}},
		{"* never reaches loopback even with allow_private", true, []string{"*"}, "http://loop.test:" + a.port() + "/", want{StatusDenied, `"*" allows public addresses only`}},
		{"a named host with allow_private beside *", true, []string{"*", "loop.test"}, "http://loop.test:" + a.port() + "/", reached},
		{"an entry with a port allows it", true, []string{"127.0.0.1:" + a.port()}, a.URL + "/", reached},
		{"an entry with a port allows no other port", true, []string{"127.0.0.1:" + a.port()}, b.URL + "/", want{StatusDenied, "port " + b.port() + " is not in http.allow_hosts"}},
		{"a redirect to another port", true, []string{"127.0.0.1:" + a.port()}, a.URL + "/?to=" + url.QueryEscape(b.URL+"/"), want{StatusDenied, "port " + b.port()}},
		{"an entry without a port allows every port", true, []string{"127.0.0.1"}, b.URL + "/", reached},
		{"a name with a port", true, []string{"loop.test:" + b.port()}, "http://loop.test:" + b.port() + "/", reached},
		{"default port of the scheme", true, []string{"loop.test:80"}, "http://loop.test:" + b.port() + "/", want{StatusDenied, "not in http.allow_hosts"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, newEnv(t, tc.private, tc.hosts...), tc.url)
			got := string(r.Value)
			if r.Status == StatusOK {
				_, got = httpStatus(r.Value)
			}
			if r.Status != tc.want.status || !strings.Contains(got, tc.want.msg) {
				t.Fatalf("status %d %q; want %d %q", r.Status, got, tc.want.status, tc.want.msg)
			}
		})
	}
	t.Run("a wildcard never matches an IP literal", func(t *testing.T) {
		_, err := New(engine.Capabilities{HTTP: &engine.HTTPCapability{AllowHosts: []string{"*.0.0.1"}, AllowPrivate: true}}, Options{})
		if err == nil || !strings.Contains(err.Error(), "never IP addresses") {
			t.Fatalf("New accepted *.0.0.1: %v", err)
		}
	})
	if n := b.hits.Load(); n != 2 {
		t.Errorf("server b got %d requests, want 2 (the two allowed)", n)
	}
}
