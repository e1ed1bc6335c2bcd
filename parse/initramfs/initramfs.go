// Package initramfs lists the contents of a Linux initramfs image in pure
// Go, without running the target's lsinitrd or lsinitramfs. An image is a
// sequence of segments, the way the kernel unpacks it: uncompressed cpio
// archives (the early microcode prefix dracut and initramfs-tools put
// first), NUL padding between them, and compressed cpio archives (gzip,
// xz, zstd, lz4, lzma or bzip2). Each segment may hold several archives.
package initramfs

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"rescue/parse/cpio"
)

// MaxUnpacked bounds the bytes one image may decompress to. Real images
// unpack to a few hundred MiB; a compression bomb is stopped here.
var MaxUnpacked int64 = 4 << 30

// Segment is one run of the image: an uncompressed archive or one
// compressed stream.
type Segment struct {
	// Offset is where the segment starts in the image file.
	Offset      int64  `json:"offset"`
	Compression string `json:"compression"` // "none", "gzip", "xz", "zstd", "lz4", "lzma", "bzip2"
	Entries     int    `json:"entries"`
}

// Entry is one file of the image.
type Entry struct {
	Name    string
	Mode    uint32
	Size    int64
	Segment int
	// LinkTarget is a symlink's target.
	LinkTarget string
}

// Image is what an initramfs holds.
type Image struct {
	Segments []Segment
	Entries  []Entry
}

type magic struct {
	name   string
	prefix []byte
}

var magics = []magic{
	{"gzip", []byte{0x1f, 0x8b}},
	{"gzip", []byte{0x1f, 0x9e}}, // old gzip magic the kernel also accepts
	{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}},
	{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{"lz4", []byte{0x02, 0x21, 0x4c, 0x18}}, // the legacy frame the kernel uses
	{"lz4", []byte{0x04, 0x22, 0x4d, 0x18}},
	{"bzip2", []byte("BZh")},
	{"lzo", []byte{0x89, 'L', 'Z', 'O', 0x00}},
	{"lzma", []byte{0x5d, 0x00, 0x00}},
}

// Detect names the compression the data starts with: "none" for a cpio
// archive, "" when it is neither.
func Detect(head []byte) string {
	if bytes.HasPrefix(head, []byte("07070")) {
		return "none"
	}
	for _, m := range magics {
		if bytes.HasPrefix(head, m.prefix) {
			return m.name
		}
	}
	return ""
}

type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// List reads an image. What was read before an error is returned with it,
// so a truncated image still shows what it holds.
func List(r io.Reader) (*Image, error) {
	c := &counter{r: r}
	br := bufio.NewReaderSize(c, 64<<10)
	pos := func() int64 { return c.n - int64(br.Buffered()) }
	img := &Image{}
	var unpacked int64
	for {
		if err := skipZeros(br); err == io.EOF {
			return img, nil
		} else if err != nil {
			return img, err
		}
		head, _ := br.Peek(6)
		kind := Detect(head)
		seg := Segment{Offset: pos(), Compression: kind}
		idx := len(img.Segments)
		switch kind {
		case "none":
			n, err := readArchive(br, img, idx)
			seg.Entries = n
			img.Segments = append(img.Segments, seg)
			if err != nil {
				return img, err
			}
			continue
		case "":
			return img, fmt.Errorf("unknown data at offset %d (%x): neither cpio nor a known compression", seg.Offset, head)
		case "lzo":
			img.Segments = append(img.Segments, seg)
			return img, fmt.Errorf("segment at offset %d is lzo-compressed, which rescue cannot read", seg.Offset)
		}
		dec, closer, err := decompressor(kind, br)
		if err != nil {
			img.Segments = append(img.Segments, seg)
			return img, fmt.Errorf("segment at offset %d (%s): %w", seg.Offset, kind, err)
		}
		lim := &limited{r: dec, left: MaxUnpacked - unpacked}
		n, err := readArchives(bufio.NewReaderSize(lim, 64<<10), img, idx)
		closer()
		unpacked += lim.read
		seg.Entries = n
		img.Segments = append(img.Segments, seg)
		if err != nil {
			return img, fmt.Errorf("segment at offset %d (%s): %w", seg.Offset, kind, err)
		}
		if kind != "gzip" {
			// Only gzip reads exactly its own bytes from a
			// bufio.Reader; after any other stream the position of
			// a following segment is unknown. Images put the
			// compressed segment last, so this is the end.
			return img, nil
		}
	}
}

