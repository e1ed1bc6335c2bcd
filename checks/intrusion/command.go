package intrusion

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"mvdan.cc/sh/v3/syntax"

	"rescue/checks"
	"rescue/parse/shell"
)

// Command is what a shell command does, as far as it can be told without
// running it: the files it runs or loads, the files it downloads into, the
// addresses it names, and what about it is suspicious.
type Command struct {
	Runs    []Run
	Writes  []string // files a download is saved into
	Args    []string // absolute paths given as arguments (a miner's config)
	URLs    []string
	Hosts   []string
	Wallets []string
	Marks   []checks.Mark
}

// Run is one file a command runs or loads.
type Run struct {
	Path string
	Role string // "program", "script", "library", "module"
}

// maxCommand bounds the text one analysis parses; maxDepth bounds how far
// sh -c, eval and base64 payloads are followed into each other.
const (
	maxCommand = 256 << 10
	maxDepth   = 4
)

// Shell names: a download or decoded text piped into one of these is run.
var (
	shells       = set("sh", "bash", "dash", "ksh", "zsh", "ash", "mksh", "busybox", "rbash")
	interpreters = set("python", "python2", "python3", "perl", "php", "ruby", "node", "lua", "tclsh")
	downloaders  = set("curl", "wget", "lwp-download", "lwp-request", "fetch", "tftp", "ftp", "aria2c", "axel", "GET", "lynx", "links", "scp", "rsync", "nc", "ncat", "netcat", "socat")
	// wrappers run their arguments as a command.
	wrappers = set("nohup", "exec", "nice", "ionice", "setsid", "stdbuf", "taskset", "chrt", "command", "builtin", "time", "env", "sudo", "doas", "flock", "timeout", "caffeinate", "torsocks", "proxychains", "proxychains4", "xargs", "watch")
	builtins = set("cd", "echo", "printf", "export", "unset", "set", "true", "false", "test", "[", "[[", "read", "local", "return", "exit", "shift", "eval", ".", "source", "alias", "unalias", "trap", "wait", "kill", "umask", "ulimit", "type", "hash", "declare", "typeset", "readonly", "let", "getopts", "pwd", "history", "shopt", "complete", "bind", "enable", "sleep", "break", "continue", "exec")
)

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// AnalyzeShell analyzes shell text. home expands ~ (the home of the user
// the command runs as); "" leaves ~ unexpanded.
func AnalyzeShell(text, home string) *Command {
	c := &Command{}
	a := &analyzer{home: home, cmd: c}
	a.text(text, 0)
	return c
}

type analyzer struct {
	home string
	cwd  string
	cmd  *Command
	// texts counts the pieces of text analyzed: sh -c strings, eval
	// arguments and base64 payloads inside each other are followed only
	// so far.
	texts int
}

// maxTexts bounds the pieces of text one analysis follows.
const maxTexts = 64

func (a *analyzer) mark(code, why string) {
	for _, m := range a.cmd.Marks {
		if m.Code == code {
			return
		}
	}
	a.cmd.Marks = append(a.cmd.Marks, checks.Mark{Code: code, Why: why})
}

func (a *analyzer) run(p, role string) {
	if p == "" {
		return
	}
	for _, r := range a.cmd.Runs {
		if r.Path == p {
			return
		}
	}
	a.cmd.Runs = append(a.cmd.Runs, Run{Path: p, Role: role})
}

func addUniq(list *[]string, s string) {
	if s != "" && !slices.Contains(*list, s) {
		*list = append(*list, s)
	}
}

// text analyzes one piece of shell text: parsed when it parses, and always
// scanned for addresses, pools, wallets and base64 payloads.
func (a *analyzer) text(s string, depth int) {
	if a.texts >= maxTexts {
		return
	}
	a.texts++
	if len(s) > maxCommand {
		s = s[:maxCommand]
	}
	a.scan(s, depth)
	f, err := ParseShell(s, "")
	if err != nil {
		a.fallback(s)
		return
	}
	a.stmts(f.Stmts, depth)
}

// ParseShell parses shell text as bash, comments dropped, never run,
// through parse/shell's guarded parser: a text the parser cannot take
// safely (nesting deep enough to overflow its stack) is an error, and the
// caller judges it as text.
func ParseShell(text, name string) (*syntax.File, error) {
	return shell.Parse([]byte(text), name, syntax.KeepComments(false))
}

