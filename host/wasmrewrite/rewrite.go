// Package wasmrewrite rewrites a WebAssembly binary at load time so that
// the host can stop it at a deadline for almost no cost per loop.
//
// [Instrument] adds a mutable i32 global (the fuel), exports it under a
// name the host chooses, imports one host function () -> () (the fuel
// check), and inserts at the head of every loop
//
//	global.get $fuel
//	i32.const 1
//	i32.sub
//	global.set $fuel
//	global.get $fuel   ;; no load: the value just stored
//	i32.const 1
//	i32.lt_s
//	if
//	  call $check
//	end
//
// so that a loop iteration costs one load, one store and one predictable
// branch, and the host runs only once every Options.Fuel iterations. A
// leaf loop (one with no call and no loop inside) counts in a new i32
// local instead (a register: a decrement and a branch) and takes the
// sequence above once every 64 iterations, and on its first iteration
// after each entry (the local starts at 0), so the iterations between two
// host checks stay bounded however loops nest. The
// check sees whether the call's context has ended (and then aborts the
// call) or refills the fuel. Calling into the host regularly matters on
// its own: Go cannot stop a goroutine running compiled Wasm, so a guest
// that never called the host would also hold up the Go runtime's
// stop-the-world phases (garbage collection), and with them the timer
// that ends its deadline, for as long as it spins.
//
// The new import takes the function index after the last imported
// function, so every defined function's index grows by one: the rewriter
// shifts them in call, return_call and ref.func instructions (function
// bodies and constant expressions), exports, the start section, element
// segments and the "name" section. The leaf counter is a new last local
// of its function, so no local index moves. The fuel global is appended after every
// existing global, and a () -> () type is appended when the module has
// none, so no other index moves. Custom sections that point into the code
// section (DWARF ".debug_*" sections) are dropped, since their offsets
// would be stale.
//
// Every function body is decoded instruction by instruction (the core
// opcodes, the 0xFC saturating/bulk-memory/table prefix, the 0xFD SIMD
// prefix, the 0xFE threads prefix, block types, memargs, br_table, typed
// select, tail calls), so immediates are never mistaken for opcodes.
// Anything the decoder does not know is an error wrapping ErrUnsupported:
// the caller must then run the original module with another deadline
// mechanism. The output is meant to be validated by the runtime that
// compiles it.
package wasmrewrite

import (
	"errors"
	"fmt"
	"strings"
)

// Version identifies the rewriting scheme. It changes whenever the output
// for a given input changes, so caches keyed by it stay correct.
const Version = 3

// ErrUnsupported reports a module the rewriter cannot instrument (an
// unknown opcode, section or encoding, or a malformed binary).
var ErrUnsupported = errors.New("wasmrewrite: unsupported module")

// Options name what Instrument adds.
type Options struct {
	// ImportModule and ImportName name the imported fuel check, a host
	// function () -> (). The module must not import from ImportModule
	// already.
	ImportModule, ImportName string
	// Export is the export name of the fuel global (mutable i32); the
	// module must not export this name already.
	Export string
	// Fuel is the global's initial value: the loop iterations before the
	// first check.
	Fuel int32
}

// Result describes an instrumented module.
type Result struct {
	// Wasm is the rewritten binary.
	Wasm []byte
	// Global is the index of the fuel global.
	Global uint32
	// Func is the function index of the imported fuel check.
	Func uint32
	// Loops is how many loop headers got a check.
	Loops int
	// Functions is how many function bodies were decoded.
	Functions int
}

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// rank is the position a non-custom section must take in a module.
var rank = map[byte]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5,
	secTag: 6, secGlobal: 7, secExport: 8, secStart: 9, secElement: 10,
	secDataCount: 11, secCode: 12, secData: 13,
}

type section struct {
	id      byte
	payload []byte
}

// rewriter holds what the section rewriters share.
type rewriter struct {
	importedFuncs uint32
	// typeParams is each type's parameter count; funcTypes each defined
	// function's type.
	typeParams []uint32
	funcTypes  []uint32
	// chk is the check at a loop header, leafChk the one at a leaf loop's
	// (it depends on the function's locals).
	chk, leafChk []byte
	loops        int
	functions    int
	// Per-body scratch.
	leaf    []bool
	open    []int
	scratch []byte
	tmp     [5]byte
}

