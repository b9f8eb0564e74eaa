//go:build !wasip1

package enrich

import (
	"encoding/binary"
	"encoding/json"
	"reflect"
	"testing"
)

func TestDistinct(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		uniq []string
		idx  []int32
	}{
		{"empty", nil, nil, nil},
		{"one", []string{"a"}, []string{"a"}, nil},
		{"all distinct", []string{"a", "b", "c"}, []string{"a", "b", "c"}, nil},
		{"duplicates", []string{"a", "b", "a", "a", "c", "b"}, []string{"a", "b", "c"}, []int32{0, 1, 0, 0, 2, 1}},
		{"all the same", []string{"x", "x", "x"}, []string{"x"}, []int32{0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			uniq, idx := distinct(tc.keys)
			if !reflect.DeepEqual(uniq, tc.uniq) || !reflect.DeepEqual(idx, tc.idx) {
				t.Fatalf("got %q %v, want %q %v", uniq, idx, tc.uniq, tc.idx)
			}
			rs := make([]string, len(uniq))
			for i, u := range uniq {
				rs[i] = "r:" + u
			}
			for i, r := range expand(rs, idx) {
				if r != "r:"+tc.keys[i] {
					t.Fatalf("result %d is %q, want %q", i, r, "r:"+tc.keys[i])
				}
			}
		})
	}
}

// TestWrappersSendDistinctKeys checks that the wrappers send the host
// each key once and give every key, duplicates included, its result.
func TestWrappersSendDistinctKeys(t *testing.T) {
	var sent []string
	old := host
	t.Cleanup(func() { host = old })
	// The fake host answers each key with its own text (DNS: as a
	// one-name answer list).
	host = func(fn string, req []byte) []byte {
		var r struct {
			Names []string          `json:"names"`
			IPs   []string          `json:"ips"`
			Keys  []json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(req, &r); err != nil {
			t.Fatalf("%s: %v", req, err)
		}
		keys := append(r.Names, r.IPs...)
		for _, k := range r.Keys {
			var s string
			if err := json.Unmarshal(k, &s); err != nil {
				keys = append(keys, string(k))
			} else {
				keys = append(keys, s)
			}
		}
		sent = keys
		resp := binary.LittleEndian.AppendUint32([]byte{callOK}, uint32(len(keys)))
		for _, k := range keys {
			v := []byte(k)
			if fn == FuncDNS {
				v = binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 1), uint32(len(k)))
				v = append(v, k...)
			}
			if fn == FuncMMDB {
				v = []byte(`{"autonomous_system_organization":"` + k + `"}`)
			}
			resp = append(resp, byte(StatusOK))
			resp = binary.LittleEndian.AppendUint32(resp, uint32(len(v)))
			resp = append(resp, v...)
		}
		return resp
	}
	keys := []string{"192.0.2.1", "192.0.2.2", "192.0.2.1", "192.0.2.1"}
	want := []string{"192.0.2.1", "192.0.2.2"}
	tests := []struct {
		name string
		call func() []string // each key's answer
	}{
		{"ReverseDNS", func() []string {
			var out []string
			for _, r := range ReverseDNS(keys) {
				out = append(out, r.String())
			}
			return out
		}},
		{"LookupDNS", func() []string {
			var out []string
			for _, a := range LookupDNS("A", keys) {
				out = append(out, a.Records[0])
			}
			return out
		}},
		{"ASN", func() []string {
			var out []string
			for _, a := range ASN(keys) {
				out = append(out, a.Organization)
			}
			return out
		}},
		{"GetItems", func() []string {
			ks := make([]Key, len(keys))
			for i, k := range keys {
				ks[i] = Key(`"` + k + `"`)
			}
			var out []string
			for _, r := range GetItems("t", ks) {
				out = append(out, r.String())
			}
			return out
		}},
		{"CacheGet", func() []string {
			var out []string
			for _, r := range CacheGet(keys) {
				out = append(out, r.String())
			}
			return out
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.call()
			if !reflect.DeepEqual(sent, want) {
				t.Fatalf("sent %q, want %q", sent, want)
			}
			if len(got) != len(keys) {
				t.Fatalf("%d results for %d keys", len(got), len(keys))
			}
			for i, g := range got {
				if g != keys[i] {
					t.Fatalf("key %d (%s): answer %q", i, keys[i], g)
				}
			}
		})
	}
}
