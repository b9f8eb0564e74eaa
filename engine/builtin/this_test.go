package builtin_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin"
)

// "@this" of a document no step changed is the record's bytes exactly, as
// gjson gives them: its hash is the hash of the record as it came, and as
// a string it is the record's text, whitespace and escapes included.
func TestThisKeepsRecordBytes(t *testing.T) {
	p, err := builtin.Compile([]json.RawMessage{
		json.RawMessage(`{"type":"hash_sha256","settings":{"object":{"source_key":"@this","target_key":"meta h"}}}`),
		json.RawMessage(`{"type":"object_to_string","settings":{"object":{"source_key":"@this","target_key":"meta o"}}}`),
		json.RawMessage(`{"type":"object_insert","settings":{"object":{"target_key":"x"},"value":1}}`),
		json.RawMessage(`{"type":"hash_sha256","settings":{"object":{"source_key":"@this","target_key":"meta h2"}}}`),
		json.RawMessage(`{"type":"object_copy","settings":{"object":{"source_key":"meta @this"}}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := "{ \"a\" : \"\\u00e9\",\n  \"b\": [1, 2.50] }"
	res, err := p.Process(context.Background(), []engine.Record{{Data: []byte(rec)}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != engine.StatusOK {
		t.Fatalf("%+v", res[0])
	}
	var got struct{ H, O, H2 string }
	if err := json.Unmarshal(res[0].Outputs[0].Data, &got); err != nil {
		t.Fatal(err)
	}
	hash := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	if got.H != hash(rec) || got.O != rec {
		t.Errorf("unchanged record: hash %s original %q, want %s %q", got.H, got.O, hash(rec), rec)
	}
	// Once changed, "@this" is the document as it now serializes.
	if want := hash(`{"a":"\u00e9","b":[1,2.50],"x":1}`); got.H2 != want {
		t.Errorf("changed record: hash %s, want %s", got.H2, want)
	}
}

// A key written "\@name" (gjson's escape, as ECS's @timestamp needs) is
// the key "@name", natively: set, read, delete, nested.
func TestEscapedAtKey(t *testing.T) {
	for _, tc := range []struct {
		name, transform, in, want string
	}{
		{"set", `{"type":"object_copy","settings":{"object":{"source_key":"t","target_key":"\\@timestamp"}}}`, `{"t":"x"}`, `{"t":"x","@timestamp":"x"}`},
		{"set nested", `{"type":"object_copy","settings":{"object":{"source_key":"t","target_key":"a.\\@b"}}}`, `{"t":1}`, `{"t":1,"a":{"@b":1}}`},
		{"read", `{"type":"object_copy","settings":{"object":{"source_key":"a.\\@b","target_key":"c"}}}`, `{"a":{"@b":[1]}}`, `{"a":{"@b":[1]},"c":[1]}`},
		{"delete", `{"type":"object_delete","settings":{"object":{"source_key":"\\@timestamp"}}}`, `{"@timestamp":1,"k":2}`, `{"k":2}`},
		{"meta", `{"type":"object_copy","settings":{"object":{"source_key":"t","target_key":"meta \\@t"}}}`, `{"t":"x"}`, `{"t":"x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := builtin.Compile([]json.RawMessage{json.RawMessage(tc.transform)})
			if err != nil {
				t.Fatal(err)
			}
			res, err := p.Process(context.Background(), []engine.Record{{Data: []byte(tc.in)}})
			if err != nil {
				t.Fatal(err)
			}
			if r := res[0]; r.Status != engine.StatusOK || string(r.Outputs[0].Data) != tc.want {
				t.Errorf("got %+v (%s), want %s", r, r.Outputs[0].Data, tc.want)
			}
		})
	}
}
