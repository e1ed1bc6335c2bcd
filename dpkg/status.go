// Package dpkg reads dpkg's database without dpkg: the status file (with
// the conffile hashes it holds), the per-package info/*.list and
// info/*.md5sums files (arch-qualified for Multi-Arch: same packages),
// statoverride, diversions and the path filters of dpkg.cfg; and it
// extracts single files from .deb archives.
package dpkg

import (
	"bytes"
	"fmt"
	"strings"
)

// Package is one package paragraph of the status file.
type Package struct {
	Name         string
	Version      string
	Architecture string
	MultiArch    string
	// Status is the three words of the Status field (want, error flag,
	// state): "install ok installed".
	Status    string
	Source    string
	Conffiles []Conffile
	Replaces  string
}

// Conffile is one line of a package's Conffiles field.
type Conffile struct {
	Path string
	// Hash is the MD5 of the file as shipped, or "newconffile" when dpkg
	// has unpacked the package but not yet recorded it.
	Hash            string
	Obsolete        bool
	RemoveOnUpgrade bool
}

// State is the last word of Status: "installed", "half-configured", …
func (p *Package) State() string {
	f := strings.Fields(p.Status)
	if len(f) == 3 {
		return f[2]
	}
	return ""
}

// Installed reports whether the package's files are on disk as dpkg
// recorded them: installed, or configured half-way (debsums checks the
// same states).
func (p *Package) Installed() bool {
	switch p.State() {
	case "installed", "half-configured", "triggers-awaited", "triggers-pending":
		return true
	}
	return false
}

// ID is the package as dpkg names it in info/ and in `dpkg -S`: the name,
// qualified with the architecture for Multi-Arch: same packages.
func (p *Package) ID() string {
	if p.MultiArch == "same" && p.Architecture != "" {
		return p.Name + ":" + p.Architecture
	}
	return p.Name
}

// ParseStatus parses a dpkg status file. Paragraphs without a Package
// field are skipped and reported; the rest is kept, so one damaged
// paragraph does not hide every other package.
func ParseStatus(data []byte) ([]Package, []error) {
	var (
		pkgs     []Package
		problems []error
	)
	for i, para := range paragraphs(data) {
		p := Package{}
		for _, f := range para {
			switch f.name {
			case "package":
				p.Name = strings.TrimSpace(f.value)
			case "version":
				p.Version = strings.TrimSpace(f.value)
			case "architecture":
				p.Architecture = strings.TrimSpace(f.value)
			case "multi-arch":
				p.MultiArch = strings.TrimSpace(f.value)
			case "status":
				p.Status = strings.Join(strings.Fields(f.value), " ")
			case "source":
				p.Source = strings.TrimSpace(f.value)
			case "replaces":
				p.Replaces = strings.TrimSpace(f.value)
			case "conffiles":
				p.Conffiles = parseConffiles(f.value)
			}
		}
		if p.Name == "" {
			problems = append(problems, fmt.Errorf("status paragraph %d has no Package field", i+1))
			continue
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, problems
}

type field struct{ name, value string }

// paragraphs splits deb822 data into paragraphs of fields; continuation
// lines are joined to their field with newlines. Field names are lowered.
func paragraphs(data []byte) [][]field {
	var (
		out  [][]field
		cur  []field
		last = -1
	)
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur, last = nil, -1
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last >= 0 {
				cur[last].value += "\n" + string(line[1:])
			}
			continue
		}
		if line[0] == '#' {
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		cur = append(cur, field{strings.ToLower(string(bytes.TrimSpace(name))), string(bytes.TrimSpace(value))})
		last = len(cur) - 1
	}
	flush()
	return out
}

// parseConffiles reads " /etc/foo 0123…abcd [obsolete] [remove-on-upgrade]"
// lines. Paths may contain spaces, so the hash and flags are taken from the
// end of the line.
func parseConffiles(v string) []Conffile {
	var out []Conffile
	for _, line := range strings.Split(v, "\n") {
		words := strings.Fields(line)
		if len(words) < 2 {
			continue
		}
		c := Conffile{}
		for len(words) > 2 {
			switch words[len(words)-1] {
			case "obsolete":
				c.Obsolete = true
			case "remove-on-upgrade":
				c.RemoveOnUpgrade = true
			default:
				goto done
			}
			words = words[:len(words)-1]
		}
	done:
		c.Hash = words[len(words)-1]
		c.Path = strings.Join(words[:len(words)-1], " ")
		if !strings.HasPrefix(c.Path, "/") {
			continue
		}
		out = append(out, c)
	}
	return out
}
