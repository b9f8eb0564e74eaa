package frame

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fastjson"

	"github.com/weirhq/weir/host/hosttest"
)

// docCases are documents Doc and fastjson must read alike: valid and
// invalid, with every kind of string, number and nesting.
var docCases = []string{
	`{}`, `[]`, ` {} `, "\t\n\r {\"a\" :\n1 }\r\n", `""`, `"x"`, `0`, `-0`, `1.5e+10`, `-1E-2`,
	`true`, `false`, `null`, `[1,"a",true,false,null,{},[]]`,
	`{"a":{"b":{"c":[1,{"d":"e"}]}}}`,
	`{"a":1,"a":2}`, `{"a\u0062":1,"ab":2}`, `{"ab":1,"a\u0062":2}`, `{"a\"b":1}`, `{"\\":1}`,
	`"\"\\\/\b\f\n\r\t"`, `"\u00e9\u20ac\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`, `"\ud83d\u0041"`, `"\ud83d\uzzzz"`,
	`"\ude00\ud83d"`, `"\u12"`, `"\uzzzz"`, `"\x"`, `"\'"`, `"a\\"`, `"a\\\""`, `"\u0000"`, `"\u2028\u2029"`,
	"\"raw\x01control\x1fbytes\"", "\"tab\there\"", "\"\xff\xfe invalid utf-8\"", `"é€😀"`,
	`NaN`, `nan`, `-Inf`, `+inf`, `inf`, `Infinity`, `-`, `+`, `--`, `1.2.3`, `01`, `1e`, `.5`, `1.`, `+1`, `[-]`, `[+]`,
	`[-x]`, `[1x]`, `[1 2]`, `{"a":nul}`, `{"a":nan}`, `{"a":NaNx}`, `tru`, `truex`, `nul`, `n`, `[nan]`, `[NAN,INF]`,
	``, ` `, `{`, `}`, `[`, `]`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,]`, `{,}`, `{"a":1 "b":2}`, `{"a" 1}`,
	`{a:1}`, `{'a':1}`, `"unterminated`, `"ends with backslash\`, `{"k\`, `[1]]`, `{}{}`, `1 2`, "\x00", "[\x00]", `["a"`,
	"{\"a\":1}\x00", "\xef\xbb\xbf{}", `[1e999,-1e-999,123456789012345678901234567890]`,
}

// manyKeys is an object large enough for a key table, holding keys
// twice, spelled plain and escaped, of every length.
var manyKeys = `{"a":1,"bb":2,"ccc":3,"dddd":4,"eeeee":5,"ffffffff":6,"ggggggggg":7,"a":8,"\u0062b":9,` +
	`"h\u0068hhhhhhh":10,"hhhhhhhhh":11,"dddd":12,"":13,"":14,"k1":{"x":1},"k2":[1,2],"k3":null,"k4":true,` +
	`"ffffffff":15,"\u0066fffffff":16,"zzzzzzzzzzzzzzzzzzzzzzzzzzzzz":17}`

// nested returns n arrays nested around inner.
func nested(n int, inner string) string {
	return strings.Repeat("[", n) + inner + strings.Repeat("]", n)
}

func TestDocMatchesFastjson(t *testing.T) {
	cases := append([]string{}, docCases...)
	cases = append(cases,
		nested(MaxDepth-1, "1"), nested(MaxDepth, "1"), nested(MaxDepth, ""), nested(MaxDepth+1, ""),
		strings.Repeat(`{"a":`, MaxDepth-1)+"1"+strings.Repeat("}", MaxDepth-1),
		strings.Repeat(`{"a":`, MaxDepth)+"1"+strings.Repeat("}", MaxDepth),
		`"`+strings.Repeat("a", 200)+`\"`+strings.Repeat("b", 200)+`"`,
		`"`+strings.Repeat(`\\`, 100)+`"`, `"`+strings.Repeat(`\\`, 100)+`\"`,
		`{"long":"`+strings.Repeat("é", 300)+`","k":[`+strings.Repeat(`"x",`, 200)+`1]}`,
		manyKeys,
	)
	for _, s := range cases {
		checkDoc(t, []byte(s))
	}
}

