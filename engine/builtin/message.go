package builtin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
	"github.com/valyala/fastjson"
	"github.com/weirhq/weir/engine/frame"
)

// metaPrefix marks a key path that addresses a message's metadata instead
// of its data, as in Substation ("meta foo.bar").
const metaPrefix = "meta "

// ErrNotJSON is returned when a key path is set or deleted on a message
// whose data (or metadata) is not a JSON document.
var ErrNotJSON = errors.New("not a JSON document")

// Message is one record in flight through a plan: its data, parsed at most
// once into a mutable JSON tree, and its metadata (a JSON object, empty at
// the start, addressed by keys prefixed "meta ").
//
// A Message is only valid during the Process call that made it: its tree
// lives in memory the plan reuses for the next batch. Transforms that need
// bytes beyond the call must copy them.
type Message struct {
	data   doc
	meta   doc
	b      *batch
	origin int // index of the input record it descends from; -1 for control
	// joined are the other input records whose data m carries (an
	// aggregate's records but its origin): engine.Result.Joined.
	joined []int
	ctrl   bool
	err    error
	// settled: the message left the steps of a chunked plan; its data is
	// serialized and its route read (routeName), its trees dropped.
	settled   bool
	routeName string
}

// doc is one JSON document: raw bytes and/or a parsed tree.
type doc struct {
	raw    []byte
	v      *fastjson.Value
	p      *fastjson.Parser
	parsed bool // v is valid (or the parse failed: v == nil)
	dirty  bool // v changed since raw was written
	// gen names v's current state: a number of the batch's (batch.next)
	// given when v is parsed or changed, 0 before. GetValue's lookups
	// are cached under it (keyInfo.v).
	gen uint64
}

// NewMessage returns a message derived from m (same origin record, same
// batch memory) holding data and m's metadata. Transforms that emit more
// than one message per input (aggregate_*, meta_for_each) use it.
func (m *Message) NewMessage(data []byte) *Message {
	n := m.b.newMessage(m.origin)
	n.data.raw = data
	n.joined = m.joined
	if mb := m.Metadata(); len(mb) > 0 {
		n.meta.raw = mb
	}
	return n
}

// IsControl reports whether m is the control message the plan sends
// through every step at the end of a batch (Substation's ctrl message):
// aggregating transforms flush on it; all others pass it on untouched.
func (m *Message) IsControl() bool { return m.ctrl }

// Fail marks m failed: the plan reports its input record failed with err
// (wrapped with the step's index and type) and drops m from the flow. A
// transform calls Fail and still returns m in its output.
func (m *Message) Fail(err error) { m.err = err }

// Err returns the error set by Fail.
func (m *Message) Err() error { return m.err }

// Origin returns the index, in the batch given to Process, of the input
// record m descends from (-1 for the control message).
func (m *Message) Origin() int { return m.origin }

// Data returns m's data, serialized if it was changed. The bytes are valid
// until m changes.
func (m *Message) Data() []byte { return m.b.serialize(&m.data) }

// SetData replaces m's data. The bytes are kept, not copied; Values read
// from the old data stay valid until the batch ends.
func (m *Message) SetData(b []byte) *Message {
	m.data = doc{raw: b}
	return m
}

// Metadata returns m's metadata (nil when empty).
func (m *Message) Metadata() []byte { return m.b.serialize(&m.meta) }

// SetMetadata replaces m's metadata.
func (m *Message) SetMetadata(b []byte) *Message {
	m.meta = doc{raw: b}
	return m
}

// target resolves a key path to its document and the path inside it.
func (m *Message) target(key string) (*doc, string) {
	e := m.resolve(key)
	return e.doc(m), e.path
}

// GetValue returns the value at a Substation key path: a gjson path into
// the data, or into the metadata when prefixed "meta ". "@this" (or an
// empty path after "meta ") is the whole document. A missing value, or a
// document that is not JSON, gives a Value whose Exists is false.
func (m *Message) GetValue(key string) Value {
	e := m.resolve(key)
	d := e.doc(m)
	if e.simple && d.gen != 0 && e.vdoc == d && e.vgen == d.gen {
		return Value{v: e.v} // read before, d unchanged since
	}
	v := m.b.tree(d)
	if v == nil {
		return Value{}
	}
	if !e.simple {
		if e.path == "@this" {
			if !d.dirty {
				return Value{v: v, raw: d.raw}
			}
			return Value{v: v}
		}
		return m.b.gjsonGet(d, e.path)
	}
	r := lookupSegs(v, e.segs)
	e.vdoc, e.vgen, e.v = d, d.gen, r
	return Value{v: r}
}

