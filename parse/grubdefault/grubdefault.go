// Package grubdefault reads /etc/default/grub, the shell file that
// grub-mkconfig sources to build grub.cfg (GRUB_CMDLINE_LINUX,
// GRUB_DEFAULT, GRUB_TERMINAL, …). It is parsed as shell with mvdan.cc/sh,
// never run: top-level assignments are evaluated when they are made of
// literals, quotes and $VAR references to earlier assignments; anything
// else (command substitutions, conditionals) is marked Dynamic. Byte offsets
// of each value are kept so that a repair can change one token.
package grubdefault

import (
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"rescue/parse/shell"
)

// Assign is one top-level assignment.
type Assign struct {
	Name string
	// Value is the evaluated value (after this assignment, so an append
	// includes what came before).
	Value string
	// Own is the value this assignment's word alone evaluates to.
	Own string
	// Dynamic is set when the value depends on something rescue does not
	// evaluate.
	Dynamic bool
	Append  bool
	Line    int
	// Start and End are the byte offsets of the value word as written
	// (quotes included); Start == End for an empty value (NAME=).
	Start, End int
}

// File is a parsed /etc/default/grub.
type File struct {
	Data    []byte
	Assigns []Assign
}

// Parse reads the file. A syntax error is returned as an error naming the
// line, and a file beyond the shell parser's limits as an error matching
// shell.ErrLimit; nothing is evaluated then.
func Parse(data []byte) (*File, error) {
	sf, err := shell.Parse(data, "")
	if err != nil {
		return nil, fmt.Errorf("parsing as shell: %w", err)
	}
	lines := shell.NewLines(data)
	f := &File{Data: data}
	env := map[string]string{}
	dyn := map[string]bool{}
	for _, st := range sf.Stmts {
		var assigns []*syntax.Assign
		switch c := st.Cmd.(type) {
		case *syntax.CallExpr:
			if len(c.Args) == 0 {
				assigns = c.Assigns
			}
		case *syntax.DeclClause:
			if c.Variant != nil && c.Variant.Value == "export" {
				assigns = c.Args
			}
		}
		for _, a := range assigns {
			if a.Name == nil || a.Naked || a.Array != nil || a.Index != nil {
				continue
			}
			x := Assign{Name: a.Name.Value, Append: a.Append, Line: lines.At(a.Pos().Offset())}
			if a.Value != nil {
				x.Start, x.End = int(a.Value.Pos().Offset()), int(a.Value.End().Offset())
				x.Own, x.Dynamic = eval(a.Value, env, dyn)
			} else {
				x.Start = int(a.Name.End().Offset()) + 1
				if a.Append {
					x.Start++
				}
				x.End = x.Start
			}
			if x.Start > len(data) || x.End > len(data) || x.Start > x.End {
				continue
			}
			x.Value = x.Own
			if a.Append {
				x.Value = env[x.Name] + x.Own
				x.Dynamic = x.Dynamic || dyn[x.Name]
			}
			env[x.Name], dyn[x.Name] = x.Value, x.Dynamic
			f.Assigns = append(f.Assigns, x)
		}
	}
	return f, nil
}

// eval evaluates a word made of literals, quotes and simple parameter
// expansions.
func eval(w *syntax.Word, env map[string]string, dyn map[string]bool) (string, bool) {
	var b strings.Builder
	dynamic := false
	var parts func([]syntax.WordPart, bool)
	parts = func(ps []syntax.WordPart, quoted bool) {
		for _, p := range ps {
			switch x := p.(type) {
			case *syntax.Lit:
				b.WriteString(unescape(x.Value, quoted))
			case *syntax.SglQuoted:
				if x.Dollar {
					dynamic = true
				}
				b.WriteString(x.Value)
			case *syntax.DblQuoted:
				parts(x.Parts, true)
			case *syntax.ParamExp:
				if x.Param == nil || x.Excl || x.Length || x.Index != nil || x.Slice != nil || x.Repl != nil || x.Exp != nil {
					dynamic = true
					continue
				}
				b.WriteString(env[x.Param.Value])
				dynamic = dynamic || dyn[x.Param.Value]
			default:
				dynamic = true
			}
		}
	}
	parts(w.Parts, false)
	return b.String(), dynamic
}

// unescape removes the backslashes the shell removes: any escaped
// character outside quotes, only $ ` " \ and newline inside double quotes.
func unescape(s string, quoted bool) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			n := s[i+1]
			if !quoted || strings.IndexByte("$`\"\\\n", n) >= 0 {
				if n != '\n' {
					b.WriteByte(n)
				}
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Last returns the last assignment of name, or nil.
func (f *File) Last(name string) *Assign {
	for i := len(f.Assigns) - 1; i >= 0; i-- {
		if f.Assigns[i].Name == name {
			return &f.Assigns[i]
		}
	}
	return nil
}

// Get returns the final value of name and whether it is assigned.
func (f *File) Get(name string) (string, bool) {
	if a := f.Last(name); a != nil {
		return a.Value, true
	}
	return "", false
}

// Raw returns the value word of a as written.
func (f *File) Raw(a Assign) string { return string(f.Data[a.Start:a.End]) }

// SetValue returns the file with a's value word replaced by value in double
// quotes; nothing else changes.
func (f *File) SetValue(a Assign, value string) []byte {
	q := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`").Replace(value) + `"`
	return replace(f.Data, a.Start, a.End, q)
}

// ReplaceArg returns the file with the argument old inside a's value word
// replaced by new. Only a whole argument matches (bounded by a blank, a
// quote, or the word's ends). When new is empty the argument is removed
// together with one blank next to it. ok is false when old is not there.
func (f *File) ReplaceArg(a Assign, old, new string) ([]byte, bool) {
	raw := f.Raw(a)
	for from := 0; ; {
		i := strings.Index(raw[from:], old)
		if i < 0 {
			return f.Data, false
		}
		i += from
		j := i + len(old)
		if bounded(raw, i-1) && bounded(raw, j) {
			if new == "" {
				switch {
				case j < len(raw) && (raw[j] == ' ' || raw[j] == '\t'):
					j++
				case i > 0 && (raw[i-1] == ' ' || raw[i-1] == '\t'):
					i--
				}
			}
			return replace(f.Data, a.Start+i, a.Start+j, new), true
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

func replace(data []byte, start, end int, text string) []byte {
	out := make([]byte, 0, len(data)-(end-start)+len(text))
	out = append(out, data[:start]...)
	out = append(out, text...)
	return append(out, data[end:]...)
}
