// Package unitfile parses systemd unit files and drop-ins (systemd.syntax(7)):
// [Section] headers, Key=Value assignments, comments starting with # or ;,
// and lines continued with a trailing backslash. Every assignment keeps the
// lines it spans, so that a fix can comment it out and leave the rest of
// the file byte for byte. It never fails: what systemd would ignore is kept
// as a bad line.
package unitfile

import (
	"strings"
)

// Directive is one Key=Value assignment.
type Directive struct {
	Section string // as written, without brackets: "Service"
	Key     string
	Value   string // continuation lines joined with a space, as systemd does
	// First and Last are the 1-based lines the assignment spans.
	First, Last int
}

// File is a parsed unit file.
type File struct {
	Directives []Directive
	// Bad are the lines systemd ignores ("Assignment outside of section",
	// no "=").
	Bad []int
}

// Get returns the directives with the given section and key, in order
// (section and key compare as systemd does: exactly).
func (f *File) Get(section, key string) []Directive {
	var out []Directive
	for _, d := range f.Directives {
		if d.Section == section && d.Key == key {
			out = append(out, d)
		}
	}
	return out
}

// Parse parses unit file content.
func Parse(data []byte) *File {
	f := &File{}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	section := ""
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimSpace(strings.TrimRight(lines[i], "\r"))
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			if j := strings.IndexByte(line, ']'); j > 0 {
				section = line[1:j]
			} else {
				f.Bad = append(f.Bad, n)
			}
			continue
		}
		// Join continuation lines. Comment lines inside a continuation
		// are skipped, as systemd skips them.
		first := n
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			line = strings.TrimSuffix(line, "\\")
			i++
			next := strings.TrimSpace(strings.TrimRight(lines[i], "\r"))
			if next != "" && (next[0] == '#' || next[0] == ';') {
				line += " "
				continue
			}
			line += " " + next
		}
		eq := strings.IndexByte(line, '=')
		if eq <= 0 || section == "" || strings.TrimSpace(line[:eq]) == "" {
			f.Bad = append(f.Bad, first)
			continue
		}
		f.Directives = append(f.Directives, Directive{
			Section: section,
			Key:     strings.TrimSpace(line[:eq]),
			Value:   strings.TrimSpace(strings.TrimSuffix(line[eq+1:], "\\")),
			First:   first, Last: i + 1,
		})
	}
	return f
}

// ExecKeys are the keys whose values are command lines.
var ExecKeys = []string{"ExecCondition", "ExecStartPre", "ExecStart", "ExecStartPost", "ExecReload", "ExecStop", "ExecStopPost"}

// Command strips the prefixes of an Exec line (@, -, :, +, !, !!) and
// returns the command line.
func Command(v string) string {
	v = strings.TrimSpace(v)
	for v != "" && strings.ContainsRune("@-:+!|", rune(v[0])) {
		v = v[1:]
	}
	return strings.TrimSpace(v)
}
