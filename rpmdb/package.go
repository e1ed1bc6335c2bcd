package rpmdb

import (
	"fmt"
	"path"
	"strconv"
)

// Package is one package header, decoded: its identity and its files.
type Package struct {
	Name    string
	Epoch   int // -1 when the header has none
	Version string
	Release string
	Arch    string
	// SourceRPM is empty for source packages and gpg-pubkey entries.
	SourceRPM string
	// Instance is the database's number for the header (its key), 0 for
	// a package file.
	Instance uint32
	// DigestAlgo names the algorithm of the file digests ("md5" when the
	// header does not say, as rpm assumes).
	DigestAlgo string
	// SigMD5 is the MD5 of header and payload that identifies a package
	// build, as hex; empty when absent.
	SigMD5 string

	// The file records stay in the header and are decoded one at a time:
	// a database of a whole system holds hundreds of thousands, and
	// keeping a decoded copy of each beside the header would double the
	// memory rescue touches.
	paths []string
	cols  fileColumns
}

type fileColumns struct {
	sizes, modes, rdevs, mtimes, flags, vflags, states, colors, inodes intColumn
	digests, links, users, groups, caps, langs                         strIndex
}

// NumFiles is the number of file records.
func (p *Package) NumFiles() int { return len(p.paths) }

// Path is the path of file record i.
func (p *Package) Path(i int) string { return p.paths[i] }

// File decodes file record i.
func (p *Package) File(i int) File {
	c := &p.cols
	f := File{Path: p.paths[i], VerifyFlags: VerifyAll, State: StateMissing}
	if c.sizes.n > 0 {
		f.Size = c.sizes.at(i)
	}
	if c.modes.n > 0 {
		f.Mode = uint16(c.modes.at(i))
	}
	if c.rdevs.n > 0 {
		f.Rdev = uint16(c.rdevs.at(i))
	}
	if c.mtimes.n > 0 {
		f.Mtime = uint32(c.mtimes.at(i))
	}
	if c.flags.n > 0 {
		f.Flags = uint32(c.flags.at(i))
	}
	if c.vflags.n > 0 {
		f.VerifyFlags = uint32(c.vflags.at(i))
	}
	if c.states.n > 0 {
		f.State = int(int8(c.states.at(i)))
	}
	if c.colors.n > 0 {
		f.Color = uint32(c.colors.at(i))
	}
	if c.inodes.n > 0 {
		f.Inode = uint32(c.inodes.at(i))
	}
	f.Digest = c.digests.at(i)
	f.LinkTo = c.links.at(i)
	f.User = c.users.at(i)
	f.Group = c.groups.at(i)
	f.Caps = c.caps.at(i)
	f.Lang = c.langs.at(i)
	return f
}

// Files decodes every file record.
func (p *Package) Files() []File {
	out := make([]File, len(p.paths))
	for i := range out {
		out[i] = p.File(i)
	}
	return out
}

// File is one file of a package as its header records it.
type File struct {
	Path        string
	Size        int64
	Mode        uint16 // st_mode: type and permission bits
	Rdev        uint16
	Mtime       uint32
	Digest      string // hex, "" for non-regular files
	LinkTo      string
	Flags       uint32 // FileConfig, FileDoc, …
	User        string
	Group       string
	VerifyFlags uint32 // VerifyAll unless the spec narrowed it
	State       int    // StateNormal, … (StateMissing when not recorded)
	Caps        string // capabilities in cap_to_text form, "" for none
	Lang        string
	Color       uint32
	Inode       uint32
}

// IsSymlink and the others look at the file type in Mode.
func (f File) IsSymlink() bool { return f.Mode&0o170000 == 0o120000 }

// IsDir reports whether the file is a directory.
func (f File) IsDir() bool { return f.Mode&0o170000 == 0o040000 }

// IsRegular reports whether the file is a regular file.
func (f File) IsRegular() bool { return f.Mode&0o170000 == 0o100000 }

// EVR is [epoch:]version-release.
func (p *Package) EVR() string {
	s := p.Version + "-" + p.Release
	if p.Epoch >= 0 {
		s = strconv.Itoa(p.Epoch) + ":" + s
	}
	return s
}

// NVRA is name-version-release.arch, the usual file name stem.
func (p *Package) NVRA() string {
	s := p.Name + "-" + p.Version + "-" + p.Release
	if p.Arch != "" {
		s += "." + p.Arch
	}
	return s
}

// NEVRA is name-[epoch:]version-release.arch, what to ask a repository for.
func (p *Package) NEVRA() string {
	s := p.Name + "-" + p.EVR()
	if p.Arch != "" {
		s += "." + p.Arch
	}
	return s
}

