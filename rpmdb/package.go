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
	sizes := h.Ints(TagLongFileSizes)
	if sizes == nil {
		sizes = h.Ints(TagFileSizes)
	}
	modes := h.Ints(TagFileModes)
	rdevs := h.Ints(TagFileRdevs)
	mtimes := h.Ints(TagFileMtimes)
	digests := h.Strings(TagFileDigests)
	links := h.Strings(TagFileLinkTos)
	flags := h.Ints(TagFileFlags)
	users := h.Strings(TagFileUserName)
	groups := h.Strings(TagFileGroupName)
	vflags := h.Ints(TagFileVerifyFlags)
	states := h.Ints(TagFileStates)
	caps := h.Strings(TagFileCaps)
	langs := h.Strings(TagFileLangs)
	colors := h.Ints(TagFileColors)
	inodes := h.Ints(TagFileInodes)
	for name, l := range map[string]int{
		"sizes": len(sizes), "modes": len(modes), "rdevs": len(rdevs), "mtimes": len(mtimes),
		"digests": len(digests), "link targets": len(links), "flags": len(flags),
		"users": len(users), "groups": len(groups), "verify flags": len(vflags),
		"states": len(states), "capabilities": len(caps), "langs": len(langs),
		"colors": len(colors), "inodes": len(inodes),
	} {
		if l != 0 && l != n {
			return nil, fmt.Errorf("%w: %s: %d files but %d %s", ErrHeader, p.NVRA(), n, l, name)
		}
	}
	p.Files = make([]File, n)
	for i := range p.Files {
		f := &p.Files[i]
		f.Path = paths[i]
		f.VerifyFlags = VerifyAll
		f.State = StateMissing
		if sizes != nil {
			f.Size = sizes[i]
		}
		if modes != nil {
			f.Mode = uint16(modes[i])
		}
		if rdevs != nil {
			f.Rdev = uint16(rdevs[i])
		}
		if mtimes != nil {
			f.Mtime = uint32(mtimes[i])
		}
		if digests != nil {
			f.Digest = digests[i]
		}
		if links != nil {
			f.LinkTo = links[i]
		}
		if flags != nil {
			f.Flags = uint32(flags[i])
		}
		if users != nil {
			f.User = users[i]
		}
		if groups != nil {
			f.Group = groups[i]
		}
		if vflags != nil {
			f.VerifyFlags = uint32(vflags[i])
		}
		if states != nil {
			f.State = int(int8(states[i]))
		}
		if caps != nil {
			f.Caps = caps[i]
		}
		if langs != nil {
			f.Lang = langs[i]
		}
		if colors != nil {
			f.Color = uint32(colors[i])
		}
		if inodes != nil {
			f.Inode = uint32(inodes[i])
		}
	}
	return p, nil
}

// filePaths joins DIRNAMES[DIRINDEXES[i]] and BASENAMES[i], or returns the
// OLDFILENAMES of headers from before compressed file lists.
func filePaths(h *Header) ([]string, error) {
	base := h.Strings(TagBaseNames)
	if base == nil {
		return h.Strings(TagOldFilenames), nil
	}
	dirs := h.Strings(TagDirNames)
	idx := h.Ints(TagDirIndexes)
	if len(idx) != len(base) {
		return nil, fmt.Errorf("%w: %d base names but %d directory indexes", ErrHeader, len(base), len(idx))
	}
	out := make([]string, len(base))
	for i, b := range base {
		if idx[i] < 0 || idx[i] >= int64(len(dirs)) {
			return nil, fmt.Errorf("%w: directory index %d of %s out of range (%d directories)", ErrHeader, idx[i], b, len(dirs))
		}
		out[i] = dirs[idx[i]] + b
		if out[i] == "" || out[i][0] != '/' {
			// rpm stores absolute paths; anything else would be resolved
			// against the helper's working directory by a naive caller.
			out[i] = path.Clean("/" + out[i])
		}
	}
	return out, nil
}
