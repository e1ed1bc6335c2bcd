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
	Files  []File
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
	sizes := h.intColumn(TagLongFileSizes)
	if sizes.n == 0 {
		sizes = h.intColumn(TagFileSizes)
	}
	modes := h.intColumn(TagFileModes)
	rdevs := h.intColumn(TagFileRdevs)
	mtimes := h.intColumn(TagFileMtimes)
	flags := h.intColumn(TagFileFlags)
	vflags := h.intColumn(TagFileVerifyFlags)
	states := h.intColumn(TagFileStates)
	colors := h.intColumn(TagFileColors)
	inodes := h.intColumn(TagFileInodes)
	digests := h.strColumn(TagFileDigests)
	links := h.strColumn(TagFileLinkTos)
	users := h.strColumn(TagFileUserName)
	groups := h.strColumn(TagFileGroupName)
	caps := h.strColumn(TagFileCaps)
	langs := h.strColumn(TagFileLangs)
	for _, c := range []struct {
		name string
		n    int
	}{
		{"sizes", sizes.n}, {"modes", modes.n}, {"rdevs", rdevs.n}, {"mtimes", mtimes.n},
		{"digests", digests.n}, {"link targets", links.n}, {"flags", flags.n},
		{"users", users.n}, {"groups", groups.n}, {"verify flags", vflags.n},
		{"states", states.n}, {"capabilities", caps.n}, {"langs", langs.n},
		{"colors", colors.n}, {"inodes", inodes.n},
	} {
		if c.n != 0 && c.n != n {
			return nil, fmt.Errorf("%w: %s: %d files but %d %s", ErrHeader, p.NVRA(), n, c.n, c.name)
		}
	}
	p.Files = make([]File, n)
	for i := range p.Files {
		f := &p.Files[i]
		f.Path = paths[i]
		f.VerifyFlags = VerifyAll
		f.State = StateMissing
		if sizes.n > 0 {
			f.Size = sizes.at(i)
		}
		if modes.n > 0 {
			f.Mode = uint16(modes.at(i))
		}
		if rdevs.n > 0 {
			f.Rdev = uint16(rdevs.at(i))
		}
		if mtimes.n > 0 {
			f.Mtime = uint32(mtimes.at(i))
		}
		if flags.n > 0 {
			f.Flags = uint32(flags.at(i))
		}
		if vflags.n > 0 {
			f.VerifyFlags = uint32(vflags.at(i))
		}
		if states.n > 0 {
			f.State = int(int8(states.at(i)))
		}
		if colors.n > 0 {
			f.Color = uint32(colors.at(i))
		}
		if inodes.n > 0 {
			f.Inode = uint32(inodes.at(i))
		}
		if digests.n > 0 {
			f.Digest = digests.next()
		}
		if links.n > 0 {
			f.LinkTo = links.next()
		}
		if users.n > 0 {
			f.User = users.next()
		}
		if groups.n > 0 {
			f.Group = groups.next()
		}
		if caps.n > 0 {
			f.Caps = caps.next()
		}
		if langs.n > 0 {
			f.Lang = langs.next()
		}
	}
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
