// Command lookup is a test module: for every record (an IP address
// string) it makes WEIR_LOOKUPS reverse DNS calls (config "lookups",
// default 1), one host call each, and emits the record unchanged.
package main

import (
	"strconv"

	"github.com/weirhq/weir/sdk/go/weir"
	"github.com/weirhq/weir/sdk/go/weir/enrich"
)

var lookups = -1

func init() {
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
