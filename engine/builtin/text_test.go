package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
	"golang.org/x/net/publicsuffix"
)

// textCase is one transform case of the text families: a config, the
// input records and what each produces (outputs joined by " | ", or
// "ERR: <substring>" for a failed record, "DROPPED").
type textCase struct {
	name, cfg string
	in        []string
	want      []string
}

// runTextCases compiles each case's transform and checks every record.
func runTextCases(t *testing.T, cases []textCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile([]json.RawMessage{json.RawMessage(tc.cfg)})
			if err != nil {
				if len(tc.want) == 1 && strings.HasPrefix(tc.want[0], "COMPILE: ") {
					if !strings.Contains(err.Error(), strings.TrimPrefix(tc.want[0], "COMPILE: ")) {
						t.Fatalf("compile error %q, want %q", err, tc.want[0])
					}
					return
				}
				t.Fatal(err)
			}
			recs := make([]engine.Record, len(tc.in))
			for i, s := range tc.in {
				recs[i] = engine.Record{Data: []byte(s)}
			}
			res, err := p.Process(context.Background(), recs)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				var got string
				switch {
				case r.Status == engine.StatusFailed:
					got = "ERR: " + r.Err.Error()
				case r.Status == engine.StatusDropped:
					got = "DROPPED"
				default:
					var outs []string
					for _, o := range r.Outputs {
						outs = append(outs, string(o.Data))
					}
					got = strings.Join(outs, " | ")
				}
				want := tc.want[i]
				if strings.HasPrefix(want, "ERR: ") {
					if !strings.HasPrefix(got, "ERR: ") || !strings.Contains(got, strings.TrimPrefix(want, "ERR: ")) {
						t.Errorf("record %d: got %s, want %s", i, got, want)
					}
					continue
				}
				if got != want {
					t.Errorf("record %d (%s):\n got %s\nwant %s", i, tc.in[i], got, want)
				}
			}
		})
	}
}

// condCase is one condition case.
type condCase struct {
	name, cfg, in string
	want          bool
	err           string
}

func runCondCases(t *testing.T, cases []condCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cond, err := (&Compiler{}).Condition("condition", json.RawMessage(tc.cfg))
			if err != nil {
				t.Fatal(err)
			}
			b := &batch{}
			m := b.newMessage(0)
			m.data.raw = []byte(tc.in)
			got, err := cond.Condition(context.Background(), m)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			// The control message never matches.
			ctrl := b.newMessage(-1)
			ctrl.ctrl = true
			if ok, _ := cond.Condition(context.Background(), ctrl); ok {
				t.Error("the control message matched")
			}
		})
	}
}

func tf(typ, settings string) string {
	return fmt.Sprintf(`{"type":%q,"settings":%s}`, typ, settings)
}

