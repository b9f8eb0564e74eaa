package wasmrewrite

import (
	"errors"
	"fmt"
)

// reader decodes the binary format. The first error sticks; later reads
// return zero values.
type reader struct {
	b   []byte
	pos int
	err error
}

var errEOF = errors.New("unexpected end")

func (r *reader) done() bool { return r.err != nil || r.pos >= len(r.b) }

// end is r's error, or an error when bytes are left unread (a section
// or vector read in full).
func (r *reader) end() error {
	if r.err == nil && !r.done() {
		return errors.New("trailing bytes")
	}
	return r.err
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.pos >= len(r.b) {
		r.fail(errEOF)
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.pos {
		r.fail(errEOF)
		return nil
	}
	p := r.b[r.pos : r.pos+n]
	r.pos += n
	return p
}

// leb reads an LEB128 number of at most maxBytes bytes and returns its low
// 64 bits (the caller only skips or bounds it).
func (r *reader) leb(maxBytes int) uint64 {
	var v uint64
	for i := 0; i < maxBytes; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if i < 10 {
			v |= uint64(c&0x7F) << (7 * i)
		}
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail(errors.New("LEB128 number too long"))
	return 0
}

func (r *reader) u32() uint32 {
	v := r.leb(5)
	if v > 1<<32-1 {
		r.fail(errors.New("u32 out of range"))
		return 0
	}
	return uint32(v)
}

func (r *reader) name() []byte { return r.bytes(int(r.u32())) }

// limits skips table or memory limits.
func (r *reader) limits() {
	flags := r.byte()
	if flags > 0x07 {
		r.fail(fmt.Errorf("limits flags 0x%02x", flags))
		return
	}
	r.leb(10)
	if flags&0x01 != 0 {
		r.leb(10)
	}
}

// blockType skips a block type: empty, a value type, or a type index
// (s33).
func (r *reader) blockType() {
	if r.err != nil || r.pos >= len(r.b) {
		r.fail(errEOF)
		return
	}
	switch c := r.b[r.pos]; c {
	case 0x40, 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F:
		r.pos++
	default:
		start := r.pos
		v := r.leb(5)
		// A type index is a non-negative s33: the sign bit of its last
		// byte is clear.
		if r.err == nil && r.b[r.pos-1]&0x40 != 0 {
			r.fail(fmt.Errorf("block type 0x%02x at offset %d is not supported", r.b[start], start))
		}
		_ = v
	}
}

// memarg skips a memory argument (alignment with the multi-memory flag,
// optional memory index, offset).
func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 {
		r.u32()
	}
	r.leb(10)
}

// edit copies a buffer with some byte ranges replaced.
type edit struct {
	b      []byte
	out    []byte
	copied int
}

// finish ends an edit of a whole section read by r: it appends tail to
// the section and returns the new one, or r.end()'s error.
func finish(r *reader, e *edit, tail []byte) ([]byte, error) {
	if err := r.end(); err != nil {
		return nil, err
	}
	e.replace(len(e.b), len(e.b), tail)
	return e.out, nil
}

// replace writes repl in place of b[start:end] (start >= every earlier
// end).
func (e *edit) replace(start, end int, repl []byte) {
	e.out = append(e.out, e.b[e.copied:start]...)
	e.out = append(e.out, repl...)
	e.copied = end
}

// funcIdx reads a function index and writes it shifted.
func (rw *rewriter) funcIdx(r *reader, e *edit) {
	start := r.pos
	idx := r.u32()
	if r.err == nil {
		e.replace(start, r.pos, appendU32(rw.tmp[:0], rw.fn(idx)))
	}
}

// fn maps an original function index to its index after the new import.
func (rw *rewriter) fn(idx uint32) uint32 {
	if idx < rw.importedFuncs {
		return idx
	}
	return idx + 1
}

