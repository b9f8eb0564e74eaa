package builtin

import (
	"testing"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// TestPathsMatchSjson checks the native tree edits against sjson/gjson,
// Substation's own implementation, on the same documents and paths.
func TestPathsMatchSjson(t *testing.T) {
	docs := []string{
		`{"a":"b","c":{"d":[1,2,{"e":"f"}]},"n":3.5,"u":"\u00e9\n"}`,
		`{}`,
		`{"a":[]}`,
		`{"a":"x\/y\"z","b":[],"c":{"d":"\ud83d\ude00"},"e":-0.50e+3}`,
	}
	paths := []string{"a", "x", "c.d", "c.d.1", "c.d.2.e", "c.d.-1", "c.d.5", "new.deep.key", "a.-1", "c.new", "list.0", "c.d.#", "c.d.#.e", "c|@reverse"}
	values := []string{`"v"`, `{"k":[true,null]}`, `12`}
	for _, d := range docs {
		for _, p := range paths {
			// Get.
			b := &batch{}
			m := b.newMessage(0)
			m.data.raw = []byte(d)
			got := m.GetValue(p)
			want := gjson.Get(d, p)
			if got.Exists() != want.Exists() || (want.Exists() && got.String() != want.String()) {
				t.Errorf("get %s %s: got %v %q, want %v %q", d, p, got.Exists(), got.String(), want.Exists(), want.String())
			}
			// Delete.
			m = b.newMessage(0)
			m.data.raw = []byte(d)
			if err := m.DeleteValue(p); err == nil {
				if w, err := sjson.Delete(d, p); err == nil && w != string(m.Data()) {
					t.Errorf("delete %s %s: got %s, want %s", d, p, m.Data(), w)
				}
			}
			// Set.
			for _, v := range values {
				if p == "c.d.#" || p == "c.d.#.e" || p == "c|@reverse" {
					continue // not settable in sjson either
				}
				m := b.newMessage(0)
				m.data.raw = []byte(d)
				err := m.SetRaw(p, []byte(v))
				w, werr := sjson.SetRaw(d, p, v)
				if (err != nil) != (werr != nil) {
					t.Errorf("set %s %s=%s: err %v, sjson err %v", d, p, v, err, werr)
					continue
				}
				if err == nil && w != string(m.Data()) {
					t.Errorf("set %s %s=%s:\n got %s\nwant %s", d, p, v, m.Data(), w)
				}
			}
		}
	}
}

func TestMetaAndConversions(t *testing.T) {
	b := &batch{}
	m := b.newMessage(0)
	m.data.raw = []byte(`{"i":30400402455622563,"f":1.0,"s":"{\"x\":1}","bin":"a"}`)
	for _, tc := range []struct{ src, dst, want string }{
		{"i", "meta i", `{"i":30400402455622563}`},
		{"f", "meta f", `{"i":30400402455622563,"f":1}`},
		{"s", "meta s", `{"i":30400402455622563,"f":1,"s":{"x":1}}`},
	} {
		if err := m.SetValue(tc.dst, m.GetValue(tc.src)); err != nil {
			t.Fatal(err)
		}
		if got := string(m.Metadata()); got != tc.want {
			t.Errorf("%s: metadata %s, want %s", tc.dst, got, tc.want)
		}
	}
	if got := m.GetValue("meta s.x").Int(); got != 1 {
		t.Errorf("meta s.x = %d", got)
	}
	if err := m.SetBytes("b", []byte{0xff, 0x00}); err != nil {
		t.Fatal(err)
	}
	if got := m.GetValue("b").String(); got != "/wA=" {
		t.Errorf("non-UTF-8 bytes: %q", got)
	}
	if err := m.SetString("t", `{"y":2}`); err != nil {
		t.Fatal(err)
	}
	if !m.GetValue("t").IsString() {
		t.Error("SetString must write a string")
	}
	// A copied object is independent of its source.
	_ = m.SetRaw("o", []byte(`{"k":1}`))
	_ = m.SetValue("p", m.GetValue("o"))
	_ = m.SetInt("o.k", 2)
	if got := m.GetValue("p.k").Int(); got != 1 {
		t.Errorf("copy aliases its source: p.k = %d", got)
	}
}

// TestHasText checks Value.hasText (string_greater_than's test against
// "") against the text AppendText writes, on parsed values of every kind
// and on strings weir sets.
func TestHasText(t *testing.T) {
	b := &batch{}
	m := b.newMessage(0)
	m.data.raw = []byte(`{"s":"x","e":"","esc":"\n","u":"\u0000","n":0,"z":null,"t":true,"f":false,"o":{},"a":[],"ws":" "}`)
	keys := []string{"s", "e", "esc", "u", "n", "z", "t", "f", "o", "a", "ws", "missing", "a.0"}
	for _, k := range keys {
		// Parsed, then the same value set by weir (a copy) and as a string.
		_ = m.SetValue("copy "+k, m.GetValue(k))
		_ = m.SetString("str "+k, m.GetValue(k).String())
	}
	for _, k := range keys {
		for _, p := range []string{k, "copy " + k, "str " + k} {
			v := m.GetValue(p)
			if got, want := v.hasText(), len(v.AppendText(nil)) > 0; got != want {
				t.Errorf("%s: hasText %v, text %q", p, got, v.AppendText(nil))
			}
		}
	}
}

// TestGetValueCached checks GetValue's cached lookups (keyInfo.v): one
// key string read again after every kind of change to its document, in
// the same message, another message and a message reused by the next
// batch, gives what a fresh lookup gives.
func TestGetValueCached(t *testing.T) {
	key := "a.b" // one string: one entry of the resolve table
	b := &batch{msgs: make([]Message, 2)}
	m := b.newMessage(0)
	m.data.raw = []byte(`{"a":{"b":1}}`)
	n := b.newMessage(1)
	n.data.raw = []byte(`{"a":{"b":"n"}}`)
	get := func(m *Message) string {
		v := m.GetValue(key)
		if !v.Exists() {
			return "missing"
		}
		return string(v.v.MarshalTo(nil))
	}
	for _, tc := range []struct {
		name   string
		change func() error
		m      *Message
		want   string
	}{
		{"first read", func() error { return nil }, m, "1"},
		{"read again", func() error { return nil }, m, "1"},
		{"other message", func() error { return nil }, n, `"n"`},
		{"back", func() error { return nil }, m, "1"},
		{"set the key", func() error { return m.SetInt(key, 2) }, m, "2"},
		{"set its parent", func() error { return m.SetRaw("a", []byte(`{"b":3}`)) }, m, "3"},
		{"delete the key", func() error { return m.DeleteValue(key) }, m, "missing"},
		{"set it back", func() error { return m.SetString(key, "x") }, m, `"x"`},
		{"delete its parent", func() error { return m.DeleteValue("a") }, m, "missing"},
		{"set data", func() error { m.SetData([]byte(`{"a":{"b":4}}`)); return nil }, m, "4"},
		{"sjson edit", func() error { return m.SetInt(`a.x\.y`, 0) }, m, "4"},
		{"other message unchanged", func() error { return nil }, n, `"n"`},
		{"settled", func() error { b.settle([]*Message{m}); return nil }, m, "4"},
		{"next batch", func() error {
			b.reset()
			if m = b.newMessage(0); m != &b.msgs[0] {
				t.Fatal("the batch did not reuse its first message")
			}
			m.data.raw = []byte(`{"a":{"b":5}}`)
			return nil
		}, nil, "5"},
		{"metadata", func() error { return m.SetInt("meta "+key, 6) }, nil, "5"},
	} {
		if err := tc.change(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		msg := tc.m
		if msg == nil {
			msg = m
		}
		if got := get(msg); got != tc.want {
			t.Errorf("%s: %s = %s, want %s", tc.name, key, got, tc.want)
		}
	}
}

// TestSerializeKeys checks how a changed document's keys are written:
// plain keys as the record wrote them, keys with escapes unescaped then
// escaped as frame.AppendString does (so `\u0041` becomes "A"), at any
// position in the object and in nested objects.
func TestSerializeKeys(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":1}`, `{"a":1,"x":1}`},
		{`{"a\u0041":1}`, `{"aA":1,"x":1}`},
		{`{"p":0,"b\"c":2,"q\/":3}`, `{"p":0,"b\"c":2,"q/":3,"x":1}`},
		{`{"o":{"k":1,"\u00e9t\u00e9":2,"\u2028":3}}`, `{"o":{"k":1,"été":2,"\u2028":3},"x":1}`},
		{`{"a":[{"\t":1}],"long key with spaces":true}`, `{"a":[{"\t":1}],"long key with spaces":true,"x":1}`},
	} {
		b := &batch{}
		m := b.newMessage(0)
		m.data.raw = []byte(tc.in)
		if err := m.SetInt("x", 1); err != nil {
			t.Fatal(err)
		}
		if got := string(m.Data()); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.in, got, tc.want)
		}
	}
}
