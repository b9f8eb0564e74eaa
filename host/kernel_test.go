package host

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// TestKernel drives the kernel memory directly, including every kind of
// bad offset: nothing panics, reads return 0, and misuse records a fault.
func TestKernel(t *testing.T) {
	for _, tc := range []struct {
		name      string
		run       func(t *testing.T, k *kernel)
		wantFault string // "" means no fault
	}{
		{"alloc, store, load, length", func(t *testing.T, k *kernel) {
			a := k.alloc(13)
			b := k.alloc(8)
			if a == 0 || b == 0 || a == b || a%8 != 0 || b%8 != 0 {
				t.Fatalf("offsets %d, %d", a, b)
			}
			k.storeU64(a, 0x0102030405060708)
			k.storeU8(a+8, 0xff)
			if got := k.loadU64(a); got != 0x0102030405060708 {
				t.Errorf("load_u64 = %x", got)
			}
			if got := k.loadU8(a + 8); got != 0xff {
				t.Errorf("load_u8 = %x", got)
			}
			if k.length(a) != 13 || k.length(b) != 8 {
				t.Errorf("lengths %d, %d", k.length(a), k.length(b))
			}
		}, ""},
		{"alloc 0 and over the limit return 0", func(t *testing.T, k *kernel) {
			if k.alloc(0) != 0 || k.alloc(k.limit+1) != 0 || k.alloc(math.MaxUint64) != 0 || k.alloc(math.MaxUint64-3) != 0 {
				t.Error("alloc did not fail")
			}
			for k.alloc(1000) != 0 {
			}
			if k.top > k.limit {
				t.Errorf("arena %d past its limit %d", k.top, k.limit)
			}
		}, ""},
		{"length of non-blocks is 0", func(t *testing.T, k *kernel) {
			a := k.alloc(10)
			for _, off := range []uint64{0, 1, a - 1, a + 1, a + 8, 1 << 40, math.MaxUint64} {
				if n := k.length(off); n != 0 {
					t.Errorf("length(%d) = %d", off, n)
				}
			}
		}, ""},
		{"double free and bad frees are ignored", func(t *testing.T, k *kernel) {
			a := k.alloc(10)
			b := k.alloc(10)
			k.free(a)
			k.free(a)
			k.free(0)
			k.free(3)
			k.free(math.MaxUint64)
			if k.length(a) != 0 || k.length(b) != 10 {
				t.Errorf("lengths after free: %d, %d", k.length(a), k.length(b))
			}
			// The freed block is reused.
			if c := k.alloc(7); c != a || k.length(c) != 7 {
				t.Errorf("alloc after free = %d (len %d), want %d", c, k.length(c), a)
			}
			// Freeing the last block gives its space back.
			top := k.top
			k.free(b)
			k.free(b)
			if k.top >= top {
				t.Errorf("top %d after freeing the last block (was %d)", k.top, top)
			}
		}, ""},
		{"load_u8 out of range", func(t *testing.T, k *kernel) {
			k.alloc(8)
			if k.loadU8(1<<40) != 0 {
				t.Error("nonzero")
			}
		}, "load_u8 at offset 1099511627776 is outside kernel memory"},
		{"load_u64 across the end", func(t *testing.T, k *kernel) {
			a := k.alloc(8)
			if k.loadU64(a+4) != 0 {
				t.Error("nonzero")
			}
		}, "load_u64 at offset"},
		{"load_u64 at MaxUint64", func(t *testing.T, k *kernel) { k.loadU64(math.MaxUint64) }, "load_u64 at offset 18446744073709551615"},
		{"store_u8 out of range", func(t *testing.T, k *kernel) { k.storeU8(5, 1) }, "store_u8 at offset 5 is outside kernel memory (0 bytes in use)"},
		{"store_u64 out of range", func(t *testing.T, k *kernel) { k.storeU64(math.MaxUint64-2, 1) }, "store_u64 at offset"},
		{"first fault wins", func(t *testing.T, k *kernel) {
			k.loadU8(7)
			k.storeU8(9, 0)
		}, "load_u8 at offset 7"},
		{"span and bytes check bounds", func(t *testing.T, k *kernel) {
			a := k.write([]byte("hello"))
			if b, ok := k.bytes(a); !ok || string(b) != "hello" {
				t.Errorf("bytes = %q, %v", b, ok)
			}
			if _, ok := k.span(a, 1<<40); ok {
				t.Error("span past the end")
			}
			if _, ok := k.span(math.MaxUint64, 2); ok {
				t.Error("span overflow")
			}
			if _, ok := k.bytes(a + 1); ok {
				t.Error("bytes of a non-block")
			}
		}, ""},
		{"a forged header is refused", func(t *testing.T, k *kernel) {
			a := k.alloc(16)
			// The guest overwrites the header's capacity and length.
			k.storeU64(a-8, math.MaxUint64)
			if _, ok := k.bytes(a); ok || k.length(a) != 0 {
				t.Error("forged length accepted")
			}
			k.free(a)
		}, ""},
		{"reset", func(t *testing.T, k *kernel) {
			a := k.alloc(100)
			k.loadU8(1 << 30)
			k.reset()
			if k.fault != nil || k.top != 0 || k.length(a) != 0 {
				t.Errorf("after reset: fault %v, top %d", k.fault, k.top)
			}
			if b := k.alloc(100); b != a {
				t.Errorf("alloc after reset = %d, want %d", b, a)
			}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := &kernel{limit: 64 << 10}
			tc.run(t, k)
			switch {
			case tc.wantFault == "" && k.fault != nil:
				t.Errorf("unexpected fault: %v", k.fault)
			case tc.wantFault != "" && (k.fault == nil || !strings.Contains(k.fault.Error(), tc.wantFault) || !errors.Is(k.fault, ErrKernel)):
				t.Errorf("fault %v, want %q", k.fault, tc.wantFault)
			}
		})
	}
}

func FuzzKernel(f *testing.F) {
	f.Add([]byte{0, 10, 1, 0, 2, 3, 4, 5})
	f.Fuzz(func(t *testing.T, ops []byte) {
		k := &kernel{limit: 4096}
		var offs []uint64
		for i := 0; i+1 < len(ops); i += 2 {
			arg := uint64(ops[i+1])
			if len(offs) > 0 && arg%2 == 0 {
				arg = offs[int(arg)%len(offs)] + arg%3
			}
			switch ops[i] % 8 {
			case 0:
				offs = append(offs, k.alloc(arg*7))
			case 1:
				k.free(arg)
			case 2:
				k.length(arg)
			case 3:
				k.loadU64(arg)
			case 4:
				k.storeU64(arg, arg)
			case 5:
				k.storeU8(arg, 1)
			case 6:
				k.bytes(arg)
			case 7:
				k.reset()
			}
		}
	})
}
