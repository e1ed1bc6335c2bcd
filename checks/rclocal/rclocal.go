package rclocal

import (
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"rescue/checks"
	"rescue/facts"
	"rescue/parse/osrelease"
	"rescue/parse/shell"
)

// Check is the rclocal check.
var Check = &checks.Check{
	Name:     "rclocal",
	Doc:      doc,
	Requires: []facts.Fact{facts.OSRelease},
	Kinds:    []string{"no-interpreter", "crlf", "interpreter-missing", "syntax-error", "after-exit", "exit-missing", "blocks"},
	Reads:    []string{"/etc/rc.local", "/etc/rc.d/rc.local"},
	Run:      run,
}

const reportOnly = "rc.local is the administrator's own script: rescue reports and changes nothing"

func run(pass *checks.Pass) error {
	seen := map[string]bool{}
	for _, p := range []string{"/etc/rc.d/rc.local", "/etc/rc.local"} {
		real, err := pass.Root.Resolve(p)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		fi, err := pass.Root.Stat(real)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if fi.Mode().Perm()&0o111 == 0 {
			continue // rc-local.service runs it only when it is executable
		}
		data, err := pass.Root.ReadFileLimit(real, 1<<20)
		if err != nil {
			pass.Note("reading %s: %v", real, err)
			continue
		}
		for _, f := range Analyze(real, data, pass.Facts.OS().Family == osrelease.Debian, pass.Root.Exists) {
			pass.Report(f)
		}
	}
	return nil
}

// Analyze returns the findings for one rc.local. debian says whether the
// distribution expects the script to end with exit; exists tells whether
// a path exists in the target (for the interpreter).
func Analyze(p string, data []byte, debian bool, exists func(string) bool) []checks.Finding {
	a := &analysis{path: p}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	switch {
	case !bytes.HasPrefix(first, []byte("#!")):
		a.add(checks.Finding{
			Kind: "no-interpreter", Severity: checks.Warning, Line: 1,
			Message: p + " does not start with #!",
			Impact:  "systemd executes the file directly, which fails (\"Exec format error\"): rc-local.service fails and none of its commands run",
		})
	case bytes.HasSuffix(first, []byte("\r")):
		a.add(checks.Finding{
			Kind: "crlf", Severity: checks.Warning, Line: 1,
			Message: p + " has DOS line endings: its #! line names an interpreter ending in a carriage return",
			Impact:  "the kernel cannot find the interpreter (\"bad interpreter\"): rc-local.service fails and none of its commands run",
		})
	default:
		interp := strings.Fields(strings.TrimSpace(string(first[2:])))
		if len(interp) > 0 && exists != nil && !exists(interp[0]) {
			a.add(checks.Finding{
				Kind: "interpreter-missing", Severity: checks.Warning, Line: 1,
				Message: fmt.Sprintf("%s names the interpreter %s, which does not exist", p, interp[0]),
				Impact:  "rc-local.service fails and none of its commands run",
			})
		}
	}
	file, err := shell.Parse(data, p, syntax.KeepComments(false))
	lines := shell.NewLines(data)
	a.lines = lines
	if err != nil {
		line := 0
		if pe, ok := err.(syntax.ParseError); ok {
			line = lines.At(pe.Pos.Offset())
		}
		a.add(checks.Finding{
			Kind: "syntax-error", Severity: checks.Warning, Line: line,
			Message: fmt.Sprintf("%s cannot be parsed: %v", p, err),
			Impact:  "the shell stops at the error: the commands from there on never run, and the unit fails",
		})
		return a.findings
	}
	lineOf := func(n syntax.Node) int { return lines.At(n.Pos().Offset()) }
	a.block(file.Stmts, false)
	exitAt := -1
	for i, st := range file.Stmts {
		if name, _ := callName(st); name == "exit" && !st.Background {
			exitAt = i
			break
		}
	}
	if exitAt >= 0 && exitAt < len(file.Stmts)-1 {
		next := file.Stmts[exitAt+1]
		a.add(checks.Finding{
			Kind: "after-exit", Severity: checks.Warning, Line: lineOf(next),
			Message: fmt.Sprintf("%d command(s) after the exit on line %d never run", len(file.Stmts)-exitAt-1, lineOf(file.Stmts[exitAt])),
			Impact:  "whatever they start at boot (often a service appended to the file) does not start",
		})
	}
	if debian && exitAt < 0 && len(file.Stmts) > 0 {
		last := file.Stmts[len(file.Stmts)-1]
		a.add(checks.Finding{
			Kind: "exit-missing", Severity: checks.Info, Line: lineOf(last),
			Message: p + " does not end with exit 0",
			Impact:  "the script's status is its last command's: rc-local.service is marked failed whenever that command fails",
		})
	}
	return a.findings
}

