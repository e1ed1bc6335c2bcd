package dpkg

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// A .deb is an ar archive of debian-binary, control.tar[.gz|.xz|.zst] and
// data.tar[.gz|.xz|.zst|.bz2|.lzma].

// ErrNotInPackage is returned by Extract for a path the .deb does not ship
// as a regular file.
var ErrNotInPackage = errors.New("not in the package archive")

// Deb is an opened .deb file.
type Deb struct {
	r       io.ReaderAt
	size    int64
	members map[string]arMember
	// Control is the package's control paragraph.
	Name, Version, Architecture string
}

type arMember struct{ off, size int64 }

// MaxControl bounds the control archive a .deb may have.
const maxControl = 64 << 20

// OpenDeb reads the member table and the control file of a .deb.
func OpenDeb(r io.ReaderAt, size int64) (*Deb, error) {
	magic := make([]byte, 8)
	if _, err := r.ReadAt(magic, 0); err != nil || string(magic) != "!<arch>\n" {
		return nil, errors.New("not a .deb (no ar magic)")
	}
	d := &Deb{r: r, size: size, members: map[string]arMember{}}
	hdr := make([]byte, 60)
	for off := int64(8); off+60 <= size; {
		if _, err := r.ReadAt(hdr, off); err != nil {
			return nil, fmt.Errorf("reading ar header at %d: %w", off, err)
		}
		if string(hdr[58:60]) != "`\n" {
			return nil, fmt.Errorf("bad ar header at offset %d", off)
		}
		name := strings.TrimSuffix(strings.TrimSpace(string(hdr[0:16])), "/")
		n, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
		if err != nil || n < 0 || off+60+n > size {
			return nil, fmt.Errorf("bad ar member size for %q", name)
		}
		d.members[name] = arMember{off + 60, n}
		off += 60 + n + n%2
	}
	ctl, err := d.control()
	if err != nil {
		return nil, err
	}
	for _, para := range paragraphs(ctl) {
		for _, f := range para {
			switch f.name {
			case "package":
				d.Name = f.value
			case "version":
				d.Version = f.value
			case "architecture":
				d.Architecture = f.value
			}
		}
		break
	}
	if d.Name == "" {
		return nil, errors.New("the .deb's control file has no Package field")
	}
	return d, nil
}

// member opens the decompressed stream of the first member whose name
// starts with prefix ("control.tar", "data.tar").
func (d *Deb) member(prefix string) (io.Reader, func(), error) {
	for name, m := range d.members {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		raw := bufio.NewReaderSize(io.NewSectionReader(d.r, m.off, m.size), 64<<10)
		switch strings.TrimPrefix(name, prefix) {
		case "":
			return raw, func() {}, nil
		case ".gz":
			z, err := gzip.NewReader(raw)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
			return z, func() { z.Close() }, nil
		case ".xz":
			z, err := xz.NewReader(raw)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
			return z, func() {}, nil
		case ".zst":
			z, err := zstd.NewReader(raw, zstd.WithDecoderConcurrency(1))
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
			return z, z.Close, nil
		case ".bz2":
			return bzip2.NewReader(raw), func() {}, nil
		case ".lzma":
			z, err := lzma.NewReader(raw)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
			return z, func() {}, nil
		default:
			return nil, nil, fmt.Errorf("%s: unknown compression", name)
		}
	}
	return nil, nil, fmt.Errorf("no %s member", prefix)
}

func (d *Deb) control() ([]byte, error) {
	r, done, err := d.member("control.tar")
	if err != nil {
		return nil, err
	}
	defer done()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("reading control.tar: %w", err)
		}
		if strings.TrimPrefix(h.Name, "./") == "control" {
			return io.ReadAll(io.LimitReader(tr, maxControl))
		}
	}
}

