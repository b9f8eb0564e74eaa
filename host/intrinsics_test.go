package host

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/tetratelabs/wazero/api"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/frame"
)

// TestIntrinsics calls weir:host/v1 through a module that re-exports the
// imports, with data in its linear memory.
func TestIntrinsics(t *testing.T) {
	h, _ := newHost(t)
	s := load(t, h, "intrinsics", wat(t, "intrinsics"), engine.StageConfig{})
	ctx := context.Background()
	inst, err := s.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.release(ctx, inst, nil)
	cctx := &callCtx{Context: ctx, inst: inst}
	const in, out = 0, 4096 // input and output areas in guest memory
	data := []byte("The quick brown fox \"jumps\"\n over\x01 the lazy dog \xe2\x80\xa8")
	sha := sha256.Sum256(data)
	md := md5.Sum(data)
	sh1 := sha1.Sum(data)
	std := base64.StdEncoding.EncodeToString(data)
	raw := base64.RawURLEncoding.EncodeToString(data)
	esc := frame.AppendString(nil, data)
	n := uint64(len(data))
	memSize := uint64(65536)

	for _, tc := range []struct {
		name    string
		input   []byte
		fn      string
		args    []uint64
		want    int32
		wantOut []byte
	}{
		{"sha256", data, "digest", []uint64{frame.DigestSHA256, in, n, out}, 32, sha[:]},
		{"md5", data, "digest", []uint64{frame.DigestMD5, in, n, out}, 16, md[:]},
		{"sha1 hex", data, "digest_hex", []uint64{frame.DigestSHA1, in, n, out}, 40, []byte(hex.EncodeToString(sh1[:]))},
		{"sha256 hex", data, "digest_hex", []uint64{frame.DigestSHA256, in, n, out}, 64, []byte(hex.EncodeToString(sha[:]))},
		{"unknown algo", data, "digest", []uint64{9, in, n, out}, -1, nil},
		{"digest bad input", data, "digest", []uint64{frame.DigestSHA256, memSize - 2, 10, out}, -3, nil},
		{"digest bad output", data, "digest_hex", []uint64{frame.DigestSHA256, in, n, memSize - 10}, -3, nil},
		{"digest huge length", data, "digest", []uint64{frame.DigestSHA256, in, 0xffffffff, out}, -3, nil},
		{"hex", data, "hex_encode", []uint64{in, n, out}, int32(2 * n), []byte(hex.EncodeToString(data))},
		{"hex in place", data, "hex_encode", []uint64{in, n, in}, int32(2 * n), []byte(hex.EncodeToString(data))},
		{"hex bad", data, "hex_encode", []uint64{in, 0x80000000, out}, -3, nil},
		{"base64 std", data, "base64_encode", []uint64{0, in, n, out}, int32(len(std)), []byte(std)},
		{"base64 raw url", data, "base64_encode", []uint64{3, in, n, out}, int32(len(raw)), []byte(raw)},
		{"base64 variant", data, "base64_encode", []uint64{7, in, n, out}, -1, nil},
		{"base64 bad output", data, "base64_encode", []uint64{0, in, n, memSize - 4}, -3, nil},
		{"base64 decode", []byte(std), "base64_decode", []uint64{0, in, uint64(len(std)), out, 1000}, int32(n), data},
		{"base64 decode in place", []byte(std), "base64_decode", []uint64{0, in, uint64(len(std)), in, 1000}, int32(n), data},
		{"base64 decode raw url", []byte(raw), "base64_decode", []uint64{3, in, uint64(len(raw)), out, 1000}, int32(n), data},
		{"base64 decode invalid", []byte("!!!!"), "base64_decode", []uint64{0, in, 4, out, 100}, -1, nil},
		{"base64 decode too small", []byte(std), "base64_decode", []uint64{0, in, uint64(len(std)), out, 10}, -2, nil},
		{"base64 decode bad", []byte(std), "base64_decode", []uint64{0, in, uint64(len(std)), memSize - 1, 100}, -3, nil},
		{"json escape", data, "json_escape", []uint64{in, n, out, 1000}, int32(len(esc)), esc},
		{"json escape too small", data, "json_escape", []uint64{in, n, out, 3}, int32(len(esc)), nil},
		{"json escape bad", data, "json_escape", []uint64{0xfffffff0, 100, out, 1000}, -3, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !inst.mem.Write(in, tc.input) {
				t.Fatal("write")
			}
			res, err := inst.mod.ExportedFunction(tc.fn).Call(cctx, tc.args...)
			if err != nil {
				t.Fatalf("trap: %v", err)
			}
			if got := api.DecodeI32(res[0]); got != tc.want {
				t.Fatalf("%s = %d, want %d", tc.fn, got, tc.want)
			}
			if tc.wantOut != nil {
				dst := uint32(tc.args[len(tc.args)-1])
				switch tc.fn {
				case "digest", "digest_hex", "base64_encode":
					// the output pointer is the last argument
				case "hex_encode":
					dst = uint32(tc.args[2])
				case "base64_decode", "json_escape":
					dst = uint32(tc.args[len(tc.args)-2])
				}
				got, _ := inst.mem.Read(dst, uint32(len(tc.wantOut)))
				if string(got) != string(tc.wantOut) {
					t.Errorf("output %q, want %q", got, tc.wantOut)
				}
			}
		})
	}
	// Without the host's call context, the caller's memory is used.
	inst.mem.Write(in, data)
	res, err := inst.mod.ExportedFunction("digest").Call(ctx, frame.DigestSHA256, in, n, out)
	if err != nil || api.DecodeI32(res[0]) != 32 {
		t.Errorf("digest outside a host call = %v, %v", res, err)
	}
}
