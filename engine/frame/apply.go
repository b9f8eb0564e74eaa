package frame

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unsafe"

	"github.com/valyala/fastjson"
)

// ErrTooLarge is returned (wrapped) by Applier.Apply when the document
// would grow past Applier.Max.
var ErrTooLarge = errors.New("document too large")

// checkEvery is how many operations, and how many serialized values,
// Apply handles between two calls of Applier.Check.
const checkEvery = 256

// checkWork is how many input bytes Apply hashes between two calls of
// Applier.Check at the most (plus one operation's worth): a digest of a
// large record is slow, so counting operations alone would let 256 of
// them run past the deadline (256 MB hashed for a 1 MB record).
const checkWork = 1 << 20

// Applier applies operation lists natively. It keeps buffers between
// calls; it is not safe for concurrent use.
//
// An operation list is small but what it builds need not be: a 9-byte
// set_original copies the whole input record, so a list can ask for
// documents thousands of times its own size. Max and Check bound what
// one Apply may cost; a host running untrusted lists sets both.
//
// An OutputOps list applied without a fastjson value (ApplyDoc, or Apply
// with parsed nil) is serialized as its operations come when its paths
// come grouped by object, as modules write them; other lists are built
// as a tree of nodes first. Both give the same document and errors.
type Applier struct {
	vdocs    []*Doc // set_json values
	inParser fastjson.Parser
	inDoc    Doc
	paths    map[string]*pathInfo
	memo     []pathMemo
	// levels and skeys: the objects open while streaming (see stream).
	levels []slevel
	skeys  []string
	// cool counts the lists left to build as trees (see apply).
	cool int
	// treeOnly turns streaming off (the tests compare the two).
	treeOnly bool
	nodes    []node
	used     int
	bytes    []byte
	// Digest computes a digest's lower-case hex and appends it to dst. Nil
	// uses Go's crypto packages; guests may route it to a host intrinsic.
	Digest func(dst []byte, algo byte, data []byte) ([]byte, error)
	// Max bounds the bytes of the document one Apply appends (0: no
	// bound). Apply checks every value before it writes it, so a document
	// that would be larger fails with ErrTooLarge having written at most
	// about Max bytes.
	Max int
	// Check, when set, is called every few hundred operations and
	// serialized values (and before serializing); an error it returns
	// stops Apply and is returned wrapped. A host returns its context's
	// error, so that applying respects the batch deadline.
	Check func() error
}

// node is an object under construction: ordered keys and their values.
type node struct {
	keys []string
	vals []nval
}

// nval is a value in a node: a child node, JSON text written as is, a
// string to escape, or a parsed value (fastjson's, or the value at tape
// index ti of doc: the input's or a set_json value's).
type nval struct {
	obj  *node
	raw  []byte
	str  []byte
	fv   *fastjson.Value
	doc  *Doc
	ti   int
	kind uint8
	// qkey is the value's key quoted with its colon (`"key":`), when
	// it came from an operation's path: written as is. Keys from the
	// input are escaped when written.
	qkey []byte
}

const (
	valObj = iota
	valRaw
	valStr
	valParsed
	valTape
)

func (a *Applier) newNode() *node {
	if a.used == len(a.nodes) {
		// Grow by allocating a fresh slab; earlier nodes stay valid.
		a.nodes = make([]node, max(16, 2*len(a.nodes)))
		a.used = 0
	}
	n := &a.nodes[a.used]
	a.used++
	n.keys = n.keys[:0]
	n.vals = n.vals[:0]
	return n
}

func (n *node) find(k string) int {
	for i, kk := range n.keys {
		if kk == k {
			return i
		}
	}
	return -1
}

func (n *node) set(k string, v nval) {
	*n.slot(k) = v
}

// slot returns the value of key k in n, a new zero value at the end when
// n has no such key: callers store a value's fields there one by one
// (copying a whole nval just built on the stack waits for its stores).
func (n *node) slot(k string) *nval {
	if i := n.find(k); i >= 0 {
		return &n.vals[i]
	}
	n.keys = append(n.keys, k)
	if len(n.vals) < cap(n.vals) {
		n.vals = n.vals[:len(n.vals)+1]
	} else {
		n.vals = append(n.vals, nval{})
	}
	return &n.vals[len(n.vals)-1]
}

