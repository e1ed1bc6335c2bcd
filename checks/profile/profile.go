package profile

import (
	"cmp"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"rescue/checks"
	"rescue/facts"
	"rescue/parse/shell"
	"rescue/sysroot"
)

// Check is the profile check.
var Check = &checks.Check{
	Name:     "profile",
	Doc:      doc,
	Requires: []facts.Fact{facts.OSRelease, facts.Accounts},
	Kinds:    []string{"unparsable", "syntax-error", "source-cycle"},
	Reads:    []string{"/etc/profile", "/etc/profile.d/*", "/etc/bash.bashrc", "/etc/bashrc"},
	Run:      run,
}

// maxScript bounds what is read: start-up files are small, and the shell
// parser refuses more anyway.
const maxScript = shell.MaxSize

// maxFiles bounds how many files the check follows: a system sources a few
// dozen. A glob over a directory of a million files, or a chain of
// generated sources, must not keep the check busy for hours.
const maxFiles = 4096

// edge is one source statement: from file:line to a target file.
type edge struct {
	from, to string
	line     int
	last     int // the statement's last line: it may run over several
	text     string
	guarded  bool
}

type graph struct {
	pass  *checks.Pass
	home  string
	edges map[string][]edge // by source file
	data  map[string][]byte
	lines map[string]*shell.Lines
	done  map[string]bool
}

func run(pass *checks.Pass) error {
	g := &graph{pass: pass, home: pass.Facts.RootHome(), edges: map[string][]edge{}, data: map[string][]byte{},
		lines: map[string]*shell.Lines{}, done: map[string]bool{}}
	starts := []string{"/etc/profile", "/etc/bashrc", "/etc/bash.bashrc"}
	if m, err := pass.Root.Glob("/etc/profile.d/*.sh"); err == nil {
		starts = append(starts, m...)
	}
	for _, f := range []string{".bash_profile", ".bash_login", ".profile", ".bashrc"} {
		starts = append(starts, path.Join(g.home, f))
	}
	for _, s := range starts {
		g.load(s)
	}
	g.cycles(starts)
	return nil
}

// load parses a file and, recursively, every file it sources.
func (g *graph) load(name string) {
	if g.done[name] {
		return
	}
	if len(g.done) == maxFiles {
		g.pass.Note("more than %d start-up files source each other; %s and the files after it were not followed", maxFiles, name)
	}
	g.done[name] = true
	if len(g.done) > maxFiles {
		return
	}
	fi, err := g.pass.Root.Stat(name)
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	data, err := g.pass.Root.ReadFileLimit(name, maxScript)
	if err != nil {
		g.pass.Note("%s not read: %v", name, err)
		return
	}
	g.data[name] = data
	g.lines[name] = shell.NewLines(data)
	f, err := shell.Parse(data, name)
	if errors.Is(err, shell.ErrLimit) {
		g.pass.Report(checks.Finding{
			Kind: "unparsable", Severity: checks.Error, Path: name,
			Message: fmt.Sprintf("%s cannot be checked: %v", name, err),
			Impact:  "bash fails on such a file too: a syntax error stops it reading the file, and deeply nested substitutions crash it, so login shells that read it may die",
			NoFix:   "what the file meant cannot be told; look at it by hand (or move it out of the way)",
		})
		return
	}
	if err != nil {
		line := 0
		if pe, ok := err.(syntax.ParseError); ok {
			line = g.lines[name].At(pe.Pos.Offset())
		}
		g.pass.Report(checks.Finding{
			Kind: "syntax-error", Severity: checks.Warning, Path: name, Line: line,
			Message: fmt.Sprintf("%s is not valid shell: %v", name, err),
			Impact:  "bash stops reading the file at the error: what follows it (PATH, umask, aliases) is not set in login shells",
			NoFix:   "what the file meant cannot be told; edit it by hand",
		})
		return
	}
	for _, e := range g.sources(name, f) {
		g.edges[name] = append(g.edges[name], e)
		g.load(e.to)
	}
}

// loop is a for loop over literal words, whose variable a source
// statement inside it may name.
type loop struct {
	name       string
	items      []*syntax.Word
	start, end uint
}

// maxWork bounds the source statements, loop items and glob matches the
// check looks at in one file: a generated file with a hundred thousand
// loops and sources must not make the check quadratic.
const maxWork = 100000

