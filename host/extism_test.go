package host

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
)

// TestExtismImports calls every extism:host/env function through a module
// that re-exports them, as a guest would, including with bad offsets: no
// panic, zero results, and a recorded fault.
func TestExtismImports(t *testing.T) {
	h, logs := newHost(t)
	s := load(t, h, "extism", wat(t, "extism"), engine.StageConfig{Config: map[string]string{"k": "v1"}})
	ctx := context.Background()
	inst, err := s.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.release(ctx, inst, nil)
	cctx := &callCtx{Context: ctx, inst: inst}
	call := func(name string, args ...uint64) uint64 {
		t.Helper()
		res, err := inst.mod.ExportedFunction(name).Call(cctx, args...)
		if err != nil {
			t.Fatalf("%s%v: %v", name, args, err)
		}
		if len(res) == 0 {
			return 0
		}
		return res[0]
	}
	store := func(b []byte) uint64 {
		off := call("alloc", uint64(len(b)))
		for i, c := range b {
			call("store_u8", off+uint64(i), uint64(c))
		}
		return off
	}
	read := func(off uint64) string {
		n := call("length", off)
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(call("load_u8", off+uint64(i)))
		}
		return string(b)
	}
	noFault := func() {
		t.Helper()
		if inst.kern.fault != nil {
			t.Fatalf("fault: %v", inst.kern.fault)
		}
	}
	wantFault := func(msg string) {
		t.Helper()
		if inst.kern.fault == nil || !strings.Contains(inst.kern.fault.Error(), msg) {
			t.Errorf("fault %v, want %q", inst.kern.fault, msg)
		}
		inst.kern.fault = nil
	}

	inst.beginCall([]byte("0123456789"))

	// Memory.
	a := store([]byte("hello"))
	if got := read(a); got != "hello" || call("length_unsafe", a) != 5 {
		t.Errorf("read %q", got)
	}
	b := call("alloc", 16)
	call("store_u64", b, 0xdeadbeefcafef00d)
	if call("load_u64", b) != 0xdeadbeefcafef00d {
		t.Error("u64 round trip")
	}
	call("free", a)
	call("free", a)
	call("free", 12345)
	if call("length", a) != 0 || call("length", 0) != 0 || call("length", 1<<62) != 0 {
		t.Error("length of freed or bad blocks")
	}
	noFault()
	for _, bad := range []struct {
		name string
		args []uint64
		msg  string
	}{
		{"load_u8", []uint64{1 << 50}, "load_u8 at offset"},
		{"load_u64", []uint64{^uint64(0)}, "load_u64 at offset"},
		{"store_u8", []uint64{1 << 50, 1}, "store_u8 at offset"},
		{"store_u64", []uint64{^uint64(0) - 3, 1}, "store_u64 at offset"},
		{"input_load_u8", []uint64{10}, "past the input's 10 bytes"},
		{"input_load_u64", []uint64{^uint64(0) - 3}, "past the input's 10 bytes"},
		{"output_set", []uint64{b, 1 << 20}, "output_set of 1048576 bytes"},
		{"error_set", []uint64{b + 3}, "error_set: offset"},
		{"config_get", []uint64{77}, "config_get: offset 77"},
		{"var_get", []uint64{77}, "var_get: offset 77"},
		{"var_set", []uint64{77, 0}, "var_set: offset 77"},
	} {
		if got := call(bad.name, bad.args...); got != 0 {
			t.Errorf("%s%v = %d, want 0", bad.name, bad.args, got)
		}
		wantFault(bad.msg)
	}

	// Input.
	if call("input_length") != 10 || call("input_load_u8", 3) != '3' {
		t.Error("input")
	}
	if got := call("input_load_u64", 8); got != binary.LittleEndian.Uint64([]byte("89\x00\x00\x00\x00\x00\x00")) {
		t.Errorf("short input_load_u64 = %x", got)
	}
	if in := call("input_offset"); read(in) != "0123456789" || call("input_offset") != in {
		t.Error("input_offset")
	}

	// Output and errors.
	out := store([]byte("result"))
	call("output_set", out, 6)
	if string(inst.output) != "result" {
		t.Errorf("output %q", inst.output)
	}
	e := store([]byte("oops"))
	call("error_set", e)
	if inst.errMsg != "oops" || call("error_get") != e {
		t.Error("error_set")
	}
	call("error_set", 0)
	if inst.errMsg != "" || call("error_get") != 0 {
		t.Error("error_set(0)")
	}

	// Config and vars.
	if v := call("config_get", store([]byte("k"))); read(v) != "v1" {
		t.Errorf("config k = %q", read(v))
	}
	if call("config_get", store([]byte("missing"))) != 0 {
		t.Error("missing config")
	}
	call("var_set", store([]byte("x")), store([]byte("42")))
	if v := call("var_get", store([]byte("x"))); read(v) != "42" {
		t.Error("var_get")
	}
	call("var_set", store([]byte("x")), 0)
	if call("var_get", store([]byte("x"))) != 0 {
		t.Error("var not deleted")
	}
	big := call("alloc", maxVarBytes+1)
	call("var_set", store([]byte("big")), big)
	wantFault("var store is full")

	// HTTP is denied as data.
	req := store([]byte(`{"url":"http://169.254.169.254/","method":"GET"}`))
	if call("http_request", req, 0) != 0 || call("http_status_code") != 0 || call("http_headers") != 0 {
		t.Error("http")
	}
	if inst.errMsg != "http not allowed" || read(call("error_get")) != "http not allowed" {
		t.Errorf("http error %q", inst.errMsg)
	}

	// Logs: the test logger enables debug, not trace.
	if lvl := call("get_log_level"); lvl != 1 {
		t.Errorf("get_log_level = %d, want 1 (debug)", lvl)
	}
	call("log_info", store([]byte("info line")))
	call("log_trace", store([]byte("trace line")))
	call("log_error", 999)
	if l := logs.String(); !strings.Contains(l, `level=INFO msg="info line" module=extism`) || strings.Contains(l, "trace line") {
		t.Errorf("logs:\n%s", l)
	}
	noFault()

	// Outside a host call (no instance in the context) nothing happens.
	res, err := inst.mod.ExportedFunction("alloc").Call(context.Background(), 10)
	if err != nil || res[0] != 0 {
		t.Errorf("alloc without a call context = %v, %v", res, err)
	}
}
