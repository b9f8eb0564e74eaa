package enrich

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
)

func httpReqs(urls ...string) []byte {
	var r httpRequest
	for _, u := range urls {
		r.Requests = append(r.Requests, httpReq{Method: "GET", URL: u})
	}
	b, _ := json.Marshal(r)
	return b
}

// httpStatus reads the status code and body of an HTTP result value.
func httpStatus(v []byte) (int, string) {
	code := int(binary.LittleEndian.Uint32(v))
	n := int(binary.LittleEndian.Uint32(v[4:]))
	off := 8
	for range 2 * n {
		off += 4 + int(binary.LittleEndian.Uint32(v[off:]))
	}
	return code, string(v[off+4:])
}

func TestHTTP(t *testing.T) {
	var hits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { hits.Add(1); w.Write([]byte("hello")) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 2<<20)) })
	mux.HandleFunc("/metadata", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://example.com/", http.StatusFound)
	})
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	caps := engine.HTTPCapability{
		// 169.254.169.254 is allow-listed by name, so only the dial-time
		// address check stands between the redirect and the metadata
		// service.
		AllowHosts:   []string{"127.0.0.1", "169.254.169.254"},
		AllowPrivate: true, // the test server is on loopback
		Timeout:      engine.Duration(500 * time.Millisecond),
		MaxBodyBytes: 1 << 20,
		CacheTTL:     engine.Duration(time.Minute),
	}
	env, err := New(engine.Capabilities{HTTP: &caps}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path   string
		status byte
		code   int
		want   string // body, or a substring of the error
	}{
		{"/ok", StatusOK, 200, "hello"},
		{"/500", StatusOK, 500, "boom\n"},
		{"/slow", StatusError, 0, "timeout"},
		{"/huge", StatusError, 0, "over 1048576 bytes"},
		{"/metadata", StatusDenied, 0, "metadata service (IMDS), a cloud metadata and credentials address, always refused"},
		{"/elsewhere", StatusDenied, 0, "not in http.allow_hosts"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			rs := results(t, env.Call(context.Background(), FuncHTTP, httpReqs(srv.URL+tc.path)))
			r := rs[0]
			if r.Status != tc.status {
				t.Fatalf("status %d (%q), want %d", r.Status, r.Value, tc.status)
			}
			if tc.status == StatusOK {
				code, body := httpStatus(r.Value)
				if code != tc.code || body != tc.want {
					t.Fatalf("got %d %q, want %d %q", code, body, tc.code, tc.want)
				}
			} else if !strings.Contains(string(r.Value), tc.want) {
				t.Fatalf("error %q, want %q", r.Value, tc.want)
			}
		})
	}

	t.Run("batched, de-duplicated and cached", func(t *testing.T) {
		hits.Store(0)
		env, _ := New(engine.Capabilities{HTTP: &caps}, Options{})
		u := srv.URL + "/ok?batched" // not requested before: the cache is shared by configuration
		rs := results(t, env.Call(context.Background(), FuncHTTP, httpReqs(u, u, u, "ftp://x/", u)))
		if rs[3].Status != StatusDenied || rs[4].Status != StatusOK {
			t.Fatalf("got %+v", rs)
		}
		results(t, env.Call(context.Background(), FuncHTTP, httpReqs(u)))
		if n := hits.Load(); n != 1 {
			t.Fatalf("the server got %d requests, want 1", n)
		}
	})

	t.Run("loopback refused without allow_private", func(t *testing.T) {
		c := caps
		c.AllowPrivate = false
		env, _ := New(engine.Capabilities{HTTP: &c}, Options{})
		rs := results(t, env.Call(context.Background(), FuncHTTP, httpReqs(srv.URL+"/ok")))
		if rs[0].Status != StatusDenied || !strings.Contains(string(rs[0].Value), "loopback") {
			t.Fatalf("got %d %q", rs[0].Status, rs[0].Value)
		}
	})
}
