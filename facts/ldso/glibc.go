package ldso

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"rescue/pkgdb"
)

// Version is a glibc version.
type Version struct {
	Major, Minor int
	// How says where the version was read: "libc-2.28.so", "GLIBC_2.36
	// version definition of /lib/x86_64-linux-gnu/libc.so.6", "package
	// libc6 2.36-9".
	How string
}

func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// AtLeast reports whether v is at least major.minor.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

var (
	libcFile = regexp.MustCompile(`^libc-(\d+)\.(\d+)(?:\.\d+)?\.so$`)
	verDef   = regexp.MustCompile(`^GLIBC_(\d+)\.(\d+)(?:\.\d+)?$`)
	leading  = regexp.MustCompile(`^(?:\d+:)?(\d+)\.(\d+)`)
)

// Glibc returns the version of the target's C library for arch, read from
// the files themselves: the name libc.so.6 points to (libc-2.28.so, before
// glibc 2.34), or the highest GLIBC_x.y version the library defines.
func (l *Loader) Glibc(a Arch) (Version, bool) {
	r := l.Find("libc.so.6", a, nil)
	if r.Path == "" {
		return Version{}, false
	}
	if target, err := l.root.Readlink(r.Path); err == nil {
		if m := libcFile.FindStringSubmatch(path.Base(target)); m != nil {
			return version(m, path.Base(target)), true
		}
	}
	if r.State != OK {
		return Version{}, false
	}
	f, err := l.root.Open(r.Path)
	if err != nil {
		return Version{}, false
	}
	defer f.Close()
	ef, err := newELF(f)
	if err != nil {
		return Version{}, false
	}
	defer ef.Close()
	defs, err := dynamicVersions(ef)
	if err != nil {
		return Version{}, false
	}
	var best Version
	found := false
	for _, d := range defs {
		m := verDef.FindStringSubmatch(d)
		if m == nil {
			continue
		}
		v := version(m, "")
		if !found || v.AtLeast(best.Major, best.Minor) {
			best, found = v, true
		}
	}
	best.How = fmt.Sprintf("GLIBC_%s version definition of %s", best, r.Path)
	return best, found
}

func version(m []string, how string) Version {
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return Version{Major: major, Minor: minor, How: how}
}

// GlibcFromPackages returns the glibc version the package database records
// (package libc6 on Debian, glibc on the RPM family).
func GlibcFromPackages(db pkgdb.DB) (Version, bool) {
	if db == nil {
		return Version{}, false
	}
	for _, p := range db.Packages() {
		if p.Name != "libc6" && p.Name != "glibc" {
			continue
		}
		if m := leading.FindStringSubmatch(strings.TrimSpace(p.Version)); m != nil {
			return version(m, fmt.Sprintf("package %s %s", p.Name, p.Version)), true
		}
	}
	return Version{}, false
}
