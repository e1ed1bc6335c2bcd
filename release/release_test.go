package release

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testVersion = "v9.8.7-2-gdeadbee"

func TestPackageVersion(t *testing.T) {
	for _, tc := range []struct{ in, version, pre, meta string }{
		{"v1.2.3", "1.2.3", "", ""},
		{"v1.2.3-4-gabcdef0", "1.2.3", "", "4.gabcdef0"},
		{"v1.2.3-4-gabcdef0-dirty", "1.2.3", "", "4.gabcdef0.dirty"},
		{"cfbc966", "0.0.0", "cfbc966", ""},
		{"cfbc966-dirty", "0.0.0", "cfbc966.dirty", ""},
		{"dev", "0.0.0", "dev", ""},
	} {
		v, p, m := PackageVersion(tc.in)
		if v != tc.version || p != tc.pre || m != tc.meta {
			t.Errorf("PackageVersion(%q) = %q, %q, %q; want %q, %q, %q", tc.in, v, p, m, tc.version, tc.pre, tc.meta)
		}
	}
}

// TestRelease builds a whole release (both architectures, both package
// formats), then checks it as a user of each piece would: the checksums
// with sha256sum, the binaries as static executables of their
// architecture that print the stamped version (the arm64 one under
// qemu-user where the machine has it), and the packages installed with
// dpkg and rpm into scratch roots, running the installed rescue and
// reading its installed man page.
func TestRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries and four packages")
	}
	out := t.TempDir()
	t0 := time.Now()
	rel, err := Build(context.Background(), Options{Repo: "..", Out: out, Version: testVersion, Packages: true,
		MTime: time.Unix(1700000000, 0), Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("release built in %s", time.Since(t0).Round(time.Second))
	if rel.PkgVersion != "9.8.7+2.gdeadbee" {
		t.Errorf("package version %q", rel.PkgVersion)
	}
	for _, kind := range []string{"binary", "deb", "rpm"} {
		for _, arch := range []string{"amd64", "arm64"} {
			if rel.Find(kind, arch) == nil {
				t.Errorf("no %s for %s", kind, arch)
			}
		}
	}

	t.Run("checksums", func(t *testing.T) {
		cmd := exec.Command("sha256sum", "--strict", "-c", "SHA256SUMS")
		cmd.Dir = out
		got, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sha256sum -c: %v\n%s", err, got)
		}
		if n := strings.Count(string(got), ": OK"); n != 6 {
			t.Errorf("sha256sum checked %d files:\n%s", n, got)
		}
	})

	t.Run("static binaries", func(t *testing.T) {
		for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
			a := rel.Find("binary", arch)
			f, err := elf.Open(a.Path)
			if err != nil {
				t.Fatal(err)
			}
			if f.Machine != machine || f.Class != elf.ELFCLASS64 || f.Type != elf.ET_EXEC {
				t.Errorf("%s: %v %v %v", a.Name, f.Machine, f.Class, f.Type)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
					t.Errorf("%s: has %v: not static", a.Name, p.Type)
				}
			}
			if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
				t.Errorf("%s: needs %v", a.Name, libs)
			}
			f.Close()
			data, err := os.ReadFile(a.Path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, []byte(testVersion)) {
				t.Errorf("%s: the version is not stamped in", a.Name)
			}
		}
		runVersion(t, rel.Find("binary", "amd64").Path)
		qemu, err := exec.LookPath("qemu-aarch64-static")
		if err != nil {
			t.Skip("qemu-aarch64-static is not installed (scripts/deps.d/release.txt): the arm64 binary was checked as an ELF file only")
		}
		runVersion(t, qemu, rel.Find("binary", "arm64").Path)
	})

	t.Run("deb", func(t *testing.T) {
		need(t, "dpkg", "dpkg-deb", "man")
		root := t.TempDir()
		for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates"} {
			must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
		}
		must(t, os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644))
		deb := rel.Find("deb", "amd64").Path
		run(t, "dpkg", "--root="+root, "--force-script-chrootless", "--force-not-root", "-i", deb)
		status := run(t, "dpkg", "--root="+root, "-s", "rescue")
		for _, want := range []string{"Status: install ok installed", "Version: 9.8.7+2.gdeadbee-1", "Architecture: amd64"} {
			if !strings.Contains(status, want) {
				t.Errorf("dpkg -s: no %q in\n%s", want, status)
			}
		}
		installed(t, root, "/usr/share/zsh/vendor-completions/_rescue")
		if info := run(t, "dpkg-deb", "-f", rel.Find("deb", "arm64").Path, "Architecture"); strings.TrimSpace(info) != "arm64" {
			t.Errorf("the arm64 .deb says Architecture %q", info)
		}
	})

	t.Run("rpm", func(t *testing.T) {
		need(t, "rpm", "man")
		root := t.TempDir()
		db := []string{"--root", root, "--dbpath", "/var/lib/rpm"}
		run(t, "rpm", append(db, "--initdb")...)
		run(t, "rpm", append(db, "-i", "--nodeps", rel.Find("rpm", "amd64").Path)...)
		if q := run(t, "rpm", append(db, "-q", "rescue")...); strings.TrimSpace(q) != "rescue-9.8.7+2.gdeadbee-1.x86_64" {
			t.Errorf("rpm -q: %q", q)
		}
		// What rpm installed matches what it recorded.
		run(t, "rpm", append(db, "-V", "rescue")...)
		installed(t, root, "/usr/share/zsh/site-functions/_rescue")
		if a := run(t, "rpm", "-qp", "--qf", "%{ARCH}", rel.Find("rpm", "arm64").Path); a != "aarch64" {
			t.Errorf("the arm64 .rpm says %q", a)
		}
	})
}

// installed checks a scratch root a package was installed into: the
// installed rescue runs and prints the version, its man page reads, and
// the completions are where the shells look.
func installed(t *testing.T, root, zsh string) {
	t.Helper()
	runVersion(t, filepath.Join(root, "usr/bin/rescue"))
	cmd := exec.Command("man", "-l", filepath.Join(root, "usr/share/man/man1/rescue-scan.1.gz"))
	cmd.Env = append(os.Environ(), "MANPAGER=cat", "PAGER=cat", "MANWIDTH=80", "LC_ALL=C")
	page, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("man -l: %v\n%s", err, page)
	}
	for _, want := range []string{"rescue-scan", "Find what stops the target from booting", "disk:ID"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the installed man page has no %q:\n%.600s", want, page)
		}
	}
	for _, p := range []string{"/usr/share/bash-completion/completions/rescue", "/usr/share/fish/vendor_completions.d/rescue.fish", zsh,
		"/usr/share/doc/rescue/schema/report.v1.json"} {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s is not installed: %v", p, err)
		}
	}
}

func runVersion(t *testing.T, argv ...string) {
	t.Helper()
	got := run(t, argv[0], append(argv[1:], "--version")...)
	if strings.TrimSpace(got) != "rescue version "+testVersion {
		t.Errorf("%s --version: %q", argv[len(argv)-1], got)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, msg)
	}
	return string(out)
}

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (scripts/deps.d/release.txt)", tool)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