// fallback is used when the text does not parse as shell (a crontab line
// with a % in it, a systemd command line): programs are the absolute
// paths at the start of each command, and pipes into shells are found in
// the text.
func (a *analyzer) fallback(s string) {
	for _, part := range regexp.MustCompile(`[;&|()]+`).Split(s, -1) {
		f := strings.Fields(part)
		for len(f) > 0 && (wrappers[path.Base(f[0])] || strings.Contains(f[0], "=")) {
			f = f[1:]
		}
		if len(f) > 0 && strings.HasPrefix(f[0], "/") {
			a.run(f[0], "program")
		}
	}
	if pipeToShellRE.MatchString(s) {
		if downloadRE.MatchString(s) {
			a.mark("download-to-shell", "pipes a download into a shell")
		}
		if decodeRE.MatchString(s) {
			a.mark("base64-to-shell", "decodes base64 into a shell")
		}
	}
}

var (
	pipeToShellRE = regexp.MustCompile(`\|\s*(?:sudo\s+)?(?:/[\w/.-]*/)?(?:ba|da|k|z|a)?sh\b`)
	downloadRE    = regexp.MustCompile(`\b(?:curl|wget|lwp-download|fetch|tftp)\b`)
	decodeRE      = regexp.MustCompile(`\bbase64\s+(?:-d|--decode|-D)\b|\bopenssl\s+(?:base64|enc)\b.*-d\b`)
)

func (a *analyzer) stmts(list []*syntax.Stmt, depth int) {
	for _, st := range list {
		a.stmt(st, depth)
	}
}

// stmt walks one statement in source order, so that a cd is seen before
// the relative paths after it.
func (a *analyzer) stmt(st *syntax.Stmt, depth int) {
	if st == nil {
		return
	}
	if bc, ok := st.Cmd.(*syntax.BinaryCmd); ok && (bc.Op == syntax.Pipe || bc.Op == syntax.PipeAll) {
		a.pipeline(flatten(st), depth)
	}
	for _, r := range st.Redirs {
		a.redirect(r, st, depth)
	}
	switch c := st.Cmd.(type) {
	case *syntax.CallExpr:
		a.call(c, st, depth)
	case *syntax.BinaryCmd:
		a.stmt(c.X, depth)
		a.stmt(c.Y, depth)
	case *syntax.Subshell:
		a.stmts(c.Stmts, depth)
	case *syntax.Block:
		a.stmts(c.Stmts, depth)
	case *syntax.IfClause:
		for e := c; e != nil; e = e.Else {
			a.stmts(e.Cond, depth)
			a.stmts(e.Then, depth)
		}
	case *syntax.WhileClause:
		a.stmts(c.Cond, depth)
		a.stmts(c.Do, depth)
	case *syntax.ForClause:
		a.substs(c.Loop, depth)
		a.stmts(c.Do, depth)
	case *syntax.CaseClause:
		a.substs(c.Word, depth)
		for _, it := range c.Items {
			a.stmts(it.Stmts, depth)
		}
	case *syntax.FuncDecl:
		a.stmt(c.Body, depth)
	case *syntax.DeclClause:
		// export/declare/local/readonly NAME=value.
		a.substs(c, depth)
		for _, as := range c.Args {
			if as.Name != nil && as.Value != nil {
				a.assign(as.Name.Value, wordText(as.Value))
			}
		}
	case *syntax.TimeClause:
		a.stmt(c.Stmt, depth)
	case *syntax.CoprocClause:
		a.stmt(c.Stmt, depth)
	}
}

// substs analyzes the command and process substitutions in a node (not
// below statements: those are analyzed as statements), which run too.
func (a *analyzer) substs(n syntax.Node, depth int) {
	if n == nil || depth >= maxDepth {
		return
	}
	syntax.Walk(n, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.CmdSubst:
			a.stmts(n.Stmts, depth+1)
			return false
		case *syntax.ProcSubst:
			a.stmts(n.Stmts, depth+1)
			return false
		case *syntax.Stmt:
			return false
		}
		return true
	})
}

