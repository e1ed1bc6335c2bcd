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

// Entry is a regular file extracted from a .deb, with its tar header's
// mode and owner (dpkg installs files with these).
type Entry struct {
	Data        []byte
	Mode        int64
	UID, GID    int
	Uname       string
	Gname       string
	LinkedFrom  string // set when the entry was a hard link to another path
	ArchivePath string
}

// Extract returns the regular file at path ("/usr/bin/login") from the
// data archive. A hard link is resolved to the file it links to.
func (d *Deb) Extract(path string) (*Entry, error) {
	e, link, err := d.extract(path)
	if err != nil || link == "" {
		return e, err
	}
	e2, _, err := d.extract(link)
	if err != nil {
		return nil, err
	}
	e2.LinkedFrom = link
	e2.Mode, e2.UID, e2.GID, e2.Uname, e2.Gname = e.Mode, e.UID, e.GID, e.Uname, e.Gname
	return e2, nil
}

func (d *Deb) extract(path string) (*Entry, string, error) {
	r, done, err := d.member("data.tar")
	if err != nil {
		return nil, "", err
	}
	defer done()
	tr := tar.NewReader(r)
	want := strings.TrimPrefix(path, "/")
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, "", fmt.Errorf("%s: %w %s_%s", path, ErrNotInPackage, d.Name, d.Version)
		}
		if err != nil {
			return nil, "", fmt.Errorf("reading data.tar of %s_%s: %w", d.Name, d.Version, err)
		}
		if strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/") != want {
			continue
		}
		e := &Entry{Mode: h.Mode, UID: h.Uid, GID: h.Gid, Uname: h.Uname, Gname: h.Gname, ArchivePath: h.Name}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
		case tar.TypeLink:
			return e, "/" + strings.TrimPrefix(strings.TrimPrefix(h.Linkname, "./"), "/"), nil
		default:
			return nil, "", fmt.Errorf("%s is not a regular file in %s_%s", path, d.Name, d.Version)
		}
		if h.Size > 4<<30 {
			return nil, "", fmt.Errorf("%s: %d bytes is too large to restore", path, h.Size)
		}
		var buf bytes.Buffer
		buf.Grow(int(h.Size))
		if _, err := io.Copy(&buf, tr); err != nil {
			return nil, "", fmt.Errorf("reading %s from %s_%s: %w", path, d.Name, d.Version, err)
		}
		e.Data = buf.Bytes()
		return e, "", nil
	}
}
