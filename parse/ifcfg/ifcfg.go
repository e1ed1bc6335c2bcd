// Package ifcfg parses network configuration files: the shell-variable
// files of the RHEL network scripts (/etc/sysconfig/network,
// /etc/sysconfig/network-scripts/ifcfg-*), udev's persistent-net rules
// and Debian's ifupdown interfaces(5).
package ifcfg

import (
	"regexp"
	"strings"
)

// Var is one KEY=value assignment.
type Var struct {
	Key   string
	Value string // unquoted
	Line  int
	Raw   string
}

// File is a parsed variable file.
type File struct {
	Vars []Var
}

var keyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Parse reads KEY=value lines as the network scripts source them: '#'
// starts a comment, "export " is allowed, a value may be single- or
// double-quoted (a backslash escapes a double quote or a backslash inside
// double quotes). Lines that are not assignments are skipped, as the shell
// would run them as commands (the scripts never rely on that).
func Parse(data []byte) *File {
	f := &File{}
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(strings.TrimRight(raw, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok || !keyRE.MatchString(k) {
			continue
		}
		f.Vars = append(f.Vars, Var{Key: k, Value: unquote(v), Line: i + 1, Raw: raw})
	}
	return f
}

// unquote reads one shell word made of unquoted, single-quoted and
// double-quoted parts, up to the first unquoted blank or '#'.
func unquote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == ';':
			return b.String()
		case c == '#' && b.Len() == 0 && i == 0:
			return ""
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				b.WriteString(s[i+1:])
				return b.String()
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\$`+"`", s[i+1]) >= 0 {
					i++
				}
				b.WriteByte(s[i])
			}
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Get returns the last assignment of key (the one the shell keeps).
func (f *File) Get(key string) (Var, bool) {
	for i := len(f.Vars) - 1; i >= 0; i-- {
		if f.Vars[i].Key == key {
			return f.Vars[i], true
		}
	}
	return Var{}, false
}

// Value returns the value of key, or "".
func (f *File) Value(key string) string {
	v, _ := f.Get(key)
	return v.Value
}

// Yes reports whether key is set to a true value (yes, y, true, 1, any
// case), and def when it is not set.
func (f *File) Yes(key string, def bool) bool {
	v, ok := f.Get(key)
	if !ok || v.Value == "" {
		return def
	}
	switch strings.ToLower(v.Value) {
	case "yes", "y", "true", "1", "on":
		return true
	case "no", "n", "false", "0", "off":
		return false
	}
	return def
}

// Rule is a persistent-net rule that names an interface after its MAC
// address.
type Rule struct {
	MAC  string
	Name string
	Line int
	Raw  string
}

var (
	ruleAddrRE = regexp.MustCompile(`ATTRS?\{address\}=="([^"]*)"`)
	ruleNameRE = regexp.MustCompile(`(?:^|[ ,])NAME:?="([^"]*)"`)
)

// ParseRules finds the rules of a udev rules file that match a MAC address
// and set a name (what 70-persistent-net.rules holds). A rule continued
// with a trailing backslash is not joined; the persistent-net generator
// never writes one.
func ParseRules(data []byte) []Rule {
	var out []Rule
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(strings.TrimRight(raw, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		a := ruleAddrRE.FindStringSubmatch(line)
		n := ruleNameRE.FindStringSubmatch(line)
		if a == nil || n == nil {
			continue
		}
		out = append(out, Rule{MAC: strings.ToLower(a[1]), Name: n[1], Line: i + 1, Raw: raw})
	}
	return out
}