type analysis struct {
	path       string
	lines      *shell.Lines
	findings   []checks.Finding
	background bool // a job was started with &
}

func (a *analysis) add(f checks.Finding) {
	f.Path = a.path
	if f.Subject == "" && f.Line > 0 && f.Kind != "no-interpreter" && f.Kind != "crlf" && f.Kind != "interpreter-missing" {
		f.Subject = strconv.Itoa(f.Line)
	}
	f.NoFix = reportOnly
	a.findings = append(a.findings, f)
}

// block walks statements that run in the script's own flow (not in the
// background, not in function bodies) for commands that do not return.
func (a *analysis) block(stmts []*syntax.Stmt, inLoop bool) {
	for _, st := range stmts {
		if st.Background {
			a.background = true
			continue
		}
		a.stmt(st, inLoop)
	}
}

func (a *analysis) stmt(st *syntax.Stmt, inLoop bool) {
	line := a.lines.At(st.Pos().Offset())
	switch cmd := st.Cmd.(type) {
	case *syntax.CallExpr:
		if why, forever := blocking(cmd, a.background); why != "" {
			f := checks.Finding{
				Kind: "blocks", Severity: checks.Warning, Line: line,
				Message: fmt.Sprintf("line %d blocks: it %s, and has no trailing &", line, why),
				Impact:  "rc-local.service waits for it (it has no timeout) and the console and serial gettys start only after it: the console shows no login prompt until it ends",
			}
			if forever {
				f.Severity = checks.Error
				f.Impact = "rc-local.service never finishes starting (it has no timeout) and the console and serial gettys wait for it: there is never a login prompt on the console (SSH is not affected)"
			}
			a.add(f)
		}
	case *syntax.WhileClause:
		if infiniteCond(cmd) && !escapes(cmd.Do) {
			a.add(checks.Finding{
				Kind: "blocks", Severity: checks.Error, Line: line,
				Message: fmt.Sprintf("the loop on line %d never ends (no break or exit inside) and is not run in the background", line),
				Impact:  "rc-local.service never finishes starting (it has no timeout) and the console and serial gettys wait for it: there is never a login prompt on the console (SSH is not affected)",
			})
			return
		}
		a.block(cmd.Do, true)
	case *syntax.ForClause:
		if c, ok := cmd.Loop.(*syntax.CStyleLoop); ok && c.Cond == nil && !escapes(cmd.Do) {
			a.add(checks.Finding{
				Kind: "blocks", Severity: checks.Error, Line: line,
				Message: fmt.Sprintf("the loop on line %d never ends (for ((;;)) without break or exit)", line),
				Impact:  "rc-local.service never finishes starting and the console and serial gettys wait for it: there is never a login prompt on the console (SSH is not affected)",
			})
			return
		}
		a.block(cmd.Do, true)
	case *syntax.Block:
		a.block(cmd.Stmts, inLoop)
	case *syntax.Subshell:
		a.block(cmd.Stmts, inLoop)
	case *syntax.IfClause:
		for c := cmd; c != nil; c = c.Else {
			a.block(c.Then, inLoop)
		}
	case *syntax.BinaryCmd:
		a.stmt(cmd.X, inLoop)
		a.stmt(cmd.Y, inLoop)
	}
}

// callName returns the command name of a simple command and its literal
// arguments ("" for a non-literal word).
func callName(st *syntax.Stmt) (string, []string) {
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) == 0 {
		return "", nil
	}
	var args []string
	for _, w := range call.Args {
		args = append(args, w.Lit())
	}
	return path.Base(args[0]), args[1:]
}

