// Package limitsconf parses limits.conf(5), the pam_limits configuration in
// /etc/security/limits.conf and /etc/security/limits.d/*.conf.
package limitsconf

import (
	"strings"
)

// Entry is one "<domain> <type> <item> <value>" line.
type Entry struct {
	Domain string // a user, @group, %group, *, or a uid/gid range
	// Type is "soft", "hard" or "-" (both), lower-cased as pam_limits does.
	Type string
	// Item is the limit ("nofile", "nproc", ...), lower-cased.
	Item string
	// Value is the value as written (pam_limits lower-cases it before
	// reading "unlimited" or "infinity").
	Value string
	Line  int
	Raw   string
	// ValueAt is the byte offset of Value in Raw, so that the value can be
	// replaced without touching the rest of the line.
	ValueAt int
}

// Soft reports whether the entry sets the soft limit.
func (e Entry) Soft() bool { return e.Type == "soft" || e.Type == "-" }

// Hard reports whether the entry sets the hard limit.
func (e Entry) Hard() bool { return e.Type == "hard" || e.Type == "-" }

// Unlimited reports whether the value means no limit (RLIM_INFINITY):
// "unlimited", "infinity", "-1" or "-".
func (e Entry) Unlimited() bool {
	switch strings.ToLower(e.Value) {
	case "unlimited", "infinity", "-1", "-":
		return true
	}
	return false
}

// File is a parsed limits file.
type File struct {
	Path    string
	Entries []Entry
	// NoLimit lists "<domain> -" lines, which exempt the domain from every
	// limit in this and later files.
	NoLimit []Entry
	// Bad lists the line numbers pam_limits skips as invalid.
	Bad []int
}

// Parse parses a limits file as pam_limits does: everything from '#' on is
// a comment, fields are separated by blanks, and a line needs four fields
// (or two, "<domain> -").
func Parse(name string, data []byte) *File {
	f := &File{Path: name}
	for i, raw := range strings.Split(string(data), "\n") {
		line := raw
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimRight(line, "\r")
		fields, starts := fieldsAt(line)
		switch {
		case len(fields) == 0:
			continue
		case len(fields) >= 4:
			f.Entries = append(f.Entries, Entry{
				Domain: fields[0], Type: strings.ToLower(fields[1]), Item: strings.ToLower(fields[2]),
				Value: fields[3], Line: i + 1, Raw: raw, ValueAt: starts[3],
			})
		case len(fields) == 2 && strings.HasPrefix(fields[1], "-"):
			f.NoLimit = append(f.NoLimit, Entry{Domain: fields[0], Type: "-", Line: i + 1, Raw: raw})
		default:
			f.Bad = append(f.Bad, i+1)
		}
	}
	return f
}

// fieldsAt splits s at blanks (space and tab) and returns the fields with
// their byte offsets.
func fieldsAt(s string) ([]string, []int) {
	var fields []string
	var starts []int
	start := -1
	for i := 0; i <= len(s); i++ {
		blank := i == len(s) || s[i] == ' ' || s[i] == '\t'
		switch {
		case blank && start >= 0:
			fields = append(fields, s[start:i])
			starts = append(starts, start)
			start = -1
		case !blank && start < 0:
			start = i
		}
	}
	return fields, starts
}

// WithValue returns the entry's line with its value replaced by v; every
// other byte of the line stays as it was.
func (e Entry) WithValue(v string) string {
	if e.ValueAt < 0 || e.ValueAt+len(e.Value) > len(e.Raw) || e.Raw[e.ValueAt:e.ValueAt+len(e.Value)] != e.Value {
		return e.Raw
	}
	return e.Raw[:e.ValueAt] + v + e.Raw[e.ValueAt+len(e.Value):]
}