// Instrument returns wasm with a fuel check at every loop header (see the
// package documentation). It fails with an error wrapping ErrUnsupported
// when it cannot decode the module, or when the names in opts are taken.
func Instrument(wasm []byte, opts Options) (*Result, error) {
	res, err := instrument(wasm, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return res, nil
}

func instrument(wasm []byte, opts Options) (*Result, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, errors.New("not a WebAssembly binary")
	}
	if string(wasm[4:8]) != "\x01\x00\x00\x00" {
		return nil, fmt.Errorf("binary version %x (want 1)", wasm[4:8])
	}
	var secs []section
	r := &reader{b: wasm, pos: 8}
	last := 0
	for !r.done() {
		id := r.byte()
		n := r.u32()
		payload := r.bytes(int(n))
		if r.err != nil {
			return nil, fmt.Errorf("section %d at byte %d: %w", id, r.pos, r.err)
		}
		if id != secCustom {
			k, ok := rank[id]
			if !ok {
				return nil, fmt.Errorf("unknown section id %d", id)
			}
			if k <= last {
				return nil, fmt.Errorf("section %d out of order", id)
			}
			last = k
		}
		secs = append(secs, section{id, payload})
	}

	rw := &rewriter{}
	var types, importedGlobals, definedGlobals uint32
	voidType := int64(-1)
	for _, s := range secs {
		var err error
		switch s.id {
		case secType:
			types, voidType, rw.typeParams, err = scanTypes(s.payload)
		case secFunction:
			rw.funcTypes, err = scanFunctions(s.payload)
		case secImport:
			rw.importedFuncs, importedGlobals, err = scanImports(s.payload, opts.ImportModule)
		case secGlobal:
			r := &reader{b: s.payload}
			definedGlobals = r.u32()
			err = r.err
		case secExport:
			err = checkExportName(s.payload, opts.Export)
		}
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, err)
		}
	}
	res := &Result{Global: importedGlobals + definedGlobals, Func: rw.importedFuncs}
	if res.Global < importedGlobals || rw.importedFuncs == 1<<32-1 {
		return nil, errors.New("too many globals or imports")
	}
	var newType []byte
	if voidType < 0 {
		newType = []byte{0x60, 0x00, 0x00}
		voidType = int64(types)
	}
	newImport := appendName(nil, opts.ImportModule)
	newImport = appendName(newImport, opts.ImportName)
	newImport = appendU32(append(newImport, 0x00), uint32(voidType))
	newGlobal := append([]byte{0x7F, 0x01, 0x41}, appendS32(nil, opts.Fuel)...)
	newGlobal = append(newGlobal, 0x0B)
	newExport := appendName(nil, opts.Export)
	newExport = appendU32(append(newExport, 0x03), res.Global)

	// The check: fuel -= 1; if fuel < 1 { call check }. (Not == 0: a
	// check that did not refill must not leave 2^32 free iterations.)
	g := appendU32(nil, res.Global)
	chk := append([]byte{0x23}, g...)
	chk = append(chk, 0x41, 0x01, 0x6B, 0x24)
	chk = append(chk, g...)
	chk = append(chk, 0x23)
	chk = append(chk, g...)
	chk = append(chk, 0x41, 0x01, 0x48, 0x04, 0x40, 0x10)
	chk = appendU32(chk, res.Func)
	rw.chk = append(chk, 0x0B)

	out := make([]byte, 0, len(wasm)+len(wasm)/8+64)
	out = append(out, wasm[:8]...)
	emit := func(id byte, payload []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(payload)))
		out = append(out, payload...)
	}
	// Sections to add when the module has none, by id.
	missing := []struct {
		id   byte
		elem []byte
		done bool
	}{{secType, newType, newType == nil}, {secImport, newImport, false}, {secGlobal, newGlobal, false}, {secExport, newExport, false}}
	addMissing := func(before int) {
		for i := range missing {
			m := &missing[i]
			if !m.done && rank[m.id] < before {
				emit(m.id, append([]byte{1}, m.elem...))
				m.done = true
			}
		}
	}
	for _, s := range secs {
		if s.id != secCustom {
			addMissing(rank[s.id])
		}
		var p []byte
		var err error
		switch s.id {
		case secCustom:
			name, err := customName(s.payload)
			if err != nil {
				return nil, fmt.Errorf("custom section: %w", err)
			}
			switch {
			case strings.HasPrefix(name, ".debug_"):
				continue // offsets into the code section would be stale
			case name == "name":
				p, err = rw.rewriteNames(s.payload)
				if err != nil {
					continue // names only serve debugging: drop them
				}
			default:
				p = s.payload
			}
		case secType:
			p = s.payload
			if newType != nil {
				p, err = appendToVector(s.payload, newType)
			}
			missing[0].done = true
		case secImport:
			p, err = appendToVector(s.payload, newImport)
			missing[1].done = true
		case secGlobal:
			p, err = rw.rewriteGlobals(s.payload, newGlobal)
			missing[2].done = true
		case secExport:
			p, err = rw.rewriteExports(s.payload, newExport)
			missing[3].done = true
		case secStart:
			r := &reader{b: s.payload}
			e := &edit{b: s.payload}
			rw.funcIdx(r, e)
			p, err = finish(r, e, nil)
		case secElement:
			p, err = rw.rewriteElements(s.payload)
		case secCode:
			p, err = rw.rewriteCode(s.payload)
		default:
			p = s.payload
		}
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", s.id, err)
		}
		emit(s.id, p)
	}
	addMissing(1 << 30)
	res.Wasm = out
	res.Loops, res.Functions = rw.loops, rw.functions
	return res, nil
}

