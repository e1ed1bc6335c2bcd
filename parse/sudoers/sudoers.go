// Package sudoers reads sudoers(5) files line by line, as far as judging
// who may run what: Defaults lines, @include/#include directives, aliases,
// and user specifications ("WHO HOSTS=(RUNAS) TAGS: COMMANDS"). Lines
// continued with a backslash are joined, and every entry keeps the lines
// it spans so that a fix can comment it out. It never fails: a line it does
// not understand is kept as Other.
package sudoers

import (
	"strings"
)

// Kind is what an entry is.
type Kind int

// The kinds of entry.
const (
	Other   Kind = iota
	Default      // Defaults…
	Include      // @include, @includedir, #include, #includedir
	Alias        // User_Alias, Runas_Alias, Host_Alias, Cmnd_Alias
	Spec         // a user specification
)

// Entry is one logical line.
type Entry struct {
	Kind        Kind
	First, Last int    // 1-based lines it spans
	Text        string // joined, without continuation backslashes
	// For Spec: Users are the users and %groups it applies to, Rules the
	// text after the first "=" (RUNAS, tags and commands).
	Users []string
	Rules string
	// For Include: the file or directory.
	Target string
	// Dir is set for @includedir/#includedir.
	Dir bool
}

// NoPasswd reports whether a specification lets its users run commands
// without a password.
func (e Entry) NoPasswd() bool { return strings.Contains(e.Rules, "NOPASSWD") }

// All reports whether a specification lets its users run any command.
func (e Entry) All() bool {
	cmds := e.Rules
	if i := strings.LastIndex(cmds, ":"); i >= 0 && !strings.Contains(cmds[i:], "/") {
		cmds = cmds[i+1:]
	}
	if i := strings.LastIndex(cmds, ")"); i >= 0 {
		cmds = cmds[i+1:]
	}
	for _, c := range strings.Split(cmds, ",") {
		if strings.TrimSpace(c) == "ALL" {
			return true
		}
	}
	return false
}

// Parse reads sudoers content.
func Parse(data []byte) []Entry {
	var out []Entry
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		first := i + 1
		text := strings.TrimRight(lines[i], "\r")
		for strings.HasSuffix(text, "\\") && i+1 < len(lines) {
			i++
			text = strings.TrimSuffix(text, "\\") + " " + strings.TrimSpace(strings.TrimRight(lines[i], "\r"))
		}
		t := strings.TrimSpace(text)
		e := Entry{First: first, Last: i + 1, Text: t}
		switch {
		case t == "":
			continue
		case strings.HasPrefix(t, "#include") || strings.HasPrefix(t, "@include"):
			f := strings.Fields(t)
			e.Kind = Include
			e.Dir = strings.HasSuffix(f[0], "includedir")
			if len(f) > 1 {
				e.Target = f[1]
			}
		case t[0] == '#':
			continue // a comment (#uid user specs are too rare to read)
		case strings.HasPrefix(t, "Defaults"):
			e.Kind = Default
		case hasAliasPrefix(t):
			e.Kind = Alias
		default:
			who, rules, ok := strings.Cut(t, "=")
			if !ok {
				out = append(out, e)
				continue
			}
			f := strings.Fields(who)
			if len(f) < 2 {
				out = append(out, e)
				continue
			}
			e.Kind = Spec
			for _, u := range strings.Split(strings.Join(f[:len(f)-1], ""), ",") {
				if u = strings.TrimSpace(u); u != "" {
					e.Users = append(e.Users, u)
				}
			}
			e.Rules = strings.TrimSpace(rules)
		}
		out = append(out, e)
	}
	return out
}

func hasAliasPrefix(t string) bool {
	for _, p := range []string{"User_Alias", "Runas_Alias", "Host_Alias", "Cmnd_Alias", "Cmd_Alias"} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}