// blocking says whether a simple command runs until stopped ("" when it
// returns), and whether that is for ever rather than for a while.
func blocking(call *syntax.CallExpr, background bool) (string, bool) {
	var args []string
	for _, w := range call.Args {
		args = append(args, w.Lit())
	}
	// Wrappers that do not background their command.
	for len(args) > 0 {
		switch path.Base(args[0]) {
		case "nohup", "exec", "nice", "ionice", "stdbuf", "setsid", "chrt", "taskset", "timeout":
			if path.Base(args[0]) == "timeout" {
				return "", false // it ends when the timeout runs out
			}
			if path.Base(args[0]) == "setsid" && has(args, "-f", "--fork") {
				return "", false
			}
			args = skipOptions(args[1:])
			continue
		}
		break
	}
	if len(args) == 0 {
		return "", false
	}
	name, rest := path.Base(args[0]), args[1:]
	switch name {
	case "sleep":
		total := 0.0
		for _, r := range rest {
			if r == "infinity" || r == "inf" {
				return "sleeps for ever (sleep infinity)", true
			}
			if s, ok := seconds(r); ok {
				total += s
			}
		}
		if total >= 60 {
			return fmt.Sprintf("sleeps %.0f seconds", total), false
		}
	case "tail":
		if hasPrefix(rest, "-f", "-F", "--follow") || hasShortFlag(rest, 'f') || hasShortFlag(rest, 'F') {
			return "follows a file for ever (tail -f)", true
		}
	case "journalctl":
		if has(rest, "-f", "--follow") {
			return "follows the journal for ever (journalctl -f)", true
		}
	case "dmesg":
		if has(rest, "-w", "--follow", "-W", "--follow-new") {
			return "follows the kernel log for ever (dmesg -w)", true
		}
	case "ping", "ping6":
		if !hasPrefix(rest, "-c", "-w") {
			return "pings for ever (no -c or -w)", true
		}
	case "nc", "ncat", "netcat":
		if hasPrefix(rest, "-l", "--listen") || hasShortFlag(rest, 'l') {
			return "listens until a connection ends (nc -l)", true
		}
	case "socat", "yes", "watch":
		return "runs until it is stopped (" + name + ")", true
	case "top", "htop":
		if !has(rest, "-b", "-n") {
			return "runs until it is stopped (" + name + ")", true
		}
	case "docker", "podman", "nerdctl":
		if len(rest) > 0 && rest[0] == "run" && !hasPrefix(rest[1:], "-d", "--detach") && !hasShortFlag(rest[1:], 'd') {
			return "runs a container in the foreground (" + name + " run without -d)", true
		}
	case "wait":
		if background && len(rest) == 0 {
			return "waits for the jobs started in the background, which may never end", false
		}
	}
	return "", false
}

// seconds reads a sleep(1) duration: a number with an optional s, m, h or
// d suffix.
func seconds(s string) (float64, bool) {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "s"):
		s = s[:len(s)-1]
	case strings.HasSuffix(s, "m"):
		s, mult = s[:len(s)-1], 60
	case strings.HasSuffix(s, "h"):
		s, mult = s[:len(s)-1], 3600
	case strings.HasSuffix(s, "d"):
		s, mult = s[:len(s)-1], 86400
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n * mult, true
}

// infiniteCond reports whether a while/until condition is constant true.
func infiniteCond(w *syntax.WhileClause) bool {
	if len(w.Cond) != 1 {
		return false
	}
	name, args := callName(w.Cond[0])
	neg := w.Cond[0].Negated
	truth := ""
	switch {
	case name == "true" || name == ":":
		truth = "true"
	case name == "false":
		truth = "false"
	case (name == "[" && len(args) == 2 && args[1] == "]") || (name == "test" && len(args) == 1):
		if args[0] != "" {
			truth = "true"
		}
	}
	if truth == "" {
		return false
	}
	isTrue := (truth == "true") != neg
	return isTrue != w.Until
}

// escapes reports whether a loop body can leave the loop or the script:
// a break, exit or return anywhere inside (conservatively, in any branch).
func escapes(stmts []*syntax.Stmt) bool {
	found := false
	for _, st := range stmts {
		syntax.Walk(st, func(n syntax.Node) bool {
			if call, ok := n.(*syntax.CallExpr); ok && len(call.Args) > 0 {
				switch call.Args[0].Lit() {
				case "break", "exit", "return", "exec":
					found = true
				}
			}
			return !found
		})
	}
	return found
}

func has(args []string, opts ...string) bool {
	for _, a := range args {
		for _, o := range opts {
			if a == o {
				return true
			}
		}
	}
	return false
}

func hasPrefix(args []string, opts ...string) bool {
	for _, a := range args {
		for _, o := range opts {
			if a == o || strings.HasPrefix(a, o+"=") || (len(o) == 2 && strings.HasPrefix(a, o) && !strings.HasPrefix(a, "--")) {
				return true
			}
		}
	}
	return false
}

// hasShortFlag reports a bundled short option ("-nf" has f).
func hasShortFlag(args []string, flag byte) bool {
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' && a[1] != '-' && strings.IndexByte(a[1:], flag) >= 0 {
			return true
		}
	}
	return false
}

// skipOptions drops a wrapper's own options ("nice -n 5 cmd" -> "cmd").
func skipOptions(args []string) []string {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		opt := args[0]
		args = args[1:]
		if (opt == "-n" || opt == "-c" || opt == "-p" || opt == "-o" || opt == "-e") && len(args) > 0 {
			args = args[1:]
		}
	}
	return args
}
