package restore_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/checks/internal/restore"
	"rescue/facts"
	"rescue/pkgdb"
	"rescue/pkgdb/pkgdbtest"
	"rescue/repair"
	"rescue/sysroot"
)

// The restore tests start from a root with /etc/pam.d/login and
// libnss_files.so.2 gone (the seed's "missing c /etc/pam.d/login" and a
// lock-out on EL7/EL8 and Debian 11), plan the restores, apply them through
// the repair engine, and end with rescue's verify and the distribution's
// own tool (rpm -Va, debsums) both clean.

// openPass opens dir as a check's pass sees it, with package files from
// dirs.
func openPass(t *testing.T, dir string, dirs ...string) (*sysroot.Root, *checks.Pass) {
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { root.Close() })
	f := facts.New(root, facts.Options{OpenPackages: pkgdb.Open, PackageDirs: dirs})
	return root, &checks.Pass{Check: &checks.Check{Name: "test"}, Root: root, Facts: f}
}

// apply runs fixes through the real engine, as rescue fix --apply does.
func apply(t *testing.T, root *sysroot.Root, fixes ...repair.Fix) {
	var cands []repair.Candidate
	for i, f := range fixes {
		cands = append(cands, repair.Candidate{Finding: "restore-" + string(rune('a'+i)), Stage: repair.StageLogin, Fix: f})
	}
	plan := repair.NewPlan(cands, root.ReadFile)
	require.Empty(t, plan.Skipped)
	res, err := repair.Apply(root, plan, repair.Options{JournalDir: t.TempDir()})
	require.NoError(t, err)
	require.Equal(t, len(fixes), res.Applied())
}

func verify(t *testing.T, root *sysroot.Root) []string {
	db, err := pkgdb.Open(root)
	require.NoError(t, err)
	rep, err := pkgdb.Verify(context.Background(), root, db, pkgdb.VerifyOptions{})
	require.NoError(t, err)
	var lines []string
	for _, r := range rep.Results {
		lines = append(lines, r.Line())
	}
	return lines
}

func TestRestoreRPM(t *testing.T) {
	dir, pkgs := pkgdbtest.LoginRPMRoot(t)
	for _, p := range []string{"etc/pam.d/login", "usr/lib64/libnss_files.so.2", "etc/mail.conf", "usr/lib64/libc.so"} {
		require.NoError(t, os.Remove(filepath.Join(dir, p)))
	}
	// A damaged file is restored in place too.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "usr/lib64/libc.so.6"), nil, 0o600))

	root, pass := openPass(t, dir, pkgs)
	require.Len(t, verify(t, root), 5)
	var fixes []repair.Fix
	for _, p := range []string{"/etc/pam.d/login", "/lib64/../usr/lib64/libnss_files.so.2", "/etc/mail.conf", "/usr/lib64/libc.so", "/usr/lib64/libc.so.6"} {
		fix, err := restore.Fix(pass, p)
		require.NoError(t, err, p)
		require.Len(t, fix.Ops, 1)
		fixes = append(fixes, fix)
	}
	require.Contains(t, fixes[0].Message, "util-linux")
	require.Equal(t, repair.Mode(0o640), *fixes[2].Ops[0].Mode)
	require.Equal(t, repair.Owner{UID: 0, GID: 12}, *fixes[2].Ops[0].Owner, "group mail is 12 in the target, whatever the helper says")
	apply(t, root, fixes...)

	require.Empty(t, verify(t, root))
	require.Empty(t, pkgdbtest.RPMVerify(t, dir), "rpm -Va is clean after the restore")
}

// Without a package file, the error names the exact package to fetch.
func TestRestoreRPMNoPackageFile(t *testing.T) {
	dir, _ := pkgdbtest.LoginRPMRoot(t)
	require.NoError(t, os.Remove(filepath.Join(dir, "etc/pam.d/login")))
	_, pass := openPass(t, dir)
	_, err := restore.Fix(pass, "/etc/pam.d/login")
	require.ErrorIs(t, err, facts.ErrNoPackages)
	var missing *pkgdb.MissingPackageError
	require.True(t, errors.As(err, &missing))
	require.Equal(t, "util-linux-2.32.1-43.el8.x86_64", missing.Package.String())
	require.Contains(t, err.Error(), "util-linux-2.32.1-43.el8.x86_64")
	require.Contains(t, err.Error(), "dnf download util-linux-2.32.1-43.el8.x86_64")

	_, err = restore.Fix(pass, "/etc/not-packaged")
	require.ErrorContains(t, err, "belongs to no installed package")
}

