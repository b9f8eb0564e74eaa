package engine

import (
	"bytes"
	"compress/bzip2"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Magic bytes of the compressed inputs the decoder recognises.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
	// bzip2: "BZh" and the block size digit 1-9.
	bzip2Magic = []byte("BZh")
	// The framing format's stream identifier chunk (type 0xff, length 6)
	// of snappy ("sNaPpY") and of S2 ("S2sTwO"), which s2's reader reads
	// both of. Raw (unframed) snappy blocks have no magic and are not
	// detected.
	snappyMagic = []byte("\xff\x06\x00\x00sNaPpY")
	s2Magic     = []byte("\xff\x06\x00\x00S2sTwO")
)

// magicLen is how many leading bytes compression detection looks at.
const magicLen = 10

// compressionOf names the compression whose magic starts b: "gzip",
// "zstd", "bzip2", "snappy" or "" (none recognised).
func compressionOf(b []byte) string {
	switch {
	case bytes.HasPrefix(b, gzipMagic):
		return "gzip"
	case bytes.HasPrefix(b, zstdMagic):
		return "zstd"
	case len(b) >= 4 && bytes.HasPrefix(b, bzip2Magic) && b[3] >= '1' && b[3] <= '9':
		return "bzip2"
	case bytes.HasPrefix(b, snappyMagic), bytes.HasPrefix(b, s2Magic):
		return "snappy"
	}
	return ""
}

// newBzip2Reader reads bzip2 input (concatenated streams included, as
// pbzip2 writes).
func newBzip2Reader(r io.Reader) io.Reader { return bzip2.NewReader(r) }

// newSnappyReader reads framed snappy (or S2) input.
func newSnappyReader(r io.Reader) io.Reader { return s2.NewReader(r) }

// newGzipReader reads gzip input, multi-member files included.
func newGzipReader(r io.Reader) (io.Reader, error) {
	return gzip.NewReader(r)
}

// zstdReader adapts a zstd decoder (whose Close returns nothing) to the
// codec's reader.
type zstdReader struct{ *zstd.Decoder }

// newZstdReader reads zstd input with one decoding goroutine and the
// low-memory option: inputs are batches, and Lambda has few cores and
// little memory. MaxInputBytes bounds the decompressed size.
func newZstdReader(r io.Reader) (*zstdReader, error) {
	d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
	if err != nil {
		return nil, err
	}
	return &zstdReader{d}, nil
}

// Close releases the decoder.
func (z *zstdReader) Close() { z.Decoder.Close() }
