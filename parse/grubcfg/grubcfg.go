// Package grubcfg reads GRUB configuration files: GRUB 2's grub.cfg (a
// small shell-like language) and GRUB Legacy's grub.conf / menu.lst (one
// command per line). It keeps the byte offsets of every word, so that a
// repair can rewrite one token and leave every other byte of the file as it
// was.
package grubcfg

import (
	"fmt"
	"strings"
)

// Word is one word of a command.
type Word struct {
	// Raw is the word as written, quotes and escapes included.
	Raw string
	// Value is the word with quotes and escapes removed; variable
	// references ($x, ${x}) are kept as written.
	Value string
	// Start and End are the byte offsets of Raw in the file.
	Start, End int
	// Line is the 1-based line the word starts on.
	Line int
}

// Command is one simple command: its words, the first being its name.
type Command struct {
	Words []Word
	Line  int
	// Depth is how many { } blocks enclose the command.
	Depth int
}

// Name returns the command's first word.
func (c Command) Name() string {
	if len(c.Words) == 0 {
		return ""
	}
	return c.Words[0].Value
}

// Args returns the values of the words after the name.
func (c Command) Args() []string {
	var out []string
	for _, w := range c.Words[1:] {
		out = append(out, w.Value)
	}
	return out
}

// File is a parsed grub.cfg.
type File struct {
	Data     []byte
	Commands []Command
	// Items is the menu: menu entries and submenus at the top level, in
	// order.
	Items []*Item
	// Top holds the commands outside any menu entry, submenu or function,
	// in order (set default=, search, blscfg, configfile, load_env, …).
	Top []Command
}

// Item is a menu entry or a submenu.
type Item struct {
	Submenu bool
	Title   string
	// ID is the entry's --id (written as $menuentry_id_option 'id' by
	// grub-mkconfig), or "".
	ID string
	// Line is the line of the menuentry/submenu command.
	Line int
	// Commands are the commands of a menu entry's body.
	Commands []Command
	// Items are a submenu's entries.
	Items []*Item
}

// Parse reads a grub.cfg. It returns what it could read even when it also
// returns an error (an unterminated quote or block), so that a damaged file
// can still be checked.
func Parse(data []byte) (*File, error) {
	f := &File{Data: data}
	cmds, err := tokenize(data)
	f.Commands = cmds
	if berr := f.build(); err == nil {
		err = berr
	}
	return f, err
}

type tokenizer struct {
	data []byte
	i    int
	line int
}

// tokenize splits the file into commands. Newlines and ';' end a command;
// '#' at the start of a word starts a comment; single quotes keep
// everything literally, double quotes let a backslash escape $ " \ and a
// newline, and a backslash outside quotes escapes the next character.
func tokenize(data []byte) ([]Command, error) {
	t := &tokenizer{data: data, line: 1}
	var cmds []Command
	var cur Command
	var firstErr error
	end := func() {
		if len(cur.Words) > 0 {
			cur.Line = cur.Words[0].Line
			cmds = append(cmds, cur)
		}
		cur = Command{}
	}
	for t.i < len(data) {
		c := data[t.i]
		switch {
		case c == '\n':
			t.i++
			t.line++
			end()
		case c == ';':
			t.i++
			end()
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			t.i++
		case c == '#':
			for t.i < len(data) && data[t.i] != '\n' {
				t.i++
			}
		case c == '\\' && t.i+1 < len(data) && data[t.i+1] == '\n':
			// A line continuation between words.
			t.i += 2
			t.line++
		default:
			w, err := t.word()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			// "then", "else" and "do" introduce the next command on
			// the same line ("if …; then insmod xzio; fi"): drop them
			// so that the command is seen by its real name.
			if len(cur.Words) == 0 && (w.Raw == "then" || w.Raw == "else" || w.Raw == "do") {
				continue
			}
			cur.Words = append(cur.Words, w)
		}
	}
	end()
	return cmds, firstErr
}

func (t *tokenizer) word() (Word, error) {
	w := Word{Start: t.i, Line: t.line}
	var val strings.Builder
	var err error
	data := t.data
loop:
	for t.i < len(data) {
		c := data[t.i]
		switch c {
		case ' ', '\t', '\r', '\n', ';', '\f', '\v':
			break loop
		case '\'':
			t.i++
			for t.i < len(data) && data[t.i] != '\'' {
				if data[t.i] == '\n' {
					t.line++
				}
				val.WriteByte(data[t.i])
				t.i++
			}
			if t.i >= len(data) {
				err = fmt.Errorf("line %d: unterminated single quote", w.Line)
				break loop
			}
			t.i++
		case '"':
			t.i++
			for t.i < len(data) && data[t.i] != '"' {
				ch := data[t.i]
				if ch == '\\' && t.i+1 < len(data) && strings.IndexByte("$\"\\\n", data[t.i+1]) >= 0 {
					if data[t.i+1] == '\n' {
						t.line++
						t.i += 2
						continue
					}
					val.WriteByte(data[t.i+1])
					t.i += 2
					continue
				}
				if ch == '\n' {
					t.line++
				}
				val.WriteByte(ch)
				t.i++
			}
			if t.i >= len(data) {
				err = fmt.Errorf("line %d: unterminated double quote", w.Line)
				break loop
			}
			t.i++
		case '\\':
			if t.i+1 < len(data) {
				if data[t.i+1] == '\n' {
					t.line++
				} else {
					val.WriteByte(data[t.i+1])
				}
				t.i += 2
				continue
			}
			t.i++
		default:
			val.WriteByte(c)
			t.i++
		}
	}
	w.End = t.i
	w.Raw = string(data[w.Start:w.End])
	w.Value = val.String()
	return w, err
}

