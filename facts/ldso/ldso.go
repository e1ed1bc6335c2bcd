// Package ldso answers, for a target root, what its dynamic loader would:
// which file a library name resolves to, whether that file can be loaded,
// what a program needs transitively, and which glibc the target has. It
// reads ELF headers with debug/elf through the read-only sysroot view and
// never runs anything of the target's.
//
// The search order follows ld.so: the object's DT_RPATH (when it has no
// DT_RUNPATH), then DT_RUNPATH, then the directories of /etc/ld.so.conf and
// its includes (what ldconfig puts in the cache), then the default
// directories of the architecture (multiarch and lib64/lib). The first file
// found with the right ELF class and machine decides: ld.so does not go on
// to the next directory when that file is empty or damaged ("file too
// short"), it fails.
package ldso

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"rescue/parse/ldconf"
	"rescue/sysroot"
)

// Arch is what the loader needs to know about an object's architecture.
type Arch struct {
	Class   elf.Class
	Machine elf.Machine
	// Triplet is the Debian multiarch directory name (x86_64-linux-gnu).
	Triplet string
	// LibDir is the distribution-neutral library directory name: "lib64"
	// for 64-bit glibc ports that use it, "lib" otherwise.
	LibDir string
	// Platform is what $PLATFORM expands to.
	Platform string
}

// X8664 is the architecture assumed when nothing in the target says.
var X8664 = Arch{Class: elf.ELFCLASS64, Machine: elf.EM_X86_64, Triplet: "x86_64-linux-gnu", LibDir: "lib64", Platform: "x86_64"}

// ArchOf returns the loader's view of an ELF file's architecture.
func ArchOf(f *elf.File) Arch {
	a := Arch{Class: f.Class, Machine: f.Machine, LibDir: "lib"}
	switch f.Machine {
	case elf.EM_X86_64:
		if f.Class == elf.ELFCLASS64 {
			return X8664
		}
		a.Triplet, a.LibDir, a.Platform = "x86_64-linux-gnux32", "libx32", "x86_64"
	case elf.EM_386:
		a.Triplet, a.Platform = "i386-linux-gnu", "i686"
	case elf.EM_AARCH64:
		a.Triplet, a.LibDir, a.Platform = "aarch64-linux-gnu", "lib64", "aarch64"
	case elf.EM_S390:
		if f.Class == elf.ELFCLASS64 {
			a.Triplet, a.LibDir, a.Platform = "s390x-linux-gnu", "lib64", "s390x"
		} else {
			a.Triplet, a.Platform = "s390-linux-gnu", "s390"
		}
	case elf.EM_PPC64:
		a.LibDir = "lib64"
		if f.ByteOrder.String() == "LittleEndian" {
			a.Triplet, a.Platform = "powerpc64le-linux-gnu", "powerpc64le"
		} else {
			a.Triplet, a.Platform = "powerpc64-linux-gnu", "powerpc64"
		}
	case elf.EM_ARM:
		a.Triplet, a.Platform = "arm-linux-gnueabihf", "v7l"
	case elf.EM_RISCV:
		a.Triplet, a.LibDir, a.Platform = "riscv64-linux-gnu", "lib64/lp64d", "riscv64"
	default:
		a.Triplet = ""
	}
	return a
}

// Loader resolves libraries inside one target root. It is a shared fact
// (facts.DynamicLoader, pass.Facts.Loader()): the checks that resolve
// libraries use one Loader, concurrently, so that ld.so.conf is read and
// each object's dynamic section parsed once per scan.
type Loader struct {
	root     *sysroot.Root
	confDirs []string
	// Problems are what could not be read of the loader configuration.
	Problems []error

	mu      sync.Mutex
	objects map[string]*Object // read objects by path; never changed once stored
}

// New reads the target's /etc/ld.so.conf and its includes.
func New(root *sysroot.Root) *Loader {
	l := &Loader{root: root, objects: map[string]*Object{}}
	l.confDirs, l.Problems = ldconf.Dirs(root.FS(), "/etc/ld.so.conf")
	return l
}

// ConfDirs returns the directories ld.so.conf names.
func (l *Loader) ConfDirs() []string { return slices.Clone(l.confDirs) }

// DefaultDirs returns the directories glibc searches for arch after the
// cache: the Debian multiarch directories, then /LIBDIR and /usr/LIBDIR.
func DefaultDirs(a Arch) []string {
	var d []string
	if a.Triplet != "" {
		d = append(d, "/lib/"+a.Triplet, "/usr/lib/"+a.Triplet)
	}
	d = append(d, "/"+a.LibDir, "/usr/"+a.LibDir)
	if a.LibDir != "lib" {
		// 32-bit objects on a lib64 system and odd layouts still look in
		// lib last; it costs a stat.
		d = append(d, "/lib", "/usr/lib")
	}
	return d
}

