// Command passthrough is a weir module that emits every record unchanged:
// the smallest possible Go module, used by benchmarks (the cost of the ABI
// and the Go runtime alone) and by cross-host tests.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o modules/passthrough/passthrough.wasm ./modules/passthrough
package main