func skipZeros(br *bufio.Reader) error {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return err
		}
		if b[0] != 0 {
			return nil
		}
		// Skip a run of zeros at once.
		buf, _ := br.Peek(br.Buffered())
		n := 0
		for n < len(buf) && buf[n] == 0 {
			n++
		}
		br.Discard(n)
	}
}

func decompressor(kind string, br *bufio.Reader) (io.Reader, func(), error) {
	nop := func() {}
	switch kind {
	case "gzip":
		// klauspost's inflate decodes straight from a *bufio.Reader,
		// with less CPU than the standard library's (compared on a
		// Debian 12 image), and unpacking is most of what a scan spends.
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, nop, err
		}
		z.Multistream(false)
		return z, func() { z.Close() }, nil
	case "xz":
		z, err := xz.ReaderConfig{SingleStream: true}.NewReader(br)
		return z, nop, err
	case "zstd":
		z, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxMemory(uint64(MaxUnpacked)))
		if err != nil {
			return nil, nop, err
		}
		return z, z.Close, nil
	case "lz4":
		return lz4.NewReader(br), nop, nil
	case "lzma":
		z, err := lzma.NewReader(br)
		return z, nop, err
	case "bzip2":
		return bzip2.NewReader(br), nop, nil
	}
	return nil, nop, fmt.Errorf("unsupported compression %s", kind)
}

// ErrTooBig is returned when an image unpacks to more than MaxUnpacked.
var ErrTooBig = errors.New("the image unpacks to more than the limit")

type limited struct {
	r    io.Reader
	left int64
	read int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, ErrTooBig
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	l.read += int64(n)
	return n, err
}

// readArchives reads consecutive archives (with NUL padding between them)
// until the stream ends.
func readArchives(br *bufio.Reader, img *Image, seg int) (int, error) {
	total := 0
	for {
		if err := skipZeros(br); err == io.EOF {
			return total, nil
		} else if err != nil {
			return total, err
		}
		n, err := readArchive(br, img, seg)
		total += n
		if err != nil {
			return total, err
		}
	}
}

func readArchive(br *bufio.Reader, img *Image, seg int) (int, error) {
	cr := cpio.NewReader(br)
	n := 0
	for {
		h, err := cr.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		e := Entry{Name: cleanName(h.Name), Mode: h.Mode, Size: h.Size, Segment: seg}
		if h.Mode&cpio.TypeMask == cpio.TypeLink && h.Size <= cpio.MaxNameSize {
			b, err := io.ReadAll(cr)
			if err != nil {
				return n, err
			}
			e.LinkTarget = string(b)
		}
		img.Entries = append(img.Entries, e)
		n++
	}
}

// cleanName turns "./usr/bin/x" and "/usr/bin/x" into "usr/bin/x".
func cleanName(n string) string {
	n = strings.TrimPrefix(path.Clean("/"+n), "/")
	if n == "" {
		return "."
	}
	return n
}

// Has reports whether the image holds name (in the image's own form,
// without a leading slash).
func (img *Image) Has(name string) bool {
	name = cleanName(name)
	for _, e := range img.Entries {
		if e.Name == name {
			return true
		}
	}
	return false
}

// Modules returns the kernel modules the image holds, by module name
// ("xen_blkfront" for xen-blkfront.ko.xz: the kernel treats - and _ alike),
// mapped to their paths.
func (img *Image) Modules() map[string]string {
	out := map[string]string{}
	for _, e := range img.Entries {
		if e.Mode&cpio.TypeMask == cpio.TypeDir {
			continue
		}
		if name, ok := ModuleName(e.Name); ok {
			out[name] = e.Name
		}
	}
	return out
}

// ModuleName returns the module name of a module file path
// (".../virtio-blk.ko.zst" -> "virtio_blk"), and false for anything else.
func ModuleName(p string) (string, bool) {
	base := path.Base(p)
	for _, ext := range []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz", ".ko.bz2"} {
		if name, ok := strings.CutSuffix(base, ext); ok && name != "" {
			return strings.ReplaceAll(name, "-", "_"), true
		}
	}
	return "", false
}
