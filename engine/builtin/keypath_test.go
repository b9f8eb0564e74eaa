package builtin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
	"github.com/valyala/fastjson"
	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/frame"
)

// TestFastjsonLayout checks that fjValue and fjObject mirror fastjson's
// Value and Object: sizes, types and elements read through the mirror,
// and an object's keys as parsed, then as fastjson unescapes them.
func TestFastjsonLayout(t *testing.T) {
	if a, b := unsafe.Sizeof(fjValue{}), unsafe.Sizeof(fastjson.Value{}); a != b {
		t.Fatalf("fjValue is %d bytes, fastjson.Value %d", a, b)
	}
	if a, b := unsafe.Sizeof(fjObject{}), unsafe.Sizeof(fastjson.Object{}); a != b {
		t.Fatalf("fjObject is %d bytes, fastjson.Object %d", a, b)
	}
	var p fastjson.Parser
	doc, err := p.Parse(`{"o":{"k":1},"a":[1,[]],"e":[],"s":"x","n":2,"t":true,"z":null}`)
	if err != nil {
		t.Fatal(err)
	}
	doc.GetObject().Visit(func(k []byte, c *fastjson.Value) {
		if got, want := objectOf(c), c.GetObject(); got != want {
			t.Errorf("%s: objectOf = %p, GetObject = %p", k, got, want)
		}
		a, ok := arrayOf(c)
		if want := c.GetArray(); len(a) != len(want) || (len(a) > 0 && &a[0] != &want[0]) {
			t.Errorf("%s: arrayOf = %v, GetArray = %v", k, a, want)
		}
		if isArr := k[0] == 'a' || k[0] == 'e'; ok != isArr {
			t.Errorf("%s: arrayOf says array %v", k, ok)
		}
	})
	// fastjson reuses a parser's values without clearing their array:
	// a string parsed where an array was must not hand out its elements.
	if _, err := p.Parse(`[1,2]`); err != nil {
		t.Fatal(err)
	}
	s, err := p.Parse(`"x"`)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := arrayOf(s); a != nil || ok {
		t.Errorf("arrayOf(a string parsed after an array) = %v, %v", a, ok)
	}
	for _, tc := range []struct {
		json string
		t    fastjson.Type
		k    int
		c    byte
	}{
		{`"{x"`, typeRawString, kString, '{'}, {`""`, typeRawString, kString, 0},
		{`1.5`, fastjson.TypeNumber, kNumber, 0}, {`true`, fastjson.TypeTrue, kTrue, 0},
		{`false`, fastjson.TypeFalse, kFalse, 0}, {`null`, fastjson.TypeNull, kNull, 0},
		{`{}`, fastjson.TypeObject, kObject, 0}, {`[]`, fastjson.TypeArray, kArray, 0},
	} {
		v, err := p.Parse(tc.json)
		if err != nil {
			t.Fatal(err)
		}
		if got := (*fjValue)(unsafe.Pointer(v)).t; got != tc.t {
			t.Errorf("%s: type %d through the mirror, want %d", tc.json, got, tc.t)
		}
		if k, c := kindText(v); k != tc.k || c != tc.c {
			t.Errorf("kindText(%s) = %d, %q; want %d, %q", tc.json, k, c, tc.k, tc.c)
		}
		if k, _ := kindOf(v, nil); k != tc.k {
			t.Errorf("kindOf(%s) = %d, kindText says %d", tc.json, k, tc.k)
		}
	}
	var b batch
	for _, s := range []string{"", "[1]", "x"} {
		want := byte(0)
		if s != "" {
			want = s[0]
		}
		if k, c := kindText(b.newString(s)); k != kString || c != want {
			t.Errorf("kindText(newString(%q)) = %d, %q", s, k, c)
		}
	}
	v, err := p.Parse(`{"a":1,"b\u0041":2,"c":{"d":3}}`)
	if err != nil {
		t.Fatal(err)
	}
	o := v.GetObject()
	keys := func() (ks []string) {
		for _, kv := range kvsOf(o) {
			ks = append(ks, kv.k+"="+string(kv.v.MarshalTo(nil)))
		}
		return ks
	}
	if got, want := keys(), []string{"a=1", `b\u0041=2`, `c={"d":3}`}; !equalStrings(got, want) {
		t.Fatalf("keys as parsed: %q, want %q", got, want)
	}
	if (*fjObject)(unsafe.Pointer(o)).keysUnescaped {
		t.Fatal("keysUnescaped set before any lookup")
	}
	if o.Get("bA") == nil {
		t.Fatal("fastjson did not find bA")
	}
	if got, want := keys(), []string{"a=1", "bA=2", `c={"d":3}`}; !equalStrings(got, want) {
		t.Fatalf("keys unescaped: %q, want %q", got, want)
	}
	if !(*fjObject)(unsafe.Pointer(o)).keysUnescaped {
		t.Fatal("keysUnescaped not seen through the mirror")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestKeyHints runs records of different shapes through one plan, so
// that each lookup's remembered position is wrong for the next record:
// moved keys, missing keys, escaped keys, arrays, keys set twice.
func TestKeyHints(t *testing.T) {
	p, err := Compile([]json.RawMessage{
		json.RawMessage(`{"type":"object_copy","settings":{"object":{"source_key":"x.y","target_key":"meta o.y"}}}`),
		json.RawMessage(`{"type":"object_copy","settings":{"object":{"source_key":"x.1","target_key":"meta o.i"}}}`),
		json.RawMessage(`{"type":"object_insert","settings":{"object":{"target_key":"meta o.k"},"value":"v"}}`),
		json.RawMessage(`{"type":"object_copy","settings":{"object":{"source_key":"b","target_key":"meta o.k"}}}`),
		json.RawMessage(`{"type":"object_delete","settings":{"object":{"source_key":"x.y"}}}`),
		json.RawMessage(`{"type":"object_copy","settings":{"object":{"source_key":"meta o","target_key":"out"}}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want string }{
		{`{"x":{"y":1},"b":2}`, `{"x":{},"b":2,"out":{"y":1,"k":2}}`},
		{`{"a":0,"x":{"b":2,"y":"s"}}`, `{"a":0,"x":{"b":2},"out":{"y":"s","k":"v"}}`},
		{`{"b":1,"\u0078":{"\u0079":5}}`, `{"b":1,"x":{},"out":{"y":5,"k":1}}`},
		{`{"x":[7,8]}`, `{"x":[7,8],"out":{"i":8,"k":"v"}}`},
		{`{"z":1}`, `{"z":1,"out":{"k":"v"}}`},
		{`{"x":{"y":1},"b":2}`, `{"x":{},"b":2,"out":{"y":1,"k":2}}`},
	}
	for round := 0; round < 2; round++ { // the second round starts with the first round's hints
		recs := make([]engine.Record, len(tests))
		for i, tc := range tests {
			recs[i] = engine.Record{Data: []byte(tc.in)}
		}
		res, err := p.Process(context.Background(), recs)
		if err != nil {
			t.Fatal(err)
		}
		for i, tc := range tests {
			if len(res[i].Outputs) != 1 {
				t.Fatalf("round %d, %s: %+v", round, tc.in, res[i])
			}
			if got := string(res[i].Outputs[0].Data); got != tc.want {
				t.Errorf("round %d, %s:\n got %s\nwant %s", round, tc.in, got, tc.want)
			}
		}
	}
}

// TestAppendKey checks that appendKey and appendShort quote exactly as
// frame.AppendString does: every byte alone, and keys mixing them.
func TestAppendKey(t *testing.T) {
	keys := []string{strings.Repeat("long plain value ", 8), strings.Repeat("long \"quoted\" value ", 8), "", "eventTime", "@timestamp", `a"b`, `a\b`, "tab\there", "é", "\u2028", "\xff", "\x7f"}
	for c := 0; c < 256; c++ {
		keys = append(keys, string([]byte{byte(c)}), "key"+string([]byte{byte(c)}))
	}
	for _, k := range keys {
		want := frame.AppendString([]byte("x"), []byte(k))
		if got := appendKey([]byte("x"), []byte(k)); string(got) != string(want) {
			t.Errorf("appendKey(%q) = %q, want %q", k, got, want)
		}
		if got := appendShort([]byte("x"), []byte(k)); string(got) != string(want) {
			t.Errorf("appendShort(%q) = %q, want %q", k, got, want)
		}
		if isPlain([]byte(k)) && !utf8.ValidString(k) {
			t.Errorf("isPlain(%q) but not valid UTF-8", k)
		}
	}
}

// TestSameKey checks sameKey against ==: equal keys of every length up
// to 20 (in different memory), and keys differing in one byte at every
// position.
func TestSameKey(t *testing.T) {
	for n := 0; n <= 20; n++ {
		a := strings.Repeat("k", n)
		b := string([]byte(a))
		if !sameKey(a, b) {
			t.Errorf("%q: not the same as its copy", a)
		}
		if sameKey(a, a+"x") || sameKey(a+"x", a) {
			t.Errorf("%q: the same as a longer key", a)
		}
		for i := range n {
			c := []byte(a)
			c[i] = 'j'
			if sameKey(a, string(c)) {
				t.Errorf("%q: the same as %q", a, c)
			}
		}
	}
}

// TestDuplicateKeys checks that a key present twice in a record is read
// and set at its first occurrence, as gjson reads it (Substation), even
// after a record of another shape taught the lookup a later position.
func TestDuplicateKeys(t *testing.T) {
	key := "a"
	b := &batch{msgs: make([]Message, 3)}
	for i, tc := range []struct{ data, want, set string }{
		{`{"x":0,"y":0,"a":1}`, "1", `{"x":0,"y":0,"a":9}`},
		{`{"a":1,"y":0,"a":2}`, "1", `{"a":9,"y":0,"a":2}`},
		{`{"y":0,"a":3,"a":2}`, "3", `{"y":0,"a":9,"a":2}`},
	} {
		m := b.newMessage(i)
		m.data.raw = []byte(tc.data)
		if got, want := m.GetValue(key).String(), gjson.Get(tc.data, key).String(); got != tc.want || got != want {
			t.Errorf("%s: %s = %s, want %s (gjson %s)", tc.data, key, got, tc.want, want)
		}
		if err := m.SetInt(key, 9); err != nil {
			t.Fatal(err)
		}
		if got := string(m.Data()); got != tc.set {
			t.Errorf("%s: set %s: %s, want %s", tc.data, key, got, tc.set)
		}
	}
}
