package pkgdb_test

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"rescue/pkgdb"
	"rescue/pkgdb/pkgdbtest"
	"rescue/sysroot"
)

// utilLinux and glibc are small packages shaped like the real ones the
// restore tests need, with one of each kind of entry rpm -V treats apart.
func utilLinux() pkgdbtest.RPMSpec {
	return pkgdbtest.RPMSpec{Name: "util-linux", Version: "2.32.1", Release: "43.el8", Arch: "x86_64", Payload: "w9.gzdio", Files: []pkgdbtest.RPMFile{
		{Path: "/etc/pam.d/login", Content: "#%PAM-1.0\nauth       substack     system-auth\naccount    required     pam_nologin.so\n", Attrs: "%config(noreplace)"},
		{Path: "/etc/mail.conf", Content: "relay=localhost\n", Mode: "0640", Group: "mail", Attrs: "%config"},
		{Path: "/usr/bin/login", Content: "\x7fELF login binary stand-in\n", Mode: "0755"},
		{Path: "/usr/bin/su", Content: "\x7fELF su binary stand-in\n", Mode: "4755"},
		{Path: "/usr/bin/ping", Content: "\x7fELF ping binary stand-in\n", Mode: "0755", Attrs: "%caps(cap_net_raw=ep)"},
		{Path: "/usr/bin/nologin-link", Kind: "symlink", Target: "login"},
		{Path: "/usr/share/doc/util-linux/README", Content: "read me\n", Attrs: "%doc"},
		{Path: "/usr/share/util-linux/empty", Content: ""},
		{Path: "/usr/share/common/shared.txt", Content: "shared by two packages\n"},
		{Path: "/var/lib/util-linux", Kind: "dir", Mode: "0750"},
		{Path: "/var/lib/util-linux/stamp", Content: "stamp\n", Attrs: "%verify(not md5 size mtime)"},
		{Path: "/var/log/lastlog", Mode: "0644", Attrs: "%ghost"},
		{Path: "/dev/fake-null", Kind: "cdev", Major: 1, Minor: 3, Mode: "0666"},
	}}
}

func glibc() pkgdbtest.RPMSpec {
	return pkgdbtest.RPMSpec{Name: "glibc", Version: "2.28", Release: "236.el8", Arch: "x86_64", Payload: "w6.xzdio", Files: []pkgdbtest.RPMFile{
		{Path: "/usr/lib64/libnss_files.so.2", Content: strings.Repeat("\x7fELF libnss_files stand-in ", 300), Mode: "0755"},
		{Path: "/usr/lib64/libnss_files-2.28.so", Content: strings.Repeat("\x7fELF libnss_files-2.28 ", 200), Mode: "0755"},
		{Path: "/usr/share/common/shared.txt", Content: "shared by two packages\n"},
		{Path: "/etc/nsswitch.conf", Content: "passwd: files\ngroup: files\n", Attrs: "%config(noreplace)"},
	}}
}

// scratchRoot builds the two packages (zstd and xz payloads too) and
// installs them into a fresh root.
func scratchRoot(t *testing.T) (root, pkgs string) {
	pkgdbtest.NeedRoot(t, "rpm --root installs into a scratch root by chrooting")
	pkgdbtest.NeedTool(t, "rpmbuild", "rpm")
	pkgs = t.TempDir()
	a := pkgdbtest.BuildRPM(t, pkgs, utilLinux())
	b := pkgdbtest.BuildRPM(t, pkgs, glibc())
	return pkgdbtest.RPMRoot(t, a, b), pkgs
}

func verifyLines(t *testing.T, dir string, opt pkgdb.VerifyOptions) ([]string, *pkgdb.Report) {
	t.Helper()
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	db, err := pkgdb.Open(root)
	require.NoError(t, err)
	rep, err := pkgdb.Verify(context.Background(), root, db, opt)
	require.NoError(t, err)
	var lines []string
	for _, r := range rep.Results {
		lines = append(lines, r.Line())
	}
	sort.Strings(lines)
	return lines, rep
}

func rpmLines(t *testing.T, dir string, extra ...string) []string {
	args := append([]string{"-Va", "--nodeps", "--noscripts"}, extra...)
	out, _, err := pkgdbtest.RPMOutput(dir, args...)
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	sort.Strings(lines)
	return lines
}

func must(t *testing.T, err error) {
	t.Helper()
	require.NoError(t, err)
}