// SetValue sets the value at key to a copy of v, with Substation's
// conversions: a number that is integral is written as an integer, a
// string holding a JSON object or array is written as that object or
// array (SetText). Setting a missing Value sets null.
func (m *Message) SetValue(key string, v Value) error {
	if k, c := kindText(v.v); k == kString && (c == '{' || c == '[') {
		m.b.num = v.v.MarshalTo(m.b.num[:0])
		return m.SetText(key, unquote(m.b.num))
	}
	return m.set(key, m.b.clone(v.v, true))
}

// SetString sets s at key as a JSON string, always.
func (m *Message) SetString(key, s string) error {
	return m.set(key, m.b.newString(s))
}

// SetText sets s at key as Substation sets a Go string: a string holding
// a JSON object or array is set as that object or array, anything else
// as a JSON string.
func (m *Message) SetText(key, s string) error {
	if (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) && json.Valid([]byte(s)) {
		return m.SetRaw(key, []byte(s))
	}
	return m.set(key, m.b.newString(s))
}

// SetBytes sets bytes at key as Substation does: a JSON object or array
// is set as such, valid UTF-8 as a string, anything else as base64.
func (m *Message) SetBytes(key string, b []byte) error {
	if (bytes.HasPrefix(b, []byte("{")) || bytes.HasPrefix(b, []byte("["))) && json.Valid(b) {
		return m.SetRaw(key, b)
	}
	if len(b) <= 64 && isPlain(b) { // plain ASCII: valid UTF-8, nothing to escape
		start := len(m.b.scratch)
		m.b.scratch = append(m.b.scratch, '"')
		m.b.scratch = append(m.b.scratch, b...)
		m.b.scratch = append(m.b.scratch, '"')
		return m.set(key, m.b.arena.NewNumberString(m.b.scratchString(start)))
	}
	if !utf8.Valid(b) {
		return m.set(key, m.b.newString(base64.StdEncoding.EncodeToString(b)))
	}
	return m.set(key, m.b.newStringBytes(b))
}

// SetInt sets an integer at key.
func (m *Message) SetInt(key string, n int64) error {
	b := m.b
	start := len(b.scratch)
	b.scratch = strconv.AppendInt(b.scratch, n, 10)
	return m.set(key, b.arena.NewNumberString(b.scratchString(start)))
}

// SetUint sets an unsigned integer at key.
func (m *Message) SetUint(key string, n uint64) error {
	b := m.b
	start := len(b.scratch)
	b.scratch = strconv.AppendUint(b.scratch, n, 10)
	return m.set(key, b.arena.NewNumberString(b.scratchString(start)))
}

// SetFloat sets a number at key, written as Go's shortest decimal
// ('f' format), as sjson writes a float64.
func (m *Message) SetFloat(key string, f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("set %q: %v is not a JSON number", key, f)
	}
	return m.set(key, m.b.arena.NewNumberString(strconv.FormatFloat(f, 'f', -1, 64)))
}

// SetBool sets true or false at key.
func (m *Message) SetBool(key string, b bool) error {
	if b {
		return m.set(key, m.b.arena.NewTrue())
	}
	return m.set(key, m.b.arena.NewFalse())
}

// SetNull sets null at key.
func (m *Message) SetNull(key string) error { return m.set(key, m.b.arena.NewNull()) }

// SetRaw sets raw JSON at key. raw must be one valid JSON value and stay
// unchanged until the batch ends (it is parsed in place).
func (m *Message) SetRaw(key string, raw []byte) error {
	v, err := m.b.parser().ParseBytes(raw)
	if err != nil {
		return fmt.Errorf("set %q: %w", key, err)
	}
	return m.set(key, v)
}

// DeleteValue removes the value at key; a missing key is not an error.
func (m *Message) DeleteValue(key string) error {
	e := m.resolve(key)
	d, path := e.doc(m), e.path
	root := m.b.tree(d)
	if root == nil {
		if len(d.raw) == 0 {
			return nil
		}
		return fmt.Errorf("delete %q: %w", key, ErrNotJSON)
	}
	if !e.simple {
		return m.b.sjsonEdit(d, func(raw []byte) ([]byte, error) { return sjson.DeleteBytes(raw, path) })
	}
	segs := e.segs
	parent := lookupSegs(root, segs[:len(segs)-1])
	last := segs[len(segs)-1].name
	if parent == nil {
		return nil
	}
	if o := object(parent); o != nil {
		if o.Get(last) != nil {
			o.Del(last)
			d.dirty, d.gen = true, m.b.next()
		}
	} else if a, ok := array(parent); ok {
		if last == "-1" && len(a) > 0 {
			last = strconv.Itoa(len(a) - 1)
		}
		if i, ok := index(last); ok && i < len(a) {
			parent.Del(last)
			d.dirty, d.gen = true, m.b.next()
		}
	}
	return nil
}

