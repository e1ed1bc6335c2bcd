// Package logindefs parses /etc/login.defs the way shadow-utils' getdef.c
// (and util-linux's logindefs.c) read it.
package logindefs

import (
	"strconv"
	"strings"
)

// Def is one "NAME value" line.
type Def struct {
	Name  string
	Value string
	Line  int
	Raw   string
	// ValueAt is the byte offset of Value in Raw.
	ValueAt int
}

// File is a parsed login.defs.
type File struct {
	Defs []Def
}

// Parse reads login.defs as shadow's def_load does: trailing blanks are
// dropped, lines whose first non-blank character is '#' and lines with a
// name only are skipped, the value starts after the blanks (and an opening
// double quote) following the name and ends at the next double quote. A
// '#' after the value is part of it, so "UMASK 022 # comment" is a value
// that does not parse as a number.
func Parse(data []byte) *File {
	f := &File{}
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimRight(raw, " \t\r\n\v\f")
		start := len(line) - len(strings.TrimLeft(line, " \t"))
		rest := line[start:]
		if rest == "" || rest[0] == '#' {
			continue
		}
		end := strings.IndexAny(rest, " \t")
		if end < 0 {
			continue // a name without a value is skipped
		}
		name := rest[:end]
		vstart := start + end
		for vstart < len(line) && strings.IndexByte(" \t\"", line[vstart]) >= 0 {
			vstart++
		}
		value := line[vstart:]
		if q := strings.IndexByte(value, '"'); q >= 0 {
			value = value[:q]
		}
		f.Defs = append(f.Defs, Def{Name: name, Value: value, Line: i + 1, Raw: raw, ValueAt: vstart})
	}
	return f
}

// Lookup returns the definition of name that counts (the last one), and
// whether there is one.
func (f *File) Lookup(name string) (Def, bool) {
	for i := len(f.Defs) - 1; i >= 0; i-- {
		if f.Defs[i].Name == name {
			return f.Defs[i], true
		}
	}
	return Def{}, false
}

// Number reads a value as getlong does: strtol with base 0 (a leading 0x
// means hex, a leading 0 octal), the whole value must be consumed, and an
// out-of-range value is an error.
func Number(v string) (int64, bool) {
	s := v
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	base := 10
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, s = 16, s[2:]
	case len(s) > 1 && s[0] == '0':
		base, s = 8, s[1:]
	}
	if s == "" || strings.ContainsAny(s, "+-_") {
		return 0, false
	}
	n, err := strconv.ParseInt(s, base, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// WithValue returns the definition's line with its value replaced by v.
func (d Def) WithValue(v string) string {
	if d.ValueAt < 0 || d.ValueAt+len(d.Value) > len(d.Raw) || d.Raw[d.ValueAt:d.ValueAt+len(d.Value)] != d.Value {
		return d.Name + "\t" + v
	}
	return d.Raw[:d.ValueAt] + v + d.Raw[d.ValueAt+len(d.Value):]
}
