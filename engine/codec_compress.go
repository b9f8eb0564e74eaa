package engine

import (
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

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
