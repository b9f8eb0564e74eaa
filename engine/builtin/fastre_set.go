package builtin

import (
	"regexp/syntax"
	"unicode/utf8"
)

// A pattern that matches a whole value against a list of literals,
// "^(?:AssumeRole|ConsoleLogin|CreateUser)$" (how a Substation config
// tests a field against a table of names), runs as one set lookup: Go's
// regexp walks every alternative (the 52 eventNames of the CloudTrail
// categorization table cost more than the rest of a record's built-ins).
// Only Match takes this path; captures and replacements stay on regexp.

// maxLiteralSet bounds the strings a pattern may expand to.
const maxLiteralSet = 4096

// literalSet returns the set of strings re matches when re is ^, a finite
// alternation of literals (possibly factored by the parser into
// concatenations, single-rune classes and groups), then $; nil otherwise.
func literalSet(re *syntax.Regexp) map[string]struct{} {
	if re.Op != syntax.OpConcat || len(re.Sub) < 3 ||
		re.Sub[0].Op != syntax.OpBeginText || re.Sub[len(re.Sub)-1].Op != syntax.OpEndText {
		return nil
	}
	strs := []string{""}
	for _, sub := range re.Sub[1 : len(re.Sub)-1] {
		alts, ok := expandLiterals(sub)
		if !ok || len(strs)*len(alts) > maxLiteralSet {
			return nil
		}
		strs = crossJoin(strs, alts)
	}
	set := make(map[string]struct{}, len(strs))
	for _, s := range strs {
		set[s] = struct{}{}
	}
	return set
}

// expandLiterals lists the strings re matches, when they are finitely
// many and matched byte for byte.
func expandLiterals(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		var b []byte
		for _, r := range re.Rune {
			if r == utf8.RuneError { // matches invalid UTF-8 in regexp
				return nil, false
			}
			b = utf8.AppendRune(b, r)
		}
		return []string{string(b)}, true
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			if hi-lo >= maxLiteralSet || len(out)+int(hi-lo)+1 > maxLiteralSet {
				return nil, false
			}
			for r := lo; r <= hi; r++ {
				if r == utf8.RuneError || !utf8.ValidRune(r) {
					return nil, false
				}
				out = append(out, string(r))
			}
		}
		return out, len(out) > 0
	case syntax.OpCapture:
		return expandLiterals(re.Sub[0])
	case syntax.OpConcat:
		strs := []string{""}
		for _, sub := range re.Sub {
			alts, ok := expandLiterals(sub)
			if !ok || len(strs)*len(alts) > maxLiteralSet {
				return nil, false
			}
			strs = crossJoin(strs, alts)
		}
		return strs, true
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			alts, ok := expandLiterals(sub)
			if !ok || len(out)+len(alts) > maxLiteralSet {
				return nil, false
			}
			out = append(out, alts...)
		}
		return out, true
	case syntax.OpQuest:
		alts, ok := expandLiterals(re.Sub[0])
		if !ok || len(alts)+1 > maxLiteralSet {
			return nil, false
		}
		return append(alts, ""), true
	}
	return nil, false
}

// crossJoin returns every a+b for a in as and b in bs.
func crossJoin(as, bs []string) []string {
	out := make([]string, 0, len(as)*len(bs))
	for _, a := range as {
		for _, b := range bs {
			out = append(out, a+b)
		}
	}
	return out
}