// scanFunctions reads the function section: each function's type.
func scanFunctions(p []byte) ([]uint32, error) {
	r := &reader{b: p}
	n := r.u32()
	if int(n) > len(p) {
		return nil, errEOF
	}
	types := make([]uint32, 0, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		types = append(types, r.u32())
	}
	return types, r.end()
}

// scanTypes counts the types, finds a () -> () one (-1: none), and
// returns each type's parameter count.
func scanTypes(p []byte) (uint32, int64, []uint32, error) {
	r := &reader{b: p}
	n := r.u32()
	void := int64(-1)
	if int(n) > len(p) {
		return 0, 0, nil, errEOF
	}
	paramCounts := make([]uint32, 0, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		if form := r.byte(); form != 0x60 && r.err == nil {
			return 0, 0, nil, fmt.Errorf("type %d: form 0x%02x is not supported", i, form)
		}
		params := r.u32()
		paramCounts = append(paramCounts, params)
		r.bytes(int(params))
		results := r.u32()
		r.bytes(int(results))
		if params == 0 && results == 0 && void < 0 {
			void = int64(i)
		}
	}
	return n, void, paramCounts, r.end()
}

// scanImports counts the imported functions and globals, and refuses a
// module that imports from ours already.
func scanImports(p []byte, ours string) (funcs, globals uint32, err error) {
	r := &reader{b: p}
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		if string(r.name()) == ours && r.err == nil {
			return 0, 0, fmt.Errorf("the module already imports from %q", ours)
		}
		r.name()
		switch kind := r.byte(); kind {
		case 0x00: // func
			r.u32()
			funcs++
		case 0x01: // table
			r.byte()
			r.limits()
		case 0x02: // memory
			r.limits()
		case 0x03: // global
			r.byte()
			r.byte()
			globals++
		case 0x04: // tag
			r.byte()
			r.u32()
		default:
			if r.err == nil {
				return 0, 0, fmt.Errorf("import %d: unknown kind 0x%02x", i, kind)
			}
		}
	}
	return funcs, globals, r.end()
}

// checkExportName fails when name is already exported.
func checkExportName(p []byte, name string) error {
	r := &reader{b: p}
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		if string(r.name()) == name {
			return fmt.Errorf("the module already exports %q", name)
		}
		r.byte()
		r.u32()
	}
	return r.end()
}