// objectFrom turns a parsed object into a node whose values are the
// parsed children, so that edits below it can be applied.
func (a *Applier) objectFrom(v *fastjson.Value) *node {
	n := a.newNode()
	o, _ := v.Object()
	o.Visit(func(k []byte, vv *fastjson.Value) {
		// The key stays in the parser's buffer while the node lives.
		n.keys = append(n.keys, unsafe.String(unsafe.SliceData(k), len(k)))
		n.vals = append(n.vals, nval{kind: valParsed, fv: vv})
	})
	return n
}

// objectFromDoc is objectFrom for the object at tape index i of d.
func (a *Applier) objectFromDoc(d *Doc, i int) *node {
	n := a.newNode()
	for j := i + 1; j < int(d.tape[i].next); j = int(d.tape[j+1].next) {
		n.keys = append(n.keys, d.key(j))
		n.vals = append(n.vals, nval{kind: valTape, doc: d, ti: j + 1})
	}
	return n
}

// child returns the object at key k of n, creating it (create) or
// converting a parsed object into a node. It returns nil when the key is
// absent and create is false.
func (a *Applier) child(n *node, k string, qkey []byte, create bool) *node {
	i := n.find(k)
	if i >= 0 {
		v := &n.vals[i]
		switch {
		case v.kind == valObj:
			return v.obj
		case v.kind == valParsed && v.fv.Type() == fastjson.TypeObject:
			c := a.objectFrom(v.fv)
			*v = nval{kind: valObj, obj: c, qkey: v.qkey}
			return c
		case v.kind == valTape && v.doc.tape[v.ti].kind == Object:
			c := a.objectFromDoc(v.doc, v.ti)
			*v = nval{kind: valObj, obj: c, qkey: v.qkey}
			return c
		}
	}
	if !create {
		return nil
	}
	c := a.newNode()
	n.set(k, nval{kind: valObj, obj: c, qkey: qkey})
	return c
}

// Path returns the split form of p, cached.
func (a *Applier) Path(p []byte) []string { return a.path(p).segs }

// pathInfo is a path split into its keys, and each key quoted with its
// colon for serializing (`"key":`).
type pathInfo struct {
	segs   []string
	quoted [][]byte
}

// path returns p's pathInfo, cached.
func (a *Applier) path(p []byte) *pathInfo {
	if a.paths == nil {
		a.paths = make(map[string]*pathInfo)
	}
	if pi, ok := a.paths[string(p)]; ok {
		return pi
	}
	pi := &pathInfo{segs: SplitPath(string(p))}
	pi.quoted = make([][]byte, len(pi.segs))
	for i, k := range pi.segs {
		pi.quoted[i] = append(AppendString(nil, []byte(k)), ':')
	}
	if len(a.paths) < 4096 {
		a.paths[string(p)] = pi
	}
	return pi
}

// pathMemo remembers the path an operation list held at one place (an
// operation's path or its copy source): lists for the records of a batch
// are mostly alike, so the path at the same place is usually the same.
type pathMemo struct {
	p    []byte
	info *pathInfo
}

// maxMemo bounds the places remembered (2 per operation).
const maxMemo = 512

// pathAt is Path for the path p found at place k of the list: when it is
// the path remembered there, one comparison instead of a map lookup.
func (a *Applier) pathAt(k int, p []byte) *pathInfo {
	if k < len(a.memo) && string(a.memo[k].p) == string(p) {
		return a.memo[k].info
	}
	pi := a.path(p)
	if k < maxMemo {
		if k >= len(a.memo) {
			a.memo = append(a.memo, make([]pathMemo, k+1-len(a.memo))...)
		}
		m := &a.memo[k]
		m.p = append(m.p[:0], p...)
		m.info = pi
	}
	return pi
}

// Parse parses an input document with the applier's input parser. The
// value stays valid until the next Parse, or the next Apply that needs to
// parse the input itself.
func (a *Applier) Parse(input []byte) (*fastjson.Value, error) {
	return a.inParser.ParseBytes(input)
}

// Apply applies an operation list and appends the resulting document to
// dst. kind is OutputOps (start from an empty object) or OutputEdit (start
// from the input document). parsed is the input already parsed, or nil to
// parse it (with a Doc) when an operation needs it; Apply never modifies
// it.
func (a *Applier) Apply(dst []byte, kind byte, ops []byte, input []byte, parsed *fastjson.Value) ([]byte, error) {
	return a.apply(dst, kind, ops, input, parsed, nil)
}

// ApplyDoc is Apply with the input already parsed into doc (nil: parse
// it when an operation needs it). The document is the same as Apply's,
// built faster: values copied from the input are looked up on doc's tape,
// and its strings without special bytes are copied as they are.
func (a *Applier) ApplyDoc(dst []byte, kind byte, ops []byte, input []byte, doc *Doc) ([]byte, error) {
	return a.apply(dst, kind, ops, input, nil, doc)
}

