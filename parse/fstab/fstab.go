// Package fstab parses /etc/fstab without losing a byte: every line keeps its
// raw text, so a fix can change one field of one line and write the file
// back with every comment, blank line and column alignment as it was.
package fstab

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// File is a parsed fstab.
type File struct {
	Lines []Line
	// NoFinalNewline is set when the last line had no newline, so Bytes
	// reproduces the input exactly.
	NoFinalNewline bool
}

// Line is one line of the file.
type Line struct {
	N     int    // 1-based line number
	Raw   string // the line without its newline (a trailing \r is kept)
	Entry *Entry // nil for blank lines, comments and malformed lines
	Err   error  // why a non-blank, non-comment line is malformed
}

// Entry is one mount entry. Spec and File are unescaped (\040 is a space).
type Entry struct {
	Spec    string
	File    string
	VfsType string
	Options string
	Freq    int
	Passno  int
	// Fields is the number of fields present (2 to 6; mount(8) defaults
	// the rest).
	Fields int
}

// Parse parses fstab content. It never fails: malformed lines are kept with
// their error so that a report can name them.
func Parse(data []byte) *File {
	f := &File{}
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
		l.Entry, l.Err = parseLine(raw)
		f.Lines = append(f.Lines, l)
	}
	return f
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

// Entries returns the well-formed entries with their lines.
func (f *File) Entries() []Line {
	var out []Line
	for _, l := range f.Lines {
		if l.Entry != nil {
			out = append(out, l)
		}
	}
	return out
}

func parseLine(raw string) (*Entry, error) {
	s := strings.TrimRight(raw, "\r")
	t := strings.TrimSpace(s)
	if t == "" || strings.HasPrefix(t, "#") {
		return nil, nil
	}
	fields := strings.Fields(t)
	if len(fields) < 2 {
		return nil, fmt.Errorf("only %d field; an entry needs at least a device and a mount point", len(fields))
	}
	if len(fields) > 6 {
		return nil, fmt.Errorf("%d fields; an entry has at most 6 (spaces in a path must be written \\040)", len(fields))
	}
	e := &Entry{Spec: Unescape(fields[0]), File: Unescape(fields[1]), Fields: len(fields), VfsType: "auto", Options: "defaults"}
	if len(fields) > 2 {
		e.VfsType = fields[2]
	}
	if len(fields) > 3 {
		e.Options = fields[3]
	}
	var err error
	if len(fields) > 4 {
		if e.Freq, err = strconv.Atoi(fields[4]); err != nil {
			return nil, fmt.Errorf("dump field %q is not a number", fields[4])
		}
	}
	if len(fields) > 5 {
		if e.Passno, err = strconv.Atoi(fields[5]); err != nil {
			return nil, fmt.Errorf("fsck pass field %q is not a number", fields[5])
		}
	}
	return e, nil
}

// Unescape decodes the octal escapes fstab uses for whitespace (\040, \011,
// \012, \134).
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isOctal(s[i+1:i+4]) {
			n, _ := strconv.ParseUint(s[i+1:i+4], 8, 8)
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '7' {
			return false
		}
	}
	return s[0] <= '3'
}

// Escape encodes whitespace and backslashes for a field.
func Escape(s string) string {
	r := strings.NewReplacer(`\`, `\134`, " ", `\040`, "\t", `\011`, "\n", `\012`)
	return r.Replace(s)
}

// OptionList splits an options field.
func (e *Entry) OptionList() []string { return strings.Split(e.Options, ",") }

// HasOption reports whether the entry carries option name (with or without
// a value: "nofail", "x-systemd.device-timeout").
func (e *Entry) HasOption(name string) bool {
	_, ok := e.Option(name)
	return ok
}

// Option returns the value of option name ("" for a flag) and whether it is
// set.
func (e *Entry) Option(name string) (string, bool) {
	for _, o := range e.OptionList() {
		k, v, _ := strings.Cut(o, "=")
		if k == name {
			return v, true
		}
	}
	return "", false
}

// SetField returns raw with field i (0-based) replaced by val, keeping the
// whitespace between fields and any trailing comment or \r exactly. Missing
// fields up to i are filled with the defaults mount(8) assumes.
func SetField(raw string, i int, val string) string {
	type span struct{ start, end int }
	var spans []span
	in := false
	for j := 0; j < len(raw); j++ {
		c := raw[j]
		ws := c == ' ' || c == '\t' || c == '\r'
		if !ws && !in {
			spans = append(spans, span{j, j})
			in = true
		} else if ws && in {
			spans[len(spans)-1].end = j
			in = false
		}
	}
	if in {
		spans[len(spans)-1].end = len(raw)
	}
	if i < len(spans) {
		s := spans[i]
		return raw[:s.start] + val + raw[s.end:]
	}
	defaults := []string{"none", "none", "auto", "defaults", "0", "0"}
	tailStart := len(raw)
	if len(spans) > 0 {
		tailStart = spans[len(spans)-1].end
	}
	head, tail := raw[:tailStart], raw[tailStart:]
	for k := len(spans); k <= i; k++ {
		v := defaults[k]
		if k == i {
			v = val
		}
		head += " " + v
	}
	return head + tail
}
