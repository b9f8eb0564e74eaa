package builtin

import (
	"strings"
	"testing"
)

// TestFastRegexpSet: patterns matching a whole value against literals run
// as a set lookup and agree with Go's regexp; others do not take the path.
func TestFastRegexpSet(t *testing.T) {
	names := []string{"AssumeRole", "ConsoleLogin", "ListUsers", "ListUserTags", "ListUserPolicies", "GetUser", "GetUserPolicy", "a", "b", "é"}
	tests := []struct {
		pattern string
		set     bool
	}{
		{`^(?:` + strings.Join(names, "|") + `)$`, true},
		{`^(` + strings.Join(names, "|") + `)$`, true},
		{`^(?:ab|ac|a)$`, true},
		{`^(?:x|y|z)$`, true},      // a class after factoring
		{`^List(?:User)?s$`, true}, // optional part
		{`\A(?:a|b)\z`, true},
		{`^(?:a|b)`, false},        // not anchored at the end
		{`(?:a|b)$`, false},        // nor at the start
		{`(?i)^(?:ab|cd)$`, false}, // case-folded literals
		{`(?i)^(?:a|k)$`, true},    // classes of every case (K, k, U+212A)
		{`^(?:a|b+)$`, false},      // a repeat
		{`^(?:a|.)$`, false},       // any character
		{`^(?:a|[^b])$`, false},    // a large class
		{`^(?:a|\x{FFFD})$`, false},
	}
	inputs := append([]string{"", "x", "y", "Lists", "ListUsers\n", "ListUser", "ab", "ac", "aa", "\xff", "A", "AssumeRole ", " AssumeRole", "é\xff", "K", "k", "\u212a"}, names...)
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			f, err := compileRegexp(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if (f.kind == fastSet) != tt.set {
				t.Fatalf("kind %d, want set %v", f.kind, tt.set)
			}
			for _, in := range inputs {
				if got, want := f.Match([]byte(in)), f.re.Match([]byte(in)); got != want {
					t.Errorf("Match(%q) = %v, regexp says %v", in, got, want)
				}
			}
		})
	}
}

func BenchmarkFastRegexpSet(b *testing.B) {
	names := []string{"AddUserToGroup", "AssumeRole", "AttachGroupPolicy", "AttachUserPolicy", "ChangePassword", "ConsoleLogin", "CreateAccessKey", "CreateBucket", "CreateGroup", "CreateKeyPair", "CreateUser", "DeleteBucket", "ListUsers", "UpdateRole"}
	f, err := compileRegexp(`^(?:` + strings.Join(names, "|") + `)$`)
	if err != nil {
		b.Fatal(err)
	}
	in := []byte("DescribeInstances")
	b.Run("set", func(b *testing.B) {
		for b.Loop() {
			f.Match(in)
		}
	})
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			f.re.Match(in)
		}
	})
}
