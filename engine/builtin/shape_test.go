package builtin

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/weirhq/weir/engine"
)

func TestPerValue(t *testing.T) {
	upper := func(in, dst []byte) ([]byte, error) {
		if bytes.Equal(in, []byte("bad")) {
			return dst, errors.New("bad input")
		}
		return append(dst, bytes.ToUpper(in)...), nil
	}
	plan := func(o ObjectSettings) *Plan {
		tf, err := PerValue(o, upper)
		if err != nil {
			t.Fatal(err)
		}
		return &Plan{steps: &Steps{steps: []step{{label: "step 0 (test_upper)", t: tf}}}}
	}
	for _, tc := range []struct {
		name string
		o    ObjectSettings
		in   string
		want string
		err  string
	}{
		{name: "value", o: ObjectSettings{SourceKey: "a", TargetKey: "b"}, in: `{"a":"x\u00e9"}`, want: `{"a":"x\u00e9","b":"XÉ"}`},
		{name: "json result nests", o: ObjectSettings{SourceKey: "a", TargetKey: "b"}, in: `{"a":"[\"q\"]"}`, want: `{"a":"[\"q\"]","b":["Q"]}`},
		{name: "missing", o: ObjectSettings{SourceKey: "z", TargetKey: "b"}, in: `{"a":"x"}`, want: `{"a":"x"}`},
		{name: "data", in: `hello`, want: `HELLO`},
		{name: "error", o: ObjectSettings{SourceKey: "a", TargetKey: "b"}, in: `{"a":"bad"}`, err: "step 0 (test_upper): bad input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(tc.o)
			p.pool.New = func() any { return &batch{} }
			res, err := p.Process(context.Background(), []engine.Record{{Data: []byte(tc.in)}, {Data: []byte(tc.in)}})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if tc.err != "" {
					if r.Err == nil || r.Err.Error() != tc.err {
						t.Fatalf("err %v, want %s", r.Err, tc.err)
					}
					continue
				}
				if r.Err != nil || string(r.Outputs[0].Data) != tc.want {
					t.Fatalf("got %+v, want %s", r, tc.want)
				}
			}
		})
	}
	if _, err := PerValue(ObjectSettings{SourceKey: "a"}, upper); err == nil {
		t.Error("source_key without target_key accepted")
	}
}
