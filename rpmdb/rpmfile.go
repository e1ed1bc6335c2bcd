package rpmdb

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"rescue/parse/cpio"
)

// An .rpm file is a 96-byte lead, a signature header (padded to 8 bytes),
// the main header and the payload: a compressed cpio archive (newc, or
// rpm's "stripped" variant for packages with files over 4 GiB, whose
// entries carry only an index into the header's file list).

var (
	leadMagic   = []byte{0xed, 0xab, 0xee, 0xdb}
	headerMagic = []byte{0x8e, 0xad, 0xe8, 0x01}
)

// ErrNotInPackage is returned by Extract for a path the package does not
// ship with content.
var ErrNotInPackage = errors.New("not in the package payload")

// PackageFile is an .rpm file whose headers have been read.
type PackageFile struct {
	Header  *Header
	Package *Package
	// Signature is the signature header (digests and OpenPGP
	// signatures of the main header and payload).
	Signature *Header
	r         io.ReaderAt
	size      int64
	header    int64 // offset of the main header
	payload   int64 // offset of the compressed payload
}

// HeaderBlob returns the main header's bytes as the package file holds
// them (magic included): what an RSA or DSA header signature signs.
func (pf *PackageFile) HeaderBlob() ([]byte, error) {
	b := make([]byte, pf.payload-pf.header)
	if _, err := pf.r.ReadAt(b, pf.header); err != nil {
		return nil, err
	}
	return b, nil
}

// HeaderSignatures returns the OpenPGP signature packets of the main
// header (rpm's RSAHEADER and DSAHEADER tags), which rpm checks against
// the keys it trusts.
func (pf *PackageFile) HeaderSignatures() [][]byte {
	var out [][]byte
	for _, tag := range []int32{TagSigRSA, TagSigDSA} {
		if b := pf.Signature.Bytes(tag); len(b) > 0 {
			out = append(out, b)
		}
	}
	return out
}

// ReadPackageFile reads the lead and headers of an .rpm file.
func ReadPackageFile(r io.ReaderAt, size int64) (*PackageFile, error) {
	lead := make([]byte, 96)
	if _, err := r.ReadAt(lead, 0); err != nil {
		return nil, fmt.Errorf("reading the lead: %w", err)
	}
	if !bytes.Equal(lead[:4], leadMagic) {
		return nil, errors.New("not an rpm file (no lead magic)")
	}
	sig, sigLen, err := readFileHeader(r, 96, size)
	if err != nil {
		return nil, fmt.Errorf("signature header: %w", err)
	}
	off := 96 + sigLen
	off += (8 - off%8) % 8
	h, hLen, err := readFileHeader(r, off, size)
	if err != nil {
		return nil, fmt.Errorf("main header: %w", err)
	}
	p, err := NewPackage(h)
	if err != nil {
		return nil, err
	}
	return &PackageFile{Header: h, Package: p, Signature: sig, r: r, size: size, header: off, payload: off + hLen}, nil
}

// readFileHeader reads a header with its 8-byte magic at off and returns
// it with its length on disk.
func readFileHeader(r io.ReaderAt, off, size int64) (*Header, int64, error) {
	intro := make([]byte, 16)
	if _, err := r.ReadAt(intro, off); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	if !bytes.Equal(intro[:4], headerMagic) {
		return nil, 0, fmt.Errorf("%w: no header magic at offset %d", ErrHeader, off)
	}
	il := int64(binary.BigEndian.Uint32(intro[8:]))
	dl := int64(binary.BigEndian.Uint32(intro[12:]))
	if il > maxEntries || dl > maxDataSize || off+16+il*16+dl > size {
		return nil, 0, fmt.Errorf("%w: header of %d entries and %d bytes does not fit the file", ErrHeader, il, dl)
	}
	blob := make([]byte, 8+il*16+dl)
	copy(blob, intro[8:])
	if _, err := r.ReadAt(blob[8:], off+16); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	h, err := ParseHeader(blob)
	if err != nil {
		return nil, 0, err
	}
	return h, 16 + il*16 + dl, nil
}

// Payload returns the decompressed cpio stream.
func (pf *PackageFile) Payload() (io.ReadCloser, error) {
	sr := io.NewSectionReader(pf.r, pf.payload, pf.size-pf.payload)
	br := bufio.NewReaderSize(sr, 64<<10)
	magic, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		return z, nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		z, err := xz.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		return io.NopCloser(z), nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		z, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		return z.IOReadCloser(), nil
	case bytes.HasPrefix(magic, []byte("BZh")):
		return io.NopCloser(bzip2.NewReader(br)), nil
	case bytes.HasPrefix(magic, []byte("0707")):
		return io.NopCloser(br), nil // uncompressed
	case pf.Header.String(TagPayloadCompress) == "lzma" || (len(magic) > 0 && magic[0] == 0x5d):
		z, err := lzma.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		return io.NopCloser(z), nil
	}
	return nil, fmt.Errorf("payload: unknown compression %q (magic % x)", pf.Header.String(TagPayloadCompress), magic)
}

// Extract returns the content of the regular file at path (as the header
// lists it) from the payload. Hard links share one copy of their data,
// stored with the last link, which Extract follows.
func (pf *PackageFile) Extract(path string) ([]byte, error) {
	idx := -1
	for i := range pf.Package.NumFiles() {
		if pf.Package.Path(i) == path {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("%s: %w", path, ErrNotInPackage)
	}
	want := pf.Package.File(idx)
	if !want.IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file in %s", path, pf.Package.NVRA())
	}
	payload, err := pf.Payload()
	if err != nil {
		return nil, err
	}
	defer payload.Close()
	cr := cpio.NewReader(bufio.NewReaderSize(payload, 64<<10))
	cr.StrippedSize = func(i uint32) (int64, error) {
		if int(i) >= pf.Package.NumFiles() {
			return 0, fmt.Errorf("file %d of a package that lists %d", i, pf.Package.NumFiles())
		}
		return pf.Package.File(int(i)).Size, nil
	}
	var wantIno uint32
	found := false
	for {
		h, err := cr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the payload of %s: %w", pf.Package.NVRA(), err)
		}
		match := false
		switch {
		case h.Stripped:
			match = int(h.Index) == idx
		case h.Name == "."+path || h.Name == path:
			match = true
			found, wantIno = true, h.Ino
		case found && h.Ino == wantIno && h.Size > 0:
			match = true // the last link of a hard-link set carries the data
		}
		// A hard link whose data comes with a later link has none here;
		// Next skips what an entry that does not match holds.
		if !match || h.Size == 0 && want.Size > 0 {
			continue
		}
		if h.Size > maxDataSize*8 {
			return nil, fmt.Errorf("%s: %d bytes is too large to restore", path, h.Size)
		}
		data := make([]byte, h.Size)
		if _, err := io.ReadFull(cr, data); err != nil {
			return nil, fmt.Errorf("reading %s from %s: %w", path, pf.Package.NVRA(), err)
		}
		return data, nil
	}
	return nil, fmt.Errorf("%s: %w of %s", path, ErrNotInPackage, pf.Package.NVRA())
}
