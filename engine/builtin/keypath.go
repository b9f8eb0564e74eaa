package builtin

import (
	"strings"
	"unsafe"

	"github.com/valyala/fastjson"
)

// Key paths are compiled once per batch memory: resolve splits a simple
// path into its segments (keySeg) the first time a key is seen, and each
// segment remembers where its name was last found in its object. The
// records of a batch usually share one shape (the same producer writes
// them), so a lookup is one string comparison at the remembered
// position instead of fastjson's scan of the object's keys.

// keyInfo is what resolve knows of a key.
type keyInfo struct {
	key, path        string
	ok, meta, simple bool
	// segs is a simple path's segments, in order (nil otherwise).
	segs []keySeg
	// The last GetValue of a simple path: its value (nil when missing)
	// in document vdoc when that had generation vgen. A condition per
	// case of a switch reads the same key of the same record again and
	// again; any change of the document gives it a new generation.
	vdoc *doc
	vgen uint64
	v    *fastjson.Value
}

// keySeg is one segment of a simple path.
type keySeg struct {
	name  string // the object key it names (segKey applied)
	index int    // the array index it names, or -1
	hint  int    // where name was last found in its object
}

// resolve returns what the batch knows of key: its document (data or
// metadata), its path in it and, for a simple path, its segments. The
// answer is kept in a small table of the batch: transforms read and
// write the same few keys (compiled settings) for every record. The
// entry is valid until the next resolve.
func (m *Message) resolve(key string) *keyInfo {
	e := &m.b.keys[(uintptr(unsafe.Pointer(unsafe.StringData(key)))>>3^uintptr(len(key)))%uintptr(len(m.b.keys))]
	// The same key is usually the same string (a transform's compiled
	// setting, interned): same pointer and length, found without a call
	// to compare the bytes.
	if !e.ok || len(e.key) != len(key) || (unsafe.StringData(e.key) != unsafe.StringData(key) && e.key != key) {
		e.compile(key)
	}
	return e
}

// doc returns the document of m the key addresses.
func (e *keyInfo) doc(m *Message) *doc {
	if e.meta {
		return &m.meta
	}
	return &m.data
}

// compile fills e for key, reusing e's segment slice.
func (e *keyInfo) compile(key string) {
	e.key, e.ok, e.meta = key, true, strings.HasPrefix(key, metaPrefix)
	e.vdoc, e.vgen, e.v = nil, 0, nil
	if e.meta {
		e.path = strings.TrimSpace(key[len(metaPrefix):])
	} else {
		e.path = strings.TrimSpace(key)
	}
	e.simple = isSimplePath(e.path)
	e.segs = e.segs[:0]
	if !e.simple {
		return
	}
	rest := e.path
	for {
		p, tail, more := strings.Cut(rest, ".")
		n, ok := index(p)
		if !ok {
			n = -1
		}
		e.segs = append(e.segs, keySeg{name: segKey(p), index: n})
		if !more {
			return
		}
		rest = tail
	}
}

// lookupSegs returns the value at a simple path's segments under v, or
// nil.
func lookupSegs(v *fastjson.Value, segs []keySeg) *fastjson.Value {
	for i := range segs {
		if v == nil {
			return nil
		}
		v = childSeg(v, &segs[i])
	}
	return v
}

// childSeg returns the member of object v named by s, or the element of
// array v at s's index, or nil.
func childSeg(v *fastjson.Value, s *keySeg) *fastjson.Value {
	fv := (*fjValue)(unsafe.Pointer(v))
	switch fv.t {
	case fastjson.TypeObject:
		return getHinted((*fastjson.Object)(unsafe.Pointer(&fv.o)), s)
	case fastjson.TypeArray:
		if uint(s.index) < uint(len(fv.a)) {
			return fv.a[s.index]
		}
	}
	return nil
}

// fjValue, fjObject and fjKV mirror the layout of fastjson's Value,
// Object and kv (v1.6.10, go.mod pins it; TestFastjsonLayout checks the
// mirror): fastjson has no way to read a member by position, and its
// GetObject/GetArray go through a variadic path walk (and Type
// unescapes strings in place).
type fjValue struct {
	o fjObject
	a []*fastjson.Value
	s string
	t fastjson.Type
}

type fjObject struct {
	kvs           []fjKV
	keysUnescaped bool
}

type fjKV struct {
	k string
	v *fastjson.Value
}

