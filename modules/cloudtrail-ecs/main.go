package main

import (
	"errors"

	"github.com/weirhq/weir/sdk/go/weir"
)

var errNotObject = errors.New("cloudtrail-ecs: the record is not a JSON object")

// values is reused from record to record.
var values []weir.Value

func init() {
	weir.Paths(paths...)
	weir.Handle(handle)
}

func handle(r *weir.Record) error {
	if err := r.CheckJSON(); err != nil {
		return err
	}
	if !isObject(r.Data()) {
		return errNotObject
	}
	values = r.Values(values[:0])
	if msg := notCloudTrail(values); msg != "" {
		return errors.New(msg)
	}
	d := r.Doc()
	normalize(values, &d.Ops)
	return d.Emit()
}

func main() {}
