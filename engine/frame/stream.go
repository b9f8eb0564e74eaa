package frame

import (
	"errors"
	"fmt"
	"math"
)

// slevel is an object open in a streamed document: its key in its
// parent, where its own keys start in Applier.skeys (they run to the
// next level's start, or the end), and the offset in the document of
// its last member (where its quoted key starts).
type slevel struct {
	seg  string
	keys int
	last int
}

// stream applies an OutputOps list serializing each value as its
// operation comes, keeping only the keys of the objects open on the
// current path (Applier.levels and skeys). It handles the lists whose
// paths come grouped by object, as modules write them: an operation may
// go into an object open on the path, or create new ones; one that sets
// the key just set again (two copies to one field, the second present)
// rewrites it in place, at the end of the document. It reports false
// (having written nothing to dst's length) when the list needs the tree:
// a path back into an object already closed, a key set again that is
// not the last one written, a delete, or the writer's errors (the tree
// reports them exactly, after every operation is decoded). Operation
// errors are returned as the tree returns them.
func (a *Applier) stream(dst []byte, ops []byte, st *opState) (out []byte, err error, ok bool) {
	a.bytes = a.bytes[:0]
	w := writer{limit: math.MaxInt, max: a.Max, check: a.Check}
	if a.Max > 0 && len(dst) < math.MaxInt-a.Max {
		w.limit = len(dst) + a.Max
	}
	lv := append(a.levels[:0], slevel{last: -1})
	sk := a.skeys[:0]
	defer func() {
		// Kept for the next list; the keys must not keep paths alive.
		clear(sk)
		a.levels, a.skeys = lv[:0], sk[:0]
	}()
	out = w.byte(dst, '{')
	r := reader{b: ops}
	var val nval
	for nops := 0; r.off < len(ops); nops++ {
		opStart := r.off
		if a.Check != nil && (nops%checkEvery == checkEvery-1 || st.work >= checkWork) {
			st.work = 0
			if err := a.Check(); err != nil {
				return dst, fmt.Errorf("op at byte %d: %w", opStart, err), true
			}
		}
		// The op's code and path read inline (r.off < len(ops), and
		// r.err is nil: any error returned).
		code := ops[r.off]
		r.off++
		path, next, ok := Field(ops, r.off)
		if !ok {
			r.bytes("op path") // the error
			return dst, r.err, true
		}
		r.off = next
		if code == OpDelete {
			return dst, nil, false
		}
		pi := a.pathAt(2*nops, path)
		if set, err := a.opValue(&r, st, code, opStart, nops, path, &val); err != nil {
			return dst, err, true
		} else if !set {
			continue
		}
		segs := pi.segs
		last := len(segs) - 1
		// Close the open objects off the path.
		c := 0
		for c < len(lv)-1 && c < last && lv[c+1].seg == segs[c] {
			c++
		}
		for len(lv) > c+1 {
			out = w.byte(out, '}')
			sk = sk[:lv[len(lv)-1].keys]
			lv = lv[:len(lv)-1]
		}
		// Open new ones down to the parent.
		for j := c; j < last; j++ {
			top := &lv[len(lv)-1]
			if keyIndex(sk[top.keys:], segs[j]) >= 0 {
				return dst, nil, false
			}
			if len(sk) > top.keys {
				out = w.byte(out, ',')
			}
			top.last = len(out)
			out = w.raw(out, pi.quoted[j])
			out = w.byte(out, '{')
			sk = append(sk, segs[j])
			lv = append(lv, slevel{seg: segs[j], keys: len(sk), last: -1})
		}
		top := &lv[len(lv)-1]
		k := segs[last]
		switch i := keyIndex(sk[top.keys:], k); {
		case i < 0:
			if len(sk) > top.keys {
				out = w.byte(out, ',')
			}
			top.last = len(out)
			sk = append(sk, k)
		case top.keys+i == len(sk)-1:
			// The last member written, at the end: written again.
			out = out[:top.last]
		default:
			return dst, nil, false
		}
		if w.tick() {
			out = w.raw(out, pi.quoted[last])
			out = w.val(out, &val)
		}
		if w.err != nil || w.bad != nil || w.badS != nil {
			if w.err != nil && !errors.Is(w.err, ErrTooLarge) {
				return dst, w.err, true // Check's
			}
			return dst, nil, false
		}
	}
	if w.check != nil {
		if err := w.check(); err != nil {
			return dst, err, true
		}
	}
	for range lv {
		out = w.byte(out, '}')
	}
	if w.err != nil {
		return dst, nil, false
	}
	return out, nil, true
}

// keyIndex returns the index of k in keys, or -1.
func keyIndex(keys []string, k string) int {
	for i, kk := range keys {
		if kk == k {
			return i
		}
	}
	return -1
}
