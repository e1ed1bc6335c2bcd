package preload

import (
	"fmt"
	"path"
	"strings"

	"rescue/checks"
	"rescue/checks/intrusion"
	"rescue/facts"
	"rescue/repair"
)

// Check is the preload check.
var Check = &checks.Check{
	Name:     "preload",
	Family:   intrusion.Family,
	Doc:      doc,
	Requires: []facts.Fact{facts.Packages, facts.Accounts},
	Kinds:    []string{"preload", "env-preload"},
	Run:      run,
}

const preloadPath = "/etc/ld.so.preload"

// libDirs are where ld.so looks for a preload entry without a slash, and
// what $LIB stands for.
var libDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

// envFiles hold environment assignments every login or service gets.
var envFiles = []string{"/etc/environment", "/etc/security/pam_env.conf", "/etc/systemd/system.conf", "/etc/systemd/user.conf"}
var envDirs = []string{"/etc/environment.d", "/usr/lib/environment.d", "/etc/systemd/system.conf.d", "/etc/systemd/user.conf.d"}

func run(pass *checks.Pass) error {
	e := intrusion.New(pass)
	preloadFile(e)
	var files []string
	files = append(files, envFiles...)
	for _, d := range envDirs {
		if m, err := pass.Root.Glob(d + "/*.conf"); err == nil {
			files = append(files, m...)
		}
	}
	for _, u := range e.Users() {
		if strings.HasPrefix(u.Home, "/") && u.Home != "/" {
			files = append(files, path.Join(u.Home, ".pam_environment"))
		}
	}
	seen := map[string]bool{}
	for _, p := range files {
		envFile(e, p, seen)
	}
	return nil
}

// entries splits a preload line as ld.so does: white space and colons
// separate names, # starts a comment.
func entries(line string) []string {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	return strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == ':' || r == '\r' })
}

// locate finds the file a preload entry names ("" when none).
func locate(e *intrusion.Engine, name string) []string {
	var cands []string
	switch {
	case strings.Contains(name, "$LIB") || strings.Contains(name, "${LIB}"):
		for _, l := range []string{"lib/x86_64-linux-gnu", "lib64", "lib", "lib/aarch64-linux-gnu"} {
			cands = append(cands, strings.NewReplacer("${LIB}", l, "$LIB", l).Replace(name))
		}
	case strings.Contains(name, "/"):
		cands = []string{name}
	default:
		for _, d := range libDirs {
			cands = append(cands, path.Join(d, name))
		}
	}
	for _, c := range cands {
		if strings.HasPrefix(c, "/") && e.Root().Exists(c) {
			return []string{c}
		}
	}
	return nil
}

func preloadFile(e *intrusion.Engine) {
	data, err := e.Root().ReadFileLimit(preloadPath, 1<<20)
	if err != nil {
		return // absent (the usual case), or libs says why
	}
	lines, _ := checks.Lines(data)
	for i, line := range lines {
		n := i + 1
		names := entries(line)
		if len(names) == 0 {
			continue
		}
		var refs []intrusion.FileRef
		var keep []string
		for _, name := range names {
			found := locate(e, name)
			if len(found) == 0 {
				continue // a missing library is the libs check's
			}
			f := e.Judge(found[0], "library")
			if f != nil && len(f.Marks) > 0 {
				refs = append(refs, intrusion.FileRef{Path: found[0], Role: "library"})
			} else {
				keep = append(keep, name)
			}
		}
		if len(refs) == 0 {
			continue
		}
		en := &intrusion.Entry{
			Place: "ld.so.preload", Kind: "preload", What: "library in " + preloadPath,
			Path: preloadPath, Line: n, Subject: fmt.Sprint(n), Text: line,
			Files:  append([]intrusion.FileRef{{Path: preloadPath, Role: "entry"}}, refs...),
			Impact: "ld.so loads it into every program that starts, sshd, ps and login included: a rootkit there hides the miner's processes and files from them",
		}
		var op repair.Op
		var msg string
		if len(keep) == 0 {
			op, err = intrusion.CommentLines(e.Root(), preloadPath, data, []int{n}, "preloaded library")
			msg = fmt.Sprintf("comment out line %d of %s", n, preloadPath)
		} else {
			text := checks.Marker + ": preloaded library: " + line + "\n" + strings.Join(keep, " ")
			var fx repair.Fix
			fx, err = checks.ReplaceLine(e.Root(), preloadPath, data, n, text, "")
			if err == nil {
				op = fx.Ops[0]
			}
			msg = fmt.Sprintf("comment out line %d of %s, keeping %s", n, preloadPath, strings.Join(keep, " "))
		}
		if err != nil {
			en.DisableErr = err
		} else {
			en.Disable, en.DisableText = []repair.Op{op}, msg
		}
		e.Report(en)
	}
}

// envFile judges the LD_PRELOAD and LD_AUDIT assignments of an
// environment file.
func envFile(e *intrusion.Engine, p string, seen map[string]bool) {
	real, err := e.Root().Resolve(p)
	if err != nil || seen[real] {
		return
	}
	seen[real] = true
	data, err := e.Root().ReadFileLimit(real, 1<<20)
	if err != nil {
		return
	}
	lines, _ := checks.Lines(data)
	for i, line := range lines {
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' || (!strings.Contains(t, "LD_PRELOAD") && !strings.Contains(t, "LD_AUDIT")) {
			continue
		}
		var refs []intrusion.FileRef
		for _, v := range values(t) {
			for _, name := range entries(strings.ReplaceAll(v, ",", " ")) {
				if found := locate(e, strings.Trim(name, `"'`)); len(found) > 0 {
					refs = append(refs, intrusion.FileRef{Path: found[0], Role: "library"})
				}
			}
		}
		if len(refs) == 0 {
			continue
		}
		n := i + 1
		en := &intrusion.Entry{
			Place: "environment", Kind: "env-preload", What: "LD_PRELOAD in " + real,
			Path: real, Line: n, Subject: fmt.Sprint(n), Text: line,
			Files:  append([]intrusion.FileRef{{Path: real, Role: "entry"}}, refs...),
			Impact: "every session or service that reads this environment loads the library into its programs",
		}
		op, err := intrusion.CommentLines(e.Root(), real, data, []int{n}, "preloaded library")
		if err != nil {
			en.DisableErr = err
		} else {
			en.Disable, en.DisableText = []repair.Op{op}, fmt.Sprintf("comment out line %d of %s", n, real)
		}
		e.Report(en)
	}
}

// values returns the values a line gives LD_PRELOAD or LD_AUDIT, in the
// forms environment files use: NAME=value (environment, environment.d,
// DefaultEnvironment="NAME=value …"), NAME DEFAULT=value OVERRIDE=value
// (pam_env.conf).
func values(t string) []string {
	var out []string
	for _, f := range strings.Fields(strings.NewReplacer(`"`, " ", `'`, " ").Replace(t)) {
		for _, key := range []string{"LD_PRELOAD=", "LD_AUDIT=", "DEFAULT=", "OVERRIDE="} {
			if v, ok := strings.CutPrefix(f, key); ok {
				out = append(out, v)
			}
			if _, v, ok := strings.Cut(f, "="+key); ok {
				out = append(out, v)
			}
		}
	}
	return out
}
