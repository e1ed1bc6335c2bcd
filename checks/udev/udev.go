package udev

import (
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/checks/intrusion"
	"rescue/facts"
	"rescue/parse/udevrules"
	"rescue/repair"
)

// Check is the udev check.
var Check = &checks.Check{
	Name:     "udev",
	Family:   intrusion.Family,
	Doc:      doc,
	Requires: []facts.Fact{facts.Packages, facts.Accounts},
	Kinds:    []string{"rule"},
	Run:      run,
}

var ruleDirs = []string{"/etc/udev/rules.d", "/run/udev/rules.d", "/usr/local/lib/udev/rules.d", "/lib/udev/rules.d", "/usr/lib/udev/rules.d"}

func run(pass *checks.Pass) error {
	e := intrusion.New(pass)
	seen := map[string]bool{}
	for _, d := range ruleDirs {
		m, _ := pass.Root.Glob(d + "/*.rules")
		for _, p := range m {
			file(e, p, seen)
		}
	}
	return nil
}

func file(e *intrusion.Engine, p string, seen map[string]bool) {
	real, err := e.Root().Resolve(p)
	if err != nil || seen[real] {
		return
	}
	seen[real] = true
	f := e.Judge(real, "entry")
	if f == nil || f.Missing || f.Type != "file" || (f.Owned && !f.Changed) {
		return
	}
	data, err := e.Root().ReadFileLimit(real, 4<<20)
	if err != nil {
		return
	}
	for _, r := range udevrules.Parse(data) {
		if len(r.Programs) == 0 {
			continue
		}
		cmd := &intrusion.Command{}
		for _, prog := range r.Programs {
			c := intrusion.AnalyzeShell(program(prog.Value), "/root")
			cmd.Runs = append(cmd.Runs, c.Runs...)
			cmd.Marks = append(cmd.Marks, c.Marks...)
			cmd.URLs = append(cmd.URLs, c.URLs...)
			cmd.Hosts = append(cmd.Hosts, c.Hosts...)
			cmd.Args = append(cmd.Args, c.Args...)
		}
		en := &intrusion.Entry{
			Place: "udev", Kind: "rule", What: "udev rule in " + real,
			Path: real, Line: r.First, Subject: strconv.Itoa(r.First), Text: r.Text, Cmd: cmd,
			Files:  []intrusion.FileRef{{Path: real, Role: "entry"}},
			Impact: "udevd runs it as root whenever a matching device appears: at every boot for the devices that are there",
		}
		var lines []int
		for l := r.First; l <= r.Last; l++ {
			lines = append(lines, l)
		}
		op, err := intrusion.CommentLines(e.Root(), real, data, lines, "udev rule")
		if err != nil {
			en.DisableErr = err
		} else {
			en.Disable, en.DisableText = []repair.Op{op}, intrusion.CommentText(real, lines)
		}
		e.Report(en)
	}
}

// program turns a udev command into a command line: a name without a
// slash is looked for in /lib/udev (udevd's own directory), and udev's
// substitutions ($devnode, %k) are left as they are.
func program(v string) string {
	f := strings.Fields(v)
	if len(f) > 0 && !strings.Contains(f[0], "/") {
		f[0] = "/lib/udev/" + f[0]
	}
	return strings.Join(f, " ")
}
