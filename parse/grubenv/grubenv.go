// Package grubenv reads and writes GRUB's environment block (grubenv): a
// file of exactly 1024 bytes (or the size it already has) that starts with
// "# GRUB Environment Block", holds NAME=VALUE lines and is padded with
// '#'. GRUB writes it in place at boot (save_env) without changing its
// size, so a rewrite must keep the size and the header, or GRUB refuses it.
package grubenv

import (
	"errors"
	"fmt"
	"strings"
)

// Header is the first line of every environment block.
const Header = "# GRUB Environment Block\n"

// Size is the size grub-editenv creates.
const Size = 1024

// Var is one variable.
type Var struct {
	Name, Value string
}

// Env is a parsed environment block.
type Env struct {
	Vars []Var
	// size is the size of the block it was read from.
	size int
	// nl: the block it was read from ends in a newline instead of '#';
	// a rewrite keeps that last byte as it was.
	nl bool
}

// ErrNoHeader is returned for a file that is not an environment block.
var ErrNoHeader = errors.New("not a GRUB environment block (the header line is missing)")

// Parse reads an environment block. A backslash escapes the next byte (a
// newline or a backslash), as GRUB writes them.
func Parse(data []byte) (*Env, error) {
	s := string(data)
	if !strings.HasPrefix(s, Header) {
		return nil, ErrNoHeader
	}
	e := &Env{size: len(data), nl: len(data) > len(Header) && data[len(data)-1] == '\n'}
	s = s[len(Header):]
	for len(s) > 0 {
		// Read one logical line.
		var line strings.Builder
		i := 0
		for i < len(s) && s[i] != '\n' {
			if s[i] == '\\' && i+1 < len(s) {
				line.WriteByte(s[i+1])
				i += 2
				continue
			}
			line.WriteByte(s[i])
			i++
		}
		if i < len(s) {
			i++
		}
		s = s[i:]
		l := line.String()
		if l == "" || l[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(l, "=")
		if !ok || name == "" {
			continue
		}
		e.set(name, value)
	}
	return e, nil
}

// New returns an empty environment block of the standard size.
func New() *Env { return &Env{size: Size} }

// Get returns a variable's value and whether it is set.
func (e *Env) Get(name string) (string, bool) {
	for _, v := range e.Vars {
		if v.Name == name {
			return v.Value, true
		}
	}
	return "", false
}

func (e *Env) set(name, value string) {
	for i := range e.Vars {
		if e.Vars[i].Name == name {
			e.Vars[i].Value = value
			return
		}
	}
	e.Vars = append(e.Vars, Var{name, value})
}

// With returns a copy of the block with name set to value (added at the
// end when it was not set).
func (e *Env) With(name, value string) *Env {
	c := &Env{Vars: append([]Var(nil), e.Vars...), size: e.size, nl: e.nl}
	c.set(name, value)
	return c
}

// Encode writes the block, padded with '#' to the size it was read with
// (at least 1024 bytes). It fails when the variables do not fit.
func (e *Env) Encode() ([]byte, error) {
	var b strings.Builder
	b.WriteString(Header)
	esc := strings.NewReplacer(`\`, `\\`, "\n", "\\\n")
	for _, v := range e.Vars {
		b.WriteString(esc.Replace(v.Name))
		b.WriteByte('=')
		b.WriteString(esc.Replace(v.Value))
		b.WriteByte('\n')
	}
	size := max(e.size, Size)
	if b.Len() > size {
		return nil, fmt.Errorf("the variables do not fit: they need %d bytes; the block has %d", b.Len(), size)
	}
	pad := strings.Repeat("#", size-b.Len())
	if e.nl && pad != "" {
		pad = pad[1:] + "\n"
	}
	return []byte(b.String() + pad), nil
}
