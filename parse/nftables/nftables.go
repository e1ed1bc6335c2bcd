// Package nftables reads the nftables ruleset files nft -f loads at boot
// (/etc/nftables.conf on Debian, /etc/sysconfig/nftables.conf on the RHEL
// family) and judges what their input hooks do with a new TCP connection
// to a port from an unknown address: the question "does this firewall let
// SSH in after a reboot?".
//
// It reads the block form (table ... { chain ... { type filter hook input
// ...; policy drop; rules } }) and the command form (add table, add chain,
// add rule, insert rule), include (bounded), define and flush ruleset. It
// never fails: what it cannot read makes the verdict open, never certain.
package nftables

import (
	"fmt"
	"path"
	"strings"
)

// FS is what Load needs from the target. sysroot.Root satisfies it.
type FS interface {
	ReadFile(name string) ([]byte, error)
	Glob(pattern string) ([]string, error)
}

// Rule is one rule of a chain.
type Rule struct {
	File string
	Line int // 1-based, the line the rule starts on
	// Cmd is "add" or "insert" for a rule given as a command ("add rule
	// inet filter input ..."), "" for one inside a chain block.
	Cmd   string
	Words []string // the rule's tokens (defines expanded)
	Text  string   // the rule as written, one line
}

// Chain is a chain of a table.
type Chain struct {
	Family, Table, Name string
	// Hook and Policy are set for a base chain ("input", "drop").
	Hook, Policy string
	File         string
	// Line is where the chain is declared; Start is the last line of its
	// type/policy statements (rules inserted after it come first); End is
	// the line of its closing brace (0 in the command form).
	Line, Start, End int
	// Block is set for a chain declared as a block (chain NAME { ... }),
	// as opposed to "add chain" with rules given by "add rule".
	Block bool
	Rules []*Rule
}

// ID names the chain as nft does.
func (c *Chain) ID() string { return c.Family + " " + c.Table + " " + c.Name }

// Ruleset is what the files declare, in order.
type Ruleset struct {
	Chains []*Chain
	// Files holds the content of every file read, by path.
	Files map[string][]byte
	// Problems lists what makes nft -f refuse the whole load (unbalanced
	// braces, a missing include): then no rule is loaded at all.
	Problems []string
}

// Bounds on what is read: include depth as nft's own (16), and totals so
// that a hostile ruleset cannot make the expansion explode.
const (
	maxDepth  = 16
	maxFiles  = 256
	maxTokens = 1 << 20
)

// IncludeDir is where nft looks for relative include paths.
const IncludeDir = "/etc"

// Load reads the ruleset starting at file, following include lines.
func Load(fsys FS, file string) (*Ruleset, error) {
	data, err := fsys.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	p := &parser{fsys: fsys, rs: &Ruleset{Files: map[string][]byte{}}, defines: map[string][]token{}}
	p.file(file, data, 0)
	return p.rs, nil
}

// Parse reads one file without following its includes.
func Parse(file string, data []byte) *Ruleset {
	p := &parser{rs: &Ruleset{Files: map[string][]byte{}}, defines: map[string][]token{}}
	p.file(file, data, 0)
	return p.rs
}

type token struct {
	s    string
	line int
	str  bool // a quoted string
}

// tokenize splits nft syntax into words, quoted strings and the
// punctuation { } ; , and newlines ("\n"). Comments run from # to the end
// of the line; a backslash at the end of a line joins it with the next.
func tokenize(data []byte) []token {
	var out []token
	s := string(data)
	line := 1
	for i := 0; i < len(s) && len(out) < maxTokens; {
		c := s[i]
		switch {
		case c == '\n':
			out = append(out, token{"\n", line, false})
			line++
			i++
		case c == '\\' && i+1 < len(s) && s[i+1] == '\n':
			line++
			i += 2
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '{' || c == '}' || c == ';' || c == ',':
			out = append(out, token{string(c), line, false})
			i++
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' && s[j] != '\n' {
				j++
			}
			out = append(out, token{s[i+1 : j], line, true})
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n{};,#\"", rune(s[j])) {
				j++
			}
			out = append(out, token{s[i:j], line, false})
			i = j
		}
	}
	return out
}

type parser struct {
	fsys    FS
	rs      *Ruleset
	defines map[string][]token
	reads   int
}

