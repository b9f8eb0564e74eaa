// Command lookup is a test module: for every record (an IP address
// string) it makes "lookups" reverse DNS calls (config, default 1), one
// host call each, and emits the record unchanged. With config "batch" set
// to "true" it instead resolves the whole batch's addresses with one host
// call before the records are handled.
package main

import (
	"strconv"

	"github.com/weirhq/weir/sdk/go/weir"
	"github.com/weirhq/weir/sdk/go/weir/enrich"
)

var lookups = -1

func init() {
	weir.Prepare(func(b *weir.Records) error {
		if v, _ := weir.Config("batch"); v != "true" {
			return nil
		}
		ips := make([]string, b.Len())
		for i := range ips {
			ips[i] = string(b.Data(i))
		}
		enrich.ReverseDNS(ips)
		return nil
	})
	weir.Handle(func(r *weir.Record) error {
		if lookups < 0 {
			lookups = 1
			if v, ok := weir.Config("lookups"); ok {
				lookups, _ = strconv.Atoi(v)
			}
		}
		ip := []string{string(r.Data())}
		for range lookups {
			enrich.ReverseDNS(ip)
		}
		r.Emit(r.Data())
		return nil
	})
}

func main() {}
