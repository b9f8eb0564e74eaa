package intrinsic_test

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/sdk/go/weir/intrinsic"
)

// The native versions must give what Go's standard library gives (the
// Wasm versions are tested against a host in sdk/go/weir's wasm tests).
func TestNative(t *testing.T) {
	for _, d := range [][]byte{nil, []byte("hello"), []byte("é\"\u2028\x01\xff"), make([]byte, 3000)} {
		sha, md, s1 := sha256.Sum256(d), md5.Sum(d), sha1.Sum(d)
		if intrinsic.SHA256Hex(d) != hex.EncodeToString(sha[:]) || intrinsic.MD5Hex(d) != hex.EncodeToString(md[:]) ||
			intrinsic.SHA1Hex(d) != hex.EncodeToString(s1[:]) || intrinsic.Hex(d) != hex.EncodeToString(d) {
			t.Errorf("%q: digests", d)
		}
		if got := intrinsic.AppendDigest([]byte("x"), intrinsic.SHA256, d); string(got) != "x"+string(sha[:]) {
			t.Errorf("%q: raw digest", d)
		}
		for v, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			enc := intrinsic.Base64Encode(v, d)
			if enc != e.EncodeToString(d) {
				t.Errorf("%q: base64 variant %d: %s", d, v, enc)
			}
			dec, err := intrinsic.Base64Decode(v, []byte(enc))
			if err != nil || string(dec) != string(d) {
				t.Errorf("%q: base64 decode variant %d: %v", d, v, err)
			}
		}
		if got := intrinsic.JSONEscape(d); string(got) != string(frame.AppendString(nil, d)) {
			t.Errorf("%q: JSONEscape %s", d, got)
		}
	}
	if _, err := intrinsic.Base64Decode(intrinsic.StdEncoding, []byte("!!")); err == nil {
		t.Error("invalid base64 decoded")
	}
	if _, err := intrinsic.Base64Decode(9, []byte("AA==")); err == nil {
		t.Error("unknown variant accepted")
	}
	// Escaping that grows past the first guess.
	bad := make([]byte, 100)
	for i := range bad {
		bad[i] = 0xff
	}
	if got := intrinsic.AppendJSONString(nil, bad); len(got) != 602 {
		t.Errorf("escaped length %d", len(got))
	}
}

func TestUnknownAlgorithmPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	intrinsic.AppendDigestHex(nil, 9, nil)
}

func ExampleSHA256Hex() {
	fmt.Println(intrinsic.SHA256Hex([]byte("abc")))
	// Output: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
}

func ExampleAppendJSONString() {
	fmt.Println(string(intrinsic.AppendJSONString([]byte("x="), []byte("a\"b\n"))))
	// Output: x="a\"b\n"
}

func ExampleBase64Encode() {
	fmt.Println(intrinsic.Base64Encode(intrinsic.RawURLEncoding, []byte{0xfb, 0xff}))
	// Output: -_8
}