func TestDocReference(t *testing.T) {
	raw, err := os.ReadFile(hosttest.SharedFile(t, "reference/consolelogin.input.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{raw, pretty.Bytes()} {
		var d Doc
		if err := d.Parse(b); err != nil {
			t.Fatal(err)
		}
		checkDoc(t, b)
		if got := d.StringBytes(d.Get("tlsDetails", "clientProvidedHostHeader")); string(got) != "us-east-1.signin.aws.amazon.com" {
			t.Fatalf("got %q", got)
		}
		if i := d.Get("userIdentity", "sessionContext", "nope"); i != -1 {
			t.Fatalf("missing key: %d", i)
		}
	}
}

func TestDocDepth(t *testing.T) {
	var d Doc
	for _, tc := range []struct {
		doc string
		ok  bool
	}{
		{nested(MaxDepth-1, "1"), true},
		{nested(MaxDepth, ""), true},
		{nested(MaxDepth, "1"), false},
		{nested(MaxDepth+1, ""), false},
		{nested(100000, ""), false},
	} {
		err := d.Parse([]byte(tc.doc))
		if (err == nil) != tc.ok {
			t.Errorf("%d bytes: %v, want ok %v", len(tc.doc), err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "nest more than 300 deep") {
			t.Errorf("error %v does not name the depth", err)
		}
	}
}

func TestDocGet(t *testing.T) {
	var d Doc
	doc := `{"a":{"b":[10,{"c":"x"},[true]]},"a":"second","e\u0073c":1,"esc":2,"dot.key":null,"":3}`
	if err := d.Parse([]byte(doc)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path []string
		want string // AppendValue of the value, or "missing"
	}{
		{nil, `{"a":{"b":[10,{"c":"x"},[true]]},"a":"second","esc":1,"esc":2,"dot.key":null,"":3}`},
		{[]string{"a", "b", "0"}, "10"},
		{[]string{"a", "b", "1", "c"}, `"x"`},
		{[]string{"a", "b", "2", "0"}, "true"},
		{[]string{"a", "b", "+1", "c"}, `"x"`},
		{[]string{"a", "b", "01", "c"}, `"x"`},
		{[]string{"a", "b", "3"}, "missing"},
		{[]string{"a", "b", "-1"}, "missing"},
		{[]string{"a", "b", "x"}, "missing"},
		{[]string{"a", "b", "0", "x"}, "missing"},
		{[]string{"esc"}, "1"},
		{[]string{"dot.key"}, "null"},
		{[]string{""}, "3"},
		{[]string{"nope"}, "missing"},
	} {
		got := "missing"
		if i := d.Get(tc.path...); i >= 0 {
			got = string(d.AppendValue(nil, i))
		}
		if got != tc.want {
			t.Errorf("Get(%q) = %s, want %s", tc.path, got, tc.want)
		}
	}
}

// TestDocKeyHeads looks up keys that share their length, their first
// four bytes, or both (lookups compare both at once, then the rest).
func TestDocKeyHeads(t *testing.T) {
	var d Doc
	keys := []string{"", "a", "ab", "b\u0061", "abc", "abcd", "abce", "abcde", "abcdf", "abcdefgh", "abcdefgi", "bbcd", "a\u0062cde", "\u00e9t\u00e9"}
	doc := "{"
	for i, k := range keys {
		if i > 0 {
			doc += ","
		}
		doc += fmt.Sprintf("%q:%d", k, i)
	}
	doc = strings.ReplaceAll(doc+"}", `\\u`, `\u`)
	if err := d.Parse([]byte(doc)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		want int // value, -1 for missing
	}{
		{"", 0}, {"a", 1}, {"ab", 2}, {"ba", 3}, {"abc", 4}, {"abcd", 5}, {"abce", 6},
		{"abcde", 7}, {"abcdf", 8}, {"abcdefgh", 9}, {"abcdefgi", 10}, {"bbcd", 11},
		{"été", 13}, {"abcdefgj", -1}, {"abcdg", -1}, {"abd", -1}, {"b", -1}, {"abcdefghi", -1}, {"\x00", -1},
	} {
		got := -1
		if i := d.Get(tc.key); i >= 0 {
			got, _ = strconv.Atoi(string(d.Raw(i)))
		}
		if got != tc.want {
			t.Errorf("%s: Get(%q) = %d, want %d", doc, tc.key, got, tc.want)
		}
	}
}

// FuzzDocParse: Doc accepts what fastjson accepts, reads every value as
// fastjson reads it, and accepts what encoding/json accepts (nested at
// most MaxDepth deep).
func FuzzDocParse(f *testing.F) {
	for _, s := range docCases {
		f.Add([]byte(s))
	}
	f.Add([]byte(manyKeys))
	if raw, err := os.ReadFile(hosttest.SharedFile(f, "reference/consolelogin.input.json")); err == nil {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDoc(t, b)
	})
}

// checkDoc checks Doc against fastjson (validity, every value, every
// key's lookup) and encoding/json (validity).
func checkDoc(t *testing.T, b []byte) {
	t.Helper()
	var d Doc
	var p fastjson.Parser
	err := d.Parse(b)
	v, ferr := p.ParseBytes(b)
	if (err == nil) != (ferr == nil) {
		t.Fatalf("%q: Doc: %v; fastjson: %v", b, err, ferr)
	}
	if err != nil {
		if json.Valid(b) && jsonDepth(b) < MaxDepth {
			t.Fatalf("%q: valid JSON, but Doc: %v", b, err)
		}
		if !strings.HasPrefix(err.Error(), "byte offset ") {
			t.Fatalf("%q: error %q does not locate the problem", b, err)
		}
		return
	}
	compareValue(t, b, &d, 0, v)
	if got, want := d.AppendValue(nil, 0), AppendValue(nil, v); !bytes.Equal(got, want) {
		t.Fatalf("%q: Doc writes %q, fastjson values %q", b, got, want)
	}
}

// jsonDepth is the deepest nesting of arrays and objects in valid JSON b.
func jsonDepth(b []byte) int {
	dec := json.NewDecoder(bytes.NewReader(b))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// compareValue checks the value at i of d against fastjson's v.
func compareValue(t *testing.T, b []byte, d *Doc, i int, v *fastjson.Value) {
	t.Helper()
	want := map[fastjson.Type]ValueType{
		fastjson.TypeString: String, fastjson.TypeNumber: Number, fastjson.TypeTrue: True,
		fastjson.TypeFalse: False, fastjson.TypeNull: Null, fastjson.TypeObject: Object, fastjson.TypeArray: Array,
	}[v.Type()]
	if d.Type(i) != want {
		t.Fatalf("%q: value %d is a %s, fastjson reads a %s", b, i, d.Type(i), v.Type())
	}
	switch want {
	case String:
		if got := d.StringBytes(i); !bytes.Equal(got, v.GetStringBytes()) {
			t.Fatalf("%q: string %q, fastjson reads %q", b, got, v.GetStringBytes())
		}
	case Number:
		if got := d.Raw(i); !bytes.Equal(got, v.MarshalTo(nil)) {
			t.Fatalf("%q: number %q, fastjson reads %q", b, got, v.MarshalTo(nil))
		}
	case Array:
		a := v.GetArray()
		j := i + 1
		for _, e := range a {
			if j >= int(d.tape[i].next) {
				t.Fatalf("%q: array %d is shorter than fastjson's", b, i)
			}
			compareValue(t, b, d, j, e)
			j = int(d.tape[j].next)
		}
		if j != int(d.tape[i].next) {
			t.Fatalf("%q: array %d is longer than fastjson's", b, i)
		}
	case Object:
		j := i + 1
		first := map[string]int{}
		v.GetObject().Visit(func(k []byte, e *fastjson.Value) {
			if j >= int(d.tape[i].next) {
				t.Fatalf("%q: object %d is shorter than fastjson's", b, i)
			}
			if got := d.key(j); got != string(k) {
				t.Fatalf("%q: key %q, fastjson reads %q", b, got, k)
			}
			if _, ok := first[string(k)]; !ok {
				first[string(k)] = j + 1
			}
			compareValue(t, b, d, j+1, e)
			j = int(d.tape[j+1].next)
		})
		if j != int(d.tape[i].next) {
			t.Fatalf("%q: object %d is longer than fastjson's", b, i)
		}
		for k, want := range first {
			if got := d.member(i, k); got != want {
				t.Fatalf("%q: key %q found at %d, its first occurrence is %d", b, k, got, want)
			}
			if _, ok := first[k+"~"]; !ok && d.member(i, k+"~") != -1 {
				t.Fatalf("%q: key %q found, but the object does not hold it", b, k+"~")
			}
		}
	}
}

// BenchmarkDoc parses the reference record ("parse") and looks up the
// reference module's views and copy sources in it ("get"), with Doc and
// with fastjson.
func BenchmarkDoc(b *testing.B) {
	raw, err := os.ReadFile(hosttest.SharedFile(b, "reference/consolelogin.input.json"))
	if err != nil {
		b.Fatal(err)
	}
	rec := bytes.TrimRight(raw, "\n")
	var d Doc
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(int64(len(rec)))
		for b.Loop() {
			if err := d.Parse(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse-fastjson", func(b *testing.B) {
		var p fastjson.Parser
		b.SetBytes(int64(len(rec)))
		for b.Loop() {
			if _, err := p.ParseBytes(rec); err != nil {
				b.Fatal(err)
			}
		}
	})
	_, _, segs := referenceOps()
	for _, p := range []string{"eventTime", "eventName", "eventID", "recipientAccountId", "userIdentity.accountId",
		"awsRegion", "sourceIPAddress", "tlsDetails.cipherSuite", "tlsDetails.clientProvidedHostHeader", "userAgent", "eventSource"} {
		segs = append(segs, SplitPath(p))
	}
	b.Run("get", func(b *testing.B) {
		if err := d.Parse(rec); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			for _, s := range segs {
				d.Get(s...)
			}
		}
	})
	b.Run("get-fastjson", func(b *testing.B) {
		var p fastjson.Parser
		v, err := p.ParseBytes(rec)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			for _, s := range segs {
				v.Get(s...)
			}
		}
	})
}
