//go:build wasip1

// Command gopdk-upper is an unmodified go-pdk v1.1.3 Extism plugin used by
// the host's tests: "transform" upper-cases its input. An input of "panic"
// panics, to test that a Go guest's panic fails only its batch.
package main

import (
	"bytes"

	"github.com/extism/go-pdk"
)

//go:wasmexport transform
func transform() int32 {
	in := pdk.Input()
	if string(in) == "panic" {
		panic("gopdk-upper: asked to panic")
	}
	pdk.Output(bytes.ToUpper(in))
	return 0
}

func main() {}
