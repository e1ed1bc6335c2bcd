// Package udevrules reads udev rules files (udev(7)) far enough to tell
// which programs a rule runs: RUN, PROGRAM and IMPORT{program} assignments.
// Lines continued with a backslash are one rule, and every rule keeps the
// lines it spans so that a fix can comment it out.
package udevrules

import (
	"regexp"
	"strings"
)

// Rule is one rule (a logical line).
type Rule struct {
	First, Last int
	Text        string
	Programs    []Program
}

// Program is a command a rule runs.
type Program struct {
	Key   string // RUN, PROGRAM, IMPORT
	Value string // the command line as written
}

var assign = regexp.MustCompile(`\b(RUN|PROGRAM|IMPORT)(\{([a-z]*)\})?\s*(\+=|-=|:=|=)\s*"((?:[^"\\]|\\.)*)"`)

// Parse reads rules content.
func Parse(data []byte) []Rule {
	var out []Rule
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		first := i + 1
		text := strings.TrimRight(lines[i], "\r")
		for strings.HasSuffix(text, "\\") && i+1 < len(lines) {
			i++
			text = strings.TrimSuffix(text, "\\") + " " + strings.TrimSpace(strings.TrimRight(lines[i], "\r"))
		}
		t := strings.TrimSpace(text)
		if t == "" || t[0] == '#' {
			continue
		}
		r := Rule{First: first, Last: i + 1, Text: t}
		for _, m := range assign.FindAllStringSubmatch(t, -1) {
			kind := m[3]
			switch {
			case m[1] == "RUN" && kind != "" && kind != "program":
				continue // RUN{builtin}
			case m[1] == "IMPORT" && kind != "program":
				continue // IMPORT{builtin,db,file,cmdline,parent}
			case m[4] == "-=":
				continue
			}
			r.Programs = append(r.Programs, Program{Key: m[1], Value: m[5]})
		}
		out = append(out, r)
	}
	return out
}