// build groups the commands into menu entries, submenus and the top level.
// Blocks are recognised by a trailing "{" word and a "}" command; a block
// that is not a menu entry or submenu (a function) is skipped as a whole.
func (f *File) build() error {
	type frame struct {
		item *Item // nil for a function or other block
		skip bool
	}
	var stack []frame
	for i := range f.Commands {
		c := &f.Commands[i]
		c.Depth = len(stack)
		opens := len(c.Words) > 0 && c.Words[len(c.Words)-1].Raw == "{"
		closes := len(c.Words) > 0 && c.Words[0].Raw == "}"
		if closes {
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			c.Depth = len(stack)
			continue
		}
		var parent *frame
		if len(stack) > 0 {
			parent = &stack[len(stack)-1]
		}
		inSkip := false
		for _, fr := range stack {
			if fr.skip {
				inSkip = true
			}
		}
		if opens {
			name := c.Name()
			if inSkip || (name != "menuentry" && name != "submenu") {
				stack = append(stack, frame{skip: true})
				continue
			}
			it := &Item{Submenu: name == "submenu", Line: c.Line}
			it.Title, it.ID = titleAndID(c.Words[1 : len(c.Words)-1])
			switch {
			case parent == nil:
				f.Items = append(f.Items, it)
			case parent.item != nil && parent.item.Submenu:
				parent.item.Items = append(parent.item.Items, it)
			default:
				// A menu entry inside a menu entry: grub ignores
				// the nesting for the menu; so do we.
				stack = append(stack, frame{skip: true})
				continue
			}
			stack = append(stack, frame{item: it})
			continue
		}
		switch {
		case inSkip:
		case parent == nil:
			f.Top = append(f.Top, *c)
		case parent.item != nil && !parent.item.Submenu:
			parent.item.Commands = append(parent.item.Commands, *c)
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("%d block(s) opened with { are never closed", len(stack))
	}
	return nil
}

// titleAndID finds the title (the first argument that is not an option)
// and the --id of a menuentry or submenu command.
func titleAndID(words []Word) (title, id string) {
	for i := 0; i < len(words); i++ {
		v := words[i].Value
		switch {
		case v == "--id" || v == "$menuentry_id_option" || v == "${menuentry_id_option}":
			if i+1 < len(words) {
				id = words[i+1].Value
				i++
			}
		case strings.HasPrefix(v, "--id="):
			id = strings.TrimPrefix(v, "--id=")
		case v == "--class" || v == "--users" || v == "--hotkey":
			i++
		case strings.HasPrefix(v, "--"):
		default:
			if title == "" {
				title = v
			}
		}
	}
	return title, id
}

// Entries returns every menu entry, submenus flattened, in menu order.
func (f *File) Entries() []*Item {
	var out []*Item
	var walk func([]*Item)
	walk = func(items []*Item) {
		for _, it := range items {
			if it.Submenu {
				walk(it.Items)
			} else {
				out = append(out, it)
			}
		}
	}
	walk(f.Items)
	return out
}

// Empty reports whether the file has no command at all (only blanks and
// comments): GRUB then stops at its prompt.
func (f *File) Empty() bool { return len(f.Commands) == 0 }

// Replace returns data with the bytes [start, end) replaced by text.
func Replace(data []byte, start, end int, text string) []byte {
	out := make([]byte, 0, len(data)-(end-start)+len(text))
	out = append(out, data[:start]...)
	out = append(out, text...)
	return append(out, data[end:]...)
}

// ReplaceArg returns data with the kernel argument old replaced by new
// inside the word w, which may hold several space-separated arguments
// (set kernelopts="root=… ro"). Only a whole argument matches: old must be
// bounded by the word's start or end, a blank or a quote. ok is false when
// w does not hold old.
func ReplaceArg(data []byte, w Word, old, new string) ([]byte, bool) {
	raw := string(data[w.Start:w.End])
	for from := 0; ; {
		i := strings.Index(raw[from:], old)
		if i < 0 {
			return data, false
		}
		i += from
		j := i + len(old)
		if bounded(raw, i-1) && bounded(raw, j) {
			return Replace(data, w.Start+i, w.Start+j, new), true
		}
		from = i + 1
	}
}

func bounded(s string, i int) bool {
	if i < 0 || i >= len(s) {
		return true
	}
	return strings.IndexByte(" \t'\"", s[i]) >= 0
}

// Assignment splits a "set NAME=VALUE" or "NAME=VALUE" command. ok is false
// for any other command.
func (c Command) Assignment() (name, value string, w Word, ok bool) {
	words := c.Words
	if len(words) == 2 && words[0].Value == "set" {
		words = words[1:]
	}
	if len(words) != 1 {
		return "", "", Word{}, false
	}
	w = words[0]
	name, value, ok = strings.Cut(w.Value, "=")
	if !ok || name == "" || strings.ContainsAny(name, " \t$") {
		return "", "", Word{}, false
	}
	return name, value, w, true
}

// SetValue returns data with the value of the assignment word w (as
// returned by Assignment) replaced by value, double-quoted. The name and
// everything around the word stay as they are.
func SetValue(data []byte, w Word, name, value string) []byte {
	q := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`).Replace(value) + `"`
	if strings.HasPrefix(w.Raw, name+"=") {
		return Replace(data, w.Start+len(name)+1, w.End, q)
	}
	return Replace(data, w.Start, w.End, name+"="+q)
}
