//go:build wasip1

// Command gopdk-upper is an unmodified go-pdk v1.1.3 Extism plugin used by
// the host's tests: "transform" upper-cases its input. An input of "panic"
// panics, to test that a Go guest's panic fails only its batch; "spin"
// loops forever, to test that the batch deadline stops a Go guest.
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
	if string(in) == "spin" {
		spin()
	}
	pdk.Output(bytes.ToUpper(in))
	return 0
}

// spin never returns.
func spin() {
	for {
	}
}

func main() {}
