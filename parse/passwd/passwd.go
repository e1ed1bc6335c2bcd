// Package passwd parses the colon-separated account files /etc/passwd,
// /etc/shadow, /etc/group and /etc/gshadow without losing a byte: every line
// keeps its raw text, so a fix can replace or add one entry and write the
// file back with everything else as it was.
//
// Validation follows what glibc's files NSS module accepts (leading blanks
// and lines starting with '#' are skipped), plus the field counts and numeric
// fields it needs to return an entry at all; a line that fails here is one
// that getpwnam and friends skip.
package passwd

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Kind says which of the four files the content is.
type Kind int

// The four account files.
const (
	Passwd Kind = iota + 1
	Shadow
	Group
	Gshadow
)

// Fields is the number of fields each kind has.
func (k Kind) Fields() int {
	switch k {
	case Passwd:
		return 7
	case Shadow:
		return 9
	}
	return 4
}

func (k Kind) String() string {
	switch k {
	case Passwd:
		return "passwd"
	case Shadow:
		return "shadow"
	case Group:
		return "group"
	case Gshadow:
		return "gshadow"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// File is a parsed account file.
type File struct {
	Kind  Kind
	Lines []Line
	// NoFinalNewline is set when the last line had no newline, so Bytes
	// reproduces the input exactly.
	NoFinalNewline bool
}

// Line is one line of the file.
type Line struct {
	N   int    // 1-based line number
	Raw string // the line without its newline (a trailing \r is kept)
	// CR is set when the line ends in a carriage return. Fields are parsed
	// without it, so that the rest of a check sees what the file would say
	// once the line endings are fixed.
	CR bool
	// Fields holds the fields of an entry; nil for blank lines, comments
	// and NIS "+"/"-" compat lines.
	Fields []string
	// Compat is set for NIS compat lines ("+", "+name", "-name", "+@group").
	Compat bool
	// Err says why a line that is not blank or a comment is not an entry
	// glibc would return.
	Err error
}

// Name returns the entry's name, or "" when the line is not an entry.
func (l Line) Name() string {
	if len(l.Fields) == 0 {
		return ""
	}
	return l.Fields[0]
}

// Field returns field i of an entry, or "" when there is none.
func (l Line) Field(i int) string {
	if i < 0 || i >= len(l.Fields) {
		return ""
	}
	return l.Fields[i]
}

// Parse parses account-file content of the given kind. It never fails:
// malformed lines are kept with their error so that a report can name them.
func Parse(data []byte, k Kind) *File {
	f := &File{Kind: k}
	if len(data) == 0 {
		return f
	}
	text := string(data)
	if !strings.HasSuffix(text, "\n") {
		f.NoFinalNewline = true
	} else {
		text = text[:len(text)-1]
	}
	for i, raw := range strings.Split(text, "\n") {
		l := Line{N: i + 1, Raw: raw}
		body := raw
		if strings.HasSuffix(body, "\r") {
			l.CR = true
			body = strings.TrimSuffix(body, "\r")
		}
		parseLine(&l, body, k)
		f.Lines = append(f.Lines, l)
	}
	return f
}

func parseLine(l *Line, body string, k Kind) {
	// glibc skips leading blanks, then blank lines and comments.
	s := strings.TrimLeft(body, " \t\f\v")
	if s == "" || s[0] == '#' {
		return
	}
	if s[0] == '+' || s[0] == '-' {
		l.Compat = true
		return
	}
	fields := strings.Split(s, ":")
	n := k.Fields()
	switch {
	case k == Shadow && len(fields) == 2:
		// The old two-field shadow format is still accepted by glibc.
	case len(fields) != n:
		l.Err = fmt.Errorf("%d fields, want %d", len(fields), n)
		return
	}
	if fields[0] == "" {
		l.Err = fmt.Errorf("empty name")
		return
	}
	if strings.ContainsAny(fields[0], " \t\r") {
		l.Err = fmt.Errorf("name %q contains white space", fields[0])
		return
	}
	numeric := func(i int, what string) bool {
		if _, err := strconv.ParseUint(fields[i], 10, 32); err != nil {
			l.Err = fmt.Errorf("%s %q is not a number", what, fields[i])
			return false
		}
		return true
	}
	switch k {
	case Passwd:
		if !numeric(2, "uid") || !numeric(3, "gid") {
			return
		}
	case Group:
		if !numeric(2, "gid") {
			return
		}
	case Shadow:
		for i := 2; i < len(fields) && i < 8; i++ {
			if v := fields[i]; v != "" {
				if _, err := strconv.ParseInt(v, 10, 64); err != nil {
					l.Err = fmt.Errorf("field %d %q is not a number", i+1, v)
					return
				}
			}
		}
	}
	l.Fields = fields
}

// Bytes reassembles the file.
func (f *File) Bytes() []byte {
	var b bytes.Buffer
	for i, l := range f.Lines {
		b.WriteString(l.Raw)
		if i < len(f.Lines)-1 || !f.NoFinalNewline {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// Entries returns the lines that are entries, in file order.
func (f *File) Entries() []Line {
	var out []Line
	for _, l := range f.Lines {
		if l.Fields != nil {
			out = append(out, l)
		}
	}
	return out
}

// Lookup returns the first entry with the given name, as glibc would.
func (f *File) Lookup(name string) (Line, bool) {
	for _, l := range f.Lines {
		if l.Fields != nil && l.Fields[0] == name {
			return l, true
		}
	}
	return Line{}, false
}

// CRLines counts the lines that end in a carriage return.
func (f *File) CRLines() int {
	n := 0
	for _, l := range f.Lines {
		if l.CR {
			n++
		}
	}
	return n
}

// Malformed returns the lines that are neither entries, blank, comments nor
// compat lines.
func (f *File) Malformed() []Line {
	var out []Line
	for _, l := range f.Lines {
		if l.Err != nil {
			out = append(out, l)
		}
	}
	return out
}

// Blank reports whether the file holds no entry at all.
func (f *File) Blank() bool {
	for _, l := range f.Lines {
		if l.Fields != nil || l.Compat || l.Err != nil {
			return false
		}
	}
	return true
}

// UID returns the numeric uid of a passwd entry (or gid of a group entry),
// and false when the line is not one.
func UID(l Line, k Kind) (uint32, bool) {
	i := 2
	if k != Passwd && k != Group {
		return 0, false
	}
	if len(l.Fields) <= i {
		return 0, false
	}
	n, err := strconv.ParseUint(l.Fields[i], 10, 32)
	return uint32(n), err == nil
}

// AccountExpiry returns a shadow entry's account expiry day (field 8, days
// since 1970-01-01) and whether the account has expired on day today.
// pam_unix refuses every login of an expired account, whatever the
// password or key ("curdays >= sp_expire", Linux-PAM's passverify.c), and
// reads an empty field as never; 0 expires the account, as `chage -E 0`
// means it to.
func AccountExpiry(l Line, today int64) (day int64, expired bool) {
	if len(l.Fields) < 8 || l.Fields[7] == "" {
		return 0, false
	}
	day, err := strconv.ParseInt(l.Fields[7], 10, 64)
	if err != nil || day < 0 {
		return 0, false
	}
	return day, day <= today
}
