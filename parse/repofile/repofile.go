// Package repofile reads the INI files that describe rpm repositories:
// yum's and dnf's /etc/yum.repos.d/*.repo (and yum.conf), and zypper's
// /etc/zypp/repos.d/*.repo.
package repofile

import (
	"fmt"
	"strings"
)

// Repo is one [section] of a .repo file.
type Repo struct {
	ID string
	// Keys holds the options by lower-case name. A value continued on
	// indented lines (a baseurl with several URLs) keeps its line breaks.
	Keys map[string]string
	Line int
}

// Get returns an option's value, trimmed.
func (r Repo) Get(key string) string { return strings.TrimSpace(r.Keys[strings.ToLower(key)]) }

// Bool reads a yum boolean ("1", "yes", "true", "on"); def when unset or
// unreadable.
func (r Repo) Bool(key string, def bool) bool {
	switch strings.ToLower(r.Get(key)) {
	case "1", "yes", "true", "on":
		return true
	case "0", "no", "false", "off":
		return false
	}
	return def
}

// List splits a multi-valued option (baseurl, gpgkey) on white space,
// commas and line breaks.
func (r Repo) List(key string) []string {
	return strings.FieldsFunc(r.Get(key), func(c rune) bool { return c == ' ' || c == '\t' || c == '\n' || c == ',' })
}

// Parse reads a .repo file. Options before the first section and
// malformed lines are reported and skipped.
func Parse(data []byte) ([]Repo, []error) {
	var out []Repo
	var problems []error
	cur := -1
	last := ""
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimRight(line, "\r")
		trim := strings.TrimSpace(line)
		if trim == "" || trim[0] == '#' || trim[0] == ';' {
			last = "" // a blank line ends a continued value
			continue
		}
		if trim[0] == '[' {
			end := strings.IndexByte(trim, ']')
			if end < 0 || strings.TrimSpace(trim[1:end]) == "" {
				problems = append(problems, fmt.Errorf("line %d: bad section header %q", n, trim))
				cur, last = -1, ""
				continue
			}
			out = append(out, Repo{ID: strings.TrimSpace(trim[1:end]), Keys: map[string]string{}, Line: n})
			cur, last = len(out)-1, ""
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" && cur >= 0 {
			out[cur].Keys[last] += "\n" + trim
			continue
		}
		k, v, ok := strings.Cut(trim, "=")
		if !ok {
			problems = append(problems, fmt.Errorf("line %d: want key=value", n))
			continue
		}
		if cur < 0 {
			problems = append(problems, fmt.Errorf("line %d: %s outside any [section]", n, strings.TrimSpace(k)))
			continue
		}
		last = strings.ToLower(strings.TrimSpace(k))
		out[cur].Keys[last] = strings.TrimSpace(v)
	}
	return out, problems
}
