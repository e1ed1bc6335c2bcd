package grubcfg

import "strings"

// Legacy is a parsed GRUB Legacy grub.conf / menu.lst.
type Legacy struct {
	Data []byte
	// Global holds the commands before the first title (default=,
	// timeout=, splashimage=, serial, terminal, …).
	Global []Command
	// Entries are the menu entries, each starting at a title line.
	Entries []*LegacyEntry
}

// LegacyEntry is one "title" and the commands under it.
type LegacyEntry struct {
	Title    string
	Line     int
	Commands []Command
}

// ParseLegacy reads a GRUB Legacy configuration. Every line is one
// command: its name, then arguments separated by blanks; the name may be
// joined to its first argument by '=' (default=0). A title's argument is
// the rest of its line. GRUB Legacy has no quoting, so this never fails.
func ParseLegacy(data []byte) *Legacy {
	l := &Legacy{Data: data}
	off := 0
	for n, line := range strings.SplitAfter(string(data), "\n") {
		start := off
		off += len(line)
		text := strings.TrimRight(line, "\r\n")
		c := legacyCommand(text, start, n+1)
		if len(c.Words) == 0 {
			continue
		}
		if c.Name() == "title" {
			e := &LegacyEntry{Line: n + 1, Commands: []Command{c}}
			if len(c.Words) > 1 {
				first := c.Words[1]
				e.Title = strings.TrimRight(text[first.Start-start:], " \t")
			}
			l.Entries = append(l.Entries, e)
			continue
		}
		if len(l.Entries) == 0 {
			l.Global = append(l.Global, c)
		} else {
			last := l.Entries[len(l.Entries)-1]
			last.Commands = append(last.Commands, c)
		}
	}
	return l
}

func legacyCommand(text string, base, line int) Command {
	c := Command{Line: line}
	i := 0
	first := true
	for i < len(text) {
		for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
			i++
		}
		if i >= len(text) || (first && text[i] == '#') {
			break
		}
		j := i
		for j < len(text) && text[j] != ' ' && text[j] != '\t' && !(first && text[j] == '=') {
			j++
		}
		c.Words = append(c.Words, Word{Raw: text[i:j], Value: text[i:j], Start: base + i, End: base + j, Line: line})
		if first && j < len(text) && text[j] == '=' {
			j++
		}
		first = false
		i = j
	}
	return c
}

// Empty reports whether the file has no command at all.
func (l *Legacy) Empty() bool { return len(l.Global) == 0 && len(l.Entries) == 0 }

// Get returns the last global command with the given name, or nil.
func (l *Legacy) Get(name string) *Command {
	for i := len(l.Global) - 1; i >= 0; i-- {
		if l.Global[i].Name() == name {
			return &l.Global[i]
		}
	}
	return nil
}

// Command returns the entry's first command with the given name, or nil.
func (e *LegacyEntry) Command(name string) *Command {
	for i := range e.Commands {
		if e.Commands[i].Name() == name {
			return &e.Commands[i]
		}
	}
	return nil
}