func TestStringTransforms(t *testing.T) {
	ab := `{"object":{"source_key":"a","target_key":"b"}}`
	runTextCases(t, []textCase{
		{"lower unicode", tf("string_to_lower", ab), []string{`{"a":"ÀB\u00c9c"}`, `{"a":"ABC"}`}, []string{`{"a":"ÀB\u00c9c","b":"àbéc"}`, `{"a":"ABC","b":"abc"}`}},
		{"lower missing key", tf("string_to_lower", ab), []string{`{"x":"A"}`}, []string{`{"x":"A"}`}},
		{"lower number", tf("string_to_lower", ab), []string{`{"a":12}`}, []string{`{"a":12,"b":"12"}`}},
		{"lower object value nests", tf("string_to_lower", ab), []string{`{"a":{"K":"V"}}`}, []string{`{"a":{"K":"V"},"b":{"k":"v"}}`}},
		{"upper data", tf("string_to_upper", `{}`), []string{"straße", "abc"}, []string{"STRAßE", "ABC"}},
		{"snake", tf("string_to_snake", ab), []string{`{"a":"HelloWorld ID"}`}, []string{`{"a":"HelloWorld ID","b":"hello_world_id"}`}},
		{"only source key", tf("string_to_upper", `{"object":{"source_key":"a"}}`), nil, []string{"COMPILE: go together"}},
		{"replace regexp expands", tf("string_replace", `{"object":{"source_key":"a","target_key":"a"},"pattern":"(\\w+)@(\\w+)","replacement":"$2 at $1"}`), []string{`{"a":"me@host"}`}, []string{`{"a":"host at me"}`}},
		{"replace literal all", tf("string_replace", `{"pattern":"ab","replacement":"X"}`), []string{"abcabab", "none", ""}, []string{"XcXX", "none", ""}},
		{"replace literal with dollar", tf("string_replace", `{"pattern":"a","replacement":"$$"}`), []string{"bab"}, []string{"b$b"}},
		{"replace bad pattern", tf("string_replace", `{"pattern":"("}`), nil, []string{"COMPILE: pattern"}},
		{"replace no pattern", tf("string_replace", `{}`), nil, []string{"COMPILE: pattern is required"}},
		{"replace array value", tf("string_replace", `{"object":{"source_key":"a","target_key":"a"},"pattern":"x","replacement":"y"}`), []string{`{"a":["x","xx"]}`}, []string{`{"a":["y","yy"]}`}},
		{"append data", tf("string_append", `{"suffix":"!"}`), []string{"hé"}, []string{"hé!"}},
		{"append suffix key missing", tf("string_append", `{"object":{"source_key":"a","target_key":"b"},"suffix_key":"s"}`), []string{`{"a":"x"}`, `{"a":"x","s":1}`}, []string{`{"a":"x"}`, `{"a":"x","s":1,"b":"x1"}`}},
		{"append needs suffix", tf("string_append", `{}`), nil, []string{"COMPILE: suffix or suffix_key is required"}},
		{"split unicode separator", tf("string_split", `{"object":{"source_key":"a","target_key":"a"},"separator":"→"}`), []string{`{"a":"x→y→"}`}, []string{`{"a":["x","y",""]}`}},
		{"split escapes", tf("string_split", `{"separator":","}`), []string{`a"b,c\d`}, []string{`["a\"b","c\\d"]`}},
		{"split nested json element", tf("string_split", `{"separator":"|"}`), []string{`{"k":1}|x`}, []string{`[{"k":1},"x"]`}},
		{"split object shape keeps strings", tf("string_split", `{"object":{"source_key":"a","target_key":"a"},"separator":"|"}`), []string{`{"a":"{\"k\":1}|x"}`}, []string{`{"a":["{\"k\":1}","x"]}`}},
		{"capture count data nests", tf("string_capture", `{"pattern":"(\\[\\d\\])","count":2}`), []string{`[1][2]`}, []string{`[[1],[2]]`}},
		{"capture count object keeps strings", tf("string_capture", `{"object":{"source_key":"a","target_key":"a"},"pattern":"(\\[\\d\\])","count":2}`), []string{`{"a":"[1][2]"}`}, []string{`{"a":["[1]","[2]"]}`}},
		{"split missing", tf("string_split", `{"object":{"source_key":"a","target_key":"a"},"separator":","}`), []string{`{}`}, []string{`{}`}},
		{"capture no match", tf("string_capture", `{"object":{"source_key":"a","target_key":"b"},"pattern":"(\\d+)"}`), []string{`{"a":"xyz"}`}, []string{`{"a":"xyz","b":""}`}},
		{"capture no match data", tf("string_capture", `{"pattern":"(\\d+)"}`), []string{`xyz`}, []string{``}},
		{"capture count no match", tf("string_capture", `{"object":{"source_key":"a","target_key":"b"},"pattern":"(\\d)","count":2}`), []string{`{"a":"xyz"}`}, []string{`{"a":"xyz","b":null}`}},
		{"capture count", tf("string_capture", `{"object":{"source_key":"a","target_key":"b"},"pattern":"(\\d)","count":2}`), []string{`{"a":"1a2b3"}`}, []string{`{"a":"1a2b3","b":["1","2"]}`}},
		{"capture named unicode", tf("string_capture", `{"object":{"source_key":"a","target_key":"b"},"pattern":"(?P<user>[^@]+)@(?P<host>.+)"}`), []string{`{"a":"jörg@exämple"}`}, []string{`{"a":"jörg@exämple","b":{"user":"jörg","host":"exämple"}}`}},
		{"capture named no match data", tf("string_capture", `{"pattern":"(?P<n>\\d+)"}`), []string{`abc`}, []string{``}},
	})
}

