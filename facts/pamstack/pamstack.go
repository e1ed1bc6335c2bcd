// Package pamstack is the target's PAM configuration as libpam reads it
// (facts.PAMStacks, pass.Facts.PAMStacks()): which file a service or
// include name resolves to, each file parsed once by parse/pamconf, and
// the stack of one type for a service flattened the way libpam builds it
// (includes inlined, substacks scoped, "other" when the service has no
// line of that type), with the include loops it met and whether it had to
// stop at its work bound. Every check that asks what a login runs through
// PAM asks it here, so that they all follow libpam's rules, not each its
// own reading of them.
package pamstack

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"rescue/parse/pamconf"
	"rescue/sysroot"
)

// ConfigDirs are where libpam looks for a service file, in order: the
// administrator's directory, then the distribution's (Linux-PAM >= 1.4
// reads /usr/lib/pam.d; openSUSE's builds read /usr/etc/pam.d). A name
// found in an earlier one hides the same name in the later ones.
var ConfigDirs = []string{"/etc/pam.d", "/usr/lib/pam.d", "/usr/etc/pam.d"}

// MaxDepth is libpam's PAM_SUBSTACK_MAX_LEVEL.
const MaxDepth = 16

// MaxWork bounds the lines one stack takes in. Depth alone does not bound
// it: three include lines per file, sixteen deep, are 3^16 lines.
const MaxWork = 100000

// fileLimit bounds what is read of one file: far more than any real PAM
// file, little enough that a hostile one cannot exhaust memory.
const fileLimit = 4 << 20

// BackupSuffixes are the names package managers, editors and people give
// to the previous version of a configuration file: such a file in a PAM
// directory is no service any program opens.
var BackupSuffixes = []string{
	".rpmsave", ".rpmorig", ".rpmnew", ".dpkg-old", ".dpkg-dist", ".dpkg-bak", ".ucf-old", ".ucf-dist",
	".bak", ".orig", ".save", "~", "-",
}

// IsBackup reports whether a file name ends in one of BackupSuffixes.
func IsBackup(name string) bool {
	for _, s := range BackupSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// File is one PAM configuration file. It is shared by every check: read
// it, never change it.
type File struct {
	Path   string
	Exists bool
	// Err is why an existing file could not be read.
	Err  error
	Data []byte
	Conf *pamconf.File
}

// Empty reports whether the file was read and has no configuration line.
func (f *File) Empty() bool { return f.Exists && f.Err == nil && f.Conf.Empty() }

// Usable reports whether libpam would read configuration lines from it.
func (f *File) Usable() bool { return f.Exists && f.Err == nil && !f.Conf.Empty() }

// Entry is one line of a flattened stack.
type Entry struct {
	File *File
	Line pamconf.Line
	// Scope names the (sub)stack the line runs in: "" for the service's
	// own stack, then "/N" for each substack on the way. A "sufficient"
	// success ends only the lines of its own scope.
	Scope string
}

// At is where the line is, as "/etc/pam.d/login:12".
func (e Entry) At() string { return fmt.Sprintf("%s:%d", e.File.Path, e.Line.N) }

// Cycle is an include line whose target is already being read further out:
// libpam follows it to its limit of MaxDepth levels and then installs a
// handler that always fails. The line stands in its stack for that handler.
type Cycle struct {
	File *File
	Line pamconf.Line
	// Chain runs from the file included again to the one including it.
	Chain []string
}

// Stack is the flattened stack of one type for a service. It is shared:
// read it, never change it.
type Stack struct {
	Service, Type string
	Entries       []Entry
	// Files are the files read to build it (the fallback to "other"
	// included), sorted.
	Files []string
	// Cycles are the include lines that close a loop, by file and line.
	Cycles []Cycle
	// TooLarge is set when building the stack was cut short at MaxWork
	// lines: Entries are the lines taken in until then.
	TooLarge bool
}

// Config is the target's PAM configuration. It reads files on demand and
// keeps them, and the stacks built from them, for every caller; it is
// safe for concurrent use.
type Config struct {
	root *sysroot.Root

	mu     sync.Mutex
	files  map[string]*File
	stacks map[[2]string]*Stack
}

// New returns the PAM configuration of the target at root.
func New(root *sysroot.Root) *Config {
	return &Config{root: root, files: map[string]*File{}, stacks: map[[2]string]*Stack{}}
}

// File returns the file at an absolute path in the target.
func (c *Config) File(name string) *File {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.load(name)
}

// Service returns the file libpam reads for a service or include name: an
// absolute name as it is, otherwise the first of ConfigDirs that has it.
// When none has it, the /etc/pam.d path is returned, not existing: that is
// where it belongs.
func (c *Config) Service(name string) *File {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.service(name)
}

// Services returns the names of the service files in ConfigDirs, sorted,
// each once: what pam_start can be given. Hidden files and backups
// (IsBackup) are left out. The error says that none of ConfigDirs could be
// listed: PAM's configuration cannot be told.
func (c *Config) Services() ([]string, error) {
	seen := map[string]bool{}
	var out []string
	var errs []error
	for _, d := range ConfigDirs {
		entries, err := c.root.ReadDir(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() || strings.HasPrefix(n, ".") || IsBackup(n) || seen[n] {
				continue
			}
			seen[n] = true
			out = append(out, n)
		}
	}
	if len(errs) == len(ConfigDirs) {
		return nil, fmt.Errorf("reading the PAM directories: %w", errors.Join(errs...))
	}
	slices.Sort(out)
	return out, nil
}

// Stack returns the flattened stack of type typ (auth, account, password,
// session) for a service, as libpam builds it: the service's lines of that
// type with includes inlined, or, when the service file is missing or has
// no line of that type, the stack of "other". It is built once.
func (c *Config) Stack(service, typ string) *Stack {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stack(service, typ)
}

// load reads the file at an absolute path (cached). c.mu is held.
func (c *Config) load(name string) *File {
	name = sysroot.Clean(name)
	if f, ok := c.files[name]; ok {
		return f
	}
	f := &File{Path: name}
	data, err := c.root.ReadFileLimit(name, fileLimit)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		f.Exists, f.Err = true, err
	default:
		f.Exists, f.Data = true, data
	}
	f.Conf = pamconf.Parse(f.Data)
	c.files[name] = f
	return f
}

