// Package filecontexts reads SELinux file_contexts files (the policy's
// contexts/files/file_contexts, its .local and .homedirs companions, and the
// file_contexts.subs path aliases) and answers what label a path gets, the
// way libselinux's selabel_lookup does for restorecon: the last matching
// specification wins, and specifications without regular-expression
// characters (exact paths) win over those with.
package filecontexts

import (
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"sync"
)

// Spec is one line of a file_contexts file: "/usr/lib(64)?/ld.*\.so.* --
// system_u:object_r:ld_so_t:s0".
type Spec struct {
	Regex string
	// Type limits the spec to one file type: 0 for any, else 'f'
	// (regular file, "--"), 'd', 'l', 'c', 'b', 'p' or 's'.
	Type byte
	// Context is the label, or "<<none>>" for "leave unlabelled".
	Context string
	Line    int

	once sync.Once
	re   *regexp.Regexp
	err  error
}

// None is the context that means "do not label".
const None = "<<none>>"

// Parse reads a file_contexts file. Lines that are not specifications are
// reported and skipped; the rest is kept.
func Parse(data []byte) ([]*Spec, []error) {
	var specs []*Spec
	var problems []error
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(strings.TrimRight(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		s := &Spec{Regex: f[0], Line: n}
		switch len(f) {
		case 2:
			s.Context = f[1]
		case 3:
			t, ok := fileTypes[f[1]]
			if !ok {
				problems = append(problems, fmt.Errorf("line %d: unknown file type %q", n, f[1]))
				continue
			}
			s.Type, s.Context = t, f[2]
		default:
			problems = append(problems, fmt.Errorf("line %d: want REGEX [TYPE] CONTEXT, got %d fields", n, len(f)))
			continue
		}
		specs = append(specs, s)
	}
	return specs, problems
}

var fileTypes = map[string]byte{"--": 'f', "-d": 'd', "-l": 'l', "-c": 'c', "-b": 'b', "-p": 'p', "-s": 's'}

// typeOf is the file_contexts letter of a file mode's type.
func typeOf(m fs.FileMode) byte {
	switch {
	case m&fs.ModeDir != 0:
		return 'd'
	case m&fs.ModeSymlink != 0:
		return 'l'
	case m&fs.ModeCharDevice != 0:
		return 'c'
	case m&fs.ModeDevice != 0:
		return 'b'
	case m&fs.ModeNamedPipe != 0:
		return 'p'
	case m&fs.ModeSocket != 0:
		return 's'
	}
	return 'f'
}

// regex compiles the spec anchored at both ends, as libselinux does. A
// regular expression Go cannot compile (PCRE-only syntax) never matches.
func (s *Spec) regex() *regexp.Regexp {
	s.once.Do(func() { s.re, s.err = regexp.Compile("^(?:" + s.Regex + ")$") })
	return s.re
}

// exact reports whether the spec names one path: no regular-expression
// character in it.
func (s *Spec) exact() bool { return !strings.ContainsAny(s.Regex, `.^$?*+|[({\`) }

// Subs are path aliases (file_contexts.subs and .subs_dist): a path under
// an alias is labelled as the same path under its target.
type Subs [][2]string

// ParseSubs reads "ALIAS TARGET" lines.
func ParseSubs(data []byte) Subs {
	var out Subs
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && !strings.HasPrefix(f[0], "#") {
			out = append(out, [2]string{strings.TrimSuffix(f[0], "/"), strings.TrimSuffix(f[1], "/")})
		}
	}
	return out
}

// apply rewrites p through the first alias that is a prefix of it.
func (s Subs) apply(p string) string {
	for _, a := range s {
		if a[0] == "" {
			continue
		}
		if p == a[0] {
			return a[1]
		}
		if strings.HasPrefix(p, a[0]+"/") {
			return a[1] + p[len(a[0]):]
		}
	}
	return p
}

// Set is a policy's specifications in lookup order.
type Set struct {
	specs []*Spec // regexes first, then exact paths; searched backwards
	subs  Subs
}

// NewSet orders the specifications of the given files (file_contexts,
// then .homedirs, then .local: later files win) as libselinux does.
func NewSet(subs Subs, files ...[]*Spec) *Set {
	set := &Set{subs: subs}
	var exact []*Spec
	for _, f := range files {
		for _, s := range f {
			if s.exact() {
				exact = append(exact, s)
			} else {
				set.specs = append(set.specs, s)
			}
		}
	}
	set.specs = append(set.specs, exact...)
	return set
}

// Lookup returns the context for a path of the given type, and false when
// no specification matches or the match says <<none>>.
func (s *Set) Lookup(p string, mode fs.FileMode) (string, bool) {
	p = s.subs.apply(p)
	t := typeOf(mode)
	for i := len(s.specs) - 1; i >= 0; i-- {
		sp := s.specs[i]
		if sp.Type != 0 && sp.Type != t {
			continue
		}
		if sp.exact() {
			if sp.Regex != p {
				continue
			}
		} else if re := sp.regex(); re == nil || !re.MatchString(p) {
			continue
		}
		if sp.Context == None {
			return "", false
		}
		return sp.Context, true
	}
	return "", false
}
