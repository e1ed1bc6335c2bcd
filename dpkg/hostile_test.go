package dpkg

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"rescue/sysroot"
)

// A status file of one stanza repeated many times (34 MB seen) is read as
// one package: the last stanza counts, as in dpkg, and it is reported.
func TestRepeatedStanzasAreOnePackage(t *testing.T) {
	dir := t.TempDir()
	admin := filepath.Join(dir, "var/lib/dpkg")
	if err := os.MkdirAll(filepath.Join(admin, "info"), 0o755); err != nil {
		t.Fatal(err)
	}
	stanza := "Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.1\n\n"
	status := strings.Repeat(stanza, 5000) + strings.Replace(stanza, "5.1", "5.2", 1) +
		"Package: coreutils\nStatus: install ok installed\nArchitecture: amd64\nVersion: 9.1\n\n"
	if err := os.WriteFile(filepath.Join(admin, "status"), []byte(status), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(admin, "info/bash.list"), []byte("/.\n/bin/bash\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := sysroot.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	db, err := Open(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Packages) != 2 || db.Packages[0].Version != "5.2" || db.Packages[1].Name != "coreutils" {
		t.Fatalf("packages %+v", db.Packages)
	}
	found := false
	for _, p := range db.Problems {
		found = found || strings.Contains(p.Error(), "5000 stanza(s)")
	}
	if !found {
		t.Errorf("problems %v", db.Problems)
	}
}

// A status file of more packages than a system has (300,000 seen) is read
// up to MaxPackages, and says so.
func TestTooManyPackagesAreCut(t *testing.T) {
	dir := t.TempDir()
	admin := filepath.Join(dir, "var/lib/dpkg")
	if err := os.MkdirAll(admin, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 0; i < MaxPackages+100; i++ {
		fmt.Fprintf(&b, "Package: p%d\nStatus: install ok installed\nVersion: 1\n\n", i)
	}
	if err := os.WriteFile(filepath.Join(admin, "status"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := sysroot.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	db, err := Open(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Packages) != MaxPackages {
		t.Errorf("%d packages", len(db.Packages))
	}
	last := db.Problems[len(db.Problems)-1].Error()
	if len(db.Problems) > maxProblems+3 || !strings.Contains(db.Problems[len(db.Problems)-2].Error(), "more installed packages") || !strings.Contains(last, "more problems") {
		t.Errorf("%d problems, last %q", len(db.Problems), last)
	}
}
