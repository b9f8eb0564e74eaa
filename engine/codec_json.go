package engine

import (
	"fmt"
	"unicode/utf8"
)

// maxJSONDepth bounds nesting, as encoding/json does.
const maxJSONDepth = 10000

// syntaxError is a JSON syntax error at byte offset off.
type syntaxError struct {
	off int
	msg string
	// eof is set when the input ended before the value did: a streaming
	// reader reads more and scans again.
	eof bool
}

// synErr is a syntax error at off.
func synErr(off int, msg string) *syntaxError { return &syntaxError{off: off, msg: msg} }

// endErr is a syntax error for input that ended at off.
func endErr(off int, msg string) *syntaxError { return &syntaxError{off: off, msg: msg, eof: true} }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

func quoteByte(c byte) string {
	if c < utf8.RuneSelf {
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// skipValue validates the JSON value starting at data[i] and returns the
// offset just after it. It finds element boundaries without building
// anything, so arrays are split at the cost of one pass over their bytes.
func skipValue(data []byte, i, depth int) (int, *syntaxError) {
	if i >= len(data) {
		return 0, endErr(i, "unexpected end of input, expected a JSON value")
	}
	switch c := data[i]; {
	case c == '"':
		return skipString(data, i)
	case c == '{':
		return skipObject(data, i, depth+1)
	case c == '[':
		return skipArray(data, i, depth+1)
	case c == '-' || ('0' <= c && c <= '9'):
		return skipNumber(data, i)
	case c == 't':
		return skipLiteral(data, i, "true")
	case c == 'f':
		return skipLiteral(data, i, "false")
	case c == 'n':
		return skipLiteral(data, i, "null")
	default:
		return 0, synErr(i, fmt.Sprintf("invalid character %s looking for the beginning of a value", quoteByte(c)))
	}
}

func skipLiteral(data []byte, i int, lit string) (int, *syntaxError) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(data) {
			return 0, endErr(i+k, fmt.Sprintf("unexpected end of input in literal %s", lit))
		}
		if data[i+k] != lit[k] {
			return 0, synErr(i+k, fmt.Sprintf("invalid character %s in literal %s", quoteByte(data[i+k]), lit))
		}
	}
	return i + len(lit), nil
}

func skipString(data []byte, i int) (int, *syntaxError) {
	start := i
	i++
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(data) {
				return 0, endErr(i, "unexpected end of input in string escape")
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := 2; k < 6; k++ {
					if i+k >= len(data) {
						return 0, endErr(i+k, "unexpected end of input in \\u escape")
					}
					if !isHex(data[i+k]) {
						return 0, synErr(i+k, fmt.Sprintf("invalid character %s in \\u escape", quoteByte(data[i+k])))
					}
				}
				i += 6
			default:
				return 0, synErr(i+1, fmt.Sprintf("invalid escape character %s in string", quoteByte(data[i+1])))
			}
		case c < 0x20:
			return 0, synErr(i, fmt.Sprintf("invalid control character 0x%02x in string", c))
		default:
			i++
		}
	}
	return 0, endErr(start, "unterminated string")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func skipNumber(data []byte, i int) (int, *syntaxError) {
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && isDigit(data[i]):
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	case i >= len(data):
		return 0, endErr(i, "invalid number: expected a digit")
	default:
		return 0, synErr(i, "invalid number: expected a digit")
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) {
			return 0, endErr(i, "invalid number: expected a digit after '.'")
		}
		if !isDigit(data[i]) {
			return 0, synErr(i, "invalid number: expected a digit after '.'")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) {
			return 0, endErr(i, "invalid number: expected a digit in the exponent")
		}
		if !isDigit(data[i]) {
			return 0, synErr(i, "invalid number: expected a digit in the exponent")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	return i, nil
}

func skipArray(data []byte, i, depth int) (int, *syntaxError) {
	return scanArray(data, i, depth, nil)
}

// scanArray validates the array at data[i] == '[' and returns its end,
// calling each (when not nil) with every element's position and bounds.
func scanArray(data []byte, i, depth int, each func(start, end, n int)) (int, *syntaxError) {
	if depth > maxJSONDepth {
		return 0, synErr(i, fmt.Sprintf("nesting deeper than %d", maxJSONDepth))
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return i + 1, nil
	}
	for n := 0; ; n++ {
		end, err := skipValue(data, i, depth)
		if err != nil {
			return 0, err
		}
		if each != nil {
			each(i, end, n)
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return 0, endErr(i, "unexpected end of input in array")
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case ']':
			return i + 1, nil
		default:
			return 0, synErr(i, fmt.Sprintf("expected ',' or ']' after array element, found %s", quoteByte(data[i])))
		}
	}
}

func skipObject(data []byte, i, depth int) (int, *syntaxError) {
	if depth > maxJSONDepth {
		return 0, synErr(i, fmt.Sprintf("nesting deeper than %d", maxJSONDepth))
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(data) {
			return 0, endErr(i, "unexpected end of input in object")
		}
		if data[i] != '"' {
			return 0, synErr(i, fmt.Sprintf("expected a string key, found %s", quoteByte(data[i])))
		}
		end, err := skipString(data, i)
		if err != nil {
			return 0, err
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return 0, endErr(i, "expected ':' after object key")
		}
		if data[i] != ':' {
			return 0, synErr(i, "expected ':' after object key")
		}
		i = skipSpace(data, i+1)
		end, err = skipValue(data, i, depth)
		if err != nil {
			return 0, err
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return 0, endErr(i, "unexpected end of input in object")
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, synErr(i, fmt.Sprintf("expected ',' or '}' after object value, found %s", quoteByte(data[i])))
		}
	}
}