// breakRoot damages a scratch root in every way rpm -V can see.
func breakRoot(t *testing.T, dir string) {
	p := func(s string) string { return filepath.Join(dir, s) }
	// Same size, other content: 5 and T.
	must(t, os.WriteFile(p("usr/bin/login"), []byte("\x7fELF LOGIN binary stand-in\n"), 0o755))
	// Missing config file and library.
	must(t, os.Remove(p("etc/pam.d/login")))
	must(t, os.Remove(p("usr/lib64/libnss_files.so.2")))
	// Mode, owner, group.
	must(t, os.Chmod(p("usr/bin/su"), 0o755))
	must(t, os.Chown(p("etc/mail.conf"), 65534, 12))
	must(t, os.Chown(p("etc/nsswitch.conf"), 0, 5))
	// Time only.
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	must(t, os.Chtimes(p("usr/lib64/libnss_files-2.28.so"), old, old))
	// A time difference on a path two packages own is not reported.
	must(t, os.Chtimes(p("usr/share/common/shared.txt"), old, old))
	// Emptied file: zero-size.
	must(t, os.Truncate(p("usr/bin/ping"), 0))
	// Symlink retargeted.
	must(t, os.Remove(p("usr/bin/nologin-link")))
	must(t, os.Symlink("su", p("usr/bin/nologin-link")))
	// Directory mode.
	must(t, os.Chmod(p("var/lib/util-linux"), 0o755))
	// Not verified by request: nothing to report.
	must(t, os.WriteFile(p("var/lib/util-linux/stamp"), []byte("changed stamp\n"), 0o644))
	// A ghost created with other permissions.
	must(t, os.MkdirAll(p("var/log"), 0o755))
	must(t, os.WriteFile(p("var/log/lastlog"), []byte("data"), 0o600))
	// Device node with another minor number.
	must(t, os.Remove(p("dev/fake-null")))
	must(t, unix.Mknod(p("dev/fake-null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))))
	// Doc removed.
	must(t, os.Remove(p("usr/share/doc/util-linux/README")))
}

func TestVerifyMatchesRPM(t *testing.T) {
	dir, _ := scratchRoot(t)
	clean, _ := verifyLines(t, dir, pkgdb.VerifyOptions{})
	require.Empty(t, clean, "a fresh install verifies clean")
	require.Empty(t, rpmLines(t, dir))

	breakRoot(t, dir)
	ours, rep := verifyLines(t, dir, pkgdb.VerifyOptions{})
	theirs := rpmLines(t, dir)
	require.Equal(t, theirs, ours, "rescue verify and rpm -Va disagree")
	require.Contains(t, ours, "missing   c /etc/pam.d/login")
	require.Contains(t, ours, "missing     /usr/lib64/libnss_files.so.2")

	var zero []string
	for _, r := range rep.Results {
		if r.ZeroSize {
			zero = append(zero, r.File.Path)
		}
	}
	require.Equal(t, []string{"/usr/bin/ping"}, zero)

	// Metadata only: the same as rpm -Va --nofiledigest.
	fast, _ := verifyLines(t, dir, pkgdb.VerifyOptions{Fast: true})
	require.Equal(t, rpmLines(t, dir, "--nofiledigest"), fast)

	// One package by name.
	one, _ := verifyLines(t, dir, pkgdb.VerifyOptions{Packages: []string{"glibc"}})
	out, _, _ := pkgdbtest.RPMOutput(dir, "-V", "--nodeps", "--noscripts", "glibc")
	want := strings.Split(strings.TrimSpace(out), "\n")
	sort.Strings(want)
	require.Equal(t, want, one)
	require.Len(t, one, 3)
}

// A file whose size differs from the record's has another digest: it is
// reported as rpm reports it, without being read; and how many readers and
// hashers run changes nothing in what is found.
func TestVerifySizeDecidesAndScheduling(t *testing.T) {
	dir, _ := scratchRoot(t)
	big := filepath.Join(dir, "usr/lib64/libnss_files-2.28.so")
	must(t, os.WriteFile(big, make([]byte, 8<<20), 0o755))
	breakRoot(t, dir)
	theirs := rpmLines(t, dir)
	require.Contains(t, theirs, "S.5....T.    /usr/lib64/libnss_files-2.28.so")
	ours, rep := verifyLines(t, dir, pkgdb.VerifyOptions{})
	require.Equal(t, theirs, ours)
	require.Less(t, rep.Bytes, int64(1<<20), "the resized file was read")
	for _, o := range []pkgdb.VerifyOptions{{Readers: 1, Workers: 1}, {Readers: 3, Workers: 2}, {Readers: 200}} {
		lines, _ := verifyLines(t, dir, o)
		require.Equal(t, ours, lines, "readers %d, workers %d", o.Readers, o.Workers)
	}
}

// rpm built with ACL support (RHEL's) reports a file with an extended ACL
// as a mode difference; Debian's rpm is built without, so this is checked
// against the rule itself.
func TestVerifyACL(t *testing.T) {
	dir, _ := scratchRoot(t)
	// system.posix_acl_access: version 2, user_obj rwx, user 1000 r--,
	// group_obj r-x, mask r-x, other r-x.
	acl := []byte{2, 0, 0, 0,
		1, 0, 7, 0, 0xff, 0xff, 0xff, 0xff,
		2, 0, 4, 0, 0xe8, 3, 0, 0,
		4, 0, 5, 0, 0xff, 0xff, 0xff, 0xff,
		0x10, 0, 5, 0, 0xff, 0xff, 0xff, 0xff,
		0x20, 0, 5, 0, 0xff, 0xff, 0xff, 0xff}
	if err := unix.Setxattr(filepath.Join(dir, "usr/bin/login"), "system.posix_acl_access", acl, 0); err != nil {
		t.Skipf("this filesystem takes no ACLs: %v", err)
	}
	ours, _ := verifyLines(t, dir, pkgdb.VerifyOptions{})
	require.Equal(t, []string{".M.......    /usr/bin/login"}, ours)
}

func TestVerifyCorpus(t *testing.T) {
	for _, name := range []string{pkgdbtest.Alma8S390x, pkgdbtest.Alma9S390x} {
		t.Run(name, func(t *testing.T) {
			dir := pkgdbtest.AlmaRoot(t, name)
			pkgdbtest.NeedTool(t, "rpm", "rpm")
			// rpm may write to the database it reads: compare on a copy
			// of the pristine root's state first.
			ours, _ := verifyLines(t, dir, pkgdb.VerifyOptions{})
			require.Equal(t, rpmLines(t, dir), ours)

			p := func(s string) string { return filepath.Join(dir, s) }
			must(t, os.Truncate(p("usr/bin/bash"), 0))
			must(t, os.Remove(p("etc/profile")))
			must(t, os.Chmod(p("etc/passwd"), 0o666))
			must(t, os.RemoveAll(p("usr/share/zoneinfo/Europe")))
			ours, rep := verifyLines(t, dir, pkgdb.VerifyOptions{})
			require.Equal(t, rpmLines(t, dir), ours)
			require.Contains(t, ours, "missing   c /etc/profile")
			zero := 0
			for _, r := range rep.Results {
				if r.ZeroSize {
					zero++
					require.Equal(t, "/usr/bin/bash", r.File.Path)
				}
			}
			require.Equal(t, 1, zero)
		})
	}
}

// fields normalises a verify line's spacing: dpkg --verify puts one space
// between the attributes and the file kind, rpm two.
func fields(lines []string) []string {
	var out []string
	for _, l := range lines {
		if l == "" {
			continue
		}
		out = append(out, strings.Join(strings.Fields(l), " "))
	}
	sort.Strings(out)
	return out
}

func TestVerifyDebian(t *testing.T) {
	dir, _ := pkgdbtest.DebianRoot(t)
	pkgdbtest.NeedTool(t, "debsums", "debsums")
	clean, _ := verifyLines(t, dir, pkgdb.VerifyOptions{})
	require.Empty(t, clean)

	p := func(s string) string { return filepath.Join(dir, s) }
	must(t, os.Remove(p("etc/pam.d/login")))
	must(t, os.Remove(p("lib/x86_64-linux-gnu/libnss_files.so.2")))
	must(t, os.Truncate(p("bin/bash"), 0))
	data, err := os.ReadFile(p("etc/login.defs"))
	must(t, err)
	must(t, os.WriteFile(p("etc/login.defs"), append(data, "# local change\n"...), 0o644))
	data, err = os.ReadFile(p("usr/bin/login"))
	must(t, err)
	data[len(data)/2] ^= 0xff
	must(t, os.WriteFile(p("usr/bin/login"), data, 0o755))

	ours, rep := verifyLines(t, dir, pkgdb.VerifyOptions{})

	// dpkg --verify prints the same notation for the files it knows.
	cmd := exec.Command("dpkg", "--root="+dir, "--verify")
	out, _ := cmd.Output()
	require.Equal(t, fields(strings.Split(string(out), "\n")), fields(ours))

	// debsums -a: the changed files on stdout (-c), the missing ones on
	// stderr.
	cmd = exec.Command("debsums", "--root", dir, "--all", "--changed")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, _ = cmd.Output()
	var changed, missing []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		changed = append(changed, strings.TrimPrefix(l, dir))
	}
	for _, l := range strings.Split(stderr.String(), "\n") {
		if _, rest, ok := strings.Cut(l, "missing file "+dir); ok {
			missing = append(missing, strings.Fields(rest)[0])
		}
	}
	var gotChanged, gotMissing, zero []string
	for _, r := range rep.Results {
		switch {
		case r.Missing:
			gotMissing = append(gotMissing, r.File.Path)
		case r.Failed&pkgdb.AttrDigest != 0:
			gotChanged = append(gotChanged, r.File.Path)
		}
		if r.ZeroSize {
			zero = append(zero, r.File.Path)
		}
	}
	require.ElementsMatch(t, changed, gotChanged)
	require.ElementsMatch(t, missing, gotMissing)
	require.Equal(t, []string{"/bin/bash"}, zero)
	require.Contains(t, ours, "??5??????  c /etc/login.defs")
	require.Contains(t, ours, "missing   c /etc/pam.d/login")

	// A missing symlink that only the .list records: neither dpkg
	// --verify nor debsums see it; rescue does.
	must(t, os.Remove(p("lib64/ld-linux-x86-64.so.2")))
	ours, _ = verifyLines(t, dir, pkgdb.VerifyOptions{Fast: true})
	require.Contains(t, ours, "missing     /lib64/ld-linux-x86-64.so.2")
}

// statoverride and diversions, set with dpkg's own tools.
func TestVerifyDebianOverrides(t *testing.T) {
	dir, _ := pkgdbtest.DebianRoot(t)
	pkgdbtest.NeedTool(t, "dpkg-divert", "dpkg")
	run := func(args ...string) {
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		require.NoError(t, err, "%v: %s", args, out)
	}
	run("dpkg-statoverride", "--root", dir, "--update", "--add", "root", "tty", "2755", "/usr/bin/passwd")
	// login lists /bin/login (/bin is a symlink to usr/bin): dpkg matches
	// diversions on the listed path.
	run("dpkg-divert", "--root", dir, "--local", "--rename", "--divert", "/bin/login.real", "--add", "/bin/login")
	clean, _ := verifyLines(t, dir, pkgdb.VerifyOptions{})
	require.Empty(t, clean, "the override and the diversion are what dpkg expects")

	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	db, err := pkgdb.Open(root)
	require.NoError(t, err)
	o := db.Owners("/usr/bin/login.real")
	require.Len(t, o, 1)
	require.Equal(t, "login", o[0].Package)
	require.Equal(t, "/bin/login.real", o[0].Path)
	require.Equal(t, "/bin/login", o[0].PackagePath)

	must(t, os.Chmod(filepath.Join(dir, "usr/bin/passwd"), 0o4755))
	must(t, os.Chown(filepath.Join(dir, "usr/bin/passwd"), 0, 0))
	must(t, os.Truncate(filepath.Join(dir, "usr/bin/login.real"), 3))
	ours, _ := verifyLines(t, dir, pkgdb.VerifyOptions{})
	require.Equal(t, []string{"??5??????    /bin/login.real", "?M.??.G??    /usr/bin/passwd"}, ours)
}

// DiskWait is called for the files verify has to fetch from the disk, and
// for no file the page cache holds (rescue verify raises the scheduler's
// slots on the first call, and leaves them on a warm tree).
func TestVerifyDiskWait(t *testing.T) {
	dir, _ := scratchRoot(t)
	var files []string
	must(t, filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() && !strings.Contains(p, "/var/lib/rpm") {
			files = append(files, p)
		}
		return err
	}))
	warm := func() {
		for _, p := range files {
			_, err := os.ReadFile(p)
			must(t, err)
		}
	}
	count := func() int {
		var n atomic.Int64
		verifyLines(t, dir, pkgdb.VerifyOptions{DiskWait: func() { n.Add(1) }})
		return int(n.Load())
	}
	warm()
	f, err := os.Open(filepath.Join(dir, "usr/bin/login"))
	must(t, err)
	defer f.Close()
	fi, err := f.Stat()
	must(t, err)
	if _, _, known := sysroot.Cached(int(f.Fd()), fi.Size()); !known {
		// Without cachestat(2) every read may wait.
		require.NotZero(t, count(), "no cachestat: every file may wait for the disk")
		return
	}
	require.Zero(t, count(), "every file is in the page cache")
	must(t, f.Sync())
	must(t, unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED))
	if cached, _, _ := sysroot.Cached(int(f.Fd()), fi.Size()); cached > 0 {
		t.Skip("the page cache of a file cannot be emptied here (a TMPDIR on tmpfs?)")
	}
	require.Equal(t, 1, count(), "one file is not in the page cache")
}