// objectOf returns v's object, or nil (v.GetObject without the walk).
func objectOf(v *fastjson.Value) *fastjson.Object {
	fv := (*fjValue)(unsafe.Pointer(v))
	if fv.t != fastjson.TypeObject {
		return nil
	}
	return (*fastjson.Object)(unsafe.Pointer(&fv.o))
}

// arrayOf returns v's elements and whether v is an array (an empty
// array included, which v.GetArray cannot tell from a scalar).
func arrayOf(v *fastjson.Value) ([]*fastjson.Value, bool) {
	fv := (*fjValue)(unsafe.Pointer(v))
	if fv.t != fastjson.TypeArray {
		// fastjson reuses values without clearing a: a string or
		// number may hold a stale slice.
		return nil, false
	}
	return fv.a, true
}

func kvsOf(o *fastjson.Object) []fjKV { return (*fjObject)(unsafe.Pointer(o)).kvs }

// getHinted is o.Get(s.name), first trying the member at s.hint and
// remembering where the name was found. Object keys are compared as
// parsed: a key written with escapes differs from every segment name
// (which has no backslash) until fastjson unescapes the object's keys,
// which o.Get does on the first miss in an object that has such keys.
func getHinted(o *fastjson.Object, s *keySeg) *fastjson.Value {
	fo := (*fjObject)(unsafe.Pointer(o))
	kvs := fo.kvs
	if h := s.hint; h < len(kvs) && sameKey(kvs[h].k, s.name) && !sameBefore(kvs[:h], s.name) {
		return kvs[h].v
	}
	for i := range kvs {
		if sameKey(kvs[i].k, s.name) {
			s.hint = i
			return kvs[i].v
		}
	}
	if fo.keysUnescaped {
		return nil
	}
	// A miss is final unless a key is written with escapes. fastjson's
	// Get would scan twice more (before and after unescaping every key);
	// when no key has a backslash, unescaping changes nothing and the
	// object is marked as fastjson's unescapeKeys marks it.
	for i := range kvs {
		if strings.IndexByte(kvs[i].k, '\\') >= 0 {
			return o.Get(s.name)
		}
	}
	fo.keysUnescaped = true
	return nil
}

// setHinted is o.Set(s.name, v), replacing the member at s.hint in
// place when it has that name.
func setHinted(o *fastjson.Object, s *keySeg, v *fastjson.Value) {
	fo := (*fjObject)(unsafe.Pointer(o))
	kvs := fo.kvs
	if h := s.hint; h < len(kvs) && sameKey(kvs[h].k, s.name) && !sameBefore(kvs[:h], s.name) {
		kvs[h].v = v
		return
	}
	if !fo.keysUnescaped || v == nil {
		// fastjson unescapes the keys first (and sets null for nil).
		o.Set(s.name, v)
		if kvs = fo.kvs; len(kvs) > 0 && kvs[len(kvs)-1].k == s.name {
			s.hint = len(kvs) - 1
		}
		return
	}
	// o.Set without its call: replace the member of that name, or append
	// one (into the spare capacity of kvs when there is some, as
	// fastjson's getKV does).
	for i := range kvs {
		if sameKey(kvs[i].k, s.name) {
			kvs[i].v = v
			s.hint = i
			return
		}
	}
	s.hint = len(kvs)
	fo.kvs = append(kvs, fjKV{k: s.name, v: v})
}

// sameBefore reports whether a member of kvs is named name: a record
// with a duplicate key (valid JSON, and a way to hide a value from a
// rule) is read at its first occurrence, as gjson and fastjson read
// it, even where the remembered position is a later one. Mostly length
// comparisons.
func sameBefore(kvs []fjKV, name string) bool {
	for i := range kvs {
		if sameKey(kvs[i].k, name) {
			return true
		}
	}
	return false
}

// sameKey is a == b, inlined, without a call for keys of 8 to 16 bytes
// (most CloudTrail field names): two overlapping words of each.
func sameKey(a, b string) bool {
	n := len(a)
	if n != len(b) {
		return false
	}
	if uint(n-8) <= 8 {
		pa, pb := unsafe.Pointer(unsafe.StringData(a)), unsafe.Pointer(unsafe.StringData(b))
		return *(*[8]byte)(pa) == *(*[8]byte)(pb) &&
			*(*[8]byte)(unsafe.Add(pa, n-8)) == *(*[8]byte)(unsafe.Add(pb, n-8))
	}
	return a == b
}
