// Package nsswitch parses /etc/nsswitch.conf: "database: source
// [STATUS=action] source ..." lines, with '#' comments. Every line keeps its
// raw text and every source its byte offsets, so a fix can drop one source
// from a line and leave the rest of the file exactly as it was.
package nsswitch

import (
	"bytes"
	"strings"
)

// File is a parsed nsswitch.conf.
type File struct {
	Lines []Line
	// NoFinalNewline is set when the last line had no newline.
	NoFinalNewline bool
}

// Line is one line of the file.
type Line struct {
	N        int    // 1-based line number
	Raw      string // the line without its newline
	Database string // "" for blank lines, comments and lines without a colon
	Sources  []Source
}

// Source is one service of a database line, with the [STATUS=action]
// group that follows it, if any.
type Source struct {
	Name string
	// Action is the bracketed group after the source, "" when none.
	Action string
	// Start and End are the byte offsets in Raw of the source name and,
	// when there is one, its action group.
	Start, End int
}

// Parse parses nsswitch.conf content. It never fails.
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
		f.Lines = append(f.Lines, parseLine(i+1, raw))
	}
	return f
}

func parseLine(n int, raw string) Line {
	l := Line{N: n, Raw: raw}
	body := raw
	if i := strings.IndexByte(body, '#'); i >= 0 {
		body = body[:i]
	}
	colon := strings.IndexByte(body, ':')
	if colon < 0 {
		return l
	}
	db := strings.TrimSpace(body[:colon])
	if db == "" || strings.ContainsAny(db, " \t") {
		return l
	}
	l.Database = db
	i := colon + 1
	for i < len(body) {
		for i < len(body) && isBlank(body[i]) {
			i++
		}
		if i >= len(body) {
			break
		}
		if body[i] == '[' {
			// An action group belongs to the source before it; one at the
			// start of a line belongs to nothing and glibc ignores it.
			j := strings.IndexByte(body[i:], ']')
			if j < 0 {
				j = len(body)
			} else {
				j += i + 1
			}
			if k := len(l.Sources) - 1; k >= 0 && l.Sources[k].Action == "" {
				l.Sources[k].Action = body[i:j]
				l.Sources[k].End = j
			}
			i = j
			continue
		}
		j := i
		for j < len(body) && !isBlank(body[j]) && body[j] != '[' {
			j++
		}
		l.Sources = append(l.Sources, Source{Name: body[i:j], Start: i, End: j})
		i = j
	}
	return l
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

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

// Has reports whether the line lists the named source.
func (l Line) Has(name string) bool {
	for _, s := range l.Sources {
		if s.Name == name {
			return true
		}
	}
	return false
}

// Without returns the raw line with every occurrence of the named source
// (and its action group) removed, keeping the spacing of what remains.
func (l Line) Without(name string) string {
	raw := l.Raw
	// Cut from the back so that earlier offsets stay valid.
	for k := len(l.Sources) - 1; k >= 0; k-- {
		s := l.Sources[k]
		if s.Name != name {
			continue
		}
		start, end := s.Start, s.End
		// Take the blanks after the source with it, so "files sss dns"
		// becomes "files dns"; the last source takes the blanks before it.
		for end < len(raw) && isBlank(raw[end]) {
			end++
		}
		if k == len(l.Sources)-1 || end >= len(raw) || raw[end] == '#' {
			end = s.End
			for start > 0 && isBlank(raw[start-1]) && !(k == 0) {
				start--
			}
		}
		raw = raw[:start] + raw[end:]
	}
	return raw
}
