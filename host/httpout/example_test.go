package httpout_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/httpout"
)

// A Splunk HEC output: documents travel as {"event": ...} envelopes to
// /services/collector/event with the token in the Authorization header.
// The collector here is a loopback server, so allow_private is set.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("%s %s\n%s: %s\n%s", r.Method, r.URL.Path, "Authorization", r.Header.Get("Authorization"), body)
		fmt.Fprint(w, `{"text":"Success","code":0}`)
	}))
	defer srv.Close()
	sink, err := httpout.New("splunk", engine.OutputConfig{
		Type: engine.OutputHTTP, Preset: engine.PresetSplunkHEC, URL: srv.URL, Token: "hec-token",
		AllowHosts: []string{srv.Listener.Addr().String()}, AllowPrivate: true,
	}, 5*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = sink.Write(context.Background(), []engine.Output{{Data: []byte(`{"event":{"action":"ConsoleLogin"}}`)}, {Data: []byte(`{"user":{"name":"alice"}}`)}})
	fmt.Println(err)
	// Output:
	// POST /services/collector/event
	// Authorization: Splunk hec-token
	// {"event":{"event":{"action":"ConsoleLogin"}}}
	// {"event":{"user":{"name":"alice"}}}
	// <nil>
}