// flatten returns the stages of a pipeline, left to right.
func flatten(st *syntax.Stmt) []*syntax.Stmt {
	if bc, ok := st.Cmd.(*syntax.BinaryCmd); ok && (bc.Op == syntax.Pipe || bc.Op == syntax.PipeAll) {
		return append(flatten(bc.X), flatten(bc.Y)...)
	}
	return []*syntax.Stmt{st}
}

// pipeline marks a download or a base64 decoding piped into a shell.
func (a *analyzer) pipeline(stages []*syntax.Stmt, depth int) {
	var dl, dec string
	for _, st := range stages {
		if sink := shellSink(st); sink != "" {
			if dl != "" {
				a.mark("download-to-shell", fmt.Sprintf("pipes a download (%s) into a shell (%s): it runs whatever the server sends", dl, sink))
			}
			if dec != "" {
				a.mark("base64-to-shell", fmt.Sprintf("decodes base64 (%s) into a shell (%s): the commands it runs are hidden from a reader", dec, sink))
			}
		}
		if d := findDownloader(st); d != "" && dl == "" {
			dl = d
		}
		if d := findDecoder(st); d != "" && dec == "" {
			dec = d
		}
	}
}

// unwrap skips wrapper commands (nohup, env A=B, timeout 5, sudo, …) and
// returns the words of the command that really runs.
func unwrap(args []*syntax.Word) []*syntax.Word {
	for n := 0; len(args) > 0 && n < 8; n++ {
		name := path.Base(lit(args[0]))
		if !wrappers[name] {
			return args
		}
		args = skipWrapperArgs(name, args[1:])
	}
	return args
}

// wrapperPositional is how many arguments a wrapper takes before the
// command (timeout's duration, flock's lock file, …); wrapperValueOpts are
// its options that take a separate value.
var (
	wrapperPositional = map[string]int{"timeout": 1, "taskset": 1, "flock": 1, "chrt": 1}
	wrapperValueOpts  = set("-n", "-c", "-u", "-g", "-s", "-k", "-w", "-E", "-p", "-C", "-D", "-h", "-t", "-U", "-d", "--signal", "--kill-after", "--user", "--group")
)

func skipWrapperArgs(name string, args []*syntax.Word) []*syntax.Word {
	positional := wrapperPositional[name]
	for len(args) > 0 {
		s := lit(args[0])
		switch {
		case s == "--":
			return args[1:]
		case strings.HasPrefix(s, "-"):
			args = args[1:]
			if wrapperValueOpts[s] && name != "taskset" && len(args) > 0 {
				args = args[1:]
			}
		case name == "env" && strings.Contains(s, "="):
			args = args[1:]
		case positional > 0:
			positional--
			args = args[1:]
		default:
			return args
		}
	}
	return args
}

// envAssigns returns the NAME=value pairs an env wrapper sets.
func envAssigns(args []*syntax.Word) []string {
	var out []string
	inEnv := false
	for _, w := range args {
		s := lit(w)
		if path.Base(s) == "env" {
			inEnv = true
			continue
		}
		if inEnv && strings.Contains(s, "=") && !strings.HasPrefix(s, "-") {
			out = append(out, s)
			continue
		}
		if inEnv && strings.HasPrefix(s, "-") {
			continue
		}
		inEnv = false
	}
	return out
}

// shellSink names the shell a pipeline stage runs reading its standard
// input, or "".
func shellSink(st *syntax.Stmt) string {
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) == 0 {
		return ""
	}
	args := unwrap(call.Args)
	if len(args) == 0 {
		return ""
	}
	name := path.Base(lit(args[0]))
	rest := args[1:]
	if name == "busybox" && len(rest) > 0 && shells[lit(rest[0])] {
		name, rest = "busybox "+lit(rest[0]), rest[1:]
	}
	isShell := shells[name] || strings.HasPrefix(name, "busybox ")
	isInterp := interpreters[name] || strings.HasPrefix(name, "python3.") || strings.HasPrefix(name, "php")
	if !isShell && !isInterp {
		return ""
	}
	for _, w := range rest {
		s := lit(w)
		if s == "-" || s == "-s" {
			return name
		}
		if s == "-c" || s == "-e" || (!strings.HasPrefix(s, "-") && s != "") {
			return "" // it runs a command or a file, not its input
		}
	}
	return name
}

