package intrusion

import (
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"rescue/checks"
	"rescue/repair"
	"rescue/sysroot"
)

// CommentLines plans commenting out lines (1-based) of the file at path,
// whose content is data, each as "# disabled by rescue: WHY: <line>". Every
// other byte stays as it is.
func CommentLines(root *sysroot.Root, p string, data []byte, lines []int, why string) (repair.Op, error) {
	all, nl := checks.Lines(data)
	for _, n := range lines {
		if n < 1 || n > len(all) {
			return repair.Op{}, fmt.Errorf("%s has no line %d", p, n)
		}
		if strings.HasPrefix(all[n-1], checks.Marker) {
			continue
		}
		all[n-1] = checks.Marker + ": " + why + ": " + all[n-1]
	}
	return repair.WriteFile(root, p, checks.JoinLines(all, nl))
}

// Disabled says whether a line was commented out by rescue.
func Disabled(line string) bool {
	return strings.HasPrefix(strings.TrimLeft(line, " \t"), checks.Marker)
}

// Statement is one top-level statement of a script: the lines it spans and
// its text.
type Statement struct {
	First, Last int
	Text        string
}

// Statements parses a script and returns its top-level statements (a
// function's body counts as one: it runs only when called, and is judged
// with the call). ok is false when the script does not parse: then the
// caller judges the text as a whole.
func Statements(data []byte) (stmts []Statement, ok bool) {
	if len(data) > maxScript {
		return nil, false
	}
	f, err := ParseShell(string(data), "")
	if err != nil {
		return nil, false
	}
	lines, _ := checks.Lines(data)
	for _, st := range f.Stmts {
		first, last := int(st.Pos().Line()), int(st.End().Line())
		// A here-document's body comes after the statement's end.
		syntax.Walk(st, func(n syntax.Node) bool {
			if r, ok := n.(*syntax.Redirect); ok && r.Hdoc != nil {
				if l := int(r.Hdoc.End().Line()); l > last {
					last = l
				}
			}
			return true
		})
		if first < 1 || last > len(lines) || last < first {
			continue
		}
		stmts = append(stmts, Statement{First: first, Last: last, Text: strings.Join(lines[first-1:last], "\n")})
	}
	return stmts, true
}

// maxScript bounds the scripts parsed statement by statement.
const maxScript = 1 << 20

// ScriptEntries judges a shell script statement by statement and reports
// every statement something marks, with a fix that comments its lines out.
// base gives the place, kind, what and impact; home expands ~. It returns
// the number of findings. A script that does not parse is judged as one
// text, and its marked lines are found by the marks' evidence.
func (e *Engine) ScriptEntries(p string, data []byte, home string, base Entry) int {
	stmts, ok := Statements(data)
	if !ok {
		en := base
		en.Path, en.Cmd = p, AnalyzeShell(string(data), home)
		en.Text = ""
		en.DisableErr = fmt.Errorf("%s does not parse as shell, so its lines cannot be told apart: edit it by hand", p)
		if e.Report(&en) {
			return 1
		}
		return 0
	}
	n := 0
	for _, st := range stmts {
		if Disabled(st.Text) {
			continue
		}
		en := base
		en.Path, en.Line, en.Subject = p, st.First, fmt.Sprint(st.First)
		en.Text = st.Text
		en.Cmd = AnalyzeShell(st.Text, home)
		var lines []int
		for l := st.First; l <= st.Last; l++ {
			lines = append(lines, l)
		}
		op, err := CommentLines(e.root, p, data, lines, base.Kind)
		if err != nil {
			en.DisableErr = err
		} else {
			en.Disable, en.DisableText = []repair.Op{op}, CommentText(p, lines)
		}
		if e.Report(&en) {
			n++
		}
	}
	return n
}

// CommentText says which lines a comment-out fix touches.
func CommentText(p string, lines []int) string {
	if len(lines) > 1 {
		return fmt.Sprintf("comment out lines %d-%d of %s", lines[0], lines[len(lines)-1], p)
	}
	if len(lines) == 1 {
		return fmt.Sprintf("comment out line %d of %s", lines[0], p)
	}
	return ""
}