func TestStringUUID(t *testing.T) {
	p, err := Compile([]json.RawMessage{json.RawMessage(tf("string_uuid", `{"object":{"target_key":"id"}}`))})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Process(context.Background(), []engine.Record{{Data: []byte(`{}`)}, {Data: []byte(`{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range res {
		var v struct{ ID string }
		if err := json.Unmarshal(r.Outputs[0].Data, &v); err != nil {
			t.Fatal(err)
		}
		if len(v.ID) != 36 || v.ID[14] != '4' || !strings.ContainsRune("89ab", rune(v.ID[19])) || strings.Count(v.ID, "-") != 4 {
			t.Fatalf("not a version 4 UUID: %q", v.ID)
		}
		ids = append(ids, v.ID)
	}
	if ids[0] == ids[1] {
		t.Fatal("two records got the same UUID")
	}
}

func TestStringConditions(t *testing.T) {
	runCondCases(t, []condCase{
		{name: "greater missing source is empty", cfg: `{"type":"string_greater_than","settings":{"object":{"source_key":"x"},"value":"a"}}`, in: `{}`, want: false},
		{name: "less missing source is empty", cfg: `{"type":"string_less_than","settings":{"object":{"source_key":"x"},"value":"a"}}`, in: `{}`, want: true},
		{name: "greater missing target uses value", cfg: `{"type":"string_greater_than","settings":{"object":{"source_key":"a","target_key":"t"},"value":"b"}}`, in: `{"a":"c"}`, want: true},
		{name: "greater bytes not runes", cfg: `{"type":"string_greater_than","settings":{"value":"z"}}`, in: `é`, want: true},
		{name: "less number as text", cfg: `{"type":"string_less_than","settings":{"object":{"source_key":"a"},"value":"2"}}`, in: `{"a":10}`, want: true},
		{name: "equal missing target uses value", cfg: tf("string_equal_to", `{"object":{"source_key":"a","target_key":"t"},"value":"x"}`), in: `{"a":"x"}`, want: true},
		{name: "equal target wins over value", cfg: tf("string_equal_to", `{"object":{"source_key":"a","target_key":"t"},"value":"x"}`), in: `{"a":"x","t":"y"}`, want: false},
		{name: "equal missing source never matches", cfg: tf("string_equal_to", `{"object":{"source_key":"a"},"value":""}`), in: `{}`, want: false},
		{name: "equal data ignores target", cfg: tf("string_equal_to", `{"object":{"target_key":"t"},"value":"abc"}`), in: `abc`, want: true},
		{name: "contains missing source is empty", cfg: tf("string_contains", `{"object":{"source_key":"a"},"value":""}`), in: `{}`, want: true},
		{name: "starts with unicode", cfg: tf("string_starts_with", `{"object":{"source_key":"a"},"value":"é"}`), in: `{"a":"\u00e9t\u00e9"}`, want: true},
		{name: "ends with number text", cfg: tf("string_ends_with", `{"object":{"source_key":"a"},"value":"5"}`), in: `{"a":[1,5]}`, want: false},
		{name: "ends with array text", cfg: tf("string_ends_with", `{"object":{"source_key":"a"},"value":"5]"}`), in: `{"a":[1,5]}`, want: true},
		{name: "match missing source is empty", cfg: tf("string_match", `{"object":{"source_key":"a"},"pattern":"^$"}`), in: `{}`, want: true},
	})
}

func TestNumberTransforms(t *testing.T) {
	aa := `{"object":{"source_key":"a","target_key":"a"}}`
	runTextCases(t, []textCase{
		{"add strings and bools", tf("number_math_addition", aa), []string{`{"a":["1.5",true,null,"x",2]}`}, []string{`{"a":4.5}`}},
		{"add not an array", tf("number_math_addition", aa), []string{`{"a":5}`, `{"a":"[1,2]"}`}, []string{`{"a":5}`, `{"a":"[1,2]"}`}},
		{"add missing", tf("number_math_addition", aa), []string{`{"b":[1]}`}, []string{`{"b":[1]}`}},
		{"add empty array", tf("number_math_addition", aa), []string{`{"a":[]}`}, []string{`{"a":0}`}},
		{"add big no exponent", tf("number_math_multiplication", `{}`), []string{`[1e10,1e10]`}, []string{`100000000000000000000`}},
		{"subtract order", tf("number_math_subtraction", `{}`), []string{`[10,1,2]`}, []string{`7`}},
		{"divide by zero fails the record", tf("number_math_division", aa), []string{`{"a":[1,0]}`}, []string{`ERR: not a JSON number`}},
		{"divide by zero data", tf("number_math_division", `{}`), []string{`[1,0]`}, []string{`+Inf`}},
		{"data not json", tf("number_math_addition", `{}`), []string{`nope`}, []string{`nope`}},
		{"max string number", tf("number_maximum", `{"object":{"source_key":"a","target_key":"b"},"value":3}`), []string{`{"a":"7"}`, `{"a":"x"}`}, []string{`{"a":"7","b":7}`, `{"a":"x","b":3}`}},
		{"min data text", tf("number_minimum", `{"value":3}`), []string{`10`, `1.25`, `abc`}, []string{`3`, `1.25`, `0`}},
		{"max empty data reads 0", tf("number_maximum", `{"value":-2}`), []string{``}, []string{`0`}},
		{"min missing", tf("number_minimum", `{"object":{"source_key":"a","target_key":"b"},"value":3}`), []string{`{}`}, []string{`{}`}},
		{"keys together", tf("number_minimum", `{"object":{"target_key":"b"}}`), nil, []string{"COMPILE: go together"}},
	})
}

func TestNetworkDomainTransforms(t *testing.T) {
	ab := `{"object":{"source_key":"a","target_key":"b"}}`
	runTextCases(t, []textCase{
		{"registered multi-label suffix", tf("network_domain_registered_domain", ab), []string{`{"a":"www.bbc.co.uk"}`, `{"a":"x.y.s3.amazonaws.com"}`}, []string{`{"a":"www.bbc.co.uk","b":"bbc.co.uk"}`, `{"a":"x.y.s3.amazonaws.com","b":"y.s3.amazonaws.com"}`}},
		{"registered of a suffix fails", tf("network_domain_registered_domain", ab), []string{`{"a":"co.uk"}`}, []string{`ERR: cannot derive eTLD+1`}},
		{"registered missing", tf("network_domain_registered_domain", ab), []string{`{}`}, []string{`{}`}},
		{"subdomain deep", tf("network_domain_subdomain", ab), []string{`{"a":"a.b.example.com"}`}, []string{`{"a":"a.b.example.com","b":"a.b"}`}},
		{"no subdomain fails", tf("network_domain_subdomain", ab), []string{`{"a":"example.com"}`}, []string{`ERR: no subdomain`}},
		{"tld", tf("network_domain_top_level_domain", `{}`), []string{`www.bbc.co.uk`, `localhost`, `bücher.example.de`}, []string{`co.uk`, `localhost`, `de`}},
	})
}

func TestArrayTransforms(t *testing.T) {
	aa := `{"object":{"source_key":"a","target_key":"a"}}`
	runTextCases(t, []textCase{
		{"join mixed", tf("array_join", `{"object":{"source_key":"a","target_key":"b"},"separator":", "}`), []string{`{"a":["x",1,true,null,{"k":"v"},"é"]}`}, []string{`{"a":["x",1,true,null,{"k":"v"},"é"],"b":"x, 1, true, , {\"k\":\"v\"}, é"}`}},
		{"join not array", tf("array_join", `{"object":{"source_key":"a","target_key":"b"},"separator":"."}`), []string{`{"a":"x"}`, `{}`}, []string{`{"a":"x"}`, `{}`}},
		{"join empty", tf("array_join", `{"separator":"."}`), []string{`[]`}, []string{``}},
		{"zip ragged", tf("array_zip", aa), []string{`{"a":[["a","b","c"],[1,2]]}`}, []string{`{"a":[["a",1],["b",2],["c"]]}`}},
		{"zip scalar row", tf("array_zip", aa), []string{`{"a":[["a","b"],7]}`}, []string{`{"a":[["a",7],["b"]]}`}},
		{"zip keeps types", tf("array_zip", `{}`), []string{`[[{"k":1},"x\"y"],[1.5,null]]`}, []string{`[[{"k":1},1.5],["x\"y",null]]`}},
		{"zip not array", tf("array_zip", aa), []string{`{"a":"x"}`}, []string{`{"a":"x"}`}},
	})
}

func TestNumberConditions(t *testing.T) {
	c := func(typ, settings string) string { return tf(typ, settings) }
	runCondCases(t, []condCase{
		{name: "equal data not a number", cfg: c("number_equal_to", `{"value":1}`), in: ` 1`, err: "data is not a number"},
		{name: "equal missing source", cfg: c("number_equal_to", `{"object":{"source_key":"a"},"value":0}`), in: `{}`, want: false},
		{name: "greater missing source is 0", cfg: c("number_less_than", `{"object":{"source_key":"a"},"value":1}`), in: `{}`, want: true},
		{name: "greater missing target uses value", cfg: c("number_greater_than", `{"object":{"source_key":"a","target_key":"t"},"value":1}`), in: `{"a":2}`, want: true},
		{name: "greater target wins", cfg: c("number_greater_than", `{"object":{"source_key":"a","target_key":"t"},"value":1}`), in: `{"a":2,"t":"3"}`, want: false},
		{name: "and key", cfg: c("number_bitwise_and", `{"object":{"source_key":"f"},"value":4}`), in: `{"f":6}`, want: true},
		{name: "and key string number", cfg: c("number_bitwise_and", `{"object":{"source_key":"f"},"value":4}`), in: `{"f":"6"}`, want: true},
		{name: "and missing key is 0", cfg: c("number_bitwise_and", `{"object":{"source_key":"f"},"value":4}`), in: `{}`, want: false},
		{name: "and data not integer", cfg: c("number_bitwise_and", `{"value":1}`), in: `1.5`, err: "data is not an integer"},
		{name: "or zero", cfg: c("number_bitwise_or", `{"value":0}`), in: `0`, want: false},
		{name: "xor same", cfg: c("number_bitwise_xor", `{"value":5}`), in: `5`, want: false},
		{name: "not minus one", cfg: c("number_bitwise_not", `{"object":{"source_key":"f"}}`), in: `{"f":-1}`, want: false},
		{name: "length array", cfg: c("number_length_equal_to", `{"object":{"source_key":"a"},"value":2}`), in: `{"a":[1,[2,3]]}`, want: true},
		{name: "length bytes vs chars", cfg: c("number_length_equal_to", `{"object":{"source_key":"a"},"value":4}`), in: `{"a":"héé"}`, want: false},
		{name: "length chars", cfg: c("number_length_equal_to", `{"object":{"source_key":"a"},"value":3,"measurement":"char"}`), in: `{"a":"héé"}`, want: true},
		{name: "length bytes", cfg: c("number_length_equal_to", `{"object":{"source_key":"a"},"value":5,"measurement":"byte"}`), in: `{"a":"héé"}`, want: true},
		{name: "length missing is 0", cfg: c("number_length_less_than", `{"object":{"source_key":"z"},"value":1}`), in: `{"a":"x"}`, want: true},
		{name: "length number text", cfg: c("number_length_greater_than", `{"object":{"source_key":"a"},"value":2}`), in: `{"a":1234}`, want: true},
		{name: "length data runes", cfg: c("number_length_equal_to", `{"value":2,"measurement":"rune"}`), in: `日本`, want: true},
	})
	if _, err := (&Compiler{}).Condition("c", json.RawMessage(c("number_length_equal_to", `{"measurement":"word"}`))); err == nil || !strings.Contains(err.Error(), `measurement "word"`) {
		t.Errorf("bad measurement: %v", err)
	}
}

func TestNetworkIPConditions(t *testing.T) {
	c := func(typ string) string { return tf(typ, `{"object":{"source_key":"ip"}}`) }
	runCondCases(t, []condCase{
		{name: "v6 loopback", cfg: c("network_ip_loopback"), in: `{"ip":"::1"}`, want: true},
		{name: "v4-mapped private", cfg: c("network_ip_private"), in: `{"ip":"::ffff:10.1.2.3"}`, want: true},
		{name: "v6 ula private", cfg: c("network_ip_private"), in: `{"ip":"fd00::1"}`, want: true},
		{name: "not an ip", cfg: c("network_ip_valid"), in: `{"ip":"10.0.0.256"}`, want: false},
		{name: "zone is not valid", cfg: c("network_ip_valid"), in: `{"ip":"fe80::1%eth0"}`, want: false},
		{name: "missing", cfg: c("network_ip_valid"), in: `{}`, want: false},
		{name: "service name is not an ip", cfg: c("network_ip_valid"), in: `{"ip":"ec2.amazonaws.com"}`, want: false},
		{name: "hex-only name is not an ip", cfg: c("network_ip_valid"), in: `{"ip":"dead.beef"}`, want: false},
		{name: "leading zero is not an ip", cfg: c("network_ip_valid"), in: `{"ip":"253.252.51.07"}`, want: false},
		{name: "zero field is an ip", cfg: c("network_ip_valid"), in: `{"ip":"10.0.0.0"}`, want: true},
		{name: "three fields are not an ip", cfg: c("network_ip_valid"), in: `{"ip":"10.0.1"}`, want: false},
		{name: "v4-mapped with leading zero", cfg: c("network_ip_valid"), in: `{"ip":"::ffff:10.0.0.01"}`, want: false},
		{name: "link-local unicast is unicast", cfg: c("network_ip_unicast"), in: `{"ip":"fe80::1"}`, want: true},
		{name: "multicast is not unicast", cfg: c("network_ip_unicast"), in: `{"ip":"ff02::1"}`, want: false},
		{name: "v6 unspecified", cfg: c("network_ip_unspecified"), in: `{"ip":"::"}`, want: true},
		{name: "global", cfg: c("network_ip_global_unicast"), in: `{"ip":"2001:db8::1"}`, want: true},
	})
}

func TestFormatConditions(t *testing.T) {
	runCondCases(t, []condCase{
		{name: "json number", cfg: `{"type":"format_json"}`, in: `12`, want: true},
		{name: "json trailing garbage", cfg: `{"type":"format_json"}`, in: `{"a":1}x`, want: false},
		{name: "json empty", cfg: `{"type":"format_json"}`, in: ``, want: false},
		{name: "mime bzip2", cfg: `{"type":"format_mime","settings":{"type":"application/x-bzip2"}}`, in: "BZh91AY", want: true},
		{name: "mime text", cfg: `{"type":"format_mime","settings":{"type":"text/plain; charset=utf-8"}}`, in: "hello", want: true},
		{name: "mime json is text", cfg: `{"type":"format_mime","settings":{"type":"application/json"}}`, in: `{"a":1}`, want: false},
	})
	if _, err := (&Compiler{}).Condition("c", json.RawMessage(`{"type":"format_mime"}`)); err == nil || !strings.Contains(err.Error(), "type is required") {
		t.Errorf("format_mime without type: %v", err)
	}
}

// TestFloatOf: reading numbers with fastjson's parser gives strconv's
// result.
func TestFloatOf(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "0.1", "0.123456789", "1e10", "1.7976931348623157e308", "5e-324", "123456789012345678901234567890",
		"9007199254740993", "-2.5E-3", "0.30000000000000004", "1.0000000000000002", "4.35", "2.2250738585072011e-308"} {
		b := &batch{}
		m := b.newMessage(0)
		m.data.raw = []byte(`[` + s + `,"` + s + `"]`)
		v := m.GetValue("@this")
		want, _ := strconv.ParseFloat(s, 64)
		if got := floatOf(b, v.Index(0)); got != want {
			t.Errorf("%s: number read as %v, want %v", s, got, want)
		}
		if got := floatOf(b, v.Index(1)); got != want {
			t.Errorf("%s: string read as %v, want %v", s, got, want)
		}
	}
}

// TestUtilityRandom: about half of the messages pass (2,000 draws: a
// count outside 800-1,200 is 9 standard deviations away).
func TestUtilityRandom(t *testing.T) {
	cond, err := (&Compiler{}).Condition("c", json.RawMessage(`{"type":"utility_random"}`))
	if err != nil {
		t.Fatal(err)
	}
	b := &batch{}
	m := b.newMessage(0)
	m.data.raw = []byte(`{}`)
	n := 0
	for i := 0; i < 2000; i++ {
		ok, err := cond.Condition(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			n++
		}
	}
	if n < 800 || n > 1200 {
		t.Fatalf("%d of 2000 passed", n)
	}
	ctrl := b.newMessage(-1)
	ctrl.ctrl = true
	for i := 0; i < 50; i++ {
		if ok, _ := cond.Condition(context.Background(), ctrl); ok {
			t.Fatal("the control message passed")
		}
	}
}

// TestTextFamiliesComplete: every Substation v2.8.0 string_*, number_*,
// network_* and array_* transform and every condition is implemented.
func TestTextFamiliesComplete(t *testing.T) {
	for _, name := range TransformTypes() {
		fam, _, _ := strings.Cut(name, "_")
		switch fam {
		case "string", "number", "network", "array":
			if s, _, _ := TransformStatus(name); s != Implemented {
				t.Errorf("transform %s: %s", name, s)
			}
		}
	}
	for _, name := range ConditionTypes() {
		if s, _, _ := ConditionStatus(name); s != Implemented {
			t.Errorf("condition %s: %s", name, s)
		}
	}
}

func TestOperatorConditions(t *testing.T) {
	op := func(typ, src, conds string) string {
		return tf(typ, `{"object":{"source_key":"`+src+`"},"conditions":[`+conds+`]}`)
	}
	isX := `{"type":"string_equal_to","settings":{"value":"x"}}`
	hasX := `{"type":"string_contains","settings":{"value":"x"}}`
	runCondCases(t, []condCase{
		{name: "all missing fails", cfg: op("meta_all", "a", isX), in: `{}`, want: false},
		{name: "none missing fails", cfg: op("meta_none", "a", isX), in: `{}`, want: false},
		{name: "any missing fails", cfg: op("meta_any", "a", isX), in: `{}`, want: false},
		{name: "all empty array passes", cfg: op("all", "a", isX), in: `{"a":[]}`, want: true},
		{name: "none empty array passes", cfg: op("none", "a", isX), in: `{"a":[]}`, want: true},
		{name: "any empty array fails", cfg: op("any", "a", isX), in: `{"a":[]}`, want: false},
		{name: "all elements", cfg: op("all", "a", isX), in: `{"a":["x","x"]}`, want: true},
		{name: "all one differs", cfg: op("all", "a", isX), in: `{"a":["x","y"]}`, want: false},
		{name: "any one", cfg: op("any", "a", isX), in: `{"a":["y","x"]}`, want: true},
		{name: "scalar is one element", cfg: op("all", "a", isX), in: `{"a":"x"}`, want: true},
		{name: "none scalar looks at the whole data", cfg: op("none", "a", hasX), in: `{"a":"y","b":"x"}`, want: false},
		{name: "none elements", cfg: op("none", "a", isX), in: `{"a":["y","z"]}`, want: true},
	})
}

// TestSubdomainQuirks: network_domain_subdomain removes the first
// ".<registered domain>" from the name, wherever it is, as Substation's
// strings.Replace does.
func TestSubdomainQuirks(t *testing.T) {
	ab := `{"object":{"source_key":"a","target_key":"b"}}`
	runTextCases(t, []textCase{
		{"repeated domain", tf("network_domain_subdomain", ab), []string{`{"a":"b.com.b.com"}`}, []string{`ERR: no subdomain`}},
		{"domain inside", tf("network_domain_subdomain", ab), []string{`{"a":"x.b.com.y.b.com"}`}, []string{`{"a":"x.b.com.y.b.com","b":"x.y.b.com"}`}},
		{"label ending like the domain", tf("network_domain_subdomain", ab), []string{`{"a":"ab.com.b.com"}`}, []string{`{"a":"ab.com.b.com","b":"ab.com"}`}},
		{"plain", tf("network_domain_subdomain", `{}`), []string{`a.b.c.example.org`}, []string{`a.b.c`}},
	})
}

// TestSubdomainMatchesReplace compares network_domain_subdomain with the
// strings.Replace formulation Substation uses, over tricky names.
func TestSubdomainMatchesReplace(t *testing.T) {
	p, err := Compile([]json.RawMessage{json.RawMessage(tf("network_domain_subdomain", `{}`))})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"b.com.b.com", "x.b.com.y.b.com", "ab.com.b.com", "com.b.com", "a.co.uk", "x.a.co.uk",
		"a.b.c.d.example.org", ".b.com", "b.com.", "b.com..b.com", "x.y.s3.amazonaws.com", "a.b.a.b.a.b", "localhost", "xn--bcher-kva.example"} {
		var want string
		d, err := publicsuffix.EffectiveTLDPlusOne(name)
		if err == nil {
			want = strings.Replace(name, "."+d, "", 1)
			if want == d {
				want = "ERR"
			}
		} else {
			want = "ERR"
		}
		res, err := p.Process(context.Background(), []engine.Record{{Data: []byte(name)}})
		if err != nil {
			t.Fatal(err)
		}
		got := "ERR"
		if res[0].Status == engine.StatusOK {
			got = string(res[0].Outputs[0].Data)
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
}