// findDownloader names a downloader that runs in the statement, or "".
func findDownloader(st *syntax.Stmt) string {
	found := ""
	syntax.Walk(st, func(n syntax.Node) bool {
		if found != "" {
			return false
		}
		switch n := n.(type) {
		case *syntax.CallExpr:
			args := unwrap(n.Args)
			if len(args) == 0 {
				return true
			}
			name := path.Base(lit(args[0]))
			if name == "busybox" && len(args) > 1 {
				name = lit(args[1])
			}
			if downloaders[name] {
				found = name
			}
			if (interpreters[name] || strings.HasPrefix(name, "python")) && inlineDownload(args) {
				found = name
			}
		case *syntax.Redirect:
			if n.Word != nil && strings.Contains(wordText(n.Word), "/dev/tcp/") {
				found = "/dev/tcp"
			}
		}
		return true
	})
	return found
}

// inlineDownload reports whether an interpreter's -c/-e code fetches a URL.
func inlineDownload(args []*syntax.Word) bool {
	for i, w := range args {
		if s := lit(w); (s == "-c" || s == "-e") && i+1 < len(args) {
			code := wordText(args[i+1])
			for _, k := range []string{"urlopen", "urllib", "requests.get", "LWP::", "IO::Socket", "file_get_contents(\"http", "Net::HTTP", "http.get("} {
				if strings.Contains(code, k) {
					return true
				}
			}
		}
	}
	return false
}

// findDecoder names a base64 decoder that runs in the statement, or "".
func findDecoder(st *syntax.Stmt) string {
	found := ""
	syntax.Walk(st, func(n syntax.Node) bool {
		call, ok := n.(*syntax.CallExpr)
		if !ok || found != "" {
			return found == ""
		}
		args := unwrap(call.Args)
		if len(args) == 0 {
			return true
		}
		name := path.Base(lit(args[0]))
		var opts []string
		for _, w := range args[1:] {
			opts = append(opts, lit(w))
		}
		switch {
		case (name == "base64" || name == "base32") && hasAny(opts, "-d", "--decode", "-D", "-di", "-id"):
			found = name + " -d"
		case name == "openssl" && len(opts) > 0 && (opts[0] == "base64" || opts[0] == "enc") && hasAny(opts, "-d", "-a", "-base64"):
			found = "openssl " + opts[0] + " -d"
		case name == "xxd" && hasAny(opts, "-r", "-r -p", "-rp"):
			found = "xxd -r"
		case (interpreters[name] || strings.HasPrefix(name, "python")) && codeHas(args, "b64decode", "decode_base64", "base64_decode", "Base64.decode"):
			found = name + " (base64 decode)"
		}
		return true
	})
	return found
}

func hasAny(list []string, want ...string) bool {
	for _, s := range list {
		if slices.Contains(want, s) {
			return true
		}
	}
	return false
}

func codeHas(args []*syntax.Word, keys ...string) bool {
	for _, w := range args {
		t := wordText(w)
		for _, k := range keys {
			if strings.Contains(t, k) {
				return true
			}
		}
	}
	return false
}

// redirect handles a statement's redirections: /dev/tcp connections, and
// input fed to a shell from a download or a decoder (sh < <(curl …),
// bash <<< "$(curl …)").
func (a *analyzer) redirect(r *syntax.Redirect, st *syntax.Stmt, depth int) {
	if r.Hdoc != nil {
		// A here-document fed to a shell is run (at jobs are written
		// so: ${SHELL:-/bin/sh} << 'marcinDELIMITER…').
		body := hdocText(r.Hdoc)
		if (isShellCall(st) || paramCommand(st)) && depth < maxDepth {
			a.text(body, depth+1)
		} else {
			a.scan(body, maxDepth)
		}
	}
	if r.Word == nil {
		return
	}
	a.substs(r.Word, depth)
	t := wordText(r.Word)
	if strings.Contains(t, "/dev/tcp/") || strings.Contains(t, "/dev/udp/") {
		a.devTCP(t)
	}
	if shellSink(st) == "" && !isShellCall(st) {
		return
	}
	syntax.Walk(r.Word, func(n syntax.Node) bool {
		var stmts []*syntax.Stmt
		switch n := n.(type) {
		case *syntax.CmdSubst:
			stmts = n.Stmts
		case *syntax.ProcSubst:
			stmts = n.Stmts
		default:
			return true
		}
		for _, s := range stmts {
			if d := findDownloader(s); d != "" {
				a.mark("download-to-shell", fmt.Sprintf("feeds a download (%s) to a shell: it runs whatever the server sends", d))
			}
			if d := findDecoder(s); d != "" {
				a.mark("base64-to-shell", fmt.Sprintf("feeds decoded base64 (%s) to a shell: the commands it runs are hidden from a reader", d))
			}
		}
		return false
	})
}

