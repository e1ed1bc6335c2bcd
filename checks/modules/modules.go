package modules

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/checks/intrusion"
	"rescue/facts"
	"rescue/repair"
)

// Check is the modules check.
var Check = &checks.Check{
	Name:     "modules",
	Family:   intrusion.Family,
	Doc:      doc,
	Requires: []facts.Fact{facts.Packages, facts.Accounts},
	Kinds:    []string{"module", "modprobe-install", "modprobe-remove"},
	Run:      run,
}

var (
	loadFiles   = []string{"/etc/modules"}
	loadDirs    = []string{"/etc/modules-load.d", "/run/modules-load.d", "/usr/local/lib/modules-load.d", "/usr/lib/modules-load.d", "/lib/modules-load.d"}
	modprobeDir = []string{"/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/usr/lib/modprobe.d", "/lib/modprobe.d"}
	moduleRoots = []string{"/lib/modules", "/usr/lib/modules"}
)

const maxConf = 1 << 20

func run(pass *checks.Pass) error {
	e := intrusion.New(pass)
	s := &scan{e: e, seen: map[string]bool{}}
	s.index()
	var files []string
	files = append(files, loadFiles...)
	for _, d := range loadDirs {
		m, _ := pass.Root.Glob(d + "/*.conf")
		files = append(files, m...)
	}
	for _, p := range files {
		s.loadList(p)
	}
	files = nil
	for _, d := range modprobeDir {
		m, _ := pass.Root.Glob(d + "/*.conf")
		files = append(files, m...)
	}
	for _, p := range files {
		s.modprobe(p)
	}
	return nil
}

type scan struct {
	e    *intrusion.Engine
	seen map[string]bool
	// byName maps a module name (with - as _) to its files, from every
	// kernel's modules.dep.
	byName map[string][]string
}

// index reads modules.dep of every installed kernel.
func (s *scan) index() {
	s.byName = map[string][]string{}
	r := s.e.Root()
	done := map[string]bool{}
	for _, root := range moduleRoots {
		real, err := r.Resolve(root)
		if err != nil || done[real] {
			continue
		}
		done[real] = true
		kernels, _ := r.ReadDir(real)
		for _, k := range kernels {
			dir := path.Join(real, k.Name())
			data, err := r.ReadFileLimit(path.Join(dir, "modules.dep"), 64<<20)
			if err != nil {
				continue
			}
			for _, line := range strings.Split(string(data), "\n") {
				rel, _, ok := strings.Cut(line, ":")
				if !ok || rel == "" {
					continue
				}
				p := rel
				if !strings.HasPrefix(p, "/") {
					p = path.Join(dir, rel)
				}
				n := modName(p)
				s.byName[n] = append(s.byName[n], p)
			}
		}
	}
}

// modName is a module file's name as modprobe knows it.
func modName(p string) string {
	b := path.Base(p)
	for _, x := range []string{".xz", ".zst", ".gz"} {
		b = strings.TrimSuffix(b, x)
	}
	return strings.ReplaceAll(strings.TrimSuffix(b, ".ko"), "-", "_")
}

func (s *scan) read(p string) (string, []byte, bool) {
	real, err := s.e.Root().Resolve(p)
	if err != nil || s.seen[real] {
		return "", nil, false
	}
	s.seen[real] = true
	f := s.e.Judge(real, "entry")
	if f == nil || f.Missing || f.Type != "file" || (f.Owned && !f.Changed) {
		return "", nil, false
	}
	data, err := s.e.Root().ReadFileLimit(real, maxConf)
	if err != nil {
		return "", nil, false
	}
	return real, data, true
}

// loadList judges a list of modules loaded at boot.
func (s *scan) loadList(p string) {
	real, data, ok := s.read(p)
	if !ok {
		return
	}
	lines, _ := checks.Lines(data)
	for i, raw := range lines {
		name := strings.TrimSpace(raw)
		if name == "" || name[0] == '#' || name[0] == ';' {
			continue
		}
		name = strings.Fields(name)[0]
		n := i + 1
		var marks []checks.Mark
		var refs []intrusion.FileRef
		switch {
		case strings.Contains(name, "/"):
			marks = append(marks, checks.Mark{Code: "odd-module-path", Why: fmt.Sprintf("it names the file %s where a module name belongs", name)})
			refs = append(refs, intrusion.FileRef{Path: name, Role: "module"})
		default:
			if intrusion.RootkitModule(name) {
				marks = append(marks, checks.Mark{Code: "rootkit", Why: fmt.Sprintf("%s is the name of a public kernel rootkit", name)})
			}
			for _, f := range s.byName[strings.ReplaceAll(name, "-", "_")] {
				refs = append(refs, intrusion.FileRef{Path: f, Role: "module"})
			}
		}
		en := &intrusion.Entry{
			Place: "kernel-modules", Kind: "module", What: fmt.Sprintf("module %s loaded at boot", name),
			Path: real, Line: n, Subject: strconv.Itoa(n), Text: raw, Marks: marks,
			Files:  append([]intrusion.FileRef{{Path: real, Role: "entry"}}, refs...),
			Impact: "the kernel loads it at every boot: a rootkit module hides the miner's processes, files and connections from everything that runs",
		}
		s.disable(en, real, data, []int{n}, "kernel module")
		s.e.Report(en)
	}
}

// modprobe judges the install and remove commands of a modprobe.d file.
func (s *scan) modprobe(p string) {
	real, data, ok := s.read(p)
	if !ok {
		return
	}
	lines, _ := checks.Lines(data)
	for i := 0; i < len(lines); i++ {
		first := i
		text := lines[i]
		for strings.HasSuffix(text, "\\") && i+1 < len(lines) {
			i++
			text = strings.TrimSuffix(text, "\\") + " " + lines[i]
		}
		f := strings.Fields(text)
		if len(f) < 3 || (f[0] != "install" && f[0] != "remove") {
			continue
		}
		cmd := strings.Join(f[2:], " ")
		en := &intrusion.Entry{
			Place: "kernel-modules", Kind: "modprobe-" + f[0], What: fmt.Sprintf("modprobe %s command for %s", f[0], f[1]),
			Path: real, Line: first + 1, Subject: strconv.Itoa(first + 1), Text: text,
			Cmd:    intrusion.AnalyzeShell(cmd, "/root"),
			Files:  []intrusion.FileRef{{Path: real, Role: "entry"}},
			Impact: fmt.Sprintf("modprobe runs it as root instead of loading %s, whenever anything asks for that module", f[1]),
		}
		var ls []int
		for l := first + 1; l <= i+1; l++ {
			ls = append(ls, l)
		}
		s.disable(en, real, data, ls, "modprobe command")
		s.e.Report(en)
	}
}

func (s *scan) disable(en *intrusion.Entry, p string, data []byte, lines []int, why string) {
	op, err := intrusion.CommentLines(s.e.Root(), p, data, lines, why)
	if err != nil {
		en.DisableErr = err
		return
	}
	en.Disable = []repair.Op{op}
	en.DisableText = intrusion.CommentText(p, lines)
}
