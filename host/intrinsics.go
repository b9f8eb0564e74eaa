package host

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/weirhq/weir/engine/frame"
)

// Intrinsic results for bad arguments (sdk/CONTRACT.md).
const (
	intrinsicUnknown  = -1 // unknown algorithm or variant; invalid input
	intrinsicTooSmall = -2 // the output capacity is too small
	intrinsicBadPtr   = -3 // a pointer/length is outside guest memory
)

// maxEscape bounds json_escape's input (its output is up to 6 times
// larger and built on the host).
const maxEscape = 64 << 20

// instantiateIntrinsics links weir:host/v1: generic heavy work done
// natively on the guest's linear memory. Every pointer is checked; a bad
// one returns -3, never a trap (json_escape also returns -3 for inputs over
// 64 MiB). base64_decode may return -2 before validating an input whose
// decoded size cannot fit.
func instantiateIntrinsics(ctx context.Context, rt wazero.Runtime) error {
	b := rt.NewHostModuleBuilder(weirModule)
	i32 := api.ValueTypeI32
	def := func(name string, nparams int, f func(ctx context.Context, mem api.Memory, s []uint64) int32) {
		params := make([]api.ValueType, nparams)
		for i := range params {
			params[i] = i32
		}
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, s []uint64) {
			var mem api.Memory
			if inst := instanceFrom(ctx); inst != nil && inst.mod == mod {
				mem = inst.mem
			} else {
				mem = memoryOf(mod)
			}
			if mem == nil {
				s[0] = api.EncodeI32(intrinsicBadPtr)
				return
			}
			s[0] = api.EncodeI32(f(ctx, mem, s))
		}), params, []api.ValueType{i32}).Export(name)
	}
	def("digest", 4, func(_ context.Context, mem api.Memory, s []uint64) int32 {
		return digestInto(mem, uint32(s[0]), uint32(s[1]), uint32(s[2]), uint32(s[3]), false)
	})
	def("digest_hex", 4, func(_ context.Context, mem api.Memory, s []uint64) int32 {
		return digestInto(mem, uint32(s[0]), uint32(s[1]), uint32(s[2]), uint32(s[3]), true)
	})
	def("hex_encode", 3, func(_ context.Context, mem api.Memory, s []uint64) int32 {
		ptr, n, out := uint32(s[0]), uint32(s[1]), uint32(s[2])
		if n > 1<<30 {
			return intrinsicBadPtr
		}
		src, ok1 := mem.Read(ptr, n)
		dst, ok2 := mem.Read(out, 2*n)
		if !ok1 || !ok2 {
			return intrinsicBadPtr
		}
		if overlaps(ptr, n, out, 2*n) {
			src = append([]byte(nil), src...)
		}
		return int32(hex.Encode(dst, src))
	})
	def("base64_encode", 4, func(_ context.Context, mem api.Memory, s []uint64) int32 {
		enc := base64Variant(uint32(s[0]))
		if enc == nil {
			return intrinsicUnknown
		}
		src, ok := mem.Read(uint32(s[1]), uint32(s[2]))
		if !ok {
			return intrinsicBadPtr
		}
		need := enc.EncodedLen(len(src))
		if need > 1<<31-1 {
			return intrinsicBadPtr
		}
		dst, ok := mem.Read(uint32(s[3]), uint32(need))
		if !ok {
			return intrinsicBadPtr
		}
		if overlaps(uint32(s[1]), uint32(s[2]), uint32(s[3]), uint32(need)) {
			src = append([]byte(nil), src...)
		}
		enc.Encode(dst, src)
		return int32(need)
	})
	def("base64_decode", 5, func(_ context.Context, mem api.Memory, s []uint64) int32 {
		enc := base64Variant(uint32(s[0]))
		if enc == nil {
			return intrinsicUnknown
		}
		src, ok1 := mem.Read(uint32(s[1]), uint32(s[2]))
		dst, ok2 := mem.Read(uint32(s[3]), uint32(s[4]))
		if !ok1 || !ok2 {
			return intrinsicBadPtr
		}
		need := enc.DecodedLen(len(src)) // exact, or up to 2 more with padding
		if need <= len(dst) && !overlaps(uint32(s[1]), uint32(s[2]), uint32(s[3]), uint32(s[4])) {
			n, err := enc.Decode(dst, src)
			if err != nil {
				return intrinsicUnknown
			}
			return int32(n)
		}
		if need-2 > len(dst) {
			return intrinsicTooSmall
		}
		tmp := make([]byte, need)
		n, err := enc.Decode(tmp, src)
		if err != nil {
			return intrinsicUnknown
		}
		if n > len(dst) {
			return intrinsicTooSmall
		}
		return int32(copy(dst, tmp[:n]))
	})
	def("json_escape", 4, func(ctx context.Context, mem api.Memory, s []uint64) int32 {
		src, ok1 := mem.Read(uint32(s[0]), uint32(s[1]))
		dst, ok2 := mem.Read(uint32(s[2]), uint32(s[3]))
		if !ok1 || !ok2 || len(src) > maxEscape {
			return intrinsicBadPtr
		}
		var buf []byte
		inst := instanceFrom(ctx)
		if inst != nil {
			buf = inst.scratch[:0]
		}
		buf = frame.AppendString(buf, src)
		if inst != nil && cap(buf) <= 1<<20 {
			inst.scratch = buf
		}
		if len(buf) > 1<<31-1 {
			return intrinsicBadPtr
		}
		if len(buf) <= len(dst) {
			copy(dst, buf)
		}
		return int32(len(buf))
	})
	_, err := b.Instantiate(ctx)
	return err
}

func digestInto(mem api.Memory, algo, ptr, n, out uint32, hexOut bool) int32 {
	var h hash.Hash
	switch algo {
	case frame.DigestSHA256:
		h = sha256.New()
	case frame.DigestMD5:
		h = md5.New()
	case frame.DigestSHA1:
		h = sha1.New()
	default:
		return intrinsicUnknown
	}
	src, ok := mem.Read(ptr, n)
	if !ok {
		return intrinsicBadPtr
	}
	size := h.Size()
	if hexOut {
		size *= 2
	}
	dst, ok := mem.Read(out, uint32(size))
	if !ok {
		return intrinsicBadPtr
	}
	h.Write(src)
	var sum [sha256.Size]byte
	raw := h.Sum(sum[:0])
	if hexOut {
		hex.Encode(dst, raw)
	} else {
		copy(dst, raw)
	}
	return int32(size)
}

func base64Variant(v uint32) *base64.Encoding {
	switch v {
	case 0:
		return base64.StdEncoding
	case 1:
		return base64.URLEncoding
	case 2:
		return base64.RawStdEncoding
	case 3:
		return base64.RawURLEncoding
	}
	return nil
}

// overlaps reports whether the guest ranges [p1, p1+n1) and [p2, p2+n2)
// share bytes.
func overlaps(p1, n1, p2, n2 uint32) bool {
	return n1 > 0 && n2 > 0 && uint64(p1) < uint64(p2)+uint64(n2) && uint64(p2) < uint64(p1)+uint64(n1)
}
