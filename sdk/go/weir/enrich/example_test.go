//go:build !wasip1

package enrich_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/weirhq/weir/engine"
	hostenrich "github.com/weirhq/weir/host/enrich"
	"github.com/weirhq/weir/sdk/go/weir/enrich"
)

// fixtures is the reference example's fixture folder.
var fixtures = filepath.Join("..", "..", "..", "..", "examples", "cloudtrail-ecs", "fixtures")

// init serves the SDK's calls natively with weir's own host functions,
// granted the reference example's capabilities, as a module's native
// tests can.
func init() {
	env, err := hostenrich.New(engine.Capabilities{
		DNS: &engine.DNSCapability{Static: filepath.Join(fixtures, "ptr.json")},
		Tables: map[string]engine.TableFile{
			"users": {File: filepath.Join(fixtures, "users.json"), Key: "user_name"},
		},
		MMDB:  map[string]string{"asn": filepath.Join(fixtures, "asn.mmdb")},
		Cache: &engine.CacheCapability{},
	}, hostenrich.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	enrich.SetHost(func(fn string, req []byte) []byte { return env.Call(context.Background(), fn, req) })
}

func ExampleReverseDNS() {
	for _, r := range enrich.ReverseDNS([]string{"192.0.2.0", "198.51.100.7", "not an ip"}) {
		fmt.Println(r.Status, r.String(), r.Err)
	}
	// Output:
	// ok c-192-0-2-0.hsd1.ca.comcast.net <nil>
	// not found  <nil>
	// error  "not an ip" is not an IP address
}

func ExampleASN() {
	for _, a := range enrich.ASN([]string{"192.0.2.0", "203.0.113.1"}) {
		fmt.Println(a.Status, a.Number, a.Organization)
	}
	// Output:
	// ok 7922 Comcast Cable Communications, LLC
	// not found 0
}

func ExampleGetItems() {
	keys := []enrich.Key{enrich.StringKey("user_name", "anonymous"), enrich.StringKey("user_name", "nobody")}
	for _, r := range enrich.GetItems("users", keys) {
		if !r.OK() {
			fmt.Println(r.Status)
			continue
		}
		v, _ := r.JSON()
		fmt.Println(string(v.GetStringBytes("full_name")), v.Get("roles"))
	}
	// A table the stage was not granted: an error value, never a trap.
	fmt.Println(enrich.GetItems("accounts", keys[:1])[0].Status)
	// Output:
	// Jane Doe ["admin","security"]
	// not found
	// denied
}

func ExampleSet() {
	_ = enrich.Set("seen:192.0.2.0", "1", 0)
	v, ok := enrich.Get("seen:192.0.2.0")
	fmt.Println(string(v), ok)
	_, ok = enrich.Get("seen:198.51.100.7")
	fmt.Println(ok)
	// Output:
	// 1 true
	// false
}

func ExampleHTTP() {
	// This stage has no http capability: every request gets the denial.
	r := enrich.HTTP([]enrich.Request{{URL: "https://api.example.com/v1/ip/192.0.2.0"}})[0]
	fmt.Println(r.Status, r.Err)
	// Output:
	// denied weir_http denied: stage "" has no capabilities.http in the pipeline configuration
}
