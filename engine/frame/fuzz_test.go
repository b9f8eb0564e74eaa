package frame

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/valyala/fastjson"
)

// addGoldenSeeds adds every golden frame as a seed.
func addGoldenSeeds(f *testing.F, add func(b []byte)) {
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*.bin"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil && len(b) < 1<<16 {
			add(b)
		}
	}
}

// escapedTwice reports whether an object of d holds a key twice, the
// first time escaped.
func escapedTwice(d *Doc) bool {
	for o := range d.tape {
		if d.tape[o].kind != Object {
			continue
		}
		seen := map[string]bool{} // key -> its first occurrence is escaped
		for _, r := range d.keys[d.tape[o].keys+1:][:d.keys[d.tape[o].keys].start] {
			k := string(d.StringBytes(int(r.j)))
			if esc, ok := seen[k]; ok && esc {
				return true
			} else if !ok {
				seen[k] = r.n == escapedKey
			}
		}
	}
	return false
}

// FuzzReadInput: decoding never panics, and a frame that decodes encodes
// back to a frame that decodes to the same values.
func FuzzReadInput(f *testing.F) {
	addGoldenSeeds(f, func(b []byte) { f.Add(b) })
	f.Add(encodeInput(FlagViews, []string{"a"}, []rec{{data: "{}", views: []View{{Type: String, Raw: []byte("x")}}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		flags, paths, recs, err := decodeInput(b)
		if err != nil {
			return
		}
		again := encodeInput(flags, paths, recs)
		flags2, paths2, recs2, err := decodeInput(again)
		if err != nil {
			t.Fatalf("re-encoded frame does not decode: %v", err)
		}
		if flags2 != flags || !reflect.DeepEqual(paths2, paths) || !reflect.DeepEqual(recs2, recs) {
			t.Fatalf("round trip changed the frame")
		}
		// Only the reserved record flags may differ.
		if len(again) != len(b) {
			t.Fatalf("re-encoded frame is %d bytes, was %d", len(again), len(b))
		}
	})
}

// FuzzReadOutput: decoding never panics, and a frame that decodes encodes
// back to the same bytes.
func FuzzReadOutput(f *testing.F) {
	addGoldenSeeds(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, b []byte) {
		outs, err := decodeOutput(b, -1)
		if err != nil {
			return
		}
		again := encodeOutput(outs)
		if len(b) >= HeaderSize {
			// Reserved header bytes are not kept.
			b = append(bytes.Clone(b[:6]), b[6:]...)
			copy(b[6:8], []byte{0, 0})
			copy(b[12:16], []byte{0, 0, 0, 0})
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("round trip changed the frame:\n%x\n%x", b, again)
		}
	})
}

// FuzzApply: applying any op list to any input never panics, and a
// successful result is valid JSON.
func FuzzApply(f *testing.F) {
	var o Ops
	o.CopyString("@timestamp", "eventTime")
	o.Copy("a.b", "list.0")
	o.SetJSON("j", []byte(`{"x":[1,2,{"y":null}]}`))
	o.SetString(`k\.e\\y`, "v\x00\xff")
	o.SetInt("n", -1)
	o.SetOriginal("o")
	o.SetDigest("h", DigestMD5)
	o.Delete("a")
	f.Add(byte(OutputOps), o.B, []byte(`{"eventTime":"t","list":[{"z":1}]}`))
	f.Add(byte(OutputEdit), o.B, []byte(`{"a":{"b":1},"n":01}`))
	f.Add(byte(OutputEdit), []byte{OpDelete, 1, 0, 0, 0, 'a'}, []byte(`[1]`))
	// Lists that succeed: copies of plain and escaped strings, objects,
	// an edit.
	var ok Ops
	ok.CopyString("@timestamp", "eventTime")
	ok.CopyString("e", "esc")
	ok.Copy("a.b", "list.0")
	ok.Copy("c", "esc")
	ok.SetJSON("j", []byte(`{"x":[1,2,{"y":null}]}`))
	ok.SetOriginal("o")
	f.Add(byte(OutputOps), ok.B, []byte(`{"eventTime":"t","esc":"\u00e9\n\"","list":[{"z":1.5e3}]}`))
	f.Add(byte(OutputEdit), ok.B, []byte(` {"list":[{"z":true}],"eventTime":"x","a":{"keep":[null]}} `))
	var a Applier // reused across inputs, as a host does
	tree := Applier{treeOnly: true}
	var p fastjson.Parser
	var d Doc
	f.Fuzz(func(t *testing.T, kind byte, ops, input []byte) {
		a.Max, a.cool = 0, 0 // streaming tried on every input
		out, err := a.Apply(nil, kind, ops, input, nil)
		// Streamed (see Applier.stream) or built as a tree: the same
		// document, or the same error.
		tree.Max = 0
		if out1, err1 := tree.Apply(nil, kind, ops, input, nil); !bytes.Equal(out, out1) || fmt.Sprint(err) != fmt.Sprint(err1) {
			t.Fatalf("streamed: %s, %v; as a tree: %s, %v", out, err, out1, err1)
		}
		if n := QuotedLen(input); n != len(AppendString(nil, input)) {
			t.Fatalf("QuotedLen %d, AppendString wrote %d bytes", n, len(AppendString(nil, input)))
		}
		// The input parsed by fastjson (as the Go SDK passes it) gives
		// the same document as Doc's parse, but where a key is held
		// twice, escaped first (Doc reads the first, fastjson the plain).
		if v, perr := p.ParseBytes(input); perr == nil && d.Parse(input) == nil && !escapedTwice(&d) {
			out2, err2 := a.Apply(nil, kind, ops, input, v)
			if (err == nil) != (err2 == nil) || !bytes.Equal(out, out2) {
				t.Fatalf("Doc: %s, %v; fastjson: %s, %v", out, err, out2, err2)
			}
		}
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON: %s", out)
		}
		// The document fits a budget of its own size, not one byte less.
		a.Max, a.cool = len(out), 0
		if again, err := a.Apply(nil, kind, ops, input, nil); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("Max = %d: %v", len(out), err)
		}
		a.Max, a.cool = len(out)-1, 0
		if _, err := a.Apply(nil, kind, ops, input, nil); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Max = %d, one byte less than the document: %v", len(out)-1, err)
		}
	})
}
