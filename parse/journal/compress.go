package journal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
)

// decoders decompress DATA payloads, each bounded to MaxPayload bytes of
// output so that a small compressed field cannot expand without limit.
type decoders struct {
	zs *zstd.Decoder
}

// zstd payloads are one zstd frame (ZSTD_compress).
func (d *decoders) zstd(src []byte) ([]byte, bool, error) {
	if d.zs == nil {
		z, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxMemory(4*MaxPayload), zstd.WithDecoderMaxWindow(4*MaxPayload))
		if err != nil {
			return nil, false, err
		}
		d.zs = z
	}
	// DecodeAll on the whole payload: the decoder refuses a frame that
	// needs more than its memory limit, and what it returns is cut at
	// MaxPayload.
	out, err := d.zs.DecodeAll(src, nil)
	if err != nil {
		return nil, false, fmt.Errorf("zstd: %w", err)
	}
	if len(out) > MaxPayload {
		return out[:MaxPayload:MaxPayload], true, nil
	}
	return out, false, nil
}

// xz payloads are a whole .xz stream (lzma_easy_buffer_encode).
func (d *decoders) xz(src []byte) ([]byte, bool, error) {
	z, err := xz.ReaderConfig{SingleStream: true}.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, false, fmt.Errorf("xz: %w", err)
	}
	return limited(z, "xz")
}

// lz4 payloads are the uncompressed size (64-bit little endian) followed by
// one LZ4 block.
func (d *decoders) lz4(src []byte) ([]byte, bool, error) {
	if len(src) < 8 {
		return nil, false, fmt.Errorf("lz4: %d bytes, shorter than the size prefix", len(src))
	}
	n := binary.LittleEndian.Uint64(src)
	if n > MaxPayload {
		return nil, false, fmt.Errorf("lz4: %d bytes uncompressed, above the limit of %d", n, MaxPayload)
	}
	dst := make([]byte, n)
	got, err := lz4.UncompressBlock(src[8:], dst)
	if err != nil {
		return nil, false, fmt.Errorf("lz4: %w", err)
	}
	if uint64(got) != n {
		return nil, false, fmt.Errorf("lz4: %d bytes uncompressed, the prefix says %d", got, n)
	}
	return dst, false, nil
}

// limited reads at most MaxPayload bytes from r; truncated says whether
// there was more.
func limited(r io.Reader, what string) ([]byte, bool, error) {
	out, err := io.ReadAll(io.LimitReader(r, MaxPayload+1))
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", what, err)
	}
	if len(out) > MaxPayload {
		return out[:MaxPayload], true, nil
	}
	return out, false, nil
}
