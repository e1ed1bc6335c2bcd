package cron

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"rescue/checks"
	"rescue/checks/intrusion"
	"rescue/facts"
	"rescue/parse/crontab"
	"rescue/repair"
)

// Check is the cron check.
var Check = &checks.Check{
	Name:     "cron",
	Family:   intrusion.Family,
	Doc:      doc,
	Requires: []facts.Fact{facts.Packages, facts.Accounts},
	Kinds:    []string{"job", "script", "at-job"},
	Run:      run,
}

// Where cron and at keep their jobs on the distributions rescue knows.
var (
	systemCrontabs = []string{"/etc/crontab"}
	systemDirs     = []string{"/etc/cron.d"}
	spoolDirs      = []string{"/var/spool/cron/crontabs", "/var/spool/cron", "/var/spool/cron/tabs"}
	scriptDirs     = []string{"/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly", "/etc/cron.monthly", "/etc/cron.yearly"}
	atDirs         = []string{"/var/spool/cron/atjobs", "/var/spool/at"}
	anacrontabs    = []string{"/etc/anacrontab"}
)

// maxCrontab bounds a crontab read.
const maxCrontab = 4 << 20

func run(pass *checks.Pass) error {
	e := intrusion.New(pass)
	seen := map[string]bool{}
	files := func(list []string, dirs []string) []string {
		out := append([]string{}, list...)
		for _, d := range dirs {
			out = append(out, regularFiles(pass, d)...)
		}
		return out
	}
	for _, p := range files(systemCrontabs, systemDirs) {
		crontabFile(e, p, crontab.System, "", seen)
	}
	for _, d := range spoolDirs {
		for _, p := range regularFiles(pass, d) {
			crontabFile(e, p, crontab.User, path.Base(p), seen)
		}
	}
	for _, p := range anacrontabs {
		crontabFile(e, p, crontab.Anacrontab, "root", seen)
	}
	for _, d := range scriptDirs {
		for _, p := range regularFiles(pass, d) {
			script(e, p, seen)
		}
	}
	for _, d := range atDirs {
		for _, p := range regularFiles(pass, d) {
			atJob(e, p, seen)
		}
	}
	return nil
}

// regularFiles lists the regular files (and symlinks to them) directly in
// a directory; a missing directory has none.
func regularFiles(pass *checks.Pass, dir string) []string {
	entries, err := pass.Root.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, en := range entries {
		p := path.Join(dir, en.Name())
		if en.Type()&fs.ModeSymlink != 0 {
			if fi, err := pass.Root.Stat(p); err != nil || !fi.Mode().IsRegular() {
				continue
			}
		} else if !en.Type().IsRegular() {
			continue
		}
		if strings.HasPrefix(en.Name(), ".") && (en.Name() == ".placeholder" || en.Name() == ".SEQ" || en.Name() == ".lockfile") {
			continue
		}
		out = append(out, p)
	}
	return out
}

func read(e *intrusion.Engine, p string, seen map[string]bool) ([]byte, string, bool) {
	real, err := e.Root().Resolve(p)
	if err != nil || seen[real] {
		return nil, "", false
	}
	seen[real] = true
	data, err := e.Root().ReadFileLimit(real, maxCrontab)
	if err != nil {
		e.Pass().Note("%s not read: %v", real, err)
		return nil, "", false
	}
	return data, real, true
}

// crontabFile judges every job line of a crontab.
func crontabFile(e *intrusion.Engine, p string, format crontab.Format, user string, seen map[string]bool) {
	data, real, ok := read(e, p, seen)
	if !ok {
		return
	}
	f := crontab.Parse(data, format)
	for _, l := range f.Jobs() {
		u := user
		if format == crontab.System {
			u = l.User
		}
		home := e.HomeOf(u)
		cmd := intrusion.AnalyzeShell(l.Command, home)
		if l.Input != "" {
			// What cron feeds the command (after %) runs when the
			// command is a shell.
			in := intrusion.AnalyzeShell(l.Input, home)
			cmd.Marks = append(cmd.Marks, in.Marks...)
			cmd.URLs = append(cmd.URLs, in.URLs...)
			cmd.Hosts = append(cmd.Hosts, in.Hosts...)
		}
		what := fmt.Sprintf("cron job (%s) of %s", l.Schedule, u)
		if format == crontab.Anacrontab {
			what = fmt.Sprintf("anacron job %s (%s)", l.Name, l.Schedule)
		}
		en := &intrusion.Entry{
			Place: "cron", Kind: "job", What: what,
			Path: real, Line: l.N, Subject: fmt.Sprint(l.N), Text: l.Raw, Cmd: cmd,
			Files:  []intrusion.FileRef{{Path: real, Role: "entry"}},
			Impact: impact(l.Schedule),
		}
		op, err := intrusion.CommentLines(e.Root(), real, data, []int{l.N}, "cron job")
		if err != nil {
			en.DisableErr = err
		} else {
			en.Disable, en.DisableText = []repair.Op{op}, fmt.Sprintf("comment out line %d of %s", l.N, real)
		}
		e.Report(en)
	}
}

func impact(schedule string) string {
	switch {
	case strings.HasPrefix(schedule, "@reboot"):
		return "cron runs it at every boot: whatever is removed by hand comes back with the next start"
	case strings.HasPrefix(schedule, "* * * * *"), strings.HasPrefix(schedule, "*/1 * * * *"):
		return "cron runs it every minute: whatever is removed by hand comes back within a minute"
	}
	return "cron runs it again on its schedule: whatever is removed by hand comes back"
}

// script judges a script run-parts runs from /etc/cron.{hourly,…}: one a
// package installed and nobody changed is left alone; a changed one is
// judged statement by statement; one no package installed is judged as a
// whole and quarantined when marked.
func script(e *intrusion.Engine, p string, seen map[string]bool) {
	data, real, ok := read(e, p, seen)
	if !ok {
		return
	}
	base := intrusion.Entry{
		Place: "cron", Kind: "script", What: fmt.Sprintf("cron script %s", real),
		Impact: fmt.Sprintf("run-parts runs it %s: whatever is removed by hand comes back", period(path.Base(path.Dir(real)))),
	}
	f := e.Judge(real, "script")
	if f.Owned {
		if f.Changed {
			e.ScriptEntries(real, data, "/root", base)
		}
		return
	}
	en := base
	en.Path = real
	en.Files = []intrusion.FileRef{{Path: real, Role: "script"}}
	e.Report(&en)
}

func period(dir string) string {
	return map[string]string{"cron.hourly": "every hour", "cron.daily": "every day", "cron.weekly": "every week", "cron.monthly": "every month", "cron.yearly": "every year"}[dir]
}

// atJob judges one job of the at spool: the whole file is the job.
func atJob(e *intrusion.Engine, p string, seen map[string]bool) {
	_, real, ok := read(e, p, seen)
	if !ok {
		return
	}
	en := &intrusion.Entry{
		Place: "at", Kind: "at-job", What: fmt.Sprintf("at job %s", path.Base(real)),
		Path: real, Files: []intrusion.FileRef{{Path: real, Role: "script"}},
		Impact: "atd runs it at its time; droppers use at to come back after a cleanup",
	}
	e.Report(en)
}