// paramCommand says whether the command name is a parameter expansion
// (${SHELL:-/bin/sh}).
func paramCommand(st *syntax.Stmt) bool {
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(call.Args) == 0 || len(call.Args[0].Parts) != 1 {
		return false
	}
	_, ok = call.Args[0].Parts[0].(*syntax.ParamExp)
	return ok
}

// hdocText is the body of a here-document as written.
func hdocText(w *syntax.Word) string {
	var b strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(p.Value)
		default:
			b.WriteString(wordText(&syntax.Word{Parts: []syntax.WordPart{p}}))
		}
	}
	return b.String()
}

func isShellCall(st *syntax.Stmt) bool {
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok {
		return false
	}
	args := unwrap(call.Args)
	return len(args) > 0 && (shells[path.Base(lit(args[0]))] || lit(args[0]) == "." || lit(args[0]) == "source")
}

var devTCPRE = regexp.MustCompile(`/dev/(?:tcp|udp)/([^/\s"'$]+)/(\d+)`)

func (a *analyzer) devTCP(t string) {
	for _, m := range devTCPRE.FindAllStringSubmatch(t, -1) {
		addUniq(&a.cmd.Hosts, m[1])
		a.mark("dev-tcp", fmt.Sprintf("opens a network connection to %s port %s through bash's /dev/tcp (a reverse shell or a downloader that needs no curl)", m[1], m[2]))
	}
}

