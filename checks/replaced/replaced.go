package replaced

import (
	"fmt"
	"path"
	"strings"

	"rescue/checks"
	"rescue/checks/internal/restore"
	"rescue/checks/intrusion"
	"rescue/facts"
	"rescue/pkgdb"
	"rescue/repair"
)

// Check is the replaced check.
var Check = &checks.Check{
	Name:     "replaced",
	Family:   intrusion.Family,
	Doc:      doc,
	Requires: []facts.Fact{facts.Packages, facts.Accounts},
	Kinds:    []string{"shadows", "replaced"},
	Run:      run,
}

var (
	binDirs   = []string{"/usr/bin", "/usr/sbin", "/bin", "/sbin"}
	localDirs = []string{"/usr/local/bin", "/usr/local/sbin"}
)

func run(pass *checks.Pass) error {
	e := intrusion.New(pass)
	if e.DB() == nil {
		pass.Note("no package database: programs replaced by a rootkit cannot be told from the package's")
		return nil
	}
	var cands []string
	seen := map[string]bool{}
	packaged := map[string]string{} // name -> a packaged path
	for _, name := range intrusion.TrojanTargets() {
		for _, d := range binDirs {
			real, err := pass.Root.Resolve(path.Join(d, name))
			if err != nil || seen[real] {
				continue
			}
			seen[real] = true
			if fi, err := pass.Root.Stat(real); err != nil || !fi.Mode().IsRegular() || !e.Owned(real) {
				continue
			}
			cands = append(cands, real)
			packaged[name] = real
		}
	}
	res, err := pass.Facts.VerifyPaths(cands...)
	if err != nil {
		pass.Note("the programs rootkits replace could not be verified: %v", err)
	}
	for _, r := range res {
		if r.Failed&(pkgdb.AttrDigest|pkgdb.AttrSize) == 0 || r.Missing || r.ZeroSize || r.Config() || r.ReadFailed {
			continue // missing and emptied files are pkgfiles' findings
		}
		replacedFile(e, r)
	}
	// A program of the same name earlier on PATH takes the packaged one's
	// place without touching it.
	for _, name := range intrusion.TrojanTargets() {
		pkgPath, ok := packaged[name]
		if !ok {
			continue
		}
		for _, d := range localDirs {
			p := path.Join(d, name)
			f := e.Judge(p, "program")
			if f == nil || f.Missing || f.Owned || f.Type != "file" {
				continue
			}
			en := &intrusion.Entry{
				Place: "package-files", Kind: "shadows", What: fmt.Sprintf("%s in %s", name, d),
				Path: p, Files: []intrusion.FileRef{{Path: p, Role: "program"}},
				Marks:  []checks.Mark{{Code: "shadows", Why: fmt.Sprintf("%s comes before the packaged %s on every PATH, and no package installed it", p, pkgPath)}},
				Impact: fmt.Sprintf("whoever types %s runs this instead of the package's: a rootkit's way to hide processes, files or connections, or to record passwords", name),
			}
			op, err := e.QuarantineOp(p)
			if err != nil {
				en.DisableErr = err
			} else {
				en.Disable, en.DisableText = []repair.Op{op}, "quarantine "+p
			}
			e.Report(en)
		}
	}
	return nil
}

func replacedFile(e *intrusion.Engine, r pkgdb.Result) {
	p := r.File.Path
	f := e.Judge(p, "program")
	fd := checks.Finding{
		Kind: "replaced", Severity: checks.Warning, Path: p,
		Message:  fmt.Sprintf("%s of %s %s was replaced: its content no longer matches the package (%s)", p, r.File.Package, r.File.Version, strings.TrimSpace(r.Code())),
		Impact:   impact(path.Base(p)),
		Evidence: []string{r.Line()},
	}
	ind := &checks.Indicators{Place: "package-files", Marks: []checks.Mark{{Code: "replaced", Why: fmt.Sprintf("%s belongs to %s %s, but its content no longer matches the package", p, r.File.Package, r.File.Version)}}}
	if f != nil {
		ind.Files = []checks.IndicatorFile{f.IndicatorFile}
		for _, m := range f.Marks {
			if m.Code != "replaced" {
				ind.Marks = append(ind.Marks, m)
				fd.Evidence = append(fd.Evidence, m.Code+": "+m.Why)
			}
		}
	}
	fd.Indicators = ind
	fx, err := restore.Fix(e.Pass(), p)
	if err != nil {
		fd.NoFix = err.Error()
	} else {
		fx.Message += " (the replaced program goes into the repair journal)"
		fd.Fixes = append(fd.Fixes, fx)
	}
	e.Pass().Report(fd)
}

func impact(name string) string {
	switch name {
	case "ps", "top", "pstree", "pgrep", "pkill", "kill", "killall", "w", "who":
		return "a replaced " + name + " hides the miner's processes from whoever looks, or keeps them from being stopped"
	case "netstat", "ss", "ip", "ifconfig", "lsof", "iptables":
		return "a replaced " + name + " hides the miner's connections to its pool and to its controller"
	case "ls", "find", "du", "stat", "chattr", "lsattr", "md5sum", "sha256sum", "strings":
		return "a replaced " + name + " hides the intruder's files, or lies about them"
	case "sshd", "ssh", "login", "su", "sudo", "passwd":
		return "a replaced " + name + " records passwords or lets a fixed password in: a way back in for whoever replaced it"
	case "crontab", "systemctl":
		return "a replaced " + name + " hides the intruder's scheduled jobs and services from whoever lists them"
	case "curl", "wget":
		return "a replaced " + name + " can fetch or run what its replacer wants whenever it is used"
	}
	return "a replaced system program does what its replacer wants whenever it runs"
}