func (m *Message) set(key string, v *fastjson.Value) error {
	e := m.resolve(key)
	d, path := e.doc(m), e.path
	if path == "" {
		return fmt.Errorf("set: empty key")
	}
	root := m.b.tree(d)
	if root == nil {
		if len(bytes.TrimSpace(d.raw)) != 0 {
			return fmt.Errorf("set %q: %w", key, ErrNotJSON)
		}
		root = m.b.arena.NewObject()
		d.v, d.parsed, d.gen = root, true, m.b.next()
	}
	if !e.simple {
		raw := v.MarshalTo(nil)
		return m.b.sjsonEdit(d, func(doc []byte) ([]byte, error) { return sjson.SetRawBytes(doc, path, raw) })
	}
	cur := root
	segs := e.segs
	for i := range segs {
		s := &segs[i]
		p := s.name
		more := i+1 < len(segs)
		var next *fastjson.Value
		if more {
			next = childSeg(cur, s)
			if m.b.isContainer(next) {
				cur = next
				continue
			}
			// Like sjson: an index makes an array, -1 only where nothing
			// is in the way; any other key makes an object.
			if np := &segs[i+1]; np.index >= 0 || (np.name == "-1" && next == nil) {
				next = m.b.arena.NewArray()
			} else {
				next = m.b.arena.NewObject()
			}
		} else {
			next = v
		}
		if o := object(cur); o != nil {
			setHinted(o, s, next)
		} else if a, ok := array(cur); ok {
			if p == "-1" {
				cur.SetArrayItem(len(a), next)
			} else if n, ok := index(p); ok {
				cur.SetArrayItem(n, next)
			} else {
				return fmt.Errorf("set %q: %q is not an index of an array", key, p)
			}
		} else {
			return fmt.Errorf("set %q: cannot set %q inside a value that is not an object or array", key, p)
		}
		cur = next
	}
	d.dirty, d.gen = true, m.b.next()
	return nil
}

// isSimplePath reports whether path is a plain dotted path (keys, array
// indices, -1) that the native tree handles; anything using gjson's
// syntax (modifiers, queries, wildcards, other escapes, pipes) is not.
// A key starting with an escaped '@' ("\\@timestamp", the usual way to
// name ECS's @timestamp) is plain: see segKey.
func isSimplePath(path string) bool {
	if path == "" {
		return false
	}
	for i := 0; i < len(path); i++ {
		if !pathSpecial[path[i]] {
			continue
		}
		switch path[i] {
		case '\\':
			if (i == 0 || path[i-1] == '.') && i+1 < len(path) && path[i+1] == '@' {
				i++
				continue
			}
			return false
		case '@', '#', '|', '*', '?', '(', ')', '!', '=', '<', '>', '%', '[', ']', '{', '}', ',', ':':
			return false
		case '.':
			if i == 0 || i == len(path)-1 || path[i-1] == '.' {
				return false
			}
		}
	}
	return true
}

// pathSpecial marks the bytes isSimplePath looks at; every other byte is
// part of a key.
var pathSpecial = func() (t [256]bool) {
	for _, c := range "\\@#|*?()!=<>%[]{},:." {
		t[c] = true
	}
	return t
}()

// segKey returns the object key a segment of a simple path names: the
// segment without the backslash of a leading "\\@".
func segKey(seg string) string {
	if len(seg) > 1 && seg[0] == '\\' {
		return seg[1:]
	}
	return seg
}

