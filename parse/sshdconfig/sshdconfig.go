// Package sshdconfig reads sshd_config(5) the way sshd does: keywords with
// their arguments (quotes and trailing comments handled as argv_split
// does), Match blocks, and Include directives expanded in place with
// their globs, so that a check sees the directives in the order sshd
// processes them.
package sshdconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// Directive is one keyword line.
type Directive struct {
	// Keyword is the keyword as written; Key is it lower-cased.
	Keyword string
	Key     string
	Args    []string
	// Rest is everything after the keyword and its separator, for the
	// keywords that take the rest of the line (ForceCommand, Banner...).
	Rest string
	Path string
	Line int
	Raw  string
	// Match is the Match line the directive is under, nil in the global
	// section. A Match line itself has Match set to nil.
	Match *Directive
	// Err is set when the line cannot be split into arguments (unbalanced
	// quotes), which sshd reports as a bad option.
	Err string
}

// InMatch reports whether the directive is inside a Match block.
func (d *Directive) InMatch() bool { return d.Match != nil }

// Where is "path line N", as sshd names a line in its messages.
func (d *Directive) Where() string { return fmt.Sprintf("%s line %d", d.Path, d.Line) }

// Config is a configuration with its includes expanded.
type Config struct {
	Directives []*Directive
	// Files are the files read, in order.
	Files []string
	// Problems are includes sshd cannot read (it exits on those) and
	// include loops.
	Problems []Problem

	lines, reads int  // read so far, for the bounds
	stopped      bool // a bound was reached
	seen         map[string]bool
}

// problem records p once: the same Include line reached again through
// another path is the same problem.
func (c *Config) problem(p Problem) {
	key := string(p.Kind) + "\x00" + p.Path
	if p.Directive != nil {
		key += fmt.Sprintf("\x00%s\x00%d", p.Directive.Path, p.Directive.Line)
	}
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	if !c.seen[key] {
		c.seen[key] = true
		c.Problems = append(c.Problems, p)
	}
}

// Problem is something about the files themselves.
type Problem struct {
	Kind      ProblemKind
	Directive *Directive // the Include line, nil for the main file
	Path      string
	Message   string
	// Chain is, for a cycle, the files from the one included again to
	// the one whose Include closes the cycle.
	Chain []string
}

// ProblemKind says what is wrong with an Include.
type ProblemKind string

// The kinds of Problem.
const (
	ProblemUnreadable ProblemKind = "unreadable" // an included file or glob cannot be read
	ProblemDepth      ProblemKind = "depth"      // more than sshd's 16 levels of includes
	ProblemCycle      ProblemKind = "cycle"      // a file includes itself, directly or not
	ProblemTooLarge   ProblemKind = "too-large"  // the expansion exceeds what rescue reads
)

// FS is what Load needs from the target: reading a file and expanding a
// glob, both by target-absolute path. sysroot.Root satisfies it.
type FS interface {
	ReadFile(name string) ([]byte, error)
	Glob(pattern string) ([]string, error)
}

// maxDepth is sshd's limit on nested includes (SERVCONF_MAX_DEPTH).
const maxDepth = 16

// Bounds on the expansion as a whole. Depth alone does not bound it: three
// Include lines per file, sixteen levels deep, are 3^16 files. Cycles are
// cut where they close (sshd would follow them until its depth limit and
// exit); what remains is bounded by the lines and files read in all.
const (
	maxLines = 200000
	maxReads = 4096
)

// SSHDir is where relative Include paths are taken from.
const SSHDir = "/etc/ssh"

// Load reads the configuration starting at file, following Include lines
// when includes is set (sshd before OpenSSH 8.2 has no Include). A missing
// main file is an error (sshd does not start without it).
func Load(fsys FS, file string, includes bool) (*Config, error) {
	data, err := fsys.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	c := &Config{}
	if !includes {
		fsys = nil
	}
	c.parse(fsys, file, data, nil, []string{file})
	return c, nil
}

// Parse reads one file's content without following its includes.
func Parse(file string, data []byte) *Config {
	c := &Config{}
	c.parse(nil, file, data, nil, []string{file})
	return c
}

// parse reads data; match is the Match block in effect where the file is
// included, chain the files being read, from the main file to this one. A
// Match block opened in an included file ends with that file, as sshd
// restores the includer's state after an Include.
func (c *Config) parse(fsys FS, file string, data []byte, match *Directive, chain []string) {
	c.Files = append(c.Files, file)
	for i, raw := range strings.Split(string(data), "\n") {
		if c.lines++; c.lines > maxLines {
			c.tooLarge(nil, file)
			return
		}
		d := parseLine(raw)
		if d == nil {
			continue
		}
		d.Path, d.Line, d.Raw = file, i+1, raw
		if d.Key == "match" {
			c.Directives = append(c.Directives, d)
			match = d
			if len(d.Args) == 1 && strings.EqualFold(d.Args[0], "all") {
				// "Match All" matches every connection, and at startup
				// sshd treats what follows as global again.
				match = nil
			}
			continue
		}
		d.Match = match
		c.Directives = append(c.Directives, d)
		if d.Key == "include" && fsys != nil && d.Err == "" && !c.stopped {
			c.include(fsys, d, match, chain)
		}
	}
}