// opState is what decoding a list's operations carries from one to the
// next: the input and its parse, the set_json values parsed so far, the
// bytes hashed since the last check.
type opState struct {
	input  []byte
	parsed *fastjson.Value
	doc    *Doc
	ndocs  int
	work   int
}

// apply is Apply with the input parsed by fastjson (parsed) or Doc (doc),
// or neither.
//
// An OutputOps list applied against a Doc (or no parse) is first
// streamed: each value is serialized as its operation comes (see
// stream), with no tree. A list that cannot be streamed (a path comes
// back to an object already closed, a delete, an error while writing)
// is built again from its start as a tree, the document of which is the
// reference: the two give the same bytes and the same errors. After a
// list that had to be built as a tree, the next streamCool lists are
// built as trees directly (a host's lists for one module are alike).
func (a *Applier) apply(dst []byte, kind byte, ops []byte, input []byte, parsed *fastjson.Value, doc *Doc) ([]byte, error) {
	st := opState{input: input, parsed: parsed, doc: doc}
	// The set_json values' Docs refer to ops: let them go after.
	hw := 0
	defer func() {
		for _, d := range a.vdocs[:max(hw, st.ndocs)] {
			d.Reset()
		}
	}()
	if kind == OutputOps && parsed == nil && !a.treeOnly {
		if a.cool > 0 {
			a.cool--
		} else {
			out, err, ok := a.stream(dst, ops, &st)
			if ok {
				return out, err
			}
			a.cool = streamCool
			hw, st.ndocs, st.work = st.ndocs, 0, 0
		}
	}
	return a.tree(dst, kind, ops, &st)
}

// streamCool is how many lists Apply builds as trees after one it could
// not stream, before it tries streaming again.
const streamCool = 64

// tree applies an operation list by building the document as a tree of
// nodes, then serializing it.
func (a *Applier) tree(dst []byte, kind byte, ops []byte, st *opState) ([]byte, error) {
	a.used = 0
	a.bytes = a.bytes[:0]
	parsed, input := st.parsed, st.input
	var root *node
	switch kind {
	case OutputOps:
		root = a.newNode()
	case OutputEdit:
		if parsed != nil {
			if parsed.Type() != fastjson.TypeObject {
				return dst, fmt.Errorf("edit: the input record is a JSON %s, not an object", parsed.Type())
			}
			root = a.objectFrom(parsed)
			break
		}
		if st.doc == nil {
			if err := a.inDoc.Parse(input); err != nil {
				return dst, fmt.Errorf("edit: the input record is not JSON: %w", err)
			}
			st.doc = &a.inDoc
		}
		doc := st.doc
		if doc.Type(0) != Object {
			return dst, fmt.Errorf("edit: the input record is a JSON %s, not an object", doc.typeName(0))
		}
		root = a.objectFromDoc(doc, 0)
	default:
		return dst, fmt.Errorf("unknown output kind %d", kind)
	}
	r := reader{b: ops}
	for nops := 0; r.off < len(ops); nops++ {
		opStart := r.off
		if a.Check != nil && (nops%checkEvery == checkEvery-1 || st.work >= checkWork) {
			st.work = 0
			if err := a.Check(); err != nil {
				return dst, fmt.Errorf("op at byte %d: %w", opStart, err)
			}
		}
		code := r.u8("op")
		path := r.bytes("op path")
		if r.err != nil {
			return dst, r.err
		}
		pi := a.pathAt(2*nops, path)
		segs := pi.segs
		if code == OpDelete {
			parent := root
			for _, s := range segs[:len(segs)-1] {
				if parent = a.child(parent, s, nil, false); parent == nil {
					break
				}
			}
			if parent != nil {
				if i := parent.find(segs[len(segs)-1]); i >= 0 {
					parent.keys = append(parent.keys[:i], parent.keys[i+1:]...)
					parent.vals = append(parent.vals[:i], parent.vals[i+1:]...)
				}
			}
			continue
		}
		var val nval
		if set, err := a.opValue(&r, st, code, opStart, nops, path, &val); err != nil {
			return dst, err
		} else if !set {
			continue
		}
		parent := root
		last := len(segs) - 1
		for j, s := range segs[:last] {
			parent = a.child(parent, s, pi.quoted[j], true)
		}
		v := parent.slot(segs[last])
		v.obj, v.raw, v.str, v.fv, v.doc, v.ti, v.kind = val.obj, val.raw, val.str, val.fv, val.doc, val.ti, val.kind
		v.qkey = pi.quoted[last]
	}
	w := writer{limit: math.MaxInt, max: a.Max, check: a.Check}
	if a.Max > 0 && len(dst) < math.MaxInt-a.Max {
		w.limit = len(dst) + a.Max
	}
	if w.check != nil {
		if err := w.check(); err != nil {
			return dst, err
		}
	}
	out := w.node(dst, root)
	switch {
	case w.err != nil:
		return dst, w.err
	case w.bad != nil:
		return dst, fmt.Errorf("the document would hold %q, which is not a JSON number", w.bad)
	case w.badS != nil:
		return dst, invalidUTF8(input, w.badS)
	}
	return out, nil
}

