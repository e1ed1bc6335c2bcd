package dpkg

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"rescue/sysroot"
)

// AdminDir is dpkg's database directory.
const AdminDir = "/var/lib/dpkg"

// ErrNoDB is returned by Open when the target has no dpkg status file.
var ErrNoDB = errors.New("no dpkg database")

// DB is a target's dpkg database.
type DB struct {
	// Packages are the status paragraphs with files on disk (every state
	// but not-installed and config-files), in status file order.
	Packages []Package
	// Lists and Sums are each package's info/*.list paths and
	// info/*.md5sums entries, by package ID.
	Lists map[string][]string
	Sums  map[string][]Sum
	// Diversions and Overrides are the diversions and statoverride files.
	Diversions []Diversion
	Overrides  []Override
	// Filter holds the path-exclude/path-include options of dpkg.cfg.
	Filter *Filter
	// Problems are the damaged parts that were skipped.
	Problems []error
}

// Bounds on what Open reads. The largest real systems have a few thousand
// packages and a few hundred thousand files; a status file of 300,000
// packages is an attack or corruption, and reading it whole held the scan
// for many minutes and gigabytes.
const (
	MaxPackages = 50000
	MaxRecords  = 4000000
	maxProblems = 1000
)

// Open reads the target's dpkg database.
func Open(root *sysroot.Root) (*DB, error) {
	status, err := root.ReadFile(path.Join(AdminDir, "status"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoDB
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s/status: %w", AdminDir, err)
	}
	db := &DB{Lists: map[string][]string{}, Sums: map[string][]Sum{}, Filter: &Filter{}}
	pkgs, problems := ParseStatus(status)
	db.Problems = append(db.Problems, problems...)
	if len(pkgs) == 0 {
		return db, fmt.Errorf("%s/status lists no package", AdminDir)
	}
	pkgs, dups := dedupe(pkgs)
	if dups > 0 {
		db.Problems = append(db.Problems, fmt.Errorf("%s/status has %d stanza(s) of packages it lists already; the last of each counts, as dpkg reads it", AdminDir, dups))
	}
	records, skipped := 0, 0
	problem := func(err error) {
		if len(db.Problems) < maxProblems {
			db.Problems = append(db.Problems, err)
		} else {
			skipped++
		}
	}
	for _, p := range pkgs {
		switch p.State() {
		case "not-installed", "config-files", "":
			continue
		}
		if len(db.Packages) == MaxPackages || records > MaxRecords {
			db.Problems = append(db.Problems, fmt.Errorf("%s/status lists more installed packages or files than a system has (%d packages, %d file records read); the rest was not read", AdminDir, len(db.Packages), records))
			break
		}
		db.Packages = append(db.Packages, p)
		list, err := readInfo(root, p, "list")
		if err != nil {
			problem(err)
		}
		db.Lists[p.ID()] = ParseList(list)
		sums, err := readInfo(root, p, "md5sums")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			problem(err)
		}
		s, problems := ParseMD5Sums(sums)
		for _, pr := range problems {
			problem(fmt.Errorf("%s: %w", p.ID(), pr))
		}
		db.Sums[p.ID()] = s
		records += len(db.Lists[p.ID()]) + len(s)
	}
	if skipped > 0 {
		db.Problems = append(db.Problems, fmt.Errorf("and %d more problems of the same kinds", skipped))
	}
	if data, err := root.ReadFile(path.Join(AdminDir, "diversions")); err == nil {
		d, problems := ParseDiversions(data)
		db.Diversions = d
		db.Problems = append(db.Problems, problems...)
	}
	if data, err := root.ReadFile(path.Join(AdminDir, "statoverride")); err == nil {
		o, problems := ParseStatOverride(data)
		db.Overrides = o
		db.Problems = append(db.Problems, problems...)
	}
	if data, err := root.ReadFile("/etc/dpkg/dpkg.cfg"); err == nil {
		db.Filter.ParseConfig(data)
	}
	if entries, err := root.ReadDir("/etc/dpkg/dpkg.cfg.d"); err == nil {
		// dpkg reads the directory in C-locale order, skipping names
		// with characters other than alphanumerics, '_' and '-'.
		for _, e := range entries {
			if !validCfgName(e.Name()) {
				continue
			}
			if data, err := root.ReadFile(path.Join("/etc/dpkg/dpkg.cfg.d", e.Name())); err == nil {
				db.Filter.ParseConfig(data)
			}
		}
	}
	return db, nil
}

// dedupe keeps one stanza per package (name and architecture): the last,
// which dpkg's reading of the status file leaves in effect, at the place
// of the first. A status file of one package repeated thousands of times
// would otherwise cost its file lists thousands of times.
func dedupe(pkgs []Package) ([]Package, int) {
	at := make(map[string]int, len(pkgs))
	out := pkgs[:0:0]
	dups := 0
	for _, p := range pkgs {
		key := p.Name + ":" + p.Architecture
		if i, ok := at[key]; ok {
			out[i] = p
			dups++
			continue
		}
		at[key] = len(out)
		out = append(out, p)
	}
	return out, dups
}

func validCfgName(n string) bool {
	for _, c := range n {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return n != ""
}

// readInfo reads info/ID.ext, falling back to the other naming: packages
// that became Multi-Arch: same keep their files under the arch-qualified
// name, older ones under the bare name.
func readInfo(root *sysroot.Root, p Package, ext string) ([]byte, error) {
	names := []string{p.ID()}
	if p.Architecture != "" && !strings.Contains(p.ID(), ":") {
		names = append(names, p.Name+":"+p.Architecture)
	} else if strings.Contains(p.ID(), ":") {
		names = append(names, p.Name)
	}
	var firstErr error
	for _, n := range names {
		data, err := root.ReadFile(path.Join(AdminDir, "info", n+"."+ext))
		if err == nil {
			return data, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// Diverted returns where the file a package ships at p is installed: the
// diversion's target when another package (or the administrator) diverted
// it, p itself otherwise.
func (db *DB) Diverted(p, pkgName string) string {
	for _, d := range db.Diversions {
		if d.From == p && d.By != pkgName {
			return d.To
		}
	}
	return p
}
