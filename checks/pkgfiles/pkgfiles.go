package pkgfiles

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"rescue/checks"
	"rescue/checks/internal/restore"
	"rescue/facts"
	"rescue/pkgdb"
	"rescue/repair"
)

// Check is the pkgfiles check.
var Check = &checks.Check{
	Name:     "pkgfiles",
	Doc:      doc,
	Requires: []facts.Fact{facts.Packages},
	Kinds:    []string{"damaged"},
	Run:      run,
}

// system are the trees where a missing package file breaks something.
var system = []string{"/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/usr/bin/", "/usr/sbin/", "/usr/lib/", "/usr/lib32/", "/usr/lib64/", "/usr/libexec/", "/etc/"}

func isSystem(p string) bool {
	for _, s := range system {
		if strings.HasPrefix(p, s) {
			return true
		}
	}
	return false
}

// damaged is one package's missing and emptied files.
type damaged struct {
	pkg, version string
	missing      []pkgdb.Result
	empty        []pkgdb.Result
}

func run(pass *checks.Pass) error {
	rep, err := pass.Facts.PackageVerify(true)
	if err != nil {
		pass.Note("the package database could not be verified: %v", err)
		return nil
	}
	if rep == nil {
		return nil // no package database: nothing to compare with
	}
	db, _ := pass.Facts.Packages()
	byPkg := map[string]*damaged{}
	var order []string
	// dpkg records no file types: a listed path that other files of the
	// package are below is a directory (missing directories are sysdirs'
	// business).
	parents := map[string]map[string]bool{}
	isParent := func(pkg, p string) bool {
		if db == nil {
			return false
		}
		set, ok := parents[pkg]
		if !ok {
			set = map[string]bool{}
			for _, f := range db.Files(pkg) {
				for d := path.Dir(f.Path); d != "/" && d != "."; d = path.Dir(d) {
					if set[d] {
						break
					}
					set[d] = true
				}
			}
			parents[pkg] = set
		}
		return set[p]
	}
	for _, r := range rep.Results {
		f := r.File
		if !isSystem(f.Path) || f.Flags&(pkgdb.Doc|pkgdb.Ghost|pkgdb.MissingOK|pkgdb.License) != 0 {
			continue
		}
		if f.State != pkgdb.StateNormal && f.State != pkgdb.StateNoState {
			continue
		}
		if (f.Mode != 0 && f.Mode.IsDir()) || (f.Mode == 0 && isParent(f.Package, f.Path)) {
			continue // a missing directory is sysdirs' business
		}
		missing := r.Missing
		empty := r.ZeroSize && f.Flags&pkgdb.Config == 0
		if !missing && !empty {
			continue
		}
		key := f.Package + " " + f.Version
		d := byPkg[key]
		if d == nil {
			d = &damaged{pkg: f.Package, version: f.Version}
			byPkg[key] = d
			order = append(order, key)
		}
		if missing {
			d.missing = append(d.missing, r)
		} else {
			d.empty = append(d.empty, r)
		}
	}
	sort.Strings(order)
	for _, key := range order {
		report(pass, byPkg[key], rep.Kind)
	}
	return nil
}

func report(pass *checks.Pass, d *damaged, kind string) {
	var parts, paths []string
	var evidence []string
	if n := len(d.missing); n > 0 {
		parts = append(parts, fmt.Sprintf("%d file(s) missing", n))
	}
	if n := len(d.empty); n > 0 {
		parts = append(parts, fmt.Sprintf("%d file(s) emptied", n))
	}
	for _, r := range append(append([]pkgdb.Result{}, d.missing...), d.empty...) {
		paths = append(paths, r.File.Path)
		evidence = append(evidence, r.Line())
	}
	f := checks.Finding{
		Kind: "damaged", Subject: d.pkg, Severity: checks.Warning, Path: paths[0],
		Message:  fmt.Sprintf("package %s %s: %s (%s)", d.pkg, d.version, strings.Join(parts, ", "), strings.Join(paths, ", ")),
		Impact:   "whatever uses these files fails or behaves differently; the package is no longer what was installed",
		Evidence: evidence,
	}
	b := repair.NewFix(fmt.Sprintf("Restore %d file(s) of %s %s from the package", len(paths), d.pkg, d.version))
	var why []string
	restored := 0
	for _, p := range paths {
		fx, err := restore.Fix(pass, p)
		if err != nil {
			why = append(why, err.Error())
			continue
		}
		for _, op := range fx.Ops {
			b.Add(op, nil)
		}
		restored++
	}
	switch {
	case restored == len(paths):
		f.AddFix(b.Build())
	case restored > 0:
		fix, err := b.Build()
		fix.Message = fmt.Sprintf("Restore %d of the %d file(s) of %s %s from the package (the rest: %s)", restored, len(paths), d.pkg, d.version, why[0])
		f.AddFix(fix, err)
	default:
		f.NoFix = why[0]
	}
	pass.Report(f)
}