// sources lists the source statements of a parsed file.
func (g *graph) sources(name string, f *syntax.File) []edge {
	var loops []loop
	guards := mergeSpans(guardRanges(f))
	var out []edge
	work := 0
	syntax.Walk(f, func(n syntax.Node) bool {
		if work > maxWork {
			return false
		}
		switch n := n.(type) {
		case *syntax.ForClause:
			if wi, ok := n.Loop.(*syntax.WordIter); ok {
				loops = append(loops, loop{name: wi.Name.Value, items: wi.Items, start: n.Pos().Offset(), end: n.End().Offset()})
			}
		case *syntax.CallExpr:
			if len(n.Args) < 2 {
				return true
			}
			cmd := n.Args[0].Lit()
			if cmd != "." && cmd != "source" {
				return true
			}
			off := n.Pos().Offset()
			// Lines from the index: the parser's positions have no line
			// numbers past 262,143.
			line := g.lines[name].At(off)
			targets := g.expand(n.Args[1], loops, off)
			work += 1 + len(loops) + len(targets)
			if work > maxWork {
				g.pass.Note("%s has more source statements, loops and matches than the %d the check follows; those from line %d on were not followed", name, maxWork, line)
				return false
			}
			for _, target := range targets {
				out = append(out, edge{
					from: name, to: target, line: line, last: g.lines[name].At(n.End().Offset() - 1),
					text:    g.lines[name].Text(g.data[name], line),
					guarded: guards.contain(off),
				})
			}
		}
		return true
	})
	return out
}

// expand returns the files a word names, as far as it can be told without
// running anything: literals, ~ and $HOME, and for-loop variables over
// literal globs.
func (g *graph) expand(w *syntax.Word, loops []loop, at uint) []string {
	// A word that is exactly a loop variable expands to the loop's items.
	if v := simpleParam(w); v != "" && v != "HOME" {
		for i := len(loops) - 1; i >= 0; i-- {
			l := loops[i]
			if l.name == v && l.start <= at && at < l.end {
				var out []string
				for _, item := range l.items {
					out = append(out, g.expand(item, nil, at)...)
				}
				return out
			}
		}
		return nil
	}
	s, glob, ok := g.literal(w)
	if !ok || s == "" {
		return nil
	}
	if !strings.HasPrefix(s, "/") {
		// Relative to the working directory of the login shell: unknown.
		return nil
	}
	if glob {
		m, err := g.pass.Root.Glob(s)
		if err != nil {
			return nil
		}
		return m
	}
	return []string{sysroot.Clean(s)}
}

// simpleParam returns NAME when the word is just $NAME or "${NAME}".
func simpleParam(w *syntax.Word) string {
	parts := w.Parts
	if len(parts) == 1 {
		if dq, ok := parts[0].(*syntax.DblQuoted); ok {
			parts = dq.Parts
		}
	}
	if len(parts) != 1 {
		return ""
	}
	pe, ok := parts[0].(*syntax.ParamExp)
	if !ok || pe.Param == nil || pe.Exp != nil || pe.Repl != nil || pe.Slice != nil || pe.Index != nil || pe.Length || pe.Excl {
		return ""
	}
	return pe.Param.Value
}

// literal renders a word made of literals, quotes, ~ and $HOME, and says
// whether it is a glob: only unquoted *, ? and [ are, as in the shell.
func (g *graph) literal(w *syntax.Word) (string, bool, bool) {
	var b strings.Builder
	glob := false
	var part func(p syntax.WordPart, first, quoted bool) bool
	part = func(p syntax.WordPart, first, quoted bool) bool {
		switch p := p.(type) {
		case *syntax.Lit:
			v := p.Value
			if first && (v == "~" || strings.HasPrefix(v, "~/")) {
				v = g.home + v[1:]
			}
			glob = glob || !quoted && strings.ContainsAny(v, "*?[")
			b.WriteString(v)
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				if !part(q, false, true) {
					return false
				}
			}
		case *syntax.ParamExp:
			if p.Param == nil || p.Param.Value != "HOME" || p.Exp != nil || p.Repl != nil || p.Slice != nil {
				return false
			}
			b.WriteString(g.home)
		default:
			return false
		}
		return true
	}
	for i, p := range w.Parts {
		if !part(p, i == 0, false) {
			return "", false, false
		}
	}
	return b.String(), glob, true
}

