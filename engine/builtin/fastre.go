package builtin

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// fastRegexp is a compiled regular expression with, when the pattern
// allows it, a byte-scan program that gives the same results as Go's
// regexp without its machinery (and its allocation per match). The
// patterns it recognizes are the usual field-splitting ones: literals,
// a literal anchored at the end ("\.amazonaws\.com$"), and patterns
// anchored at the start made of literals, "[^c]*" followed by c, and a
// final ".*" or "(?s).*", with capture groups around any of them
// ("^[^:]*:([^@]*)@", "^[^v]*v(.*)$"). Each of these has exactly one way
// to match, found by scanning for bytes; anything else (and any pattern
// with case folding or non-ASCII scan bytes) runs on regexp.
type fastRegexp struct {
	re   *regexp.Regexp
	kind int
	lit  []byte              // fastContains, fastSuffix
	prog []fastOp            // fastAnchored
	set  map[string]struct{} // fastSet (Match only: fastre_set.go)
	nloc int                 // 2 * (number of groups + 1)
}

// Kinds of fast paths.
const (
	fastNone     = iota // regexp only
	fastContains        // the pattern is a literal
	fastSuffix          // a literal followed by $ (or \z)
	fastAnchored        // ^ followed by a program
	fastSet             // ^(?:lit|lit|...)$, for Match
)

type fastOp struct {
	code byte
	c    byte   // opScan: the byte to stop before
	lit  []byte // opLit
	slot int    // opCap: index in the match locations
}

// Operations of an anchored program, run left to right over the input
// from position 0; none backtracks.
const (
	opLit      = iota // the input continues with lit
	opScan            // skip to the next c ([^c]* followed by c)
	opRestNoNL        // .*: skip to the next '\n' or the end
	opRest            // (?s).*: skip to the end
	opEnd             // $: at the end of the input
	opCap             // record the position in slot
)

// compileRegexp compiles pattern with regexp.Compile and, when it is one
// of the shapes above, its byte-scan program.
func compileRegexp(pattern string) (*fastRegexp, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	f := &fastRegexp{re: re, nloc: 2 * (re.NumSubexp() + 1)}
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return f, nil // cannot happen: regexp.Compile parsed it
	}
	var nodes []fastOp
	if !flattenRegexp(tree.Simplify(), &nodes) {
		if f.set = literalSet(tree); f.set != nil {
			f.kind = fastSet
		}
		return f, nil
	}
	f.kind, f.lit, f.prog = classify(nodes)
	return f, nil
}

// opBegin marks ^ while flattening; it only survives as the first node.
const opBegin = 100

// flattenRegexp appends re as a sequence of operations; false when re
// uses anything the programs cannot run exactly.
func flattenRegexp(re *syntax.Regexp, out *[]fastOp) bool {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return true
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !flattenRegexp(s, out) {
				return false
			}
		}
		return true
	case syntax.OpCapture:
		*out = append(*out, fastOp{code: opCap, slot: 2 * re.Cap})
		if !flattenRegexp(re.Sub[0], out) {
			return false
		}
		*out = append(*out, fastOp{code: opCap, slot: 2*re.Cap + 1})
		return true
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return false
		}
		var lit []byte
		for _, r := range re.Rune {
			// U+FFFD in the pattern matches invalid UTF-8 in regexp,
			// not in a byte comparison.
			if r == utf8.RuneError {
				return false
			}
			lit = utf8.AppendRune(lit, r)
		}
		if n := len(*out); n > 0 && (*out)[n-1].code == opLit {
			(*out)[n-1].lit = append((*out)[n-1].lit, lit...)
			return true
		}
		*out = append(*out, fastOp{code: opLit, lit: lit})
		return true
	case syntax.OpBeginText:
		*out = append(*out, fastOp{code: opBegin})
		return true
	case syntax.OpEndText:
		*out = append(*out, fastOp{code: opEnd})
		return true
	case syntax.OpStar:
		sub := re.Sub[0]
		greedy := re.Flags&syntax.NonGreedy == 0
		switch {
		case sub.Op == syntax.OpCharClass:
			// [^c]: everything but one ASCII byte, newline included.
			r := sub.Rune
			if len(r) == 4 && r[0] == 0 && r[1]+2 == r[2] && r[1]+1 < utf8.RuneSelf && r[1]+1 > 0 && r[3] == unicode.MaxRune {
				*out = append(*out, fastOp{code: opScan, c: byte(r[1] + 1)})
				return true
			}
		case sub.Op == syntax.OpAnyCharNotNL && greedy:
			*out = append(*out, fastOp{code: opRestNoNL})
			return true
		case sub.Op == syntax.OpAnyChar && greedy:
			*out = append(*out, fastOp{code: opRest})
			return true
		}
	}
	return false
}