// NewPackage decodes a header. A header whose file arrays disagree in
// length is an error: which file a mode or digest belongs to would be a
// guess.
func NewPackage(h *Header) (*Package, error) {
	p := &Package{
		Name:      h.String(TagName),
		Version:   h.String(TagVersion),
		Release:   h.String(TagRelease),
		Arch:      h.String(TagArch),
		SourceRPM: h.String(TagSourceRPM),
		Epoch:     -1,
	}
	if p.Name == "" {
		return nil, fmt.Errorf("%w: no package name", ErrHeader)
	}
	if e, ok := h.Int(TagEpoch); ok {
		p.Epoch = int(e)
	}
	if b := h.Bytes(TagSigMD5); len(b) == 16 {
		p.SigMD5 = fmt.Sprintf("%x", b)
	}
	p.DigestAlgo = "md5"
	if a, ok := h.Int(TagFileDigestAlgo); ok {
		name, known := digestAlgos[a]
		if !known {
			return nil, fmt.Errorf("%w: %s: unknown file digest algorithm %d", ErrHeader, p.NVRA(), a)
		}
		p.DigestAlgo = name
	}
	paths, err := filePaths(h)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.NVRA(), err)
	}
	n := len(paths)
	if n == 0 {
		return p, nil
	}
	c := &p.cols
	c.sizes = h.intColumn(TagLongFileSizes)
	if c.sizes.n == 0 {
		c.sizes = h.intColumn(TagFileSizes)
	}
	c.modes = h.intColumn(TagFileModes)
	c.rdevs = h.intColumn(TagFileRdevs)
	c.mtimes = h.intColumn(TagFileMtimes)
	c.flags = h.intColumn(TagFileFlags)
	c.vflags = h.intColumn(TagFileVerifyFlags)
	c.states = h.intColumn(TagFileStates)
	c.colors = h.intColumn(TagFileColors)
	c.inodes = h.intColumn(TagFileInodes)
	c.digests = h.strIndex(TagFileDigests)
	c.links = h.strIndex(TagFileLinkTos)
	c.users = h.strIndex(TagFileUserName)
	c.groups = h.strIndex(TagFileGroupName)
	c.caps = h.strIndex(TagFileCaps)
	c.langs = h.strIndex(TagFileLangs)
	for _, col := range []struct {
		name string
		n    int
	}{
		{"sizes", c.sizes.n}, {"modes", c.modes.n}, {"rdevs", c.rdevs.n}, {"mtimes", c.mtimes.n},
		{"digests", c.digests.n()}, {"link targets", c.links.n()}, {"flags", c.flags.n},
		{"users", c.users.n()}, {"groups", c.groups.n()}, {"verify flags", c.vflags.n},
		{"states", c.states.n}, {"capabilities", c.caps.n()}, {"langs", c.langs.n()},
		{"colors", c.colors.n}, {"inodes", c.inodes.n},
	} {
		if col.n != 0 && col.n != n {
			return nil, fmt.Errorf("%w: %s: %d files but %d %s", ErrHeader, p.NVRA(), n, col.n, col.name)
		}
	}
	p.paths = paths
	return p, nil
}

// filePaths joins DIRNAMES[DIRINDEXES[i]] and BASENAMES[i], or returns the
// OLDFILENAMES of headers from before compressed file lists.
func filePaths(h *Header) ([]string, error) {
	base := h.strColumn(TagBaseNames)
	if base.n == 0 {
		return h.Strings(TagOldFilenames), nil
	}
	dirs := h.Strings(TagDirNames)
	idx := h.intColumn(TagDirIndexes)
	if idx.n != base.n {
		return nil, fmt.Errorf("%w: %d base names but %d directory indexes", ErrHeader, base.n, idx.n)
	}
	// One buffer holds every path: a package with thousands of files
	// makes one allocation instead of thousands.
	total := 0
	probe := base
	for i := 0; i < base.n; i++ {
		d := idx.at(i)
		if d < 0 || d >= int64(len(dirs)) {
			return nil, fmt.Errorf("%w: directory index %d of file %d out of range (%d directories)", ErrHeader, d, i, len(dirs))
		}
		total += len(dirs[d]) + len(probe.next()) + 1
	}
	buf := make([]byte, 0, total)
	out := make([]string, base.n)
	for i := range out {
		start := len(buf)
		d := dirs[idx.at(i)]
		b := base.next()
		if d == "" || d[0] != '/' {
			// rpm stores absolute paths; anything else would be
			// resolved against the helper's working directory by a
			// naive caller.
			out[i] = path.Clean("/" + d + b)
			continue
		}
		buf = append(buf, d...)
		buf = append(buf, b...)
		out[i] = view(buf[start:len(buf):len(buf)])
	}
	return out, nil
}