type span struct{ start, end uint }

// guardRanges finds include guards: if clauses whose condition reads a
// variable that the file assigns. Sourcing inside one runs once, so it is
// not a cycle.
func guardRanges(f *syntax.File) []span {
	assigned := map[string]bool{}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Assign:
			if n.Name != nil {
				assigned[n.Name.Value] = true
			}
		}
		return true
	})
	var out []span
	syntax.Walk(f, func(n syntax.Node) bool {
		ic, ok := n.(*syntax.IfClause)
		if !ok {
			return true
		}
		reads := false
		for _, st := range ic.Cond {
			syntax.Walk(st, func(m syntax.Node) bool {
				if pe, ok := m.(*syntax.ParamExp); ok && pe.Param != nil && assigned[pe.Param.Value] {
					reads = true
				}
				return true
			})
		}
		if reads {
			out = append(out, span{ic.Pos().Offset(), ic.End().Offset()})
		}
		return true
	})
	return out
}

// spans are disjoint ranges in order, so that a lookup is a binary search.
type spans []span

// mergeSpans turns possibly nested or overlapping ranges into spans.
func mergeSpans(r []span) spans {
	slices.SortFunc(r, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	var out spans
	for _, s := range r {
		if n := len(out); n > 0 && s.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

func (r spans) contain(off uint) bool {
	i := sort.Search(len(r), func(i int) bool { return r[i].end > off })
	return i < len(r) && r[i].start <= off
}

// cycles finds every cycle of unguarded source edges and reports each
// once, at the edge that closes it.
func (g *graph) cycles(starts []string) {
	reported := map[string]bool{}
	var stack []edge
	onStack := map[string]bool{}
	visited := map[string]bool{}
	var dfs func(node string)
	dfs = func(node string) {
		onStack[node] = true
		for _, e := range g.edges[node] {
			if e.guarded {
				continue
			}
			if onStack[e.to] {
				// The cycle is the stack from e.to to here, closed by e.
				var chain []edge
				for i := len(stack) - 1; i >= 0; i-- {
					chain = append([]edge{stack[i]}, chain...)
					if stack[i].from == e.to {
						break
					}
				}
				if e.from == e.to {
					chain = nil
				}
				chain = append(chain, e)
				key := e.from + ":" + fmt.Sprint(e.line)
				if !reported[key] {
					reported[key] = true
					g.report(chain)
				}
				continue
			}
			if visited[e.to] {
				continue
			}
			stack = append(stack, e)
			dfs(e.to)
			stack = stack[:len(stack)-1]
		}
		onStack[node] = false
		visited[node] = true
	}
	for _, s := range starts {
		if !visited[s] {
			dfs(s)
		}
	}
}

func (g *graph) report(chain []edge) {
	closing := chain[len(chain)-1]
	names := []string{}
	for _, e := range chain {
		names = append(names, fmt.Sprintf("%s:%d", e.from, e.line))
	}
	names = append(names, closing.to)
	msg := fmt.Sprintf("%s sources itself", closing.to)
	if len(chain) > 1 {
		msg = fmt.Sprintf("%s sources itself through %s", closing.to, strings.Join(names, " -> "))
	}
	f := checks.Finding{
		Kind: "source-cycle", Severity: checks.Error, Path: closing.from, Line: closing.line,
		Subject:  fmt.Sprint(closing.line),
		Message:  msg,
		Impact:   "every login shell recurses until bash dies: the password is accepted and no prompt ever appears, on the console and over ssh",
		Evidence: []string{strings.TrimSpace(closing.text)},
	}
	fixMsg := fmt.Sprintf("Comment out line %d of %s, which closes the cycle", closing.line, closing.from)
	if closing.last > closing.line {
		fixMsg = fmt.Sprintf("Comment out lines %d-%d of %s, the statement that closes the cycle", closing.line, closing.last, closing.from)
	}
	f.AddFix(checks.CommentOutLines(g.pass.Root, closing.from, g.data[closing.from], closing.line, max(closing.line, closing.last), "sources itself", fixMsg))
	g.pass.Report(f)
}
