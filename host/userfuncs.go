package host

import (
	"context"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/weirhq/weir/host/enrich"
)

// instantiateUser links extism:host/user: the enrichment host functions of
// host/enrich, with Extism's calling convention (an i64 kernel-memory
// offset of the request in, the offset of the response out). The calling
// instance's stage Env serves the call; errors are returned as data, never
// as a trap (sdk/ABI.md, "Host functions").
func instantiateUser(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(extismUserModule)
	i64 := []api.ValueType{api.ValueTypeI64}
	for _, name := range enrich.Functions {
		b.NewFunctionBuilder().WithGoFunction(api.GoFunc(func(ctx context.Context, s []uint64) {
			inst := instanceFrom(ctx)
			if inst == nil {
				s[0] = 0
				return
			}
			var resp []byte
			switch req, ok := inst.kern.bytes(s[0]); {
			case !ok:
				resp = enrich.AppendCallError(nil, enrich.CallBadRequest, name+": the request offset is not an allocated kernel-memory block")
			case inst.env.enrich == nil:
				resp = enrich.DenyAll(name)
			default:
				resp = inst.env.enrich.Call(ctx, name, req)
			}
			s[0] = inst.kern.write(resp)
		}), i64, i64).Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}