// tooLarge records, once, that the expansion was cut short.
func (c *Config) tooLarge(d *Directive, file string) {
	if !c.stopped {
		c.stopped = true
		c.problem(Problem{Kind: ProblemTooLarge, Directive: d, Path: file,
			Message: fmt.Sprintf("the includes expand to more than %d lines or %d files; rescue checked only those", maxLines, maxReads)})
	}
}

func (c *Config) include(fsys FS, d *Directive, match *Directive, chain []string) {
	if len(chain) > maxDepth {
		c.problem(Problem{Kind: ProblemDepth, Directive: d, Path: d.Path, Message: "includes nested too deep"})
		return
	}
	for _, arg := range d.Args {
		pattern := arg
		switch {
		case strings.HasPrefix(pattern, "~/"):
			pattern = "/root/" + pattern[2:]
		case !strings.HasPrefix(pattern, "/"):
			pattern = path.Join(SSHDir, pattern)
		}
		matches, err := fsys.Glob(pattern)
		if err != nil {
			c.problem(Problem{Kind: ProblemUnreadable, Directive: d, Path: pattern, Message: fmt.Sprintf("include glob failed: %v", err)})
			continue
		}
		for _, m := range matches {
			if i := slices.Index(chain, m); i >= 0 {
				loop := append(slices.Clone(chain[i:]), m)
				c.problem(Problem{Kind: ProblemCycle, Directive: d, Path: m, Chain: chain[i:],
					Message: fmt.Sprintf("closes an include loop (%s): sshd follows it until its limit of %d levels and exits (\"Too many recursive configuration includes\")", strings.Join(loop, " -> "), maxDepth)})
				continue
			}
			if c.reads++; c.reads > maxReads {
				c.tooLarge(d, m)
				return
			}
			data, err := fsys.ReadFile(m)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				c.problem(Problem{Kind: ProblemUnreadable, Directive: d, Path: m, Message: fmt.Sprintf("cannot read included file: %v", err)})
				continue
			}
			c.parse(fsys, m, data, match, append(chain[:len(chain):len(chain)], m))
			if c.stopped {
				return
			}
		}
	}
}

// parseLine splits one line; nil for blank and comment lines.
func parseLine(raw string) *Directive {
	line := strings.TrimRight(raw, " \t\r\f\n")
	s := strings.TrimLeft(line, " \t")
	if s == "" || s[0] == '#' {
		return nil
	}
	// The keyword ends at a blank or '=' (strdelim); one '=' with blanks
	// around it may separate it from the arguments.
	end := strings.IndexAny(s, " \t=")
	if end < 0 {
		return &Directive{Keyword: s, Key: strings.ToLower(s)}
	}
	kw := s[:end]
	if kw == "" {
		// A line starting with '=' has an empty keyword; sshd skips it.
		return nil
	}
	rest := strings.TrimLeft(s[end:], " \t")
	if strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], " \t")
	}
	d := &Directive{Keyword: kw, Key: strings.ToLower(kw), Rest: rest}
	args, err := SplitArgs(rest)
	if err != nil {
		d.Err = err.Error()
	}
	d.Args = args
	return d
}

// SplitArgs splits arguments as sshd's argv_split does with comment
// termination: blanks separate arguments, double or single quotes group
// them (a backslash escapes the quote character or a backslash inside
// quotes, and a blank or quote outside), and an argument that starts with
// '#' ends the line.
func SplitArgs(s string) ([]string, error) {
	var args []string
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return args, nil
		}
		if s[i] == '#' {
			return args, nil
		}
		var b strings.Builder
		var quote byte
		for ; i < len(s); i++ {
			ch := s[i]
			if quote == 0 && (ch == ' ' || ch == '\t') {
				break
			}
			if ch == '\\' && i+1 < len(s) {
				next := s[i+1]
				if (quote != 0 && (next == quote || next == '\\')) || (quote == 0 && (next == ' ' || next == '\t' || next == '\\' || next == '\'' || next == '"')) {
					b.WriteByte(next)
					i++
					continue
				}
			}
			switch {
			case quote == 0 && (ch == '"' || ch == '\''):
				quote = ch
			case quote != 0 && ch == quote:
				quote = 0
			default:
				b.WriteByte(ch)
			}
		}
		if quote != 0 {
			return args, errors.New("invalid quotes")
		}
		args = append(args, b.String())
	}
}

// Global returns the directives of the global section (not in a Match
// block) with the lower-case key, in order.
func (c *Config) Global(key string) []*Directive {
	var out []*Directive
	for _, d := range c.Directives {
		if d.Key == key && d.Match == nil {
			out = append(out, d)
		}
	}
	return out
}

// First returns the first global directive with the key: for single-valued
// keywords sshd keeps the first value it reads.
func (c *Config) First(key string) *Directive {
	for _, d := range c.Directives {
		if d.Key == key && d.Match == nil {
			return d
		}
	}
	return nil
}

// InMatch returns the directives with the key that are inside Match blocks.
func (c *Config) InMatch(key string) []*Directive {
	var out []*Directive
	for _, d := range c.Directives {
		if d.Key == key && d.Match != nil {
			out = append(out, d)
		}
	}
	return out
}