// classify tells which fast path a flattened pattern has, checking that
// its program has exactly one way to match: every scan is followed by a
// literal starting with its byte, and nothing but captures and $ follows
// a ".*".
func classify(nodes []fastOp) (int, []byte, []fastOp) {
	switch {
	case len(nodes) == 1 && nodes[0].code == opLit:
		return fastContains, nodes[0].lit, nil
	case len(nodes) == 2 && nodes[0].code == opLit && nodes[1].code == opEnd:
		return fastSuffix, nodes[0].lit, nil
	case len(nodes) == 0 || nodes[0].code != opBegin:
		return fastNone, nil, nil
	}
	prog := nodes[1:]
	for i, op := range prog {
		switch op.code {
		case opBegin:
			return fastNone, nil, nil
		case opScan:
			j := i + 1
			for j < len(prog) && prog[j].code == opCap {
				j++
			}
			if j == len(prog) || prog[j].code != opLit || prog[j].lit[0] != op.c {
				return fastNone, nil, nil
			}
		case opRest, opRestNoNL:
			for _, after := range prog[i+1:] {
				if after.code != opCap && after.code != opEnd {
					return fastNone, nil, nil
				}
			}
		}
	}
	return fastAnchored, nil, prog
}

// run executes an anchored program; loc (len nloc, or nil) receives the
// match locations, -1 for groups the program does not set.
func (f *fastRegexp) run(in []byte, loc []int) bool {
	for i := range loc {
		loc[i] = -1
	}
	pos := 0
	for _, op := range f.prog {
		switch op.code {
		case opLit:
			if !bytes.HasPrefix(in[pos:], op.lit) {
				return false
			}
			pos += len(op.lit)
		case opScan:
			i := bytes.IndexByte(in[pos:], op.c)
			if i < 0 {
				return false
			}
			pos += i
		case opRestNoNL:
			if i := bytes.IndexByte(in[pos:], '\n'); i >= 0 {
				pos += i
			} else {
				pos = len(in)
			}
		case opRest:
			pos = len(in)
		case opEnd:
			if pos != len(in) {
				return false
			}
		case opCap:
			if loc != nil {
				loc[op.slot] = pos
			}
		}
	}
	if loc != nil {
		loc[0], loc[1] = 0, pos
	}
	return true
}

// Match reports whether in contains a match (regexp.Match).
func (f *fastRegexp) Match(in []byte) bool {
	switch f.kind {
	case fastContains:
		return bytes.Contains(in, f.lit)
	case fastSuffix:
		return bytes.HasSuffix(in, f.lit)
	case fastAnchored:
		return f.run(in, nil)
	case fastSet:
		_, ok := f.set[string(in)]
		return ok
	}
	return f.re.Match(in)
}

// findSubmatchIndex is regexp.FindSubmatchIndex, writing into loc when
// it is large enough (nil when nothing matches).
func (f *fastRegexp) findSubmatchIndex(in []byte, loc []int) []int {
	if f.nloc > len(loc) {
		return f.re.FindSubmatchIndex(in)
	}
	loc = loc[:f.nloc]
	switch f.kind {
	case fastContains:
		i := bytes.Index(in, f.lit)
		if i < 0 {
			return nil
		}
		loc[0], loc[1] = i, i+len(f.lit)
		return loc
	case fastSuffix:
		if !bytes.HasSuffix(in, f.lit) {
			return nil
		}
		loc[0], loc[1] = len(in)-len(f.lit), len(in)
		return loc
	case fastAnchored:
		if !f.run(in, loc) {
			return nil
		}
		return loc
	}
	return f.re.FindSubmatchIndex(in)
}

// appendReplaceAll appends regexp.ReplaceAll(in, repl) to dst. The fast
// paths apply when repl expands nothing ($), where a pattern anchored at
// either end matches at most once.
func (f *fastRegexp) appendReplaceAll(dst, in, repl []byte) []byte {
	if bytes.IndexByte(repl, '$') < 0 {
		switch f.kind {
		case fastContains:
			for {
				i := bytes.Index(in, f.lit)
				if i < 0 {
					return append(dst, in...)
				}
				dst = append(append(dst, in[:i]...), repl...)
				in = in[i+len(f.lit):]
			}
		case fastSuffix:
			if !bytes.HasSuffix(in, f.lit) {
				return append(dst, in...)
			}
			return append(append(dst, in[:len(in)-len(f.lit)]...), repl...)
		case fastAnchored:
			var buf [16]int
			if f.nloc > len(buf) {
				break
			}
			loc := buf[:f.nloc]
			if !f.run(in, loc) {
				return append(dst, in...)
			}
			return append(append(dst, repl...), in[loc[1]:]...)
		}
	}
	return append(dst, f.re.ReplaceAll(in, repl)...)
}