// Entry is one entry of a .deb's data archive, with its tar header's
// type, mode and owner (dpkg installs entries with these).
type Entry struct {
	// Type is the tar type flag: tar.TypeReg, TypeSymlink, TypeDir,
	// TypeLink (a hard link), TypeChar, TypeBlock or TypeFifo.
	Type byte
	// Data is a regular file's content; for a hard link, the content of
	// the file it links to.
	Data     []byte
	Mode     int64 // permission bits with setuid, setgid and sticky
	UID, GID int
	Uname    string
	Gname    string
	// Linkname is a symlink's target as the archive records it.
	Linkname string
	// LinkedFrom is, for a hard link, the path ("/usr/bin/x") of the
	// entry it links to, whose content Data is.
	LinkedFrom string
	// Devmajor and Devminor are a device node's numbers.
	Devmajor, Devminor int64
	// MTime is the modification time dpkg gives the entry (Unix seconds).
	MTime       int64
	ArchivePath string
}

// Extract returns the regular file at path ("/usr/bin/login") from the
// data archive. A hard link is resolved to the file it links to.
func (d *Deb) Extract(path string) (*Entry, error) {
	e, err := d.Lookup(path)
	if err != nil {
		return nil, err
	}
	if e.Type != tar.TypeReg && e.Type != tar.TypeLink {
		return nil, fmt.Errorf("%s is not a regular file in %s_%s", path, d.Name, d.Version)
	}
	return e, nil
}

// Lookup returns the entry at path ("/lib/x86_64-linux-gnu/libnss_files.so.2")
// whatever its type: a regular file with its content, a symlink with its
// target, a directory, a hard link with the content of the file it links
// to, a device node or a FIFO.
func (d *Deb) Lookup(path string) (*Entry, error) {
	e, err := d.lookup(path)
	if err != nil || e.Type != tar.TypeLink {
		return e, err
	}
	target, err := d.lookup(e.LinkedFrom)
	if err != nil {
		return nil, fmt.Errorf("%s is a hard link to %s: %w", path, e.LinkedFrom, err)
	}
	if target.Type != tar.TypeReg {
		return nil, fmt.Errorf("%s is a hard link to %s, which is not a regular file in %s_%s", path, e.LinkedFrom, d.Name, d.Version)
	}
	e.Data = target.Data
	return e, nil
}

// archivePath is how a data.tar member names a path: "./usr/bin/x",
// "usr/bin/x" or "/usr/bin/x" all stand for /usr/bin/x.
func archivePath(name string) string {
	return "/" + strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(name, "./"), "/"), "/")
}

func (d *Deb) lookup(path string) (*Entry, error) {
	r, done, err := d.member("data.tar")
	if err != nil {
		return nil, err
	}
	defer done()
	tr := tar.NewReader(r)
	want := archivePath(path)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: %w %s_%s", path, ErrNotInPackage, d.Name, d.Version)
		}
		if err != nil {
			return nil, fmt.Errorf("reading data.tar of %s_%s: %w", d.Name, d.Version, err)
		}
		if archivePath(h.Name) != want {
			continue
		}
		e := &Entry{Type: h.Typeflag, Mode: h.Mode & 0o7777, UID: h.Uid, GID: h.Gid, Uname: h.Uname, Gname: h.Gname, MTime: h.ModTime.Unix(), ArchivePath: h.Name}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			e.Type = tar.TypeReg
			if h.Size > 4<<30 {
				return nil, fmt.Errorf("%s: %d bytes is too large to restore", path, h.Size)
			}
			var buf bytes.Buffer
			buf.Grow(int(h.Size))
			if _, err := io.Copy(&buf, tr); err != nil {
				return nil, fmt.Errorf("reading %s from %s_%s: %w", path, d.Name, d.Version, err)
			}
			e.Data = buf.Bytes()
		case tar.TypeLink:
			e.LinkedFrom = archivePath(h.Linkname)
		case tar.TypeSymlink:
			if h.Linkname == "" {
				return nil, fmt.Errorf("%s is a symlink without a target in %s_%s", path, d.Name, d.Version)
			}
			e.Linkname = h.Linkname
		case tar.TypeDir, tar.TypeFifo:
		case tar.TypeChar, tar.TypeBlock:
			e.Devmajor, e.Devminor = h.Devmajor, h.Devminor
		default:
			return nil, fmt.Errorf("%s has tar type %q in %s_%s, which dpkg does not install", path, h.Typeflag, d.Name, d.Version)
		}
		return e, nil
	}
}
