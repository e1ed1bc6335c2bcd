// Package bls reads Boot Loader Specification entries
// (/boot/loader/entries/*.conf), which GRUB's blscfg command turns into
// menu entries on Fedora and RHEL 8 and later. An entry is one "key value"
// pair a line; linux, initrd and options name the kernel, its initramfs
// images and its command line, which may refer to GRUB variables such as
// $kernelopts. Byte offsets of every value are kept so that a repair can
// rewrite one argument and nothing else.
package bls

import (
	"strings"
)

// Line is one key/value line of an entry.
type Line struct {
	N     int    // 1-based line number
	Key   string // "" for blank lines and comments
	Value string // the rest of the line, surrounding blanks removed
	// Start and End are the byte offsets of Value in the file.
	Start, End int
}

// Entry is a parsed entry file.
type Entry struct {
	Data  []byte
	Lines []Line
}

// Parse reads an entry. Every line that is not blank or a comment is a key,
// blanks, and a value; a key without a value has an empty one. The format
// has no quoting and no errors.
func Parse(data []byte) *Entry {
	e := &Entry{Data: data}
	off := 0
	for n, raw := range strings.SplitAfter(string(data), "\n") {
		start := off
		off += len(raw)
		if raw == "" {
			continue
		}
		text := strings.TrimRight(raw, "\r\n")
		l := Line{N: n + 1}
		trimmed := strings.TrimLeft(text, " \t")
		lead := len(text) - len(trimmed)
		if trimmed == "" || trimmed[0] == '#' {
			e.Lines = append(e.Lines, l)
			continue
		}
		key := trimmed
		if i := strings.IndexAny(trimmed, " \t"); i >= 0 {
			key = trimmed[:i]
		}
		rest := trimmed[len(key):]
		val := strings.TrimLeft(rest, " \t")
		vstart := start + lead + len(key) + (len(rest) - len(val))
		val = strings.TrimRight(val, " \t")
		l.Key, l.Value, l.Start, l.End = key, val, vstart, vstart+len(val)
		e.Lines = append(e.Lines, l)
	}
	return e
}

// Get returns the value of the first line with the key, or "".
func (e *Entry) Get(key string) string {
	for _, l := range e.Lines {
		if l.Key == key {
			return l.Value
		}
	}
	return ""
}

// All returns every line with the key (initrd and options may repeat).
func (e *Entry) All(key string) []Line {
	var out []Line
	for _, l := range e.Lines {
		if l.Key == key {
			out = append(out, l)
		}
	}
	return out
}

// Initrds returns the initrd paths: each initrd line may name several.
func (e *Entry) Initrds() []string {
	var out []string
	for _, l := range e.All("initrd") {
		out = append(out, strings.Fields(l.Value)...)
	}
	return out
}
