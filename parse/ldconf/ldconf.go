// Package ldconf reads /etc/ld.so.conf the way ldconfig does: one directory
// per line, '#' comments, "include GLOB" lines whose relative patterns are
// taken from the directory of the file that names them, and "hwcap" lines
// (ignored since glibc 2.26). Dirs follows the includes through an fs.FS, so
// it works on any root without knowing where that root is.
package ldconf

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// Kind is the kind of a directive.
type Kind int

// The directives of ld.so.conf.
const (
	Dir Kind = iota + 1
	Include
	Hwcap
)

// Directive is one meaningful line.
type Directive struct {
	N     int // 1-based line number
	Kind  Kind
	Value string // the directory, or the include pattern
}

// Parse parses one configuration file. It never fails.
func Parse(data []byte) []Directive {
	var out []Directive
	for i, line := range strings.Split(string(data), "\n") {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		d := Directive{N: i + 1, Kind: Dir, Value: line}
		if rest, ok := cutWord(line, "include"); ok {
			d.Kind, d.Value = Include, rest
		} else if rest, ok := cutWord(line, "hwcap"); ok {
			d.Kind, d.Value = Hwcap, rest
		} else {
			// Old configurations may say "/usr/lib=libc5"; the type is
			// ignored by current ldconfig.
			if k := strings.IndexByte(d.Value, '='); k > 0 {
				d.Value = d.Value[:k]
			}
			d.Value = strings.TrimSpace(d.Value)
			if t := strings.TrimRight(d.Value, "/"); t != "" || d.Value == "" {
				d.Value = t
			} else {
				d.Value = "/" // "//" is the root directory, not nothing
			}
			if d.Value == "" {
				continue
			}
		}
		out = append(out, d)
	}
	return out
}

func cutWord(line, word string) (string, bool) {
	if !strings.HasPrefix(line, word) || len(line) == len(word) {
		return "", false
	}
	c := line[len(word)]
	if c != ' ' && c != '\t' {
		return "", false
	}
	return strings.TrimSpace(line[len(word):]), true
}

// MaxDepth bounds include nesting, as ldconfig's own recursion is bounded
// only by the stack: a file that includes itself must not hang a scan.
const MaxDepth = 16

// Dirs returns the library directories the configuration at conf (an
// absolute path) names, in order, following include globs inside fsys, whose
// names are unrooted ("etc/ld.so.conf"). Problems (an unreadable include, a
// bad pattern, too deep nesting) are returned alongside whatever could be
// read; a missing conf yields no directories and no error.
func Dirs(fsys fs.FS, conf string) ([]string, []error) {
	r := &reader{fsys: fsys, seen: map[string]bool{}}
	r.read(path.Clean("/"+conf), 0, true)
	return r.dirs, r.errs
}

type reader struct {
	fsys fs.FS
	seen map[string]bool
	dirs []string
	errs []error
}

func (r *reader) read(file string, depth int, top bool) {
	if depth > MaxDepth {
		r.errs = append(r.errs, fmt.Errorf("%s: includes nested more than %d deep", file, MaxDepth))
		return
	}
	if r.seen[file] {
		return
	}
	r.seen[file] = true
	data, err := fs.ReadFile(r.fsys, strings.TrimPrefix(file, "/"))
	if err != nil {
		if !(top && isNotExist(err)) {
			r.errs = append(r.errs, fmt.Errorf("reading %s: %w", file, err))
		}
		return
	}
	for _, d := range Parse(data) {
		switch d.Kind {
		case Dir:
			r.addDir(d.Value)
		case Include:
			// ldconfig accepts several patterns on one include line.
			for _, pat := range strings.Fields(d.Value) {
				if !strings.HasPrefix(pat, "/") {
					pat = path.Join(path.Dir(file), pat)
				}
				matches, err := fs.Glob(r.fsys, strings.TrimPrefix(path.Clean(pat), "/"))
				if err != nil {
					r.errs = append(r.errs, fmt.Errorf("%s:%d: include %q: %w", file, d.N, pat, err))
					continue
				}
				for _, m := range matches {
					r.read("/"+m, depth+1, false)
				}
			}
		}
	}
}

func (r *reader) addDir(d string) {
	if !strings.HasPrefix(d, "/") {
		// ldconfig warns about and skips relative directories.
		return
	}
	d = path.Clean(d)
	for _, have := range r.dirs {
		if have == d {
			return
		}
	}
	r.dirs = append(r.dirs, d)
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
