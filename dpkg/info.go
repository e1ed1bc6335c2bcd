package dpkg

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Sum is one line of an info/*.md5sums file.
type Sum struct {
	Path string // target-absolute
	MD5  string // lowercase hex
}

// ParseMD5Sums reads "md5  relative/path" lines. Malformed lines are
// reported, not fatal.
func ParseMD5Sums(data []byte) ([]Sum, []error) {
	var (
		out      []Sum
		problems []error
	)
	for i, line := range bytes.Split(data, []byte("\n")) {
		l := strings.TrimRight(string(line), "\r")
		if strings.TrimSpace(l) == "" {
			continue
		}
		sum, p, ok := strings.Cut(l, " ")
		p = strings.TrimLeft(p, " *")
		if !ok || len(sum) != 32 || !isHex(sum) || p == "" {
			problems = append(problems, fmt.Errorf("md5sums line %d: %q is not \"MD5  path\"", i+1, l))
			continue
		}
		p = strings.TrimPrefix(p, "./")
		out = append(out, Sum{Path: "/" + strings.TrimPrefix(p, "/"), MD5: strings.ToLower(sum)})
	}
	return out, problems
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// ParseList reads an info/*.list file: one absolute path per line, the
// first being "/." for the root directory, which is dropped.
func ParseList(data []byte) []string {
	var out []string
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		p := string(bytes.TrimRight(line, "\r"))
		if p == "" || p == "/." || p[0] != '/' {
			continue
		}
		out = append(out, p)
	}
	return out
}

// Diversion is one entry of /var/lib/dpkg/diversions: the file a package
// ships at From is installed at To, unless the package is By itself.
type Diversion struct {
	From, To string
	By       string // the diverting package, or ":" for a local diversion
}

// ParseDiversions reads the diversions file: groups of three lines (from,
// to, package).
func ParseDiversions(data []byte) ([]Diversion, []error) {
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil, nil
	}
	var (
		out      []Diversion
		problems []error
	)
	if len(lines)%3 != 0 {
		problems = append(problems, fmt.Errorf("diversions: %d lines, not a multiple of three; the incomplete entry is ignored", len(lines)))
	}
	for i := 0; i+2 < len(lines); i += 3 {
		d := Diversion{From: lines[i], To: lines[i+1], By: lines[i+2]}
		if !strings.HasPrefix(d.From, "/") || !strings.HasPrefix(d.To, "/") {
			problems = append(problems, fmt.Errorf("diversions line %d: %q -> %q is not a pair of absolute paths", i+1, d.From, d.To))
			continue
		}
		out = append(out, d)
	}
	return out, problems
}

// Override is one line of /var/lib/dpkg/statoverride: the owner and mode
// the administrator fixed for a path, which dpkg applies on every upgrade.
type Override struct {
	User, Group string // names, or "#uid"/"#gid"
	Mode        uint32 // permission bits, with setuid/setgid/sticky
	Path        string
}

// ParseStatOverride reads "user group mode path" lines.
func ParseStatOverride(data []byte) ([]Override, []error) {
	var (
		out      []Override
		problems []error
	)
	for i, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 4 {
			problems = append(problems, fmt.Errorf("statoverride line %d: %q is not \"user group mode path\"", i+1, line))
			continue
		}
		mode, err := strconv.ParseUint(f[2], 8, 32)
		if err != nil || mode > 0o7777 || !strings.HasPrefix(f[3], "/") {
			problems = append(problems, fmt.Errorf("statoverride line %d: %q is not \"user group mode path\"", i+1, line))
			continue
		}
		out = append(out, Override{User: f[0], Group: f[1], Mode: uint32(mode), Path: strings.Join(f[3:], " ")})
	}
	return out, problems
}

// Filter is dpkg's --path-exclude/--path-include list: files matched by
// the last matching pattern of kind exclude are not installed.
type Filter struct {
	rules []filterRule
}

type filterRule struct {
	include bool
	pattern string
}

// ParseConfig adds the path-exclude and path-include options of a dpkg
// configuration file (dpkg.cfg or a file in dpkg.cfg.d) to the filter.
func (f *Filter) ParseConfig(data []byte) {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			name, value, ok = strings.Cut(line, " ")
		}
		if !ok {
			continue
		}
		name = strings.TrimPrefix(strings.TrimSpace(name), "--")
		value = strings.TrimSpace(value)
		switch name {
		case "path-exclude":
			f.rules = append(f.rules, filterRule{false, value})
		case "path-include":
			f.rules = append(f.rules, filterRule{true, value})
		}
	}
}

// Excluded reports whether dpkg was told not to install path. As in dpkg,
// the last matching rule wins and directories are always created.
func (f *Filter) Excluded(path string) bool {
	if f == nil {
		return false
	}
	excluded := false
	for _, r := range f.rules {
		if fnmatch(r.pattern, path) {
			excluded = !r.include
		}
	}
	return excluded
}

// fnmatch is fnmatch(3) without FNM_PATHNAME, as dpkg calls it: '*' also
// matches '/'. It supports *, ?, [...] with ranges and negation, and
// backslash escapes.
func fnmatch(pattern, name string) bool {
	px, nx := 0, 0
	starP, starN := -1, -1
	for nx < len(name) || px < len(pattern) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				starP, starN = px, nx
				px++
				continue
			case '?':
				if nx < len(name) {
					px++
					nx++
					continue
				}
			case '[':
				if nx < len(name) {
					if ok, width := matchClass(pattern[px:], name[nx]); width > 0 {
						if ok {
							px += width
							nx++
							continue
						}
						break
					}
				}
				if nx < len(name) && name[nx] == '[' {
					px++
					nx++
					continue
				}
			case '\\':
				if px+1 < len(pattern) && nx < len(name) && name[nx] == pattern[px+1] {
					px += 2
					nx++
					continue
				}
			default:
				if nx < len(name) && name[nx] == c {
					px++
					nx++
					continue
				}
			}
		}
		if starP >= 0 && starN < len(name) {
			starN++
			px, nx = starP+1, starN
			continue
		}
		return false
	}
	return true
}

// matchClass matches a bracket expression at the start of p against c. It
// returns the width of the expression, 0 if it is not closed (then '[' is
// literal).
func matchClass(p string, c byte) (bool, int) {
	i := 1
	neg := false
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		neg = true
		i++
	}
	match := false
	first := true
	for i < len(p) {
		if p[i] == ']' && !first {
			return match != neg, i + 1
		}
		first = false
		lo := p[i]
		if lo == '\\' && i+1 < len(p) {
			i++
			lo = p[i]
		}
		hi := lo
		if i+2 < len(p) && p[i+1] == '-' && p[i+2] != ']' {
			hi = p[i+2]
			i += 2
		}
		if lo <= c && c <= hi {
			match = true
		}
		i++
	}
	return false, 0
}
