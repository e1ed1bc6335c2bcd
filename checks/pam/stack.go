package pam

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"rescue/parse/pamconf"
	"rescue/sysroot"
)

// configDirs are where libpam looks for a service file, in order: the
// administrator's directory, then the distribution's (Linux-PAM >= 1.4).
var configDirs = []string{"/etc/pam.d", "/usr/lib/pam.d", "/usr/etc/pam.d"}

// maxDepth is libpam's PAM_SUBSTACK_MAX_LEVEL.
const maxDepth = 16

// pfile is one PAM configuration file.
type pfile struct {
	path   string
	exists bool
	err    error
	data   []byte
	conf   *pamconf.File
}

func (f *pfile) empty() bool { return f.exists && f.err == nil && f.conf.Empty() }

// usable reports whether libpam would read configuration lines from it.
func (f *pfile) usable() bool { return f.exists && f.err == nil && !f.conf.Empty() }

// pamd loads PAM files on demand from a target root.
type pamd struct {
	root  *sysroot.Root
	files map[string]*pfile

	// cycles are the include lines that close a loop, by file and line.
	cycles map[cycleKey]cycle
	// work counts what building the current stack cost, against
	// maxWork; tooLarge is set once a stack was cut short.
	work     int
	tooLarge bool
}

// maxWork bounds the lines one stack takes in. Depth alone does not bound
// it: three include lines per file, sixteen deep, are 3^16 lines.
const maxWork = 100000

type cycleKey struct {
	file string
	line int
}

// cycle is an include line whose target is already being read further out:
// libpam follows it to its limit of 16 levels and then installs a handler
// that always fails.
type cycle struct {
	file  *pfile
	line  pamconf.Line
	chain []string // from the file included again to the one including it
}

func newPamd(root *sysroot.Root) *pamd {
	return &pamd{root: root, files: map[string]*pfile{}, cycles: map[cycleKey]cycle{}}
}

// load reads the file at an absolute path (cached).
func (p *pamd) load(name string) *pfile {
	name = sysroot.Clean(name)
	if f, ok := p.files[name]; ok {
		return f
	}
	f := &pfile{path: name}
	data, err := p.root.ReadFileLimit(name, 4<<20)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		f.exists, f.err = true, err
	default:
		f.exists, f.data = true, data
	}
	f.conf = pamconf.Parse(f.data)
	p.files[name] = f
	return f
}

// service returns the file libpam reads for a service or include name: an
// absolute name as it is, otherwise the first of configDirs that has it.
// When none has it, the /etc/pam.d path is returned, not existing.
func (p *pamd) service(name string) *pfile {
	if strings.HasPrefix(name, "/") {
		return p.load(name)
	}
	for _, d := range configDirs {
		if f := p.load(path.Join(d, name)); f.exists {
			return f
		}
	}
	return p.load(path.Join(configDirs[0], name))
}

// entry is one line of a flattened stack.
type entry struct {
	file *pfile
	line pamconf.Line
	// scope names the (sub)stack the line runs in: "" for the service's
	// own stack, then "/N" for each substack on the way. A "sufficient"
	// success ends only the lines of its own scope.
	scope string
}

// stack returns the flattened stack of one type for a service, as libpam
// builds it: the service's lines of that type with includes inlined, or,
// when the service file is missing or has no line of that type, the
// lines of "other". visited receives every file read on the way.
func (p *pamd) stack(service, typ string, visited map[string]bool) []entry {
	f := p.service(service)
	var out []entry
	if f.usable() {
		n := 0
		p.work = 0
		p.flatten(f, typ, []string{f.path}, "", &n, &out, visited)
	} else if f.exists {
		visited[f.path] = true
	}
	if len(out) == 0 && service != "other" {
		return p.stack("other", typ, visited)
	}
	return out
}

// flatten appends f's lines of type typ to out, includes inlined. chain is
// the files being read, from the service's file to f: an include of one
// of them is a loop, which libpam would follow to its depth limit and then
// fail; it is recorded and stands for that failing handler here.
func (p *pamd) flatten(f *pfile, typ string, chain []string, scope string, subs *int, out *[]entry, visited map[string]bool) {
	visited[f.path] = true
	if len(chain) > maxDepth || !f.usable() {
		return
	}
	for _, l := range f.conf.Lines {
		if p.work++; p.work > maxWork {
			p.tooLarge = true
			return
		}
		if l.IsInclude() && (l.Include != "" || l.Type == typ) {
			t := p.service(l.Target())
			if i := slices.Index(chain, t.path); i >= 0 {
				p.cycles[cycleKey{f.path, l.N}] = cycle{file: f, line: l, chain: slices.Clone(chain[i:])}
				*out = append(*out, entry{file: f, line: l, scope: scope})
				continue
			}
		}
		if l.Include != "" {
			p.flatten(p.service(l.Include), typ, append(chain[:len(chain):len(chain)], p.service(l.Include).path), scope, subs, out, visited)
			continue
		}
		if l.Type != typ {
			continue
		}
		if l.Err == nil && (l.Control == "include" || l.Control == "substack") {
			t := p.service(l.Module)
			if !t.exists {
				// The include itself becomes a failing handler.
				*out = append(*out, entry{file: f, line: l, scope: scope})
				continue
			}
			inner := scope
			if l.Control == "substack" {
				*subs++
				inner = fmt.Sprintf("%s/%d", scope, *subs)
			}
			p.flatten(t, typ, append(chain[:len(chain):len(chain)], t.path), inner, subs, out, visited)
			continue
		}
		*out = append(*out, entry{file: f, line: l, scope: scope})
	}
}

// loginServices are the services whose failure locks people out.
var loginServices = []string{"login", "sshd"}

// otherDenies reports whether /etc/pam.d/other refuses authentication, as
// it does on RHEL (pam_deny) or when it is missing or empty (no handler):
// a pam_deny that every authentication reaches. Debian's other includes
// common-auth, whose pam_deny a successful pam_unix jumps over
// ([success=1 default=ignore]): that pam_deny refuses wrong passwords
// only (measured under qemu: on Debian 12 and 13 without /etc/pam.d/login
// every console login still works).
func (p *pamd) otherDenies() bool {
	o := p.service("other")
	if !o.usable() {
		return true
	}
	visited := map[string]bool{}
	st := p.stack("other", "auth", visited)
	if len(st) == 0 {
		return true
	}
	for i, e := range st {
		if pamconf.ModuleName(e.line.Module) == "pam_deny.so" && (e.line.Control == "required" || e.line.Control == "requisite") &&
			!skippable(st, i) {
			return true
		}
	}
	return false
}

// skippable reports whether line i of a flattened stack may not run: an
// earlier line of its scope (or of an enclosing one) can end the stack in
// success before it (sufficient, success=done) or jump over it
// ([success=N] counts the lines after its own).
func skippable(st []entry, i int) bool {
	for j := 0; j < i; j++ {
		if letsThrough(st[j].line.Control) && after(st[i].scope, []string{st[j].scope}) {
			return true
		}
		for _, act := range pamconf.Actions(st[j].line.Control) {
			if n, err := strconv.Atoi(act); err == nil && n > 0 && j+n >= i {
				return true
			}
		}
	}
	return false
}
