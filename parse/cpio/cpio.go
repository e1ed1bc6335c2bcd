// Package cpio reads and writes the "newc" cpio format (magic 070701, and
// 070702 with checksums) that Linux initramfs images are made of. The
// reader is strict about sizes and alignment and never trusts a header's
// lengths beyond the limits below, so a corrupt or hostile image gives an
// error, not a huge allocation.
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
}

// ErrMagic is returned when the data at the reader's position is not a
// newc header.
var ErrMagic = errors.New("not a newc cpio header")

// Reader reads one archive, entry by entry.
type Reader struct {
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
	var buf [headerSize]byte
	n, err := io.ReadFull(r.r, buf[:])
	r.off += int64(n)
	if err != nil {
		return nil, fmt.Errorf("reading a cpio header: %w", short(err))
	}
	magic := string(buf[:6])
	if magic != "070701" && magic != "070702" {
		return nil, fmt.Errorf("%w at offset %d (%q)", ErrMagic, r.off-headerSize, buf[:6])
	}
	var f [13]uint32
	for i := range f {
		v, err := strconv.ParseUint(string(buf[6+8*i:14+8*i]), 16, 32)
		if err != nil {
			return nil, fmt.Errorf("cpio header at offset %d: field %d is not hexadecimal", r.off-headerSize, i)
		}
		f[i] = uint32(v)
	}
	h := &Header{Ino: f[0], Mode: f[1], UID: f[2], GID: f[3], NLink: f[4], Mtime: f[5], Size: int64(f[6]),
		DevMajor: f[7], DevMinor: f[8], RMajor: f[9], RMinor: f[10], Check: f[12]}
	nameSize := int(f[11])
	if nameSize < 1 || nameSize > MaxNameSize {
		return nil, fmt.Errorf("cpio header at offset %d: name size %d", r.off-headerSize, nameSize)
	}
	name := make([]byte, nameSize)
	n, err = io.ReadFull(r.r, name)
	r.off += int64(n)
	if err != nil {
		return nil, fmt.Errorf("reading a cpio entry name: %w", short(err))
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