// service is Service with c.mu held.
func (c *Config) service(name string) *File {
	if strings.HasPrefix(name, "/") {
		return c.load(name)
	}
	for _, d := range ConfigDirs {
		if f := c.load(path.Join(d, name)); f.Exists {
			return f
		}
	}
	return c.load(path.Join(ConfigDirs[0], name))
}

type cycleKey struct {
	file string
	line int
}

// builder is the state of building one stack.
type builder struct {
	c       *Config
	out     []Entry
	visited map[string]bool
	cycles  map[cycleKey]Cycle
	subs    int // substacks met, to name their scopes
	// work counts the lines taken in, against MaxWork.
	work     int
	tooLarge bool
}

// stack is Stack with c.mu held.
func (c *Config) stack(service, typ string) *Stack {
	key := [2]string{service, typ}
	if s, ok := c.stacks[key]; ok {
		return s
	}
	b := &builder{c: c, visited: map[string]bool{}, cycles: map[cycleKey]Cycle{}}
	f := c.service(service)
	if f.Usable() {
		b.flatten(f, typ, []string{f.Path}, "")
	} else if f.Exists {
		b.visited[f.Path] = true
	}
	s := &Stack{Service: service, Type: typ, Entries: b.out, TooLarge: b.tooLarge}
	for p := range b.visited {
		s.Files = append(s.Files, p)
	}
	for _, cy := range b.cycles {
		s.Cycles = append(s.Cycles, cy)
	}
	if len(s.Entries) == 0 && service != "other" {
		o := c.stack("other", typ)
		s.Entries, s.TooLarge = o.Entries, s.TooLarge || o.TooLarge
		s.Files = append(s.Files, o.Files...)
		s.Cycles = append(s.Cycles, o.Cycles...)
	}
	slices.Sort(s.Files)
	s.Files = slices.Compact(s.Files)
	slices.SortFunc(s.Cycles, func(a, b Cycle) int {
		if a.File.Path != b.File.Path {
			return strings.Compare(a.File.Path, b.File.Path)
		}
		return a.Line.N - b.Line.N
	})
	s.Cycles = slices.CompactFunc(s.Cycles, func(a, b Cycle) bool { return a.File.Path == b.File.Path && a.Line.N == b.Line.N })
	c.stacks[key] = s
	return s
}

