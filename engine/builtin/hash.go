package builtin

import (
	"crypto/md5" //nolint:gosec // Substation's hash_md5 is MD5 by definition.
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Hash transforms: hash_md5, hash_sha256. The hash of the value at
// source_key (a string's content, any other value's JSON) is written as
// lowercase hex at target_key, or replaces the data when no key is set.
// The digest is computed on the stack: no allocation per record.

func init() {
	RegisterTransform("hash_md5", newHash(func(in, dst []byte) []byte {
		sum := md5.Sum(in) //nolint:gosec // see above
		return hex.AppendEncode(dst, sum[:])
	}))
	RegisterTransform("hash_sha256", newHash(func(in, dst []byte) []byte {
		sum := sha256.Sum256(in)
		return hex.AppendEncode(dst, sum[:])
	}))
}

func newHash(sum func(in, dst []byte) []byte) TransformFactory {
	return func(c *Compiler, raw json.RawMessage) (Transform, error) {
		var s objectSettings
		if err := c.Decode(raw, &s); err != nil {
			return nil, err
		}
		t, err := PerValue(s.Object, func(in, dst []byte) ([]byte, error) { return sum(in, dst), nil })
		if err != nil {
			return nil, c.wrap(err)
		}
		return t, nil
	}
}
