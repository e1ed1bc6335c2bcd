// Package sysctlconf parses sysctl.d(5) files and merges them in the order
// systemd-sysctl (and procps `sysctl --system`) applies them at boot, so that
// a check sees the value each key really ends up with and the line that sets
// it.
package sysctlconf

import (
	"errors"
	"io/fs"
	"strings"

	"rescue/parse/unitfile"
)

// Entry is one assignment in a sysctl file.
type Entry struct {
	// Key is the normalised, dotted key ("vm.min_free_kbytes"): a key
	// written with slashes ("vm/min_free_kbytes") is converted the way
	// systemd-sysctl does.
	Key   string
	Value string
	// Path is the target-absolute file the entry is in; Line is 1-based.
	Path string
	Line int
	// Raw is the line as written.
	Raw string
	// IgnoreErrors is set for "-key = value" lines: a failure to write the
	// key is not an error.
	IgnoreErrors bool
}

// BadLine is a line that could not be read as an assignment.
type BadLine struct {
	Path string
	Line int
	Raw  string
}

// File is the parse of one sysctl file.
type File struct {
	Path    string
	Entries []Entry
	Bad     []BadLine
}

// Parse parses the content of one sysctl file. Comments start with '#' or
// ';' as the first non-blank character; blank lines are skipped; every other
// line is "key = value" (the '=' may have spaces around it). A line with no
// '=' is recorded in Bad, as systemd-sysctl warns about it and goes on.
func Parse(name string, data []byte) *File {
	f := &File{Path: name}
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(strings.TrimRight(raw, "\r"))
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			f.Bad = append(f.Bad, BadLine{Path: name, Line: i + 1, Raw: raw})
			continue
		}
		e := Entry{Value: strings.TrimSpace(v), Path: name, Line: i + 1, Raw: raw}
		if strings.HasPrefix(k, "-") {
			e.IgnoreErrors = true
			k = strings.TrimSpace(k[1:])
		}
		e.Key = Normalize(k)
		if e.Key == "" {
			f.Bad = append(f.Bad, BadLine{Path: name, Line: i + 1, Raw: raw})
			continue
		}
		f.Entries = append(f.Entries, e)
	}
	return f
}

// Normalize returns the dotted form of a sysctl key. As in systemd's
// sysctl_normalize, when the first separator is a '/', slashes separate the
// components and dots inside them are literal (written as '/' in the dotted
// form); otherwise the key is already dotted.
func Normalize(key string) string {
	key = strings.Trim(key, " \t")
	i := strings.IndexAny(key, "./")
	if i < 0 || key[i] == '.' {
		return strings.Trim(key, ".")
	}
	b := []byte(key)
	for j, c := range b {
		switch c {
		case '/':
			b[j] = '.'
		case '.':
			b[j] = '/'
		}
	}
	return strings.Trim(string(b), ".")
}

// Dirs are the sysctl.d directories, highest priority first: a file in an
// earlier directory masks a file of the same name in a later one.
var Dirs = []string{"/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d"}

// MainFile is the traditional file, applied after every sysctl.d file.
const MainFile = "/etc/sysctl.conf"

// Set is every sysctl file of a root in the order they are applied.
type Set struct {
	Files []*File
	// Masked lists the sysctl.d files that a same-named file in an earlier
	// directory (or a symlink to /dev/null) hides.
	Masked []string
	// Errors are files that exist but could not be read.
	Errors []error
}

// FS is what Load needs from a target root: reading files and directories by
// target-absolute path, and telling a symlink to /dev/null. sysroot.Root
// satisfies it.
type FS interface {
	ReadFile(name string) ([]byte, error)
	ReadDir(name string) ([]fs.DirEntry, error)
	Readlink(name string) (string, error)
	Resolve(name string) (string, error)
}

// Load reads every sysctl file of a root in application order: the *.conf
// files of Dirs, one per basename (the first directory wins), sorted by
// basename, then /etc/sysctl.conf. A sysctl.d entry that resolves to
// /etc/sysctl.conf (Debian and Fedora ship 99-sysctl.conf -> ../sysctl.conf)
// is read there and /etc/sysctl.conf is not read a second time.
func Load(root FS) *Set {
	s := &Set{}
	conf := unitfile.ConfFiles(root, Dirs)
	s.Masked, s.Errors = conf.Masked, conf.Errors
	seenMain := false
	for _, p := range conf.Files {
		if r, err := root.Resolve(p); err == nil && r == MainFile {
			seenMain = true
		}
		s.read(root, p)
	}
	if !seenMain {
		s.read(root, MainFile)
	}
	return s
}

func (s *Set) read(root FS, p string) {
	data, err := root.ReadFile(p)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.Errors = append(s.Errors, err)
		}
		return
	}
	s.Files = append(s.Files, Parse(p, data))
}

// Value returns the entry that wins for key (the last one applied), and
// whether there is one. Glob keys are not expanded: an exact key only.
func (s *Set) Value(key string) (Entry, bool) {
	all := s.All(key)
	if len(all) == 0 {
		return Entry{}, false
	}
	return all[len(all)-1], true
}

// All returns every entry for key, in the order they are applied.
func (s *Set) All(key string) []Entry {
	key = Normalize(key)
	var out []Entry
	for _, f := range s.Files {
		for _, e := range f.Entries {
			if e.Key == key {
				out = append(out, e)
			}
		}
	}
	return out
}

// File returns the parsed file at path, or nil.
func (s *Set) File(p string) *File {
	for _, f := range s.Files {
		if f.Path == p {
			return f
		}
	}
	return nil
}