// call handles one simple command.
func (a *analyzer) call(c *syntax.CallExpr, st *syntax.Stmt, depth int) {
	a.substs(c, depth)
	for _, as := range c.Assigns {
		if as.Name != nil && as.Value != nil {
			a.assign(as.Name.Value, wordText(as.Value))
		}
	}
	for _, kv := range envAssigns(c.Args) {
		k, v, _ := strings.Cut(kv, "=")
		a.assign(k, v)
	}
	// A wrapper given by path (/usr/bin/nohup, or a fake /dev/shm/.s/sudo)
	// is a program that runs too.
	for _, w := range c.Args[:len(c.Args)-len(unwrap(c.Args))] {
		if p := lit(w); strings.Contains(p, "/") {
			a.run(a.abs(p), "program")
		}
	}
	args := unwrap(c.Args)
	if len(args) == 0 {
		return
	}
	name0 := lit(args[0])
	name := path.Base(name0)
	var rest []string
	for _, w := range args[1:] {
		rest = append(rest, lit(w))
	}
	switch {
	case name0 == "cd" && len(rest) > 0:
		if p := a.abs(rest[0]); p != "" {
			a.cwd = p
		}
		return
	case name0 == "." || name0 == "source":
		if len(args) > 1 {
			if p := a.abs(rest[0]); p != "" {
				a.run(p, "script")
			}
			a.procSubstInto(args[1:], "source")
		}
		return
	case name0 == "alias":
		// alias sudo='…' runs its value whenever the name is typed.
		for _, w := range args[1:] {
			if _, v, ok := strings.Cut(wordText(w), "="); ok && depth < maxDepth {
				a.text(strings.Trim(v, `'"`), depth+1)
			}
		}
		return
	case name0 == "eval":
		if depth < maxDepth {
			var parts []string
			for _, w := range args[1:] {
				parts = append(parts, wordText(w))
			}
			a.substInto(args[1:], "eval")
			a.text(strings.Join(parts, " "), depth+1)
		}
		return
	case name == "chattr" && hasAnyPrefix(rest, "+i", "+a", "+ia", "+ai"):
		a.mark("chattr", "sets chattr +i/+a so that its files cannot be changed or removed, even by root")
	case name == "insmod" && len(rest) > 0:
		for _, r := range rest {
			if p := a.abs(r); p != "" {
				a.run(p, "module")
				if !underModules(p) {
					a.mark("odd-module-path", fmt.Sprintf("loads the kernel module %s from outside /lib/modules", p))
				}
			}
		}
	case (name == "nc" || name == "ncat" || name == "netcat") && hasAny(rest, "-e", "-c"):
		a.mark("reverse-shell", fmt.Sprintf("%s -e hands a shell to whoever is at the other end", name))
	case name == "socat" && anyContains(rest, "exec:", "system:", "EXEC:", "SYSTEM:"):
		a.mark("reverse-shell", "socat exec: hands a shell to whoever is at the other end")
	}
	if builtins[name0] {
		return
	}
	prog := a.program(name0)
	if prog != "" {
		a.run(prog, "program")
	}
	for _, r := range rest {
		if _, v, ok := strings.Cut(r, "="); ok && strings.HasPrefix(r, "-") {
			r = v
		}
		if p := a.abs(r); p != "" && p != "/" && !strings.HasPrefix(p, "/dev/") && !strings.HasPrefix(p, "/proc/") {
			addUniq(&a.cmd.Args, p)
		}
	}
	// A shell or interpreter with a file runs that file; with -c it runs
	// the text, which is followed.
	if shells[name] || interpreters[name] || strings.HasPrefix(name, "python") {
		for i, r := range rest {
			switch {
			case r == "-c" && shells[name] && i+1 < len(rest):
				a.substInto(args[i+2:i+3], name+" -c")
				if depth < maxDepth {
					a.text(wordText(args[i+2]), depth+1)
				}
			case r == "-c" || r == "-e" || r == "-m":
				// Inline code of an interpreter: scanned as text above.
			case strings.HasPrefix(r, "-"):
				continue
			default:
				if i > 0 && (rest[i-1] == "-c" || rest[i-1] == "-e" || rest[i-1] == "-m") {
					continue
				}
				if p := a.abs(r); p != "" {
					a.run(p, "script")
				}
			}
			if r == "-c" || r == "-e" || r == "-m" || (!strings.HasPrefix(r, "-") && r != "") {
				break
			}
		}
		a.procSubstInto(args[1:], name)
	}
	if downloaders[name] {
		a.download(name, rest, st)
	}
}

// substInto marks $(download) and $(decode) in the words a shell runs as
// text (sh -c "$(curl …)", eval "$(echo … | base64 -d)").
func (a *analyzer) substInto(words []*syntax.Word, by string) {
	for _, w := range words {
		syntax.Walk(w, func(n syntax.Node) bool {
			cs, ok := n.(*syntax.CmdSubst)
			if !ok {
				return true
			}
			for _, s := range cs.Stmts {
				if d := findDownloader(s); d != "" {
					a.mark("download-to-shell", fmt.Sprintf("runs a download (%s) with %s: it runs whatever the server sends", d, by))
				}
				if d := findDecoder(s); d != "" {
					a.mark("base64-to-shell", fmt.Sprintf("runs decoded base64 (%s) with %s: the commands it runs are hidden from a reader", d, by))
				}
			}
			return false
		})
	}
}

// procSubstInto marks a shell or source reading a process substitution
// that downloads (bash <(curl …), . <(wget -O- …)).
func (a *analyzer) procSubstInto(words []*syntax.Word, by string) {
	for _, w := range words {
		for _, p := range w.Parts {
			ps, ok := p.(*syntax.ProcSubst)
			if !ok {
				continue
			}
			for _, s := range ps.Stmts {
				if d := findDownloader(s); d != "" {
					a.mark("download-to-shell", fmt.Sprintf("runs a download (%s) with %s: it runs whatever the server sends", d, by))
				}
				if d := findDecoder(s); d != "" {
					a.mark("base64-to-shell", fmt.Sprintf("runs decoded base64 (%s) with %s", d, by))
				}
			}
		}
	}
}