func (p *parser) problem(format string, a ...any) {
	if len(p.rs.Problems) < 32 {
		p.rs.Problems = append(p.rs.Problems, fmt.Sprintf(format, a...))
	}
}

// cursor walks tokens statement by statement: a statement is its tokens
// up to a newline or ';' at brace depth zero.
type cursor struct {
	toks []token
	i    int
	top  bool // a whole file, whose end may follow a closing brace
}

func (c *cursor) done() bool { return c.i >= len(c.toks) }

// statement returns the tokens of the next statement. When blocks is set
// (the top level and table bodies), a statement that declares a block
// stops before its "{"; elsewhere braces are anonymous sets and maps.
func (c *cursor) statement(blocks bool) []token {
	var out []token
	depth := 0
	for !c.done() {
		t := c.toks[c.i]
		if !t.str {
			switch t.s {
			case "\n", ";":
				if depth == 0 {
					c.i++
					if len(out) > 0 {
						return out
					}
					continue
				}
				c.i++
				continue
			case "{":
				if depth == 0 && blocks && opensBlock(out) {
					return out // the caller takes the "{"
				}
				depth++
			case "}":
				if depth == 0 {
					return out // the enclosing block's end
				}
				depth--
			}
		}
		out = append(out, t)
		c.i++
	}
	return out
}

// opensBlock tells a block ("table inet filter {", "chain input {", "set
// s {", "add chain inet f c {") from an anonymous set in a rule.
func opensBlock(words []token) bool {
	if len(words) == 0 {
		return false
	}
	switch words[0].s {
	case "table", "chain", "set", "map", "flowtable", "counter", "quota", "ct", "limit", "secmark", "synproxy":
		return len(words) >= 2
	case "add", "create", "insert":
		return len(words) >= 2 && words[1].s != "rule" && words[1].s != "element"
	}
	return false
}

// block returns the tokens of the block the cursor is at ("{" next), and
// the line of its closing brace (0 when it never closes).
func (c *cursor) block() ([]token, int) {
	if c.done() || c.toks[c.i].s != "{" {
		return nil, 0
	}
	c.i++
	start := c.i
	depth := 0
	for ; !c.done(); c.i++ {
		t := c.toks[c.i]
		if t.str {
			continue
		}
		switch t.s {
		case "{":
			depth++
		case "}":
			if depth == 0 {
				body := c.toks[start:c.i]
				end := t.line
				c.i++
				return body, end
			}
			depth--
		}
	}
	return c.toks[start:], 0
}

func (p *parser) file(name string, data []byte, depth int) {
	p.reads++
	if _, ok := p.rs.Files[name]; !ok {
		p.rs.Files[name] = data
	}
	c := &cursor{toks: tokenize(data), top: true}
	for !c.done() {
		st := c.statement(true)
		if len(st) == 0 {
			if !c.done() && c.toks[c.i].s == "}" {
				p.problem("%s:%d: unexpected }", name, c.toks[c.i].line)
				c.i++
				continue
			}
			if !c.done() && c.toks[c.i].s == "{" {
				p.problem("%s:%d: unexpected {", name, c.toks[c.i].line)
				c.block()
			}
			continue
		}
		p.top(c, name, st, depth)
	}
}

func words(ts []token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.s
	}
	return out
}

// family reads "[FAMILY] NAME" as nft does: the family defaults to ip.
func family(ws []string) (fam, name string, rest []string) {
	if len(ws) == 0 {
		return "", "", nil
	}
	switch ws[0] {
	case "ip", "ip6", "inet", "arp", "bridge", "netdev":
		if len(ws) >= 2 {
			return ws[0], ws[1], ws[2:]
		}
		return ws[0], "", nil
	}
	return "ip", ws[0], ws[1:]
}