// growVector reads the count of the vector that is e's section and
// writes it one larger: finish appends the new entry.
func growVector(r *reader, e *edit) (uint32, error) {
	n := r.u32()
	if n == 1<<32-1 {
		return 0, errors.New("vector is full")
	}
	e.replace(0, r.pos, appendU32(nil, n+1))
	return n, nil
}

// rewriteExports shifts exported function indices and appends elem.
func (rw *rewriter) rewriteExports(p, elem []byte) ([]byte, error) {
	r := &reader{b: p}
	e := &edit{b: p}
	n, err := growVector(r, e)
	if err != nil {
		return nil, err
	}
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.name()
		if kind := r.byte(); kind == 0x00 {
			rw.funcIdx(r, e)
		} else {
			r.u32()
		}
	}
	return finish(r, e, elem)
}

// rewriteGlobals shifts ref.func in initializers and appends elem.
func (rw *rewriter) rewriteGlobals(p, elem []byte) ([]byte, error) {
	r := &reader{b: p}
	e := &edit{b: p}
	n, err := growVector(r, e)
	if err != nil {
		return nil, err
	}
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.byte()
		r.byte()
		if err := rw.expr(r, e, exprConst); err != nil {
			return nil, fmt.Errorf("global %d: %w", i, err)
		}
	}
	return finish(r, e, elem)
}

// rewriteElements shifts the function indices of element segments.
func (rw *rewriter) rewriteElements(p []byte) ([]byte, error) {
	r := &reader{b: p}
	e := &edit{b: p}
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		if flags > 7 {
			return nil, fmt.Errorf("element %d: flags %d", i, flags)
		}
		if flags&1 == 0 { // active
			if flags&2 != 0 {
				r.u32() // table index
			}
			if err := rw.expr(r, e, exprConst); err != nil {
				return nil, fmt.Errorf("element %d offset: %w", i, err)
			}
		}
		if flags&3 != 0 {
			r.byte() // elemkind or reftype
		}
		cnt := r.u32()
		for j := uint32(0); j < cnt && r.err == nil; j++ {
			if flags&4 == 0 {
				rw.funcIdx(r, e)
			} else if err := rw.expr(r, e, exprConst); err != nil {
				return nil, fmt.Errorf("element %d item %d: %w", i, j, err)
			}
		}
	}
	return finish(r, e, nil)
}

// rewriteNames shifts the function indices of a "name" section's
// function names (1), local names (2) and label names (3).
func (rw *rewriter) rewriteNames(p []byte) ([]byte, error) {
	r := &reader{b: p}
	r.name()
	out := append([]byte(nil), p[:r.pos]...)
	for !r.done() {
		id := r.byte()
		sub := r.name()
		if r.err != nil {
			return nil, r.err
		}
		if id >= 1 && id <= 3 {
			sr := &reader{b: sub}
			e := &edit{b: sub}
			n := sr.u32()
			for i := uint32(0); i < n && sr.err == nil; i++ {
				rw.funcIdx(sr, e)
				if id == 1 {
					sr.name()
					continue
				}
				m := sr.u32()
				for j := uint32(0); j < m && sr.err == nil; j++ {
					sr.u32()
					sr.name()
				}
			}
			var err error
			if sub, err = finish(sr, e, nil); err != nil {
				return nil, fmt.Errorf("name subsection %d: %w", id, err)
			}
		}
		out = append(out, id)
		out = appendU32(out, uint32(len(sub)))
		out = append(out, sub...)
	}
	return out, r.err
}

// customName returns a custom section's name.
func customName(p []byte) (string, error) {
	r := &reader{b: p}
	n := r.name()
	return string(n), r.err
}

// appendToVector adds one encoded element to a vector payload.
func appendToVector(p, elem []byte) ([]byte, error) {
	r := &reader{b: p}
	n := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	if n == 1<<32-1 {
		return nil, errors.New("vector is full")
	}
	out := appendU32(make([]byte, 0, len(p)+len(elem)+5), n+1)
	out = append(out, p[r.pos:]...)
	return append(out, elem...), nil
}

// appendName appends a length-prefixed name.
func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}

// appendU32 appends v as unsigned LEB128.
func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// appendS32 appends v as signed LEB128.
func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
