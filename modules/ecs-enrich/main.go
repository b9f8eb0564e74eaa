package main

import (
	"github.com/weirhq/weir/sdk/go/weir"
)

func init() {
	weir.Paths(paths...)
	weir.Prepare(prepare)
	weir.Handle(handle)
}

func handle(r *weir.Record) error {
	values = r.Values(values[:0])
	d := r.Edit()
	lookups.apply(values, &d.Ops)
	return d.Emit()
}

func main() {}
