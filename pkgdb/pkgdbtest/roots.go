// Package pkgdbtest provides real package roots for tests: the AlmaLinux
// container roots of the shared corpus, a Debian minbase root built by
// mmdebstrap, and scratch RPM roots made with rpmbuild and rpm --root.
// Every helper skips the test with a message when what it needs is absent.
package pkgdbtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"rescue/images"
)

// Alma corpus roots (see /work/shared/CORPUS.md).
const (
	Alma8S390x   = "almalinux-8-docker-s390x-micro-20231122"
	Alma9S390x   = "almalinux-9-docker-s390x-micro-20231124"
	Alma9Aarch64 = "almalinux-9-docker-aarch64-micro-20231124"
)

// CorpusDir finds the shared corpus of RPM roots: $RESCUE_CORPUS, or
// shared/corpus/rpm beside the checkout (../shared from the main checkout,
// ../../shared from a worktree under wt/).
func CorpusDir() string {
	if d := os.Getenv("RESCUE_CORPUS"); d != "" {
		return d
	}
	mod := moduleDir()
	for _, up := range []string{"..", "../.."} {
		d := filepath.Join(mod, up, "shared", "corpus", "rpm")
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
	}
	return ""
}

// moduleDir finds the checkout: the directory of go.mod above the test's
// working directory (go test runs in the package directory).
func moduleDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// NeedRoot skips the test unless it runs as root.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root: " + why)
	}
}

// NeedTool skips the test when a command is missing.
func NeedTool(t testing.TB, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed (apt-get install %s)", name, pkg)
	}
}

// AlmaRoot extracts a corpus root into a fresh directory and returns it.
// Owners are kept, so it needs root.
func AlmaRoot(t testing.TB, name string) string {
	t.Helper()
	NeedRoot(t, "the corpus roots keep their owners only when extracted as root")
	d := CorpusDir()
	if d == "" {
		t.Skip("the shared corpus of RPM roots (shared/corpus/rpm) is absent; set RESCUE_CORPUS")
	}
	tarball := filepath.Join(d, name+".tar.xz")
	if _, err := os.Stat(tarball); err != nil {
		t.Skipf("corpus root %s is absent: %v", name, err)
	}
	dir := t.TempDir()
	out, err := exec.Command("tar", "-C", dir, "--numeric-owner", "--xattrs", "--xattrs-include=*", "-xJpf", tarball).CombinedOutput()
	if err != nil {
		t.Fatalf("extracting %s: %v\n%s", tarball, err, out)
	}
	return dir
}

// DebianRoot extracts a Debian 12 (bookworm) minbase root (built once by
// mmdebstrap and cached) into a fresh directory. It returns the root and
// the directory holding every .deb installed in it.
func DebianRoot(t testing.TB) (root, debs string) {
	t.Helper()
	return DebianSuiteRoot(t, "bookworm")
}

// DebianSuiteRoot is DebianRoot for another Debian release ("bullseye":
// glibc 2.31, where libnss_files.so.2 is a symlink to libnss_files-2.31.so
// and the seed's "I have no name!" really locks users out). Each suite is
// cached under its own name.
func DebianSuiteRoot(t testing.TB, suite string) (root, debs string) {
	t.Helper()
	return DebianRootWith(t, images.DebianRootOptions{Suite: suite, Variant: "minbase"})
}

// DebianRootWith extracts the Debian root of the given options (any suite,
// variant or /usr layout; built once by mmdebstrap and cached under a name
// of its own) into a fresh directory, and returns it with the directory of
// its .debs.
func DebianRootWith(t testing.TB, opt images.DebianRootOptions) (root, debs string) {
	t.Helper()
	tarball := DebianTarball(t, opt)
	dir := t.TempDir()
	if err := images.ExtractRoot(tarball, dir); err != nil {
		t.Fatal(err)
	}
	return dir, images.DebsDir(tarball)
}

// DebianTarball returns the cached tarball of a Debian root, building it
// when missing; it skips the test where that cannot be done.
func DebianTarball(t testing.TB, opt images.DebianRootOptions) string {
	t.Helper()
	NeedRoot(t, "mmdebstrap and extracting a root with its owners")
	NeedTool(t, "mmdebstrap", "mmdebstrap")
	if testing.Short() {
		t.Skip("building or extracting a Debian root is slow; skipped with -short")
	}
	tarball, err := images.DebianRoot(context.Background(), opt)
	if err != nil {
		t.Fatalf("building the Debian root: %v", err)
	}
	return tarball
}

// DebianMirror returns the directory of a local apt archive for a root
// extracted by DebianSuiteRoot: the real signed InRelease and Packages
// files of the suites the root's sources.list names (fetched once with
// apt-get and cached) and the root's .debs at their pool paths. Serve it
// with net/http/httptest and give its URL with --mirror.
func DebianMirror(t testing.TB, root, debs string) string {
	t.Helper()
	NeedTool(t, "apt-get", "apt")
	list, err := os.ReadFile(filepath.Join(root, "etc/apt/sources.list"))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := images.DebianMirror(context.Background(), list, debs, "")
	if err != nil {
		t.Fatalf("building the apt mirror: %v", err)
	}
	return dir
}

// LoginRPMs are two small EL8 packages the restore tests break and restore
// from: util-linux (/etc/pam.d/login, a %config file of group mail,
// /usr/bin/login) and glibc (libnss_files.so.2, libc.so.6 and a link).
func LoginRPMs() []RPMSpec {
	return []RPMSpec{
		{Name: "util-linux", Version: "2.32.1", Release: "43.el8", Arch: "x86_64", Payload: "w19.zstdio", Files: []RPMFile{
			{Path: "/etc/pam.d/login", Content: "#%PAM-1.0\nauth       substack     system-auth\naccount    required     pam_nologin.so\n", Attrs: "%config(noreplace)"},
			{Path: "/etc/mail.conf", Content: "relay=localhost\n", Mode: "0640", Group: "mail", Attrs: "%config"},
			{Path: "/usr/bin/login", Content: "\x7fELF login stand-in\n", Mode: "0755"},
		}},
		{Name: "glibc", Version: "2.28", Release: "236.el8", Arch: "x86_64", Payload: "w6.xzdio", Files: []RPMFile{
			{Path: "/usr/lib64/libnss_files.so.2", Content: strings.Repeat("\x7fELF libnss_files stand-in ", 3000), Mode: "0755"},
			{Path: "/usr/lib64/libc.so.6", Content: strings.Repeat("\x7fELF libc stand-in ", 3000), Mode: "0755"},
			{Path: "/usr/lib64/libc.so", Kind: "symlink", Target: "libc.so.6"},
		}},
	}
}

// LoginRPMRoot builds LoginRPMs and installs them into a scratch root with
// rpm; it returns the root and the directory holding the .rpm files.
func LoginRPMRoot(t *testing.T) (root, pkgs string) {
	NeedRoot(t, "rpm --root installs into a scratch root by chrooting")
	NeedTool(t, "rpmbuild", "rpm")
	pkgs = t.TempDir()
	var files []string
	for _, s := range LoginRPMs() {
		files = append(files, BuildRPM(t, pkgs, s))
	}
	return RPMRoot(t, files...), pkgs
}
