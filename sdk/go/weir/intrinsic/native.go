//go:build !wasip1

package intrinsic

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"github.com/weirhq/weir/engine/frame"
)

// The native versions of the host functions, with the host's contract:
// results go to out, the return value is their length.

var encodings = [...]*base64.Encoding{
	base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding,
}

func digest(algo byte, data, out []byte) int {
	switch algo {
	case SHA256:
		s := sha256.Sum256(data)
		return copy(out, s[:])
	case MD5:
		s := md5.Sum(data)
		return copy(out, s[:])
	case SHA1:
		s := sha1.Sum(data)
		return copy(out, s[:])
	}
	return -1
}

func digestHex(algo byte, data, out []byte) int {
	var raw [32]byte
	n := digest(algo, data, raw[:])
	if n < 0 {
		return n
	}
	return hex.Encode(out, raw[:n])
}

func hexEncode(data, out []byte) int { return hex.Encode(out, data) }

func base64Encode(variant int, data, out []byte) int {
	e := encodings[variant]
	e.Encode(out, data)
	return e.EncodedLen(len(data))
}

func base64Decode(variant int, s, out []byte) int {
	e := encodings[variant]
	if e.DecodedLen(len(s)) > len(out) {
		return -2
	}
	n, err := e.Decode(out, s)
	if err != nil {
		return -1
	}
	return n
}

func jsonEscape(s, out []byte) int {
	q := frame.AppendString(nil, s)
	if len(q) <= len(out) {
		copy(out, q)
	}
	return len(q)
}
