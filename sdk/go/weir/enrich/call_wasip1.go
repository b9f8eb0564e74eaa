//go:build wasip1

package enrich

import (
	"errors"

	"github.com/extism/go-pdk"
)

//go:wasmimport extism:host/user weir_dns
func hostDNS(req uint64) uint64

//go:wasmimport extism:host/user weir_http
func hostHTTP(req uint64) uint64

//go:wasmimport extism:host/user weir_dynamodb
func hostDynamoDB(req uint64) uint64

//go:wasmimport extism:host/user weir_cache
func hostCache(req uint64) uint64

//go:wasmimport extism:host/user weir_mmdb
func hostMMDB(req uint64) uint64

// call stores req in Extism kernel memory, calls the host function and
// reads its response.
func call(fn string, req []byte) ([]byte, error) {
	var f func(uint64) uint64
	switch fn {
	case FuncDNS:
		f = hostDNS
	case FuncHTTP:
		f = hostHTTP
	case FuncDynamoDB:
		f = hostDynamoDB
	case FuncCache:
		f = hostCache
	case FuncMMDB:
		f = hostMMDB
	default:
		return nil, errors.New("enrich: unknown host function " + fn)
	}
	in := pdk.AllocateBytes(req)
	off := f(in.Offset())
	in.Free()
	if off == 0 {
		return nil, errors.New("enrich: " + fn + ": the host returned no response (kernel memory full?)")
	}
	out := pdk.FindMemory(off)
	b := out.ReadBytes()
	out.Free()
	return b, nil
}