// assign handles NAME=value before a command or in env.
func (a *analyzer) assign(name, value string) {
	if name != "LD_PRELOAD" && name != "LD_AUDIT" {
		return
	}
	// The library is judged as a file: preloading one a package
	// installed (jemalloc for a database) is ordinary.
	for _, lib := range strings.FieldsFunc(value, func(r rune) bool { return r == ':' || r == ' ' }) {
		if p := a.abs(lib); p != "" {
			a.run(p, "library")
		}
	}
}

// download records what a downloader fetches and where it saves it.
func (a *analyzer) download(name string, args []string, st *syntax.Stmt) {
	for i, s := range args {
		switch {
		case (name == "curl" && (s == "-o" || s == "--output")) || (name == "wget" && (s == "-O" || s == "--output-document")):
			if i+1 < len(args) {
				if p := a.abs(args[i+1]); p != "" {
					addUniq(&a.cmd.Writes, p)
				}
			}
		case name == "wget" && strings.HasPrefix(s, "--output-document="):
			if p := a.abs(strings.TrimPrefix(s, "--output-document=")); p != "" {
				addUniq(&a.cmd.Writes, p)
			}
		case strings.HasPrefix(s, "-") || s == "":
		default:
			// A bare address: 1.2.3.4/x.sh or host:port/path.
			if !strings.Contains(s, "://") && bareAddrRE.MatchString(s) {
				addUniq(&a.cmd.URLs, s)
				host, _, _ := strings.Cut(s, "/")
				if h, _, err := net.SplitHostPort(host); err == nil {
					host = h
				}
				addUniq(&a.cmd.Hosts, host)
			}
		}
	}
	for _, r := range st.Redirs {
		if r.Word != nil && (r.Op == syntax.RdrOut || r.Op == syntax.AppOut || r.Op == syntax.RdrClob) {
			if p := a.abs(wordText(r.Word)); p != "" && !strings.HasPrefix(p, "/dev/") {
				addUniq(&a.cmd.Writes, p)
			}
		}
	}
}

var bareAddrRE = regexp.MustCompile(`^(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?(?:/\S*)?$|^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?::\d+)?/\S+$`)

// program resolves a command name to a file: absolute, relative to the
// last cd, ~-relative, or a bare name found on the standard PATH (the
// caller checks existence; bare names are returned as "name" to be looked
// up by the engine).
func (a *analyzer) program(name string) string {
	if name == "" || strings.ContainsAny(name, "$`") {
		return ""
	}
	if !strings.Contains(name, "/") {
		return "PATH:" + name
	}
	return a.abs(name)
}

// abs makes a path absolute: ~ and $HOME with the home, relative paths
// with the last cd. "" when it cannot be told.
func (a *analyzer) abs(p string) string {
	switch {
	case p == "" || strings.ContainsAny(p, "`*?") || strings.HasPrefix(p, "-"):
		return ""
	case strings.HasPrefix(p, "/"):
		return path.Clean(p)
	case p == "~" || strings.HasPrefix(p, "~/"):
		if a.home == "" {
			return ""
		}
		return path.Clean(a.home + p[1:])
	case strings.HasPrefix(p, "$HOME/") || strings.HasPrefix(p, "${HOME}/"):
		if a.home == "" {
			return ""
		}
		_, rest, _ := strings.Cut(p, "/")
		return path.Clean(a.home + "/" + rest)
	case strings.Contains(p, "$"):
		return ""
	case a.cwd != "" && (strings.HasPrefix(p, "./") || strings.Contains(p, "/")):
		return path.Clean(a.cwd + "/" + p)
	}
	return ""
}

func underModules(p string) bool {
	return strings.HasPrefix(p, "/lib/modules/") || strings.HasPrefix(p, "/usr/lib/modules/")
}

func hasAnyPrefix(list []string, prefixes ...string) bool {
	for _, s := range list {
		for _, p := range prefixes {
			if strings.HasPrefix(s, p) {
				return true
			}
		}
	}
	return false
}

func anyContains(list []string, subs ...string) bool {
	for _, s := range list {
		for _, p := range subs {
			if strings.Contains(s, p) {
				return true
			}
		}
	}
	return false
}