// SearchPath returns the directories searched for arch, in order, without
// duplicates.
func (l *Loader) SearchPath(a Arch) []string {
	var out []string
	for _, d := range append(l.ConfDirs(), DefaultDirs(a)...) {
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// State is what the loader finds at a path.
type State int

// The states of a library file.
const (
	Missing State = iota // no file of the right architecture anywhere
	OK                   // a loadable ELF of the right class and machine
	Empty                // a zero-size file: "file too short"
	Damaged              // not an ELF file, or one debug/elf cannot read
)

func (s State) String() string {
	switch s {
	case Missing:
		return "missing"
	case OK:
		return "ok"
	case Empty:
		return "empty"
	case Damaged:
		return "damaged"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Result is where a library name resolved.
type Result struct {
	Name  string
	State State
	// Path is the file found (target-absolute, as reached through the
	// search directory, not with symlinks resolved); "" when Missing.
	Path string
	// Err says what is wrong with a Damaged file.
	Err error
	// Searched lists the directories looked in.
	Searched []string
}

// Find resolves a library name for an object of arch, searching first the
// extra directories (RPATH/RUNPATH, already expanded). A name with a slash
// is taken as a path.
func (l *Loader) Find(name string, a Arch, extra []string) Result {
	if strings.Contains(name, "/") {
		st, err := l.probe(name, a)
		r := Result{Name: name, State: st, Err: err}
		if st != Missing {
			r.Path = sysroot.Clean(name)
		}
		return r
	}
	dirs := append(slices.Clone(extra), l.SearchPath(a)...)
	seen := map[string]bool{}
	r := Result{Name: name}
	for _, d := range dirs {
		if seen[d] {
			continue
		}
		seen[d] = true
		r.Searched = append(r.Searched, d)
		p := path.Join(d, name)
		st, err := l.probe(p, a)
		if st == Missing {
			continue
		}
		r.State, r.Path, r.Err = st, p, err
		return r
	}
	return r
}

// probe says what the loader makes of the file at p for arch: Missing
// covers both absence and a file of another ELF class or machine, which
// ld.so skips.
func (l *Loader) probe(p string, a Arch) (State, error) {
	fi, err := l.root.Stat(p)
	if err != nil || fi.IsDir() {
		return Missing, nil
	}
	if !fi.Mode().IsRegular() {
		return Damaged, fmt.Errorf("not a regular file")
	}
	if fi.Size() == 0 {
		return Empty, nil
	}
	f, err := l.root.Open(p)
	if err != nil {
		return Damaged, err
	}
	defer f.Close()
	ef, err := newELF(f)
	if err != nil {
		return Damaged, err
	}
	if ef.Class != a.Class || ef.Machine != a.Machine {
		return Missing, nil
	}
	return OK, nil
}

// newELF wraps elf.NewFile: a corrupt file must give an error, never take
// the scan down.
func newELF(r io.ReaderAt) (f *elf.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("unreadable ELF: %v", p)
		}
	}()
	f, err = elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("not an ELF file: %w", err)
	}
	return f, nil
}

// Object is what the loader needs from one ELF file.
type Object struct {
	Path    string // as asked for
	Real    string // with symlinks resolved inside the root
	Arch    Arch
	Interp  string // PT_INTERP, "" for libraries and static programs
	Needed  []string
	RPath   []string // DT_RPATH, split
	RunPath []string // DT_RUNPATH, split
	Type    elf.Type
}

// ErrNotELF is returned by ReadObject for files that are not ELF (scripts).
var ErrNotELF = errors.New("not an ELF file")

// ReadObject reads the dynamic section of the ELF file at p.
func (l *Loader) ReadObject(p string) (*Object, error) {
	p = sysroot.Clean(p)
	l.mu.Lock()
	o, ok := l.objects[p]
	l.mu.Unlock()
	if ok {
		return o, nil
	}
	real, err := l.root.Resolve(p)
	if err != nil {
		return nil, err
	}
	f, err := l.root.Open(real)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil || string(magic[:]) != elf.ELFMAG {
		return nil, fmt.Errorf("%s: %w", p, ErrNotELF)
	}
	o, err = readObject(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	o.Path, o.Real = p, real
	// Two checks may read the same object at once; either copy is the
	// same, and the first stored is kept.
	l.mu.Lock()
	defer l.mu.Unlock()
	if first, ok := l.objects[p]; ok {
		return first, nil
	}
	l.objects[p] = o
	return o, nil
}

func readObject(r io.ReaderAt) (o *Object, err error) {
	defer func() {
		if p := recover(); p != nil {
			o, err = nil, fmt.Errorf("unreadable ELF: %v", p)
		}
	}()
	f, err := newELF(r)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	o = &Object{Arch: ArchOf(f), Type: f.Type}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(io.LimitReader(p.Open(), 4096))
			if err != nil {
				return nil, fmt.Errorf("reading PT_INTERP: %w", err)
			}
			o.Interp = strings.TrimRight(string(b), "\x00")
		}
	}
	if f.Section(".dynamic") == nil && !hasDynamic(f) {
		return o, nil
	}
	if o.Needed, err = f.ImportedLibraries(); err != nil {
		return nil, fmt.Errorf("reading DT_NEEDED: %w", err)
	}
	rp, _ := f.DynString(elf.DT_RPATH)
	rn, _ := f.DynString(elf.DT_RUNPATH)
	o.RPath, o.RunPath = splitPath(rp), splitPath(rn)
	return o, nil
}

