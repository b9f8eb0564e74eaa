package builtin_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
)

// outcome renders a batch's results compactly: per record, "ok:" and its
// outputs, "joined" (no output of its own: another record's Result.Joined
// names it), "dropped", or "failed:" and the error.
func outcome(res []engine.Result) []string {
	joined := map[int]bool{}
	for _, r := range res {
		for _, j := range r.Joined {
			joined[j] = true
		}
	}
	var out []string
	for i, r := range res {
		switch {
		case r.Status == engine.StatusFailed:
			out = append(out, "failed: "+r.Err.Error())
		case r.Status == engine.StatusDropped:
			out = append(out, "dropped")
		case len(r.Outputs) == 0 && joined[i]:
			out = append(out, "joined")
		default:
			var s []string
			for _, o := range r.Outputs {
				s = append(s, string(o.Data))
			}
			out = append(out, "ok: "+strings.Join(s, " | "))
		}
	}
	return out
}

func runPlan(t *testing.T, transforms string, inputs ...string) []string {
	t.Helper()
	var raws []json.RawMessage
	if err := json.Unmarshal([]byte(transforms), &raws); err != nil {
		t.Fatalf("transforms: %v", err)
	}
	p, err := builtin.Compile(raws)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	recs := make([]engine.Record, len(inputs))
	for i, in := range inputs {
		recs[i] = engine.Record{Data: []byte(in)}
	}
	res, err := p.Process(context.Background(), recs)
	if err != nil {
		t.Fatalf("process: %v", err)
	}
	return outcome(res)
}

type dataCase struct {
	name       string
	transforms string
	in         []string
	want       []string // per record; "failed: <substring>"
}

func runCases(t *testing.T, cases []dataCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := runPlan(t, tc.transforms, tc.in...)
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for i := range got {
				w := tc.want[i]
				if strings.HasPrefix(w, "failed: ") && strings.HasPrefix(got[i], "failed: ") {
					if !strings.Contains(got[i], strings.TrimPrefix(w, "failed: ")) {
						t.Errorf("record %d: got %q, want an error containing %q", i, got[i], w)
					}
					continue
				}
				if got[i] != w {
					t.Errorf("record %d: got %q, want %q", i, got[i], w)
				}
			}
		})
	}
}

func TestTimeTransforms(t *testing.T) {
	runCases(t, []dataCase{
		{"from_string object", `[{"type":"time_from_string","settings":{"object":{"source_key":"t","target_key":"n"},"format":"2006-01-02 15:04:05"}}]`,
			[]string{`{"t":"2021-12-19 01:31:30"}`}, []string{`ok: {"t":"2021-12-19 01:31:30","n":1639877490000000000}`}},
		{"from_string location", `[{"type":"time_from_string","settings":{"format":"2006-01-02 15:04","location":"Asia/Tokyo"}}]`,
			[]string{`2021-12-19 10:31`}, []string{`ok: 1639877460000000000`}},
		{"from_string layout zone wins", `[{"type":"time_from_string","settings":{"format":"2006-01-02T15:04:05Z07:00","location":"Asia/Tokyo"}}]`,
			[]string{`2021-12-19T01:31:30Z`}, []string{`ok: 1639877490000000000`}},
		{"from_string bad input fails the record", `[{"type":"time_from_string","settings":{"format":"2006-01-02"}}]`,
			[]string{`yesterday`, `2021-12-19`}, []string{`failed: step 0 (time_from_string): format 2006-01-02: parsing time`, `ok: 1639872000000000000`}},
		{"missing source unchanged", `[{"type":"time_to_unix","settings":{"object":{"source_key":"x","target_key":"y"}}}]`,
			[]string{`{"a":1}`}, []string{`ok: {"a":1}`}},
		{"to_string location", `[{"type":"time_to_string","settings":{"object":{"source_key":"n","target_key":"s"},"format":"2006-01-02T15:04:05-07:00","location":"America/New_York"}}]`,
			[]string{`{"n":1639877490000000000}`}, []string{`ok: {"n":1639877490000000000,"s":"2021-12-18T20:31:30-05:00"}`}},
		{"to_string UTC by default", `[{"type":"time_to_string","settings":{"format":"Mon Jan 2 15:04:05 2006"}}]`,
			[]string{`1639877490000000000`}, []string{`ok: Sun Dec 19 01:31:30 2021`}},
		{"from_unix string number", `[{"type":"time_from_unix","settings":{"object":{"source_key":"a","target_key":"a"}}}]`,
			[]string{`{"a":"1639877490"}`}, []string{`ok: {"a":1639877490000000000}`}},
		{"to_unix_milli", `[{"type":"time_to_unix_milli","settings":{"object":{"source_key":"a","target_key":"b"}}}]`,
			[]string{`{"a":1639877490123456789}`}, []string{`ok: {"a":1639877490123456789,"b":1639877490123}`}},
		{"from_unix_milli data", `[{"type":"time_from_unix_milli"}]`, []string{`1639877490123`}, []string{`ok: 1639877490123000000`}},
	})
}

