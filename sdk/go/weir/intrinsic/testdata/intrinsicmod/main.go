// Command intrinsicmod is a test module that uses every intrinsic; it
// imports weir:host/v1.
package main

import (
	"fmt"

	"github.com/weirhq/weir/sdk/go/weir"
	"github.com/weirhq/weir/sdk/go/weir/intrinsic"
)

func init() {
	weir.Handle(func(r *weir.Record) error {
		d := r.Data()
		dec, err := intrinsic.Base64Decode(intrinsic.StdEncoding, []byte(intrinsic.Base64Encode(intrinsic.StdEncoding, d)))
		if err != nil {
			return err
		}
		if _, err := intrinsic.Base64Decode(intrinsic.StdEncoding, []byte("!!")); err == nil {
			return fmt.Errorf("invalid base64 decoded")
		}
		r.Emit(fmt.Appendf(nil, "%s|%s|%s|%s|%s|%s|%s|%s",
			intrinsic.SHA256Hex(d), intrinsic.MD5Hex(d), intrinsic.SHA1Hex(d), intrinsic.Hex(d),
			intrinsic.Base64Encode(intrinsic.RawURLEncoding, d), dec, intrinsic.JSONEscape(d),
			intrinsic.AppendDigest(nil, intrinsic.SHA256, d)[:2]))
		return nil
	})
}

func main() {}