func index(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func (b *batch) isContainer(v *fastjson.Value) bool {
	if v == nil {
		return false
	}
	if object(v) != nil {
		return true
	}
	_, ok := array(v)
	return ok
}

// newString returns a string value for s. It is stored as its JSON text
// (quoted, escaped as engine/frame escapes) so that serialization writes
// it as is, like the strings of a parsed record, which keep their
// original bytes: fastjson's own string values would be re-escaped.
func (b *batch) newString(s string) *fastjson.Value {
	start := len(b.scratch)
	b.scratch = appendShort(b.scratch, unsafe.Slice(unsafe.StringData(s), len(s))) // read only: no copy
	return b.arena.NewNumberString(b.scratchString(start))
}

// newStringBytes is newString for bytes: the quoted text is written to
// the batch's scratch buffer and held as it is (no copy, no parse).
func (b *batch) newStringBytes(s []byte) *fastjson.Value {
	start := len(b.scratch)
	b.scratch = appendShort(b.scratch, s)
	return b.arena.NewNumberString(b.scratchString(start))
}

// scratchString returns the bytes of the batch's scratch buffer from
// start to its end as a string, without copying. This is safe because
// scratch is append-only during a batch (a function may truncate only
// what it appended itself) and everything made from it lives in the
// batch: a growing buffer leaves the old bytes where they were, and the
// buffer is reused only after Process has copied the outputs.
func (b *batch) scratchString(start int) string {
	if start == len(b.scratch) {
		return ""
	}
	return unsafe.String(&b.scratch[start], len(b.scratch)-start)
}

// appendJSON serializes v: keys in order, strings escaped as
// engine/frame does, numbers as their original text. Objects are read
// through the layout mirror (keypath.go): a parsed object's keys are
// still as the record wrote them (fastjson unescapes them on first use,
// which Visit would force), and a plain key reads the same either way,
// so it is copied as it is; a key with anything to escape or unescape
// takes fastjson's unescaping, then AppendString.
func appendJSON(dst []byte, v *fastjson.Value) []byte {
	fv := (*fjValue)(unsafe.Pointer(v))
	switch fv.t {
	case fastjson.TypeObject:
		fo := &fv.o
		dst = append(dst, '{')
		for i := range fo.kvs {
			if i > 0 {
				dst = append(dst, ',')
			}
			k := unsafe.Slice(unsafe.StringData(fo.kvs[i].k), len(fo.kvs[i].k)) // read only
			if frame.Plain(k) {
				dst = append(dst, '"')
				dst = append(dst, k...)
				dst = append(dst, '"', ':')
			} else {
				if !fo.keysUnescaped {
					// Unescape every key (Visit does it first); the keys
					// written so far were plain, unchanged by it.
					(*fastjson.Object)(unsafe.Pointer(fo)).Visit(func([]byte, *fastjson.Value) {})
					k = unsafe.Slice(unsafe.StringData(fo.kvs[i].k), len(fo.kvs[i].k))
				}
				dst = frame.AppendString(dst, k)
				dst = append(dst, ':')
			}
			dst = appendJSON(dst, fo.kvs[i].v)
		}
		return append(dst, '}')
	case fastjson.TypeArray:
		dst = append(dst, '[')
		for i, c := range fv.a {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSON(dst, c)
		}
		return append(dst, ']')
	}
	// Scalars: parsed strings keep their original bytes, new strings are
	// stored escaped (newString), numbers keep their text.
	return v.MarshalTo(dst)
}

// appendKey appends an object key quoted as frame.AppendString quotes
// it. Keys are short and almost always plain ASCII, copied as they are
// after one pass of a byte table; any other key goes to AppendString.
func appendKey(dst, k []byte) []byte {
	if isPlain(k) {
		dst = append(dst, '"')
		dst = append(dst, k...)
		return append(dst, '"')
	}
	return frame.AppendString(dst, k)
}

// appendShort is appendKey for string values: the byte-table pass only
// for short ones (the values transforms set: captures, lower-cased
// words, constants), AppendString's wider scan for the rest.
func appendShort(dst, s []byte) []byte {
	if len(s) <= 64 {
		return appendKey(dst, s)
	}
	return frame.AppendString(dst, s)
}

// isPlain reports whether AppendString would write every byte of s as
// itself (printable ASCII but '"' and '\\'): s is then also valid UTF-8.
func isPlain(s []byte) bool { return frame.Plain(s) }

// gjsonGet evaluates a path with gjson over the serialized document.
func (b *batch) gjsonGet(d *doc, path string) Value {
	r := gjson.GetBytes(b.serialize(d), path)
	if !r.Exists() {
		return Value{}
	}
	var p fastjson.Parser
	v, err := p.Parse(r.Raw)
	if err != nil {
		// gjson can return non-JSON raw text (e.g. from @this on
		// non-JSON input): expose it as a string.
		return Value{v: b.newString(r.String())}
	}
	return Value{v: b.clone(v, false)}
}

// sjsonEdit applies an sjson edit to the serialized document and parses
// the result back.
func (b *batch) sjsonEdit(d *doc, edit func([]byte) ([]byte, error)) error {
	raw, err := edit(b.serialize(d))
	if err != nil {
		return err
	}
	*d = doc{raw: raw}
	if b.tree(d) == nil {
		return fmt.Errorf("edit produced invalid JSON")
	}
	return nil
}