// lit renders a word that is literal (plain, quoted, or $HOME-free), or "".
func lit(w *syntax.Word) string {
	if w == nil {
		return ""
	}
	var b strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			b.WriteString(p.Value)
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				l, ok := q.(*syntax.Lit)
				if !ok {
					return ""
				}
				b.WriteString(l.Value)
			}
		default:
			return ""
		}
	}
	return b.String()
}

// wordText renders a word as close to its text as possible: literals as
// they are, parameters as $NAME, substitutions as $(…) with their text.
func wordText(w *syntax.Word) string {
	if w == nil {
		return ""
	}
	var b bytes.Buffer
	syntax.NewPrinter(syntax.Minify(false)).Print(&b, w)
	s := b.String()
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		s = s[1 : len(s)-1]
	}
	return s
}

// Text-level scanning: what an entry names, wherever it stands.
var (
	urlRE    = regexp.MustCompile(`(?i)\b(?:https?|ftp|tftp|stratum\d?\+(?:tcp|ssl|tls))://[^\s'"<>|;&)(\\` + "`" + `]+`)
	ipv4RE   = regexp.MustCompile(`\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b`)
	base64RE = regexp.MustCompile(`[A-Za-z0-9+/]{40,}={0,2}`)
)

// genericNames are miner program names too plain to mark in a command's
// text (a script may well be called sysupdate); they still mark a file
// that no package installed.
var genericNames = set("sysupdate", "networkservice", "sysguard", "phpguard", "dbused", "dbusex", "xmr", "monero", "solrd", "redtail", "moneroocean", "c3pool")

func (a *analyzer) scan(s string, depth int) {
	for _, u := range urlRE.FindAllString(s, -1) {
		u = strings.TrimRight(u, ".,")
		addUniq(&a.cmd.URLs, u)
		if pu, err := url.Parse(u); err == nil && pu.Hostname() != "" {
			addUniq(&a.cmd.Hosts, pu.Hostname())
		}
	}
	for _, ip := range ipv4RE.FindAllString(s, -1) {
		if ip != "127.0.0.1" && ip != "0.0.0.0" && !strings.HasPrefix(ip, "255.") {
			addUniq(&a.cmd.Hosts, ip)
		}
	}
	if strings.Contains(s, "/dev/tcp/") || strings.Contains(s, "/dev/udp/") {
		a.devTCP(s)
	}
	low := strings.ToLower(s)
	for _, p := range poolMarkers {
		if strings.Contains(low, p) {
			a.mark("miner", fmt.Sprintf("names a mining pool (%s)", strings.TrimSuffix(p, "://")))
			break
		}
	}
	if m := minerNameStrong(s); m != "" {
		a.mark("miner", fmt.Sprintf("names the miner %s", m))
	}
	for _, w := range walletRE.FindAllString(s, -1) {
		addUniq(&a.cmd.Wallets, w)
		a.mark("wallet", fmt.Sprintf("names a Monero wallet (%s…)", w[:12]))
	}
	if depth >= maxDepth {
		return
	}
	for _, enc := range base64RE.FindAllString(s, 32) {
		dec, ok := decodeText(enc)
		if !ok {
			continue
		}
		before := len(a.cmd.Marks)
		a.text(dec, depth+1)
		for i := before; i < len(a.cmd.Marks); i++ {
			a.cmd.Marks[i].Why += " (in base64-encoded text)"
		}
	}
}

// decodeText decodes base64 that holds text (a script), and says whether
// it did.
func decodeText(s string) (string, bool) {
	var b []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		if b, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil || len(b) < 8 || !utf8.Valid(b) {
		return "", false
	}
	printable := 0
	for _, r := range string(b) {
		if r == '\n' || r == '\t' || (r >= 0x20 && r != 0x7f) {
			printable++
		}
	}
	if printable*10 < utf8.RuneCount(b)*9 {
		return "", false
	}
	return string(b), true
}

// minerNameStrong is minerName without the names too plain for text.
func minerNameStrong(s string) string {
	word := func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}
	for _, w := range strings.FieldsFunc(s, word) {
		lw := strings.ToLower(w)
		if minerSet[lw] && !genericNames[lw] {
			return w
		}
	}
	return ""
}
