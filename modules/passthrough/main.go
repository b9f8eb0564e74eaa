package main

import "github.com/weirhq/weir/sdk/go/weir"

func init() {
	weir.Handle(func(r *weir.Record) error {
		r.Emit(r.Data())
		return nil
	})
}

func main() {}