func hasDynamic(f *elf.File) bool {
	for _, p := range f.Progs {
		if p.Type == elf.PT_DYNAMIC {
			return true
		}
	}
	return false
}

func splitPath(v []string) []string {
	var out []string
	for _, s := range v {
		for _, d := range strings.Split(s, ":") {
			if d != "" {
				out = append(out, d)
			}
		}
	}
	return out
}

// expand replaces $ORIGIN, $LIB and $PLATFORM (also in ${} form) in an
// RPATH/RUNPATH entry of object o.
func expand(dir string, o *Object) string {
	lib := o.Arch.LibDir
	if o.Arch.Triplet != "" && strings.Contains(o.Real, "/"+o.Arch.Triplet) {
		lib = "lib/" + o.Arch.Triplet
	}
	// ld.so takes a program's origin from /proc/self/exe, which has every
	// symlink resolved, but a library's from the path it was found at.
	origin := path.Dir(o.Path)
	if o.Interp != "" {
		origin = path.Dir(o.Real)
	}
	r := strings.NewReplacer(
		"${ORIGIN}", origin, "$ORIGIN", origin,
		"${LIB}", lib, "$LIB", lib,
		"${PLATFORM}", o.Arch.Platform, "$PLATFORM", o.Arch.Platform,
	)
	return path.Clean(r.Replace(dir))
}

// Dep is one library a program needs, directly or not.
type Dep struct {
	Result
	// NeededBy lists the objects (target paths) that name it.
	NeededBy []string
}

// Closure resolves everything the program at p needs: its dynamic loader
// (PT_INTERP) and every DT_NEEDED, transitively. It returns one Dep per
// name, in the order they were first met; broken ones stop the walk below
// them.
func (l *Loader) Closure(p string) (*Object, []Dep, error) {
	prog, err := l.ReadObject(p)
	if err != nil {
		return nil, nil, err
	}
	var deps []Dep
	index := map[string]int{}
	add := func(r Result, by string) (Dep, bool) {
		if i, ok := index[r.Name]; ok {
			if !slices.Contains(deps[i].NeededBy, by) {
				deps[i].NeededBy = append(deps[i].NeededBy, by)
			}
			return deps[i], false
		}
		index[r.Name] = len(deps)
		deps = append(deps, Dep{Result: r, NeededBy: []string{by}})
		return deps[len(deps)-1], true
	}
	if prog.Interp != "" {
		add(l.Find(prog.Interp, prog.Arch, nil), prog.Path)
	}
	// The executable's own RPATH applies to everything it loads.
	var progRPath []string
	if len(prog.RunPath) == 0 {
		for _, d := range prog.RPath {
			progRPath = append(progRPath, expand(d, prog))
		}
	}
	type item struct{ o *Object }
	queue := []item{{prog}}
	for len(queue) > 0 {
		o := queue[0].o
		queue = queue[1:]
		var extra []string
		if len(o.RunPath) == 0 {
			for _, d := range o.RPath {
				extra = append(extra, expand(d, o))
			}
			extra = append(extra, progRPath...)
		} else {
			for _, d := range o.RunPath {
				extra = append(extra, expand(d, o))
			}
		}
		for _, n := range o.Needed {
			d, first := add(l.Find(n, o.Arch, extra), o.Path)
			if !first || d.State != OK {
				continue
			}
			lib, err := l.ReadObject(d.Path)
			if err != nil {
				continue
			}
			queue = append(queue, item{lib})
		}
	}
	return prog, deps, nil
}

// MainArch returns the architecture of the target's own programs, from the
// first readable one of a few every system has; X8664 when none is.
func (l *Loader) MainArch() Arch {
	for _, p := range []string{
		"/usr/lib/systemd/systemd", "/lib/systemd/systemd", "/usr/bin/bash", "/bin/bash",
		"/usr/bin/sh", "/bin/sh", "/usr/bin/ls", "/bin/ls", "/sbin/init",
	} {
		if o, err := l.ReadObject(p); err == nil && o.Interp != "" {
			return o.Arch
		}
	}
	return X8664
}

// dynamicVersions returns the names of the versions an ELF file defines
// (SHT_GNU_verdef), guarding against panics on corrupt input.
func dynamicVersions(f *elf.File) (names []string, err error) {
	defer func() {
		if p := recover(); p != nil {
			names, err = nil, fmt.Errorf("unreadable version definitions: %v", p)
		}
	}()
	defs, err := f.DynamicVersions()
	if err != nil {
		return nil, err
	}
	for _, d := range defs {
		names = append(names, d.Name)
	}
	return names, nil
}
