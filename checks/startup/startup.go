package startup

import (
	"fmt"
	"path"
	"strings"

	"rescue/checks"
	"rescue/checks/intrusion"
	"rescue/facts"
)

// Check is the startup check.
var Check = &checks.Check{
	Name:     "startup",
	Family:   intrusion.Family,
	Doc:      doc,
	Requires: []facts.Fact{facts.Packages, facts.Accounts},
	Kinds:    []string{"startup"},
	Run:      run,
}

// The shell start-up files of the system, and of each user's home.
var (
	systemFiles = []string{
		"/etc/profile", "/etc/bash.bashrc", "/etc/bashrc", "/etc/bash.bash_logout", "/etc/environment.sh",
		"/etc/zsh/zshrc", "/etc/zsh/zprofile", "/etc/zsh/zshenv", "/etc/zsh/zlogin", "/etc/zshrc", "/etc/zprofile", "/etc/zshenv",
		"/etc/ksh.kshrc", "/etc/mkshrc",
	}
	systemGlobs = []string{"/etc/profile.d/*.sh", "/etc/bashrc.d/*"}
	homeFiles   = []string{".bashrc", ".bash_profile", ".bash_login", ".profile", ".bash_logout", ".bash_aliases", ".zshrc", ".zprofile", ".zshenv", ".zlogin", ".kshrc", ".mkshrc"}
)

// maxStartup bounds a start-up file read.
const maxStartup = 1 << 20

func run(pass *checks.Pass) error {
	e := intrusion.New(pass)
	seen := map[string]bool{}
	for _, p := range systemFiles {
		file(e, p, "/root", "system", seen)
	}
	for _, g := range systemGlobs {
		m, _ := pass.Root.Glob(g)
		for _, p := range m {
			file(e, p, "/root", "system", seen)
		}
	}
	for _, f := range homeFiles {
		file(e, path.Join("/etc/skel", f), "/root", "new users", seen)
	}
	for _, u := range e.Users() {
		if !strings.HasPrefix(u.Home, "/") || u.Home == "/" {
			continue
		}
		for _, f := range homeFiles {
			file(e, path.Join(u.Home, f), u.Home, u.Name, seen)
		}
	}
	return nil
}

func file(e *intrusion.Engine, p, home, who string, seen map[string]bool) {
	real, err := e.Root().Resolve(p)
	if err != nil || seen[real] {
		return
	}
	seen[real] = true
	fi, err := e.Root().Stat(real)
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	f := e.Judge(real, "entry")
	if f.Owned && !f.Changed {
		return
	}
	data, err := e.Root().ReadFileLimit(real, maxStartup)
	if err != nil {
		e.Pass().Note("%s not read: %v", real, err)
		return
	}
	impact := fmt.Sprintf("every login shell of %s runs it: at the console, over ssh, and in scripts that start one", who)
	if who == "system" {
		impact = "every login shell runs it, whoever logs in: at the console, over ssh, and in scripts that start one"
	} else if who == "new users" {
		impact = "it is copied into the home of every user created from now on, and runs in their shells"
	}
	e.ScriptEntries(real, data, home, intrusion.Entry{
		Place: "shell-startup", Kind: "startup", What: "start-up command in " + real,
		Impact: impact,
	})
}
