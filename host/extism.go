package host

import (
	"context"
	"encoding/binary"
	"log/slog"
	"math"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// errHTTPNotAllowed is the Extism error http_request sets: this host does
// not make HTTP requests for modules yet.
const errHTTPNotAllowed = "http not allowed"

// instantiateExtism links extism:host/env, the Extism kernel and host
// functions, implemented natively on the calling instance's state.
func instantiateExtism(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(extismModule)
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	def := func(name string, params, results []api.ValueType, f func(ctx context.Context, inst *instance, stack []uint64)) {
		b.NewFunctionBuilder().WithGoFunction(api.GoFunc(func(ctx context.Context, stack []uint64) {
			inst := instanceFrom(ctx)
			if inst == nil {
				// Called outside a call (cannot happen through the host's
				// own calls): do nothing, return zero.
				clear(stack[:len(results)])
				return
			}
			f(ctx, inst, stack)
		}), params, results).Export(name)
	}
	p1, p2 := []api.ValueType{i64}, []api.ValueType{i64, i64}
	none := []api.ValueType{}

	// Kernel memory.
	def("alloc", p1, p1, func(_ context.Context, inst *instance, s []uint64) {
		s[0] = inst.kern.alloc(s[0])
	})
	def("free", p1, none, func(_ context.Context, inst *instance, s []uint64) {
		inst.kern.free(s[0])
	})
	def("length", p1, p1, func(_ context.Context, inst *instance, s []uint64) {
		s[0] = inst.kern.length(s[0])
	})
	def("length_unsafe", p1, p1, func(_ context.Context, inst *instance, s []uint64) {
		s[0] = inst.kern.length(s[0])
	})
	def("load_u8", p1, []api.ValueType{i32}, func(_ context.Context, inst *instance, s []uint64) {
		s[0] = uint64(inst.kern.loadU8(s[0]))
	})
	def("load_u64", p1, p1, func(_ context.Context, inst *instance, s []uint64) {
		s[0] = inst.kern.loadU64(s[0])
	})
	def("store_u8", []api.ValueType{i64, i32}, none, func(_ context.Context, inst *instance, s []uint64) {
		inst.kern.storeU8(s[0], uint32(s[1]))
	})
	def("store_u64", p2, none, func(_ context.Context, inst *instance, s []uint64) {
		inst.kern.storeU64(s[0], s[1])
	})
	def("reset", none, none, func(_ context.Context, inst *instance, _ []uint64) {
		inst.kern.reset()
		inst.inputOff = 0
	})
	def("memory_bytes", none, p1, func(_ context.Context, inst *instance, s []uint64) {
		s[0] = inst.kern.top
	})

	// Input and output.
	def("input_length", none, p1, func(_ context.Context, inst *instance, s []uint64) {
		s[0] = uint64(len(inst.input))
	})
	def("input_load_u8", p1, []api.ValueType{i32}, func(_ context.Context, inst *instance, s []uint64) {
		off := s[0]
		if off >= uint64(len(inst.input)) {
			inst.kern.failf("input_load_u8 at offset %d is past the input's %d bytes", off, len(inst.input))
			s[0] = 0
			return
		}
		s[0] = uint64(inst.input[off])
	})
	def("input_load_u64", p1, p1, func(_ context.Context, inst *instance, s []uint64) {
		off, n := s[0], uint64(len(inst.input))
		switch {
		case off+8 <= n && off < n:
			s[0] = binary.LittleEndian.Uint64(inst.input[off:])
		case off < n: // a short tail: zero-padded
			var b [8]byte
			copy(b[:], inst.input[off:])
			s[0] = binary.LittleEndian.Uint64(b[:])
		default:
			inst.kern.failf("input_load_u64 at offset %d is past the input's %d bytes", off, n)
			s[0] = 0
		}
	})
	def("input_offset", none, p1, func(_ context.Context, inst *instance, s []uint64) {
		if inst.inputOff == 0 {
			inst.inputOff = inst.kern.write(inst.input)
		}
		s[0] = inst.inputOff
	})
	def("input_set", p2, none, func(_ context.Context, inst *instance, s []uint64) {
		b, ok := inst.kern.span(s[0], s[1])
		if !ok {
			inst.kern.failf("input_set of %d bytes at offset %d is outside kernel memory", s[1], s[0])
			return
		}
		inst.input = append([]byte(nil), b...)
		inst.inputOff = 0
	})
	def("output_set", p2, none, func(_ context.Context, inst *instance, s []uint64) {
		off, n := s[0], s[1]
		inst.outputOff, inst.outputLen = off, n
		inst.output = inst.output[:0]
		if n == 0 {
			return
		}
		if int64(n) < 0 || int64(n) > inst.env.maxOut {
			return // reported after the call as ErrOutputTooLarge
		}
		b, ok := inst.kern.span(off, n)
		if !ok {
			inst.kern.failf("output_set of %d bytes at offset %d is outside kernel memory (%d bytes in use)", n, off, inst.kern.top)
			return
		}
		inst.output = append(inst.output, b...)
	})
	def("output_length", none, p1, func(_ context.Context, inst *instance, s []uint64) {
		s[0] = inst.outputLen
	})
	def("output_offset", none, p1, func(_ context.Context, inst *instance, s []uint64) {
		s[0] = inst.outputOff
	})
	def("error_set", p1, none, func(_ context.Context, inst *instance, s []uint64) {
		if s[0] == 0 {
			inst.errMsg, inst.errOff = "", 0
			return
		}
		b, ok := inst.kern.bytes(s[0])
		if !ok {
			inst.kern.failf("error_set: offset %d is not an allocated block", s[0])
			return
		}
		inst.errMsg, inst.errOff = string(b), s[0]
	})
	def("error_get", none, p1, func(_ context.Context, inst *instance, s []uint64) {
		s[0] = inst.errOff
	})

	// Config and vars.
	def("config_get", p1, p1, func(_ context.Context, inst *instance, s []uint64) {
		key, ok := inst.kern.bytes(s[0])
		if !ok {
			inst.kern.failf("config_get: offset %d is not an allocated block", s[0])
			s[0] = 0
			return
		}
		v, found := inst.env.config[string(key)]
		s[0] = 0
		if found {
			s[0] = inst.kern.write([]byte(v))
		}
	})
	def("var_get", p1, p1, func(_ context.Context, inst *instance, s []uint64) {
		key, ok := inst.kern.bytes(s[0])
		if !ok {
			inst.kern.failf("var_get: offset %d is not an allocated block", s[0])
			s[0] = 0
			return
		}
		s[0] = 0
		if v, found := inst.vars[string(key)]; found {
			s[0] = inst.kern.write(v)
		}
	})
	def("var_set", p2, none, func(_ context.Context, inst *instance, s []uint64) {
		key, ok := inst.kern.bytes(s[0])
		if !ok {
			inst.kern.failf("var_set: offset %d is not an allocated block", s[0])
			return
		}
		old, had := inst.vars[string(key)]
		if s[1] == 0 {
			if had {
				inst.varBytes -= len(key) + len(old)
				delete(inst.vars, string(key))
			}
			return
		}
		val, ok := inst.kern.bytes(s[1])
		if !ok {
			inst.kern.failf("var_set: value offset %d is not an allocated block", s[1])
			return
		}
		size := inst.varBytes + len(key) + len(val)
		if had {
			size -= len(key) + len(old)
		}
		if size > maxVarBytes {
			inst.kern.failf("var_set: the var store is full (%d bytes max)", maxVarBytes)
			return
		}
		if inst.vars == nil {
			inst.vars = make(map[string][]byte)
		}
		inst.vars[string(key)] = append(old[:0:0], val...)
		inst.varBytes = size
	})

	// HTTP: denied until the HTTP capability lands.
	def("http_request", p2, p1, func(ctx context.Context, inst *instance, s []uint64) {
		inst.kern.free(s[0])
		inst.kern.free(s[1])
		inst.httpStatus = 0
		inst.errMsg = errHTTPNotAllowed
		inst.errOff = inst.kern.write([]byte(errHTTPNotAllowed))
		inst.env.logger.LogAttrs(ctx, slog.LevelDebug, "host: module HTTP request denied", slog.String("module", inst.env.label))
		s[0] = 0
	})
	def("http_status_code", none, []api.ValueType{i32}, func(_ context.Context, inst *instance, s []uint64) {
		s[0] = uint64(uint32(inst.httpStatus))
	})
	def("http_headers", none, p1, func(_ context.Context, _ *instance, s []uint64) {
		s[0] = 0
	})

	// Logs.
	def("get_log_level", none, []api.ValueType{i32}, func(_ context.Context, inst *instance, s []uint64) {
		s[0] = uint64(uint32(inst.env.logLevel))
	})
	for i, name := range [...]string{"log_trace", "log_debug", "log_info", "log_warn", "log_error"} {
		level := extismLevels[i]
		def(name, p1, none, func(ctx context.Context, inst *instance, s []uint64) {
			if int32(i) >= inst.env.logLevel && inst.env.logLevel != math.MaxInt32 {
				if msg, ok := inst.kern.bytes(s[0]); ok {
					inst.env.logger.LogAttrs(ctx, level, string(msg), slog.String("module", inst.env.label))
				}
			}
			inst.kern.free(s[0])
		})
	}
	_, err := b.Instantiate(ctx)
	return err
}