// opValue decodes the operand of the operation code (not a delete) that
// starts at opStart, the nops-th of the list, setting path, into v. It
// reports false when the operation sets nothing: a copy whose source is
// missing (for copy_string, not a non-empty string).
func (a *Applier) opValue(r *reader, st *opState, code byte, opStart, nops int, path []byte, v *nval) (bool, error) {
	input := st.input
	switch code {
	case OpSetJSON:
		raw := r.bytes("JSON value")
		if r.err != nil {
			return false, r.err
		}
		if st.ndocs == len(a.vdocs) {
			a.vdocs = append(a.vdocs, new(Doc))
		}
		d := a.vdocs[st.ndocs]
		st.ndocs++
		if err := d.Parse(raw); err != nil {
			return false, fmt.Errorf("op at byte %d: set %q: invalid JSON value: %w", opStart, path, err)
		}
		*v = nval{kind: valTape, doc: d}
	case OpSetString:
		s, next, ok := Field(r.b, r.off)
		if !ok || r.err != nil {
			r.bytes("string value") // the error
			return false, r.err
		}
		r.off = next
		*v = nval{kind: valStr, str: s}
	case OpSetInt:
		n := int64(r.u64("integer value"))
		if r.err != nil {
			return false, r.err
		}
		start := len(a.bytes)
		a.bytes = strconv.AppendInt(a.bytes, n, 10)
		*v = nval{kind: valRaw, raw: a.bytes[start:len(a.bytes):len(a.bytes)]}
	case OpCopy, OpCopyString:
		src, next, ok := Field(r.b, r.off)
		if !ok || r.err != nil {
			r.bytes("copy source") // the error
			return false, r.err
		}
		r.off = next
		if st.parsed == nil {
			if st.doc == nil {
				if err := a.inDoc.Parse(input); err != nil {
					return false, fmt.Errorf("copy %q: the input record is not JSON: %w", src, err)
				}
				st.doc = &a.inDoc
			}
			doc := st.doc
			i := doc.Get(a.pathAt(2*nops+1, src).segs...)
			if i < 0 {
				return false, nil
			}
			switch {
			case code == OpCopy:
				*v = nval{kind: valTape, doc: doc, ti: i}
			case doc.Type(i) != String || doc.tape[i].start == doc.tape[i].end:
				return false, nil
			case doc.plain(i):
				// Written as it is in the input: quotes and all.
				*v = nval{kind: valRaw, raw: doc.quoted(i)}
			default:
				*v = nval{kind: valStr, str: doc.StringBytes(i)}
			}
			return true, nil
		}
		fv := st.parsed.Get(a.pathAt(2*nops+1, src).segs...)
		if fv == nil {
			return false, nil
		}
		if code == OpCopyString {
			if fv.Type() != fastjson.TypeString || len(fv.GetStringBytes()) == 0 {
				return false, nil
			}
			*v = nval{kind: valStr, str: fv.GetStringBytes()}
			return true, nil
		}
		*v = nval{kind: valParsed, fv: fv}
	case OpSetOriginal:
		*v = nval{kind: valStr, str: input}
	case OpSetDigest:
		algo := r.u8("digest algorithm")
		if r.err != nil {
			return false, r.err
		}
		start := len(a.bytes)
		var err error
		a.bytes, err = a.digest(a.bytes, algo, input)
		st.work += len(input)
		if err != nil {
			return false, fmt.Errorf("op at byte %d: %w", opStart, err)
		}
		*v = nval{kind: valStr, str: a.bytes[start:len(a.bytes):len(a.bytes)]}
	default:
		return false, corrupt(opStart, "unknown op %d", code)
	}
	return true, nil
}
