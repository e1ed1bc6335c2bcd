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
	Requires: []facts.Fact{facts.Packages},
	Run:      run,
}

// Bounds of the walk: world-writable places can hold a great many files.
const (
	maxDepth   = 8
	maxEntries = 50000
	maxConfig  = 1 << 20
)

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
			file(e, p, fi)
			return nil
		})
		if err != nil {
			pass.Note("%s not walked: %v", real, err)
		}
	}
	return nil
}

// file judges one regular file of a world-writable place: a program
// (executable, or an ELF file or script by its first bytes) is reported
// with its hash; another file only when it holds a miner's configuration.
func file(e *intrusion.Engine, p string, fi fs.FileInfo) {
	head := first(e, p)
	exec := fi.Mode().Perm()&0o111 != 0 || bytes.HasPrefix(head, []byte("\x7fELF")) || bytes.HasPrefix(head, []byte("#!"))
	role := "program"
	if !exec {
		if fi.Size() > maxConfig {
			return
		}
		role = "config"
	}
	f := e.Judge(p, role)
	if f == nil {
		return
	}
	if !exec && !hasContentMark(f) {
		return
	}
	what := "program"
	switch {
	case !exec:
		what = "miner configuration"
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		what = "ELF program"
	case bytes.HasPrefix(head, []byte("#!")):
		what = "script"
	}
	e.Report(&intrusion.Entry{
		Place: "world-writable", Kind: "dropped", What: fmt.Sprintf("%s %s", what, p),
		Path: p, Files: []intrusion.FileRef{{Path: p, Role: role}},
		Impact: fmt.Sprintf("droppers leave their payloads in %s, where anyone can write; nothing installed runs a program from there", path.Dir(p)),
	})
}

func hasContentMark(f *intrusion.File) bool {
	for _, m := range f.Marks {
		if m.Code == "miner" || m.Code == "wallet" {
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