// top handles a statement at the top level of a file.
func (p *parser) top(c *cursor, name string, st []token, depth int) {
	ws := words(st)
	line := st[0].line
	switch ws[0] {
	case "include":
		if len(ws) >= 2 {
			p.include(name, ws[1], line, depth)
		}
	case "define", "redefine":
		// define NAME = VALUE
		if len(ws) >= 3 && ws[2] == "=" {
			p.defines[ws[1]] = p.expand(st[3:], 0)
		}
	case "undefine":
		if len(ws) >= 2 {
			delete(p.defines, ws[1])
		}
	case "flush":
		if len(ws) >= 2 && ws[1] == "ruleset" {
			p.rs.Chains = nil
		} else if len(ws) >= 3 && ws[1] == "chain" {
			if ch := p.findWords(ws[2:]); ch != nil {
				ch.Rules = nil
			}
		} else if len(ws) >= 3 && ws[1] == "table" {
			fam, tbl, _ := family(ws[2:])
			for _, ch := range p.rs.Chains {
				if ch.Family == fam && ch.Table == tbl {
					ch.Rules = nil
				}
			}
		}
	case "delete", "destroy":
		if len(ws) >= 3 && ws[1] == "table" {
			fam, tbl, _ := family(ws[2:])
			var keep []*Chain
			for _, ch := range p.rs.Chains {
				if !(ch.Family == fam && ch.Table == tbl) {
					keep = append(keep, ch)
				}
			}
			p.rs.Chains = keep
		}
	case "table":
		fam, tbl, _ := family(ws[1:])
		if c.done() || c.toks[c.i].s != "{" {
			return // "table inet filter" alone declares it, nothing more
		}
		body, end := c.block()
		if end == 0 {
			p.problem("%s:%d: table %s %s is not closed", name, line, fam, tbl)
			return
		}
		p.table(name, fam, tbl, body)
		p.separated(c, name, end)
	case "add", "create", "insert":
		if len(ws) < 2 {
			return
		}
		switch ws[1] {
		case "table":
			fam, tbl, _ := family(ws[2:])
			if !c.done() && c.toks[c.i].s == "{" {
				body, end := c.block()
				if end == 0 {
					p.problem("%s:%d: table %s %s is not closed", name, line, fam, tbl)
					return
				}
				p.table(name, fam, tbl, body)
			}
		case "chain":
			fam, tbl, rest := family(ws[2:])
			if len(rest) == 0 {
				return
			}
			ch := p.chain(fam, tbl, rest[0], name, line)
			if !c.done() && c.toks[c.i].s == "{" {
				body, end := c.block()
				if end == 0 {
					p.problem("%s:%d: chain %s is not closed", name, line, ch.ID())
					return
				}
				p.chainBody(ch, name, body)
				ch.Start = max(ch.Start, end)
			}
		case "rule":
			fam, tbl, rest := family(ws[2:])
			if len(rest) < 2 {
				return
			}
			ch := p.find(fam, tbl, rest[0])
			if ch == nil {
				p.problem("%s:%d: rule for chain %s %s %s, which does not exist", name, line, fam, tbl, rest[0])
				return
			}
			// "add rule F T C handle N ..." / "position N" place a rule
			// relative to another by handle; such a rule is read at the
			// end (add) or the start (insert) as without them.
			body := st[len(st)-len(rest)+1:]
			if len(rest) >= 3 && (rest[1] == "handle" || rest[1] == "position" || rest[1] == "index") {
				body = body[2:]
			}
			r := &Rule{File: name, Line: line, Cmd: ws[0], Words: words(p.expand(body, 0)), Text: lineText(p.rs.Files[name], line)}
			if ws[0] == "insert" {
				ch.Rules = append([]*Rule{r}, ch.Rules...)
			} else {
				ch.Rules = append(ch.Rules, r)
			}
		}
	}
}

func (p *parser) include(from, spec string, line, depth int) {
	if depth+1 > maxDepth || p.reads >= maxFiles {
		p.problem("%s:%d: includes nested too deep or too many", from, line)
		return
	}
	if p.fsys == nil {
		return
	}
	var pattern string
	switch {
	case strings.HasPrefix(spec, "/"):
		pattern = spec
	default:
		pattern = path.Join(IncludeDir, spec)
	}
	if !strings.ContainsAny(pattern, "*?[") {
		data, err := p.fsys.ReadFile(pattern)
		if err != nil {
			// nft refuses the whole load when a plain include is missing.
			p.problem("%s:%d: include %q: %v", from, line, spec, err)
			return
		}
		p.file(pattern, data, depth+1)
		return
	}
	matches, _ := p.fsys.Glob(pattern)
	for _, m := range matches {
		if p.reads >= maxFiles {
			p.problem("%s:%d: too many included files", from, line)
			return
		}
		data, err := p.fsys.ReadFile(m)
		if err != nil {
			continue
		}
		p.file(m, data, depth+1)
	}
}

