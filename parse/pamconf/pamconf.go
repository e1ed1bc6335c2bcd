// Package pamconf parses Linux-PAM service files (/etc/pam.d/NAME) the way
// libpam reads them: '#' starts a comment that runs to the end of the
// physical line, a backslash at the end of a line continues it, tokens are
// separated by blanks, and a token that starts with '[' runs to the matching
// ']' (so "[success=1 default=ignore]" is one control token). Debian's
// "@include NAME" lines are understood too.
//
// A line libpam cannot make sense of (an unknown module type, no control
// flag, no module) is kept with an error: libpam installs such a line as a
// handler that always fails, so it breaks the whole stack of its type.
package pamconf

import (
	"fmt"
	"strings"
)

// Types are the four PAM management groups.
var Types = []string{"auth", "account", "password", "session"}

// Line is one logical configuration line.
type Line struct {
	N    int    // 1-based number of the first physical line
	Last int    // number of the last physical line (continuations)
	Raw  string // the physical lines as in the file, joined by "\n"

	// Include is the file named by a Debian "@include NAME" line.
	Include string

	Type    string // auth, account, password or session (lower case)
	Silent  bool   // the type had a leading '-': a missing module is not logged
	Control string // required, requisite, sufficient, optional, include, substack or "[...]"
	Module  string // module path, or the file of an include/substack
	Args    []string

	// Err says why libpam would install this line as a failing handler.
	Err error
}

// IsInclude reports whether the line pulls in another file (include,
// substack or @include).
func (l Line) IsInclude() bool {
	return l.Include != "" || (l.Err == nil && (l.Control == "include" || l.Control == "substack"))
}

// Target returns the file an include line names.
func (l Line) Target() string {
	if l.Include != "" {
		return l.Include
	}
	return l.Module
}

// File is a parsed service file: its logical lines that are not blank or
// comments.
type File struct {
	Lines []Line
	// Physical is the number of physical lines.
	Physical int
}

// Empty reports whether the file has no configuration line at all.
func (f *File) Empty() bool { return len(f.Lines) == 0 }

// Parse parses a service file. It never fails: bad lines carry Err.
func Parse(data []byte) *File {
	f := &File{}
	text := strings.TrimSuffix(string(data), "\n")
	if text == "" && len(data) <= 1 {
		if len(data) == 1 {
			f.Physical = 1
		}
		return f
	}
	phys := strings.Split(text, "\n")
	f.Physical = len(phys)
	var (
		buf   strings.Builder
		start = -1
		raw   []string
	)
	flush := func(last int) {
		if start >= 0 {
			l := parseLogical(buf.String())
			l.N, l.Last, l.Raw = start+1, last+1, strings.Join(raw, "\n")
			if l.Err != nil || l.Type != "" || l.Include != "" {
				f.Lines = append(f.Lines, l)
			}
		}
		buf.Reset()
		start, raw = -1, nil
	}
	for i, p := range phys {
		if start < 0 {
			start = i
		}
		raw = append(raw, p)
		s := strings.TrimSuffix(p, "\r")
		if j := strings.IndexByte(s, '#'); j >= 0 {
			s = s[:j]
		}
		cont := false
		if strings.HasSuffix(s, "\\") {
			s, cont = s[:len(s)-1], true
		}
		buf.WriteString(s)
		if cont && i < len(phys)-1 {
			buf.WriteByte(' ')
			continue
		}
		flush(i)
	}
	return f
}

// Tokens splits a logical line into libpam's tokens.
func Tokens(s string) []string {
	var out []string
	i := 0
	for i < len(s) {
		for i < len(s) && isBlank(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		j := i
		if s[i] == '[' {
			for j < len(s) && s[j] != ']' {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				j++
			}
			if j < len(s) {
				j++
			}
		} else {
			for j < len(s) && !isBlank(s[j]) {
				j++
			}
		}
		out = append(out, s[i:j])
		i = j
	}
	return out
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

var controls = map[string]bool{
	"required": true, "requisite": true, "sufficient": true, "optional": true, "include": true, "substack": true,
}

func parseLogical(s string) Line {
	var l Line
	tok := Tokens(s)
	if len(tok) == 0 {
		return l
	}
	if tok[0] == "@include" {
		if len(tok) < 2 {
			l.Err = fmt.Errorf("@include without a file name")
			return l
		}
		l.Include = tok[1]
		return l
	}
	t := strings.ToLower(tok[0])
	if strings.HasPrefix(t, "-") {
		l.Silent, t = true, t[1:]
	}
	known := false
	for _, k := range Types {
		known = known || t == k
	}
	l.Type = t
	if !known {
		l.Err = fmt.Errorf("unknown module type %q", tok[0])
		return l
	}
	if len(tok) < 2 {
		l.Err = fmt.Errorf("no control flag")
		return l
	}
	c := tok[1]
	if strings.HasPrefix(c, "[") {
		if err := checkBracket(c); err != nil {
			l.Err = err
			return l
		}
		l.Control = c
	} else {
		l.Control = strings.ToLower(c)
		if !controls[l.Control] {
			l.Err = fmt.Errorf("unknown control flag %q", c)
			return l
		}
	}
	if len(tok) < 3 {
		if l.Control == "include" || l.Control == "substack" {
			l.Err = fmt.Errorf("%s without a file name", l.Control)
		} else {
			l.Err = fmt.Errorf("no module")
		}
		return l
	}
	l.Module = tok[2]
	l.Args = tok[3:]
	return l
}

// checkBracket checks the syntax of a "[value=action ...]" control.
func checkBracket(c string) error {
	if !strings.HasSuffix(c, "]") {
		return fmt.Errorf("control %q has no closing ]", c)
	}
	body := strings.Fields(c[1 : len(c)-1])
	if len(body) == 0 {
		return fmt.Errorf("empty control %q", c)
	}
	for _, kv := range body {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return fmt.Errorf("control %q: %q is not value=action", c, kv)
		}
	}
	return nil
}

// Actions returns the value=action pairs of a bracketed control, keys in
// lower case, or nil for a plain control word.
func Actions(control string) map[string]string {
	if !strings.HasPrefix(control, "[") || !strings.HasSuffix(control, "]") {
		return nil
	}
	m := map[string]string{}
	for _, kv := range strings.Fields(control[1 : len(control)-1]) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[strings.ToLower(k)] = strings.ToLower(v)
		}
	}
	return m
}

// ModuleName returns the module's base name without directory
// ("pam_unix.so" for "/lib64/security/pam_unix.so").
func ModuleName(module string) string {
	if i := strings.LastIndexByte(module, '/'); i >= 0 {
		return module[i+1:]
	}
	return module
}