// expr decodes an expression from r (on e.b) up to and including its
// final end, shifting function indices. In mode exprScan it records which
// loops are leaves (rw.leaf); in mode exprBody it adds the loop checks.
func (rw *rewriter) expr(r *reader, e *edit, mode exprMode) error {
	depth := 1
	open := rw.open[:0]
	loopID := 0
	for depth > 0 {
		if r.done() {
			if r.err != nil {
				return fmt.Errorf("offset %d: %w", r.pos, r.err)
			}
			return errors.New("body ends before its final end")
		}
		at := r.pos
		op := r.byte()
		switch {
		case op == 0x02 || op == 0x04: // block, if
			r.blockType()
			depth++
			open = append(open, -1)
		case op == 0x03: // loop
			r.blockType()
			depth++
			switch mode {
			case exprScan:
				rw.notLeaf(open)
				open = append(open, len(rw.leaf))
				rw.leaf = append(rw.leaf, true)
			case exprBody:
				if r.err == nil {
					if loopID < len(rw.leaf) && rw.leaf[loopID] {
						e.replace(r.pos, r.pos, rw.leafChk)
					} else {
						e.replace(r.pos, r.pos, rw.chk)
					}
					rw.loops++
				}
				loopID++
			}
		case op == 0x0B: // end
			depth--
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		case op <= 0x01 || op == 0x05 || op == 0x0F || op == 0x1A || op == 0x1B || op == 0xD1:
			// unreachable, nop, else, return, drop, select, ref.is_null
		case op == 0x10 || op == 0x12: // call, return_call
			rw.funcIdx(r, e)
			rw.notLeaf(open)
		case op == 0xD2: // ref.func
			rw.funcIdx(r, e)
		case op == 0x0C || op == 0x0D || (op >= 0x20 && op <= 0x26):
			// br, br_if, local/global/table get/set/tee
			r.u32()
		case op == 0x0E: // br_table
			cnt := r.u32()
			for j := uint32(0); j <= cnt && r.err == nil; j++ {
				r.u32()
			}
		case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
			r.u32()
			r.u32()
			rw.notLeaf(open)
		case op == 0x1C: // select t*
			cnt := r.u32()
			r.bytes(int(cnt))
		case op >= 0x28 && op <= 0x3E: // loads and stores
			r.memarg()
		case op == 0x3F || op == 0x40: // memory.size, memory.grow
			r.u32()
		case op == 0x41: // i32.const
			r.leb(5)
		case op == 0x42: // i64.const
			r.leb(10)
		case op == 0x43:
			r.bytes(4)
		case op == 0x44:
			r.bytes(8)
		case op >= 0x45 && op <= 0xC4: // numeric, sign extension
		case op == 0xD0: // ref.null t
			r.byte()
		case op == 0xFC:
			r.prefixFC()
		case op == 0xFD:
			r.prefixFD()
		case op == 0xFE:
			r.prefixFE()
		default:
			return fmt.Errorf("offset %d: opcode 0x%02x is not supported", at, op)
		}
		if r.err != nil {
			return fmt.Errorf("offset %d (opcode 0x%02x): %w", at, op, r.err)
		}
	}
	rw.open = open
	return nil
}

// exprMode says what expr does besides shifting function indices.
type exprMode int

const (
	exprConst exprMode = iota // a constant expression: nothing
	exprScan                  // a body's first pass: find the leaf loops
	exprBody                  // a body's second pass: add the checks
)

// notLeaf marks the open loops as containing a call or a loop.
func (rw *rewriter) notLeaf(open []int) {
	for _, id := range open {
		if id >= 0 {
			rw.leaf[id] = false
		}
	}
}

// rewriteCode instruments every body of a code section.
func (rw *rewriter) rewriteCode(p []byte) ([]byte, error) {
	r := &reader{b: p}
	n := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	out := appendU32(make([]byte, 0, len(p)+len(p)/8+16), n)
	e := &edit{}
	for i := uint32(0); i < n; i++ {
		size := r.u32()
		b := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, r.err)
		}
		e.b, e.out, e.copied = b, e.out[:0], 0
		if int(i) >= len(rw.funcTypes) || int(rw.funcTypes[i]) >= len(rw.typeParams) {
			return nil, fmt.Errorf("function body %d has no valid type", i)
		}
		if err := rw.body(e, rw.typeParams[rw.funcTypes[i]]); err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		rw.functions++
		out = appendU32(out, uint32(len(e.out)))
		out = append(out, e.out...)
	}
	if !r.done() {
		return nil, errors.New("trailing bytes after the last body")
	}
	return out, nil
}