// expand replaces $NAME by the define's tokens.
func (p *parser) expand(ts []token, depth int) []token {
	var out []token
	for _, t := range ts {
		if !t.str && strings.HasPrefix(t.s, "$") && depth < 8 {
			if v, ok := p.defines[t.s[1:]]; ok && len(out)+len(v) < 4096 {
				for _, x := range p.expand(v, depth+1) {
					x.line = t.line
					out = append(out, x)
				}
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

func (p *parser) find(fam, tbl, name string) *Chain {
	for _, ch := range p.rs.Chains {
		if ch.Family == fam && ch.Table == tbl && ch.Name == name {
			return ch
		}
	}
	return nil
}

func (p *parser) findWords(ws []string) *Chain {
	fam, tbl, rest := family(ws)
	if len(rest) == 0 {
		return nil
	}
	return p.find(fam, tbl, rest[0])
}

// chain returns the chain, declaring it when new (a table may be declared
// more than once; its chains add up).
func (p *parser) chain(fam, tbl, name, file string, line int) *Chain {
	if ch := p.find(fam, tbl, name); ch != nil {
		return ch
	}
	ch := &Chain{Family: fam, Table: tbl, Name: name, File: file, Line: line, Start: line}
	p.rs.Chains = append(p.rs.Chains, ch)
	return ch
}

// table reads a table block's body.
func (p *parser) table(file, fam, tbl string, body []token) {
	c := &cursor{toks: body}
	for !c.done() {
		st := c.statement(true)
		if len(st) == 0 {
			if !c.done() {
				c.i++ // a stray brace; the block bounds already matched
			}
			continue
		}
		ws := words(st)
		if ws[0] == "chain" && len(ws) >= 2 {
			ch := p.chain(fam, tbl, ws[1], file, st[0].line)
			ch.Block = true
			b, end := c.block()
			if end == 0 {
				p.problem("%s:%d: chain %s is not closed", file, st[0].line, ch.ID())
				return
			}
			ch.End = end
			p.chainBody(ch, file, b)
			p.separated(c, file, end)
			continue
		}
		if !c.done() && c.toks[c.i].s == "{" {
			_, end := c.block() // sets, maps, flowtables, named objects
			p.separated(c, file, end)
		}
	}
}

// chainBody reads a chain block: type/hook/policy statements and rules.
func (p *parser) chainBody(ch *Chain, file string, body []token) {
	c := &cursor{toks: body}
	for !c.done() {
		st := c.statement(false)
		if len(st) == 0 {
			if !c.done() {
				c.i++
			}
			continue
		}
		ws := words(st)
		switch ws[0] {
		case "type":
			for i, w := range ws {
				if w == "hook" && i+1 < len(ws) {
					ch.Hook = ws[i+1]
				}
			}
			ch.Start = max(ch.Start, st[len(st)-1].line)
		case "policy":
			if len(ws) >= 2 {
				ch.Policy = strings.ToLower(p.value(st[1]))
			}
			ch.Start = max(ch.Start, st[len(st)-1].line)
		case "comment", "devices", "flags":
		default:
			ch.Rules = append(ch.Rules, &Rule{File: file, Line: st[0].line, Words: words(p.expand(st, 0)), Text: lineText(p.rs.Files[file], st[0].line)})
		}
	}
}

// separated records the problem nft reports when a block's closing brace
// is followed on its line by anything but ';' (nft: "syntax error,
// unexpected '}', expecting newline or semicolon"): the whole load fails.
func (p *parser) separated(c *cursor, file string, end int) {
	if c.done() {
		if end > 0 && c.top {
			return // the end of the file
		}
		p.problem("%s:%d: a closing brace must be followed by a newline or ';'", file, end)
		return
	}
	if t := c.toks[c.i]; !t.str && (t.s == "\n" || t.s == ";") {
		return
	}
	p.problem("%s:%d: a closing brace must be followed by a newline or ';'", file, end)
}

func (p *parser) value(t token) string {
	if strings.HasPrefix(t.s, "$") {
		if v, ok := p.defines[t.s[1:]]; ok && len(v) == 1 {
			return v[0].s
		}
	}
	return t.s
}

func lineText(data []byte, line int) string {
	lines := strings.Split(string(data), "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	return strings.TrimSpace(strings.TrimRight(lines[line-1], "\r"))
}
