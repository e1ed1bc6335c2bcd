// Package auditdconf parses auditd.conf(5): "keyword = value" lines, '#'
// starting a comment line, keywords and the action values case-insensitive.
// auditd refuses to start on a line it cannot read; those are kept in Bad.
package auditdconf

import "strings"

// Entry is one keyword line.
type Entry struct {
	Key   string // lower case
	Value string // as written, trimmed
	Line  int    // 1-based
	Raw   string
}

// File is a parsed auditd.conf.
type File struct {
	Entries []Entry
	Bad     []int // lines that are neither blank, comments nor keyword = value
}

// Parse reads auditd.conf content; it never fails.
func Parse(data []byte) *File {
	f := &File{}
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(strings.TrimRight(raw, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			f.Bad = append(f.Bad, i+1)
			continue
		}
		f.Entries = append(f.Entries, Entry{Key: strings.ToLower(k), Value: strings.TrimSpace(v), Line: i + 1, Raw: raw})
	}
	return f
}

// Get returns the last entry of a keyword (auditd keeps the last value).
func (f *File) Get(key string) (Entry, bool) {
	for i := len(f.Entries) - 1; i >= 0; i-- {
		if f.Entries[i].Key == key {
			return f.Entries[i], true
		}
	}
	return Entry{}, false
}
