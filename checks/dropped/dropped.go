package dropped

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"rescue/checks"
	"rescue/checks/intrusion"
	"rescue/facts"
	"rescue/sysroot"
)

// Check is the dropped check.
var Check = &checks.Check{
	Name:     "dropped",
	Family:   intrusion.Family,
	Doc:      doc,
	Requires: []facts.Fact{facts.Packages, facts.Accounts},
	Kinds:    []string{"dropped", "programs"},
	Run:      run,
}

// Bounds of the walk: world-writable places can hold a great many files.
const (
	maxDepth   = 8
	maxEntries = 50000
	maxConfig  = 1 << 20
	// maxListed bounds the unmarked programs of a place that are hashed
	// and listed; the rest are counted.
	maxListed = 100
)

// place is one world-writable directory and the unmarked programs in it.
type place struct {
	dir    string
	listed []*intrusion.File
	n      int
}

func run(pass *checks.Pass) error {
	e := intrusion.New(pass)
	seen := map[string]bool{}
	n := 0
	for _, d := range intrusion.WritableDirs() {
		real, err := pass.Root.Resolve(d)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		pl := &place{dir: real}
		depth0 := strings.Count(real, "/")
		err = pass.Root.Walk(real, func(p string, fi fs.FileInfo, err error) error {
			if err != nil {
				return nil
			}
			if n++; n > maxEntries {
				pass.Note("more than %d entries in the world-writable places: the rest were not looked at", maxEntries)
				return fs.SkipAll
			}
			if fi.IsDir() {
				if strings.Count(p, "/")-depth0 >= maxDepth {
					return sysroot.SkipDir
				}
				return nil
			}
			if !fi.Mode().IsRegular() {
				return nil
			}
			file(e, pl, p, fi)
			return nil
		})
		if err != nil {
			pass.Note("%s not walked: %v", real, err)
		}
		list(e, pl)
	}
	return nil
}

// file judges one regular file of a world-writable place. A program
// (executable, or an ELF file or script by its first bytes) is reported on
// its own and quarantined when something marks it: its name or content (a
// miner, a kernel thread's name, a download fed to a shell), a hidden
// directory, or being an ELF program right in the place (where droppers
// put theirs); the other programs are listed together with their hashes.
// Another file is reported only when it holds a miner's configuration.
func file(e *intrusion.Engine, pl *place, p string, fi fs.FileInfo) {
	head := first(e, p)
	elf := bytes.HasPrefix(head, []byte("\x7fELF"))
	exec := fi.Mode().Perm()&0o111 != 0 || elf || bytes.HasPrefix(head, []byte("#!"))
	rel := strings.TrimPrefix(p, pl.dir+"/")
	if !exec {
		if fi.Size() > maxConfig {
			return
		}
		// A text that merely names pools (notes, a README) is not one.
		if f := e.Judge(p, "config"); f != nil && hasMark(f, []string{"miner-config", "wallet"}) {
			report(e, p, "config", "miner configuration")
		}
		return
	}
	what := "program"
	switch {
	case elf:
		what = "ELF program"
	case bytes.HasPrefix(head, []byte("#!")):
		what = "script"
	}
	top := !strings.Contains(rel, "/")
	if hidden(rel) || (elf && top) {
		report(e, p, "program", what)
		return
	}
	pl.n++
	if len(pl.listed) >= maxListed {
		return
	}
	f := e.Judge(p, "program")
	if f == nil {
		return
	}
	if hasMark(f, whatMarks) {
		report(e, p, "program", what)
		pl.n--
		return
	}
	pl.listed = append(pl.listed, f)
}

func report(e *intrusion.Engine, p, role, what string) {
	e.Report(&intrusion.Entry{
		Place: "world-writable", Kind: "dropped", What: fmt.Sprintf("%s %s", what, p),
		Path: p, Files: []intrusion.FileRef{{Path: p, Role: role}},
		Impact: fmt.Sprintf("droppers leave their payloads in %s, where anyone can write; nothing installed runs a program from there", path.Dir(p)),
	})
}

// list reports the unmarked programs of a place together, as info: they
// are worth a look, and nothing says they are an intruder's.
func list(e *intrusion.Engine, pl *place) {
	if pl.n == 0 {
		return
	}
	var ev []string
	ind := &checks.Indicators{Place: "world-writable"}
	for _, f := range pl.listed {
		ind.Files = append(ind.Files, f.IndicatorFile)
		if len(ev) < 20 {
			ev = append(ev, fmt.Sprintf("%s sha256 %s (%d bytes)", f.Path, f.SHA256, f.Size))
		}
	}
	if pl.n > len(ev) {
		ev = append(ev, fmt.Sprintf("… %d more (--json lists %d with their hashes)", pl.n-len(ev), len(ind.Files)))
	}
	e.Pass().Report(checks.Finding{
		Kind: "programs", Severity: checks.Info, Path: pl.dir,
		Message:    fmt.Sprintf("%s holds %d program(s) that nothing marks (no miner, no hidden directory, not at its top): listed with their hashes", pl.dir, pl.n),
		Impact:     "nothing by itself; on a compromised machine, look at them before the next boot runs them",
		Evidence:   ev,
		NoFix:      "nothing marks them as an intruder's: remove by hand what is not yours",
		Indicators: ind,
	})
}

// whatMarks are the marks a program has for what it is.
var whatMarks = []string{"miner", "miner-config", "wallet", "kernel-thread-name", "download-to-shell", "base64-to-shell", "dev-tcp", "reverse-shell", "rootkit"}

func hasMark(f *intrusion.File, codes []string) bool {
	for _, m := range f.Marks {
		for _, c := range codes {
			if m.Code == c {
				return true
			}
		}
	}
	return false
}

// hidden says whether a path (relative to its place) goes through a
// dot-name.
func hidden(rel string) bool {
	for _, c := range strings.Split(rel, "/") {
		// A git checkout's hooks are git's (and run only by git).
		if strings.HasPrefix(c, ".") && c != ".git" {
			return true
		}
	}
	return false
}

// first reads a file's first bytes.
func first(e *intrusion.Engine, p string) []byte {
	r, err := e.Root().Open(p)
	if err != nil {
		return nil
	}
	defer r.Close()
	b := make([]byte, 4)
	n, _ := r.Read(b)
	return b[:n]
}