// flatten appends f's lines of type typ, includes inlined. chain is the
// files being read, from the service's file to f: an include of one of
// them is a loop, which libpam would follow to its depth limit and then
// fail; it is recorded, and its line stands for that failing handler.
func (b *builder) flatten(f *File, typ string, chain []string, scope string) {
	b.visited[f.Path] = true
	if len(chain) > MaxDepth || !f.Usable() {
		return
	}
	for _, l := range f.Conf.Lines {
		if b.work++; b.work > MaxWork {
			b.tooLarge = true
			return
		}
		if l.IsInclude() && (l.Include != "" || l.Type == typ) {
			t := b.c.service(l.Target())
			if i := slices.Index(chain, t.Path); i >= 0 {
				b.cycles[cycleKey{f.Path, l.N}] = Cycle{File: f, Line: l, Chain: slices.Clone(chain[i:])}
				b.out = append(b.out, Entry{File: f, Line: l, Scope: scope})
				continue
			}
		}
		if l.Include != "" {
			t := b.c.service(l.Include)
			b.flatten(t, typ, append(chain[:len(chain):len(chain)], t.Path), scope)
			continue
		}
		if l.Type != typ {
			continue
		}
		if l.Err == nil && (l.Control == "include" || l.Control == "substack") {
			t := b.c.service(l.Module)
			if !t.Exists {
				// The include itself becomes a failing handler.
				b.out = append(b.out, Entry{File: f, Line: l, Scope: scope})
				continue
			}
			inner := scope
			if l.Control == "substack" {
				b.subs++
				inner = fmt.Sprintf("%s/%d", scope, b.subs)
			}
			b.flatten(t, typ, append(chain[:len(chain):len(chain)], t.Path), inner)
			continue
		}
		b.out = append(b.out, Entry{File: f, Line: l, Scope: scope})
	}
}

// OtherDenies reports whether "other" refuses authentication, as it does
// on RHEL (pam_deny) or when it is missing or empty (no handler): a
// pam_deny that every authentication reaches. Debian's other includes
// common-auth, whose pam_deny a successful pam_unix jumps over
// ([success=1 default=ignore]): that pam_deny refuses wrong passwords
// only (measured under qemu: on Debian 12 and 13 without /etc/pam.d/login
// every console login still works).
func (c *Config) OtherDenies() bool {
	if !c.Service("other").Usable() {
		return true
	}
	st := c.Stack("other", "auth")
	if len(st.Entries) == 0 {
		return true
	}
	for i, e := range st.Entries {
		if pamconf.ModuleName(e.Line.Module) == "pam_deny.so" && (e.Line.Control == "required" || e.Line.Control == "requisite") &&
			!st.Skippable(i) {
			return true
		}
	}
	return false
}

// Skippable reports whether entry i may not run: an earlier line of its
// scope (or of an enclosing one) can end the stack in success before it
// (LetsThrough), or jump over it ([success=N] counts the lines after its
// own).
func (s *Stack) Skippable(i int) bool {
	for j := 0; j < i; j++ {
		if LetsThrough(s.Entries[j].Line.Control) && Within(s.Entries[i].Scope, []string{s.Entries[j].Scope}) {
			return true
		}
		for _, act := range pamconf.Actions(s.Entries[j].Line.Control) {
			if n, err := strconv.Atoi(act); err == nil && n > 0 && j+n >= i {
				return true
			}
		}
	}
	return false
}

// LetsThrough reports whether a line's control can end its stack in
// success before the lines after it run ("sufficient", or success=done).
func LetsThrough(control string) bool {
	if control == "sufficient" {
		return true
	}
	a := pamconf.Actions(control)
	return a != nil && a["success"] == "done"
}

// Within reports whether scope is one of scopes or nested in one.
func Within(scope string, scopes []string) bool {
	for _, p := range scopes {
		if scope == p || strings.HasPrefix(scope, p+"/") {
			return true
		}
	}
	return false
}
