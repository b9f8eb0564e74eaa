package builtin

import (
	"bytes"
	"reflect"
	"testing"
)

// TestFastRegexp checks the byte-scan programs against Go's regexp on
// every string of up to 5 bytes over an alphabet holding each pattern's
// special bytes (plus newline and invalid UTF-8), for Match,
// FindSubmatchIndex and ReplaceAll, and that the patterns meant to be
// fast are.
func TestFastRegexp(t *testing.T) {
	tests := []struct {
		pattern string
		kind    int
	}{
		{`\.amazonaws\.com$`, fastSuffix},
		{`ab`, fastContains},
		{`^[^v]*v(.*)$`, fastAnchored},
		{`^([^v]*)v`, fastAnchored},
		{`^[^:]*:[^@]*@`, fastAnchored},
		{`^[^:]*:((?s).*)$`, fastAnchored},
		{`^[^:]*:([^@]*)@`, fastAnchored},
		{`^[^:]*:[^@]*@((?s).*)$`, fastAnchored},
		{`^(a)(.*)`, fastAnchored},
		{`^[^a]*?a`, fastAnchored},
		{`^(?:ab)*`, fastNone},
		{`^[^v]*`, fastNone},    // a scan must end on its byte
		{`^.*a`, fastNone},      // .* then more: backtracking
		{`^[^v]*x`, fastNone},   // scan then another byte
		{`(?i)^ab`, fastNone},   // case folding
		{`^[^é]*é`, fastNone},   // non-ASCII scan byte
		{`a$|b`, fastNone},      // alternation
		{`^.*?$`, fastNone},     // non-greedy rest
		{`x^a`, fastNone},       // ^ inside
		{`^\x{FFFD}`, fastNone}, // U+FFFD matches invalid UTF-8
		{`^[^\n]*\n(.*)`, fastAnchored},
	}
	alphabet := []string{"a", "b", "v", ":", "@", ".", "\n", "\xff", "é", "x"}
	var inputs [][]byte
	var gen func(prefix []byte, n int)
	gen = func(prefix []byte, n int) {
		inputs = append(inputs, append([]byte(nil), prefix...))
		if n == 0 {
			return
		}
		for _, a := range alphabet {
			gen(append(prefix, a...), n-1)
		}
	}
	gen(nil, 4)
	inputs = append(inputs, []byte("x.amazonaws.com"), []byte("signin.amazonaws.com.amazonaws.com"), []byte("AROA:alice@example.com"), []byte("TLSv1.3"))
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			f, err := compileRegexp(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if f.kind != tt.kind {
				t.Fatalf("kind %d, want %d", f.kind, tt.kind)
			}
			repls := [][]byte{nil, []byte("R"), []byte("<$1>")}
			var buf [16]int
			for _, in := range inputs {
				if got, want := f.Match(in), f.re.Match(in); got != want {
					t.Fatalf("Match(%q) = %v, regexp says %v", in, got, want)
				}
				got, want := f.findSubmatchIndex(in, buf[:]), f.re.FindSubmatchIndex(in)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("FindSubmatchIndex(%q) = %v, regexp says %v", in, got, want)
				}
				for _, r := range repls {
					got, want := f.appendReplaceAll([]byte("pre"), in, r), append([]byte("pre"), f.re.ReplaceAll(in, r)...)
					if !bytes.Equal(got, want) {
						t.Fatalf("ReplaceAll(%q, %q) = %q, regexp says %q", in, r, got, want)
					}
				}
			}
		})
	}
}

// BenchmarkFastRegexp compares a capture with the byte scan and with
// regexp.
func BenchmarkFastRegexp(b *testing.B) {
	in := []byte("AROAEXAMPLEID:alice@example.com")
	f, err := compileRegexp(`^[^:]*:([^@]*)@`)
	if err != nil {
		b.Fatal(err)
	}
	var loc [16]int
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if f.findSubmatchIndex(in, loc[:]) == nil {
				b.Fatal("no match")
			}
		}
	})
	b.Run("regexp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if f.re.FindSubmatchIndex(in) == nil {
				b.Fatal("no match")
			}
		}
	})
}
