// Package cpio reads and writes the "newc" cpio format (magic 070701, and
// 070702 with checksums) that Linux initramfs images and rpm payloads are
// made of, and reads rpm's "stripped" entries (magic 07070X). The reader is
// strict about sizes and alignment and never trusts a header's lengths
// beyond the limits below, so a corrupt or hostile archive gives an error,
// not a huge allocation.
package cpio

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Trailer is the name of the entry that ends an archive.
const Trailer = "TRAILER!!!"

// MaxNameSize bounds an entry name (PATH_MAX).
const MaxNameSize = 4096

const headerSize = 110

// File types in Header.Mode.
const (
	TypeMask = 0o170000
	TypeDir  = 0o040000
	TypeReg  = 0o100000
	TypeLink = 0o120000
)

// Header is one entry's header.
type Header struct {
	Name     string
	Mode     uint32 // type and permission bits, as in st_mode
	UID, GID uint32
	NLink    uint32
	Mtime    uint32
	Size     int64
	Ino      uint32
	DevMajor uint32
	DevMinor uint32
	RMajor   uint32
	RMinor   uint32
	Check    uint32
	// Stripped marks an entry of rpm's stripped form (packages with a
	// file of 4 GiB or more): its header holds only Index, the file's
	// position in the package header, which holds everything else. Size
	// comes from Reader.StrippedSize; the other fields are zero.
	Stripped bool
	Index    uint32
}

// ErrMagic is returned when the data at the reader's position is not a
// newc header.
var ErrMagic = errors.New("not a newc cpio header")

// Reader reads one archive, entry by entry.
type Reader struct {
	// StrippedSize, when set, makes the reader accept rpm's stripped
	// entries: it returns the data size of the file with that index in
	// the package header, or an error for an index the header does not
	// have. When nil, a stripped entry is an ErrMagic error.
	StrippedSize func(index uint32) (int64, error)

	r       *bufio.Reader
	off     int64 // bytes consumed from r
	remain  int64 // data bytes of the current entry not yet read
	pad     int   // padding after the current entry's data
	trailer bool
}

// NewReader reads an archive from r. The reader counts what it consumes
// (Offset), which is where a following archive starts.
func NewReader(r *bufio.Reader) *Reader { return &Reader{r: r} }

// Offset returns the number of bytes consumed from the underlying reader.
func (r *Reader) Offset() int64 { return r.off }

// Next skips the rest of the current entry and returns the next header.
// It returns io.EOF after the trailer entry, whose padding it consumes.
func (r *Reader) Next() (*Header, error) {
	if r.trailer {
		return nil, io.EOF
	}
	if err := r.skip(r.remain + int64(r.pad)); err != nil {
		return nil, err
	}
	r.remain, r.pad = 0, 0
	start := r.off
	var buf [headerSize]byte
	if err := r.read(buf[:6]); err != nil {
		return nil, fmt.Errorf("reading a cpio header: %w", err)
	}
	magic := string(buf[:6])
	if magic == magicStripped && r.StrippedSize != nil {
		return r.stripped(start)
	}
	if magic != "070701" && magic != "070702" {
		return nil, fmt.Errorf("%w at offset %d (%q)", ErrMagic, start, buf[:6])
	}
	if err := r.read(buf[6:]); err != nil {
		return nil, fmt.Errorf("reading a cpio header: %w", err)
	}
	var f [13]uint32
	for i := range f {
		v, err := hexField(buf[6+8*i : 14+8*i])
		if err != nil {
			return nil, fmt.Errorf("cpio header at offset %d: field %d is not hexadecimal", start, i)
		}
		f[i] = v
	}
	h := &Header{Ino: f[0], Mode: f[1], UID: f[2], GID: f[3], NLink: f[4], Mtime: f[5], Size: int64(f[6]),
		DevMajor: f[7], DevMinor: f[8], RMajor: f[9], RMinor: f[10], Check: f[12]}
	nameSize := int(f[11])
	if nameSize < 1 || nameSize > MaxNameSize {
		return nil, fmt.Errorf("cpio header at offset %d: name size %d", r.off-headerSize, nameSize)
	}
	name := make([]byte, nameSize)
	if err := r.read(name); err != nil {
		return nil, fmt.Errorf("reading a cpio entry name: %w", err)
	}
	if name[nameSize-1] != 0 {
		return nil, fmt.Errorf("cpio entry name at offset %d is not NUL-terminated", r.off-int64(nameSize))
	}
	h.Name = string(name[:nameSize-1])
	if err := r.skip(int64(pad4(headerSize + nameSize))); err != nil {
		return nil, err
	}
	r.remain, r.pad = h.Size, pad4(int(h.Size%4))
	if h.Name == Trailer {
		r.trailer = true
		if err := r.skip(h.Size + int64(r.pad)); err != nil {
			return nil, err
		}
		r.remain, r.pad = 0, 0
		return nil, io.EOF
	}
	return h, nil
}

// magicStripped starts rpm's stripped entries: the magic, the file's index
// in the package header as 8 hex digits, padding to 4 bytes, the data.
const magicStripped = "07070X"

// stripped reads the rest of a stripped entry's header.
func (r *Reader) stripped(start int64) (*Header, error) {
	var idx [8]byte
	if err := r.read(idx[:]); err != nil {
		return nil, fmt.Errorf("reading a cpio header: %w", err)
	}
	i, err := hexField(idx[:])
	if err != nil {
		return nil, fmt.Errorf("stripped cpio header at offset %d: the file index %q is not hexadecimal", start, idx[:])
	}
	size, err := r.StrippedSize(i)
	if err != nil {
		return nil, fmt.Errorf("stripped cpio header at offset %d: %w", start, err)
	}
	if size < 0 {
		return nil, fmt.Errorf("stripped cpio header at offset %d: file %d has size %d", start, i, size)
	}
	if err := r.skip(int64(pad4(len(magicStripped) + len(idx)))); err != nil {
		return nil, err
	}
	r.remain, r.pad = size, pad4(int(size%4))
	return &Header{Stripped: true, Index: i, Size: size}, nil
}

// read fills b from the archive, counting what it consumes.
func (r *Reader) read(b []byte) error {
	n, err := io.ReadFull(r.r, b)
	r.off += int64(n)
	return short(err)
}

// hexField parses one 8-digit hexadecimal header field.
func hexField(b []byte) (uint32, error) {
	v, err := strconv.ParseUint(string(b), 16, 32)
	return uint32(v), err
}

// Read reads the current entry's data.
func (r *Reader) Read(p []byte) (int, error) {
	if r.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.remain {
		p = p[:r.remain]
	}
	n, err := r.r.Read(p)
	r.off += int64(n)
	r.remain -= int64(n)
	if err == io.EOF && r.remain > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (r *Reader) skip(n int64) error {
	if n <= 0 {
		return nil
	}
	m, err := io.CopyN(io.Discard, r.r, n)
	r.off += m
	if err != nil {
		return fmt.Errorf("cpio data ends early: %w", short(err))
	}
	return nil
}

// short turns the end of the input inside an archive into
// io.ErrUnexpectedEOF and keeps any other error (a decompressor's, a size
// limit's) as it is.
func short(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// pad4 returns how many bytes bring n to a multiple of 4.
func pad4(n int) int { return (4 - n%4) % 4 }
