package builtin

import (
	"strconv"
	"testing"
)

func TestParseSmallInt(t *testing.T) {
	for _, s := range []string{"0", "-0", "+7", "42", "-42", "1639877490000000000", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "-9223372036854775809", "99999999999999999999", "", "-", "1.5", "1e3", "0x10", " 1", "007"} {
		n, ok := parseSmallInt([]byte(s))
		want, err := strconv.ParseInt(s, 10, 64)
		if ok != (err == nil) || (ok && n != want) {
			t.Errorf("%q: got %d %v, strconv says %d %v", s, n, ok, want, err)
		}
	}
}
