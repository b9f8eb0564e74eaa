package wasmrewrite_test

import (
	"fmt"

	"github.com/weirhq/weir/host/wasmrewrite"
)

// Instrument a module with one function that loops forever:
// (func (loop (br 0))).
func ExampleInstrument() {
	wasm := []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x04\x01\x60\x00\x00" + // type 0: () -> ()
		"\x03\x02\x01\x00" + // function 0 has type 0
		"\x0a\x09\x01\x07\x00\x03\x40\x0c\x00\x0b\x0b") // (loop (br 0))
	res, err := wasmrewrite.Instrument(wasm, wasmrewrite.Options{
		ImportModule: "host", ImportName: "fuel_check", Export: "fuel", Fuel: 1 << 15,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d loop checked in %d function; fuel is global %d, the check is function %d\n",
		res.Loops, res.Functions, res.Global, res.Func)
	// Output: 1 loop checked in 1 function; fuel is global 0, the check is function 0
}