func TestTimeNow(t *testing.T) {
	got := runPlan(t, `[{"type":"time_now","settings":{"object":{"target_key":"now"}}},
		{"type":"time_to_string","settings":{"object":{"source_key":"now","target_key":"year"},"format":"2006"}}]`, `{}`)
	var v struct {
		Now  int64  `json:"now"`
		Year string `json:"year"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(got[0], "ok: ")), &v); err != nil {
		t.Fatalf("%q: %v", got, err)
	}
	if v.Now < 1600000000000000000 || len(v.Year) != 4 {
		t.Errorf("time_now wrote %q", got[0])
	}
}

func TestTimeSettingsErrors(t *testing.T) {
	for _, tc := range []struct{ cfg, want string }{
		{`{"type":"time_from_string","settings":{}}`, "format is required"},
		{`{"type":"time_to_string","settings":{"format":"2006","location":"Mars/Olympus"}}`, "location: unknown time zone Mars/Olympus"},
		{`{"type":"time_to_unix","settings":{"object":{"source_key":"a"}}}`, "go together"},
		{`{"type":"hash_sha256","settings":{"object":{"target_key":"a"}}}`, "go together"},
		{`{"type":"object_jq","settings":{"filter":".a |"}}`, "transforms[0] (object_jq): settings: filter:"},
		{`{"type":"object_jq","settings":{}}`, "filter is required"},
		{`{"type":"aggregate_to_string","settings":{}}`, "separator is required"},
		{`{"type":"aggregate_from_string","settings":{}}`, "separator is required"},
		{`{"type":"aggregate_to_array","settings":{"batch":{"duration":"soon"}}}`, "batch.duration"},
		{`{"type":"meta_retry","settings":{}}`, "not supported by weir"},
		{`{"type":"utility_secret","settings":{}}`, "not supported by weir"},
	} {
		_, err := builtin.Compile([]json.RawMessage{json.RawMessage(tc.cfg)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestHashTransforms(t *testing.T) {
	runCases(t, []dataCase{
		{"sha256 of a number's JSON", `[{"type":"hash_sha256","settings":{"object":{"source_key":"n","target_key":"h"}}}]`,
			[]string{`{"n":42}`}, []string{`ok: {"n":42,"h":"73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049"}`}},
		{"md5 into metadata then back", `[{"type":"hash_md5","settings":{"object":{"source_key":"a","target_key":"meta h"}}},
			{"type":"object_copy","settings":{"object":{"source_key":"meta h","target_key":"h"}}}]`,
			[]string{`{"a":"b"}`}, []string{`ok: {"a":"b","h":"92eb5ffee6ae2fec3ad71c777531578f"}`}},
		{"sha256 of the empty data", `[{"type":"hash_sha256"}]`, []string{``}, []string{`ok: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855`}},
	})
}

func gz(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func TestFormatTransforms(t *testing.T) {
	runCases(t, []dataCase{
		{"base64 url and unpadded", `[{"type":"format_from_base64"}]`, []string{`Pz8_`, `YQ`}, []string{`ok: ???`, `ok: a`}},
		{"base64 invalid fails the record", `[{"type":"format_from_base64"}]`, []string{`!!!`}, []string{`failed: base64: illegal base64 data`}},
		{"base64 binary into a key fails", `[{"type":"format_from_base64","settings":{"object":{"source_key":"a","target_key":"b"}}}]`,
			[]string{`{"a":"//79"}`}, []string{`failed: cannot write binary as object`}},
		{"base64 JSON into a key nests", `[{"type":"format_from_base64","settings":{"object":{"source_key":"a","target_key":"b"}}}]`,
			[]string{`{"a":"eyJ4IjoxfQ=="}`}, []string{`ok: {"a":"eyJ4IjoxfQ==","b":{"x":1}}`}},
		{"base64 round trip", `[{"type":"format_to_base64","settings":{"object":{"source_key":"a","target_key":"a"}}},{"type":"format_from_base64","settings":{"object":{"source_key":"a","target_key":"a"}}}]`,
			[]string{`{"a":"héllo"}`}, []string{`ok: {"a":"héllo"}`}},
		{"gzip round trip", `[{"type":"format_to_gzip"},{"type":"format_from_gzip"}]`, []string{`{"a":1}`}, []string{`ok: {"a":1}`}},
		{"gunzip", `[{"type":"format_from_gzip"}]`, []string{gz("line1\nline2")}, []string{"ok: line1\nline2"}},
		{"gunzip not gzip fails the record", `[{"type":"format_from_gzip"}]`, []string{`plain`, gz("x")}, []string{`failed: gzip:`, `ok: x`}},
		{"pretty print over records", `[{"type":"format_from_pretty_print"}]`,
			[]string{`{`, `  "a": "}{",`, `  "b": [1, {"c": 2}]`, `}  {"d":`, `3}`},
			[]string{`ok: {"a":"}{","b":[1,{"c":2}]}`, `dropped`, `dropped`, `ok: {"d":3}`, `dropped`}},
		{"pretty print open at the end fails where it began", `[{"type":"format_from_pretty_print"}]`,
			[]string{`{"a":1}`, `{`, `"b": 2`}, []string{`ok: {"a":1}`, `failed: JSON object not closed at the end of the batch`, `dropped`}},
		{"pretty print garbage", `[{"type":"format_from_pretty_print"}]`, []string{`x{}`}, []string{`failed: byte offset 0: 'x' outside a JSON object`}},
	})
}

func TestFormatFromZip(t *testing.T) {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, f := range []struct{ name, body string }{{"dir/", ""}, {"dir/a.json", `{"a":1}`}, {"empty", ""}, {"b.txt", `{"b":"bee"}`}} {
		fw, err := w.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(f.body))
	}
	w.Close()
	runCases(t, []dataCase{
		{"files in order, metadata kept", `[{"type":"object_insert","settings":{"object":{"target_key":"meta k"},"value":"v"}},
			{"type":"format_from_zip"},{"type":"object_copy","settings":{"object":{"source_key":"meta k","target_key":"k"}}}]`,
			[]string{b.String(), "not a zip"}, []string{`ok: {"a":1,"k":"v"} | {"b":"bee","k":"v"}`, `failed: zip: not a valid zip file`}},
	})
}

func TestFormatFromParquet(t *testing.T) {
	type row struct {
		Name string `parquet:"name"`
		Age  int64  `parquet:"age"`
	}
	var b bytes.Buffer
	if err := parquet.Write(&b, []row{{"Alice", 30}, {"Bob", 25}, {"Carol", 41}}); err != nil {
		t.Fatal(err)
	}
	runCases(t, []dataCase{
		{"rows", `[{"type":"format_from_parquet"}]`, []string{b.String(), `{}`},
			[]string{`ok: {"age":30,"name":"Alice"} | {"age":25,"name":"Bob"} | {"age":41,"name":"Carol"}`, `failed: parquet:`}},
	})
}

func TestObjectJQ(t *testing.T) {
	runCases(t, []dataCase{
		{"object result, keys sorted", `[{"type":"object_jq","settings":{"filter":"{z: .a, b: (.n + 1)}"}}]`,
			[]string{`{"a":"x","n":1}`}, []string{`ok: {"b":2,"z":"x"}`}},
		{"several results make an array", `[{"type":"object_jq","settings":{"filter":".[]"}}]`,
			[]string{`[1,2]`}, []string{`ok: [1,2]`}},
		{"no result fails", `[{"type":"object_jq","settings":{"filter":"empty"}}]`, []string{`{}`}, []string{`failed: no output generated`}},
		{"runtime error fails the record only", `[{"type":"object_jq","settings":{"filter":".a + 1"}}]`,
			[]string{`{"a":"s"}`, `{"a":1}`}, []string{`failed: cannot add`, `ok: 2`}},
		{"not JSON fails", `[{"type":"object_jq","settings":{"filter":"."}}]`, []string{`nope`}, []string{`failed: data is not JSON`}},
	})
}

func TestAggregateTransforms(t *testing.T) {
	recs := []string{`{"k":"x","n":1}`, `{"k":"y","n":2}`, `{"k":"x","n":3}`, `{"k":"x","n":4}`}
	runCases(t, []dataCase{
		{"to_array credits the first record of each aggregate", `[{"type":"aggregate_to_array","settings":{"object":{"batch_key":"k"},"batch":{"count":2}}}]`,
			recs, []string{`ok: [{"k":"x","n":1},{"k":"x","n":3}]`, `ok: [{"k":"y","n":2}]`, `joined`, `ok: [{"k":"x","n":4}]`}},
		{"to_array target key, metadata dropped", `[{"type":"object_insert","settings":{"object":{"target_key":"meta m"},"value":1}},
			{"type":"aggregate_to_array","settings":{"object":{"target_key":"a.b"}}},
			{"type":"object_copy","settings":{"object":{"source_key":"meta m","target_key":"m"}}}]`,
			[]string{`"s"`, `x`, "\xff"}, []string{`ok: {"a":{"b":["\"s\"","x","/w=="]}}`, `joined`, `joined`}},
		{"to_string inside meta_switch spans the batch", `[{"type":"meta_switch","settings":{"cases":[
			{"condition":{"type":"string_equal_to","settings":{"object":{"source_key":"k"},"value":"x"}},
			 "transforms":[{"type":"aggregate_to_string","settings":{"separator":";"}}]}]}}]`,
			recs, []string{`ok: {"k":"x","n":1};{"k":"x","n":3};{"k":"x","n":4}`, `ok: {"k":"y","n":2}`, `joined`, `joined`}},
		{"record larger than batch.size fails alone (the open group is emitted first, as in Substation)", `[{"type":"aggregate_to_string","settings":{"separator":",","batch":{"size":10}}}]`,
			[]string{`abc`, `0123456789ab`, `de`}, []string{`ok: abc`, `failed: record of 12 bytes is larger than batch.size (10 bytes)`, `ok: de`}},
		{"from_array then to_array round trip", `[{"type":"aggregate_from_array"},{"type":"aggregate_to_array"}]`,
			[]string{`[{"a":1},{"b":2}]`, `[3]`}, []string{`ok: [{"a":1},{"b":2},"3"]`, `joined`}},
		{"from_array passes non-arrays", `[{"type":"aggregate_from_array","settings":{"object":{"source_key":"x"}}}]`,
			[]string{`{"y":1}`, `{"x":[{"a":1},{"a":2,"y":3}],"y":1}`}, []string{`ok: {"y":1}`, `ok: {"y":1,"a":1} | {"y":3,"a":2}`}},
		{"from_string", `[{"type":"aggregate_from_string","settings":{"separator":"\n"}}]`,
			[]string{"a\nb\n", "c"}, []string{"ok: a | b | ", "ok: c"}},
	})
}

// TestAggregateConcurrentBatches checks that the state of an aggregate
// belongs to its batch: concurrent Process calls on one plan never mix
// records.
func TestAggregateConcurrentBatches(t *testing.T) {
	p, err := builtin.Compile([]json.RawMessage{json.RawMessage(`{"type":"aggregate_to_string","settings":{"separator":","}}`)})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			want := strings.Repeat(fmt.Sprint(g), 1) + strings.Repeat(","+fmt.Sprint(g), 49)
			for i := 0; i < 200; i++ {
				recs := make([]engine.Record, 50)
				for j := range recs {
					recs[j] = engine.Record{Data: []byte(fmt.Sprint(g))}
				}
				res, err := p.Process(context.Background(), recs)
				if err != nil {
					errs <- err
					return
				}
				if got := string(res[0].Outputs[0].Data); got != want {
					errs <- fmt.Errorf("goroutine %d: got %q", g, got)
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestTestMessage(t *testing.T) {
	runCases(t, []dataCase{
		{"object value, after the last record", `[{"type":"test_message","settings":{"value":{"a":1}}}]`,
			[]string{`x`, `y`}, []string{`ok: x`, `ok: y | {"a":1}`}},
		{"string value", `[{"type":"test_message","settings":{"value":"hi"}},{"type":"string_to_upper"}]`,
			[]string{`x`}, []string{`ok: X | HI`}},
	})
}

func TestObjectToString(t *testing.T) {
	runCases(t, []dataCase{
		{"object as written", `[{"type":"object_to_string","settings":{"object":{"source_key":"a","target_key":"s"}}}]`,
			[]string{`{"a":{"b": 1,  "c":[1, 2]}}`}, []string{`ok: {"a":{"b":1,"c":[1,2]},"s":"{\"b\": 1,  \"c\":[1, 2]}"}`}},
		{"after an edit, as serialized", `[{"type":"object_insert","settings":{"object":{"target_key":"x"},"value":1}},
			{"type":"object_to_string","settings":{"object":{"source_key":"a","target_key":"a"}}}]`,
			[]string{`{"a":[1, {"b": 2}]}`}, []string{`ok: {"a":"[1,{\"b\":2}]","x":1}`}},
		{"scalars", `[{"type":"object_to_string","settings":{"object":{"source_key":"a","target_key":"a"}}}]`,
			[]string{`{"a":1.50}`, `{"a":true}`, `{"a":"s"}`}, []string{`ok: {"a":"1.50"}`, `ok: {"a":"true"}`, `ok: {"a":"s"}`}},
	})
}
