package disk

import (
	"fmt"
	"strconv"
	"strings"
)

// confNode is a value of LVM's text metadata format: a section (Children),
// a string, a number, or a list of values.
type confNode struct {
	Name     string
	Children []*confNode // a section's assignments and subsections, in order
	Section  bool
	Str      string
	Num      int64
	IsNum    bool
	List     []*confNode
	IsList   bool
}

// child returns the named child of a section, or nil.
func (n *confNode) child(name string) *confNode {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (n *confNode) str(name string) string {
	if c := n.child(name); c != nil && !c.IsNum && !c.IsList && !c.Section {
		return c.Str
	}
	return ""
}

func (n *confNode) num(name string) (int64, bool) {
	if c := n.child(name); c != nil && c.IsNum {
		return c.Num, true
	}
	return 0, false
}

func (n *confNode) strings(name string) []string {
	var out []string
	if c := n.child(name); c != nil && c.IsList {
		for _, v := range c.List {
			if !v.IsNum {
				out = append(out, v.Str)
			}
		}
	}
	return out
}

// maxConfDepth bounds section nesting: LVM metadata nests four deep; a
// corrupt or hostile text must not exhaust the stack.
const maxConfDepth = 32

// parseConf parses LVM2 text metadata (the format of /etc/lvm/backup
// files and of the metadata area on a physical volume):
//
//	name { key = "string" key = 123 key = [ "a", 1 ] sub { ... } }
//
// with # comments.
func parseConf(text []byte) (*confNode, error) {
	p := &confParser{s: text, line: 1}
	root := &confNode{Section: true}
	if err := p.body(root, 0, false); err != nil {
		return nil, err
	}
	return root, nil
}

type confParser struct {
	s    []byte
	i    int
	line int
}

func (p *confParser) errorf(format string, args ...any) error {
	return fmt.Errorf("LVM metadata line %d: %s", p.line, fmt.Sprintf(format, args...))
}

func (p *confParser) skip() {
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '\n':
			p.line++
			p.i++
		case c == ' ' || c == '\t' || c == '\r':
			p.i++
		case c == '#':
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
		case c == 0:
			// The metadata area pads the text with NULs.
			p.i = len(p.s)
		default:
			return
		}
	}
}

func isIdent(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_-.+/@", c) >= 0
}

func (p *confParser) ident() string {
	start := p.i
	for p.i < len(p.s) && isIdent(p.s[p.i]) {
		p.i++
	}
	return string(p.s[start:p.i])
}

// body reads assignments and sections until '}' (inSection) or the end.
func (p *confParser) body(sec *confNode, depth int, inSection bool) error {
	if depth > maxConfDepth {
		return p.errorf("sections nest deeper than %d", maxConfDepth)
	}
	for {
		p.skip()
		if p.i >= len(p.s) {
			if inSection {
				return p.errorf("unexpected end: a section is not closed")
			}
			return nil
		}
		if p.s[p.i] == '}' {
			if !inSection {
				return p.errorf("unexpected '}'")
			}
			p.i++
			return nil
		}
		name := p.ident()
		if name == "" {
			return p.errorf("unexpected %q", p.s[p.i])
		}
		p.skip()
		if p.i >= len(p.s) {
			return p.errorf("unexpected end after %q", name)
		}
		switch p.s[p.i] {
		case '{':
			p.i++
			child := &confNode{Name: name, Section: true}
			if err := p.body(child, depth+1, true); err != nil {
				return err
			}
			sec.Children = append(sec.Children, child)
		case '=':
			p.i++
			v, err := p.value(true)
			if err != nil {
				return err
			}
			v.Name = name
			sec.Children = append(sec.Children, v)
		default:
			return p.errorf("expected '=' or '{' after %q", name)
		}
	}
}

func (p *confParser) value(listOK bool) (*confNode, error) {
	p.skip()
	if p.i >= len(p.s) {
		return nil, p.errorf("unexpected end: a value is missing")
	}
	switch c := p.s[p.i]; {
	case c == '"':
		p.i++
		var b strings.Builder
		for {
			if p.i >= len(p.s) {
				return nil, p.errorf("unterminated string")
			}
			c := p.s[p.i]
			p.i++
			if c == '"' {
				break
			}
			if c == '\\' && p.i < len(p.s) {
				c = p.s[p.i]
				p.i++
			}
			if c == '\n' {
				p.line++
			}
			b.WriteByte(c)
		}
		return &confNode{Str: b.String()}, nil
	case c == '[' && listOK:
		p.i++
		n := &confNode{IsList: true}
		for {
			p.skip()
			if p.i >= len(p.s) {
				return nil, p.errorf("unterminated list")
			}
			if p.s[p.i] == ']' {
				p.i++
				return n, nil
			}
			if len(n.List) > 0 {
				if p.s[p.i] != ',' {
					return nil, p.errorf("expected ',' or ']' in a list")
				}
				p.i++
			}
			v, err := p.value(false)
			if err != nil {
				return nil, err
			}
			n.List = append(n.List, v)
		}
	case c == '-' || c >= '0' && c <= '9':
		start := p.i
		p.i++
		for p.i < len(p.s) && (p.s[p.i] >= '0' && p.s[p.i] <= '9' || p.s[p.i] == '.') {
			p.i++
		}
		text := string(p.s[start:p.i])
		if v, err := strconv.ParseInt(text, 10, 64); err == nil {
			return &confNode{Num: v, IsNum: true, Str: text}, nil
		}
		if _, err := strconv.ParseFloat(text, 64); err == nil {
			return &confNode{Str: text}, nil // floats appear only in settings rescue does not read
		}
		return nil, p.errorf("bad number %q", text)
	}
	return nil, p.errorf("unexpected %q where a value belongs", p.s[p.i])
}