// body rewrites one function body (e.b) into e.out: a first pass finds
// the leaf loops (no call and no loop inside), which count in a new local
// and take the global check once every leafFuel iterations; a second pass
// adds the checks.
func (rw *rewriter) body(e *edit, params uint32) error {
	r := &reader{b: e.b}
	groups := r.u32()
	afterCount := r.pos
	locals := uint64(params)
	for i := uint32(0); i < groups && r.err == nil; i++ {
		locals += uint64(r.u32())
		r.byte()
	}
	if r.err != nil {
		return fmt.Errorf("locals: %w", r.err)
	}
	if locals >= 50000 || groups == 1<<32-1 {
		return fmt.Errorf("%d locals", locals)
	}
	codeStart := r.pos
	rw.leaf = rw.leaf[:0]
	scratch := &edit{b: e.b, out: rw.scratch[:0]}
	if err := rw.expr(r, scratch, exprScan); err != nil {
		return err
	}
	rw.scratch = scratch.out
	if r.pos != len(e.b) {
		return fmt.Errorf("offset %d: %d bytes after the function's final end", r.pos, len(e.b)-r.pos)
	}
	leaves := false
	for _, l := range rw.leaf {
		leaves = leaves || l
	}
	if leaves {
		// One more local (an i32 counter, index locals) after the others.
		e.replace(0, afterCount, appendU32(rw.tmp[:0], groups+1))
		e.replace(codeStart, codeStart, []byte{0x01, 0x7F})
		rw.setLeafCheck(uint32(locals))
	}
	r.pos = codeStart
	if err := rw.expr(r, e, exprBody); err != nil {
		return err
	}
	e.replace(len(e.b), len(e.b), nil)
	return nil
}

// leafFuel is how many iterations of a leaf loop count as one of the
// global fuel.
const leafFuel = 64

// setLeafCheck builds the leaf loop check on local c:
//
//	local.get c; i32.const 1; i32.sub; local.tee c; i32.const 1; i32.lt_s
//	if  i32.const leafFuel; local.set c; <the global check>  end
//
// A new local starts at 0, so a leaf loop takes the global check on its
// first iteration, then once every leafFuel.
func (rw *rewriter) setLeafCheck(c uint32) {
	lc := appendU32(nil, c)
	b := append(rw.leafChk[:0], 0x20)
	b = append(b, lc...)
	b = append(b, 0x41, 0x01, 0x6B, 0x22)
	b = append(b, lc...)
	b = append(b, 0x41, 0x01, 0x48, 0x04, 0x40, 0x41)
	b = appendS32(b, leafFuel)
	b = append(b, 0x21)
	b = append(b, lc...)
	b = append(b, rw.chk...)
	rw.leafChk = append(b, 0x0B)
}

// prefixFC skips a saturating-truncation, bulk-memory or table instruction.
func (r *reader) prefixFC() {
	switch sub := r.u32(); {
	case sub <= 7: // trunc_sat
	case sub == 8: // memory.init data mem
		r.u32()
		r.u32()
	case sub == 9: // data.drop
		r.u32()
	case sub == 10: // memory.copy dst src
		r.u32()
		r.u32()
	case sub == 11: // memory.fill
		r.u32()
	case sub == 12: // table.init elem table
		r.u32()
		r.u32()
	case sub == 13: // elem.drop
		r.u32()
	case sub == 14: // table.copy
		r.u32()
		r.u32()
	case sub >= 15 && sub <= 17: // table.grow, table.size, table.fill
		r.u32()
	default:
		r.fail(fmt.Errorf("0xFC %d is not supported", sub))
	}
}

// prefixFD skips a SIMD (and relaxed SIMD) instruction.
func (r *reader) prefixFD() {
	switch sub := r.u32(); {
	case sub <= 11: // v128.load*, load splat, v128.store
		r.memarg()
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // extract_lane, replace_lane
		r.byte()
	case sub >= 84 && sub <= 91: // load/store lane
		r.memarg()
		r.byte()
	case sub == 92 || sub == 93: // v128.load32_zero, v128.load64_zero
		r.memarg()
	case sub <= 0x113: // no immediates
	default:
		r.fail(fmt.Errorf("0xFD %d is not supported", sub))
	}
}

// prefixFE skips a threads (atomic) instruction.
func (r *reader) prefixFE() {
	switch sub := r.u32(); {
	case sub == 0x03: // atomic.fence
		r.byte()
	case sub <= 0x02 || (sub >= 0x10 && sub <= 0x4E): // notify, waits, loads, stores, rmw, cmpxchg
		r.memarg()
	default:
		r.fail(fmt.Errorf("0xFE %d is not supported", sub))
	}
}