// The target's own dnf cache is a source too.
func TestRestoreRPMFromTargetCache(t *testing.T) {
	dir, pkgs := pkgdbtest.LoginRPMRoot(t)
	cache := filepath.Join(dir, "var/cache/dnf/baseos-1234/packages")
	require.NoError(t, os.MkdirAll(cache, 0o755))
	out, err := exec.Command("cp", filepath.Join(pkgs, "util-linux-2.32.1-43.el8.x86_64.rpm"), cache).CombinedOutput()
	require.NoError(t, err, string(out))
	require.NoError(t, os.Remove(filepath.Join(dir, "etc/pam.d/login")))
	root, pass := openPass(t, dir)
	fix, err := restore.Fix(pass, "/etc/pam.d/login")
	require.NoError(t, err)
	require.Contains(t, fix.Message, "target:/var/cache/dnf/baseos-1234/packages/util-linux-2.32.1-43.el8.x86_64.rpm")
	apply(t, root, fix)
	require.Empty(t, verify(t, root))
}

// A package file with the right name and version but other content (a
// rebuilt package, a corrupt download) is refused.
func TestRestoreRPMMismatch(t *testing.T) {
	dir, _ := pkgdbtest.LoginRPMRoot(t)
	other := t.TempDir()
	spec := pkgdbtest.LoginRPMs()[0]
	spec.Files[0].Content = "#%PAM-1.0\nauth sufficient pam_permit.so\n"
	pkgdbtest.BuildRPM(t, other, spec)
	require.NoError(t, os.Remove(filepath.Join(dir, "etc/pam.d/login")))
	_, pass := openPass(t, dir, other)
	_, err := restore.Fix(pass, "/etc/pam.d/login")
	require.Error(t, err)
	require.NotErrorIs(t, err, facts.ErrNoPackages)
	require.ErrorContains(t, err, "does not match the installed package")
}

func TestRestoreDebian(t *testing.T) {
	dir, debs := pkgdbtest.DebianRoot(t)
	pkgdbtest.NeedTool(t, "debsums", "debsums")
	for _, p := range []string{"etc/pam.d/login", "lib/x86_64-linux-gnu/libnss_files.so.2"} {
		require.NoError(t, os.Remove(filepath.Join(dir, p)))
	}
	root, pass := openPass(t, dir, debs)
	before := verify(t, root)
	require.ElementsMatch(t, []string{"missing   c /etc/pam.d/login", "missing     /lib/x86_64-linux-gnu/libnss_files.so.2"}, before)

	var fixes []repair.Fix
	for _, p := range []string{"/etc/pam.d/login", "/usr/lib/x86_64-linux-gnu/libnss_files.so.2"} {
		fix, err := restore.Fix(pass, p)
		require.NoError(t, err, p)
		fixes = append(fixes, fix)
	}
	require.Contains(t, fixes[0].Message, "login")
	require.Contains(t, fixes[1].Message, "libc6")
	apply(t, root, fixes...)

	require.Empty(t, verify(t, root))
	out, err := exec.Command("debsums", "--root", dir, "--all", "--silent").CombinedOutput()
	require.NoError(t, err, "debsums after the restore:\n%s", out)
	fi, err := os.Stat(filepath.Join(dir, "etc/pam.d/login"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
}

func TestRestoreDebianNoPackageFile(t *testing.T) {
	dir, _ := pkgdbtest.DebianRoot(t)
	require.NoError(t, os.Remove(filepath.Join(dir, "etc/pam.d/login")))
	_, pass := openPass(t, dir)
	_, err := restore.Fix(pass, "/etc/pam.d/login")
	require.ErrorIs(t, err, facts.ErrNoPackages)
	require.Regexp(t, `apt-get download login:amd64=1:4\.13\S+`, err.Error())
}
