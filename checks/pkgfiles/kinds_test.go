package pkgfiles

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"rescue/checks/checkstest"
	"rescue/facts"
	"rescue/pkgdb"
	"rescue/pkgdb/pkgdbtest"
)

// TestRestoreEveryKindRPM builds an EL-style package with rpmbuild that
// owns every kind of entry (a file with capabilities, a file owned by a
// group other than root, a soname symlink, a hard-link pair, a character
// device), installs it with rpm, deletes one of each, and restores them:
// the symlink and the device from what rpm's database records, the files
// from the .rpm, the hard link as a link to its intact sibling. rpm -Va
// on the repaired root reports nothing.
func TestRestoreEveryKindRPM(t *testing.T) {
	pkgdbtest.NeedRoot(t, "rpm --root installs into a scratch root, with device nodes")
	pkgs := t.TempDir()
	rpm := pkgdbtest.BuildRPM(t, pkgs, pkgdbtest.RPMSpec{
		Name: "iputils", Version: "20180629", Release: "11.el8", Arch: "x86_64",
		Files: []pkgdbtest.RPMFile{
			{Path: "/usr/bin/ping", Content: "#!/bin/sh\necho ping\n", Mode: "0755", Attrs: "%caps(cap_net_admin,cap_net_raw=p)"},
			{Path: "/usr/lib64/libping.so.1.0.0", Content: "\x7fELF libping\n", Mode: "0755"},
			{Path: "/usr/lib64/libping.so.1", Kind: "symlink", Target: "libping.so.1.0.0"},
			{Path: "/usr/sbin/arping", Content: "#!/bin/sh\necho arping\n", Mode: "0755"},
			{Path: "/usr/sbin/arping2", Kind: "hardlink", Target: "/usr/sbin/arping", Mode: "0755"},
			{Path: "/usr/libexec/ping/spool", Content: "queue\n", Mode: "0640", Group: "mail"},
			{Path: "/usr/lib/ping/null", Kind: "cdev", Major: 1, Minor: 3, Mode: "0666"},
		},
	})
	root := pkgdbtest.RPMRoot(t, rpm)
	require.Empty(t, pkgdbtest.RPMVerify(t, root), "the fresh install verifies")
	for _, p := range []string{"usr/bin/ping", "usr/lib64/libping.so.1", "usr/sbin/arping2", "usr/libexec/ping/spool", "usr/lib/ping/null"} {
		require.NoError(t, os.Remove(filepath.Join(root, p)))
	}
	broken := strings.Join(pkgdbtest.RPMVerify(t, root), "\n")
	assert.Contains(t, broken, "missing     /usr/lib64/libping.so.1")

	fopt := facts.Options{OpenPackages: pkgdb.Open, PackageDirs: []string{pkgs}}
	findings := checkstest.RunRoot(t, Check, root, fopt, func(t *testing.T) {
		assert.Empty(t, verifyCopy(t, root), "rpm -Va finds nothing on the repaired root")
		var a, b unix.Stat_t
		require.NoError(t, unix.Stat(filepath.Join(root, "usr/sbin/arping2"), &a))
		require.NoError(t, unix.Stat(filepath.Join(root, "usr/sbin/arping"), &b))
		assert.Equal(t, b.Ino, a.Ino, "arping2 is a hard link to arping again")
		require.NoError(t, unix.Stat(filepath.Join(root, "usr/libexec/ping/spool"), &a))
		assert.Equal(t, uint32(12), a.Gid, "the group comes by name from the target's /etc/group")
	})
	require.Len(t, findings, 1, checkstest.FormatFindings(findings))
	f := findings[0]
	require.NotEmpty(t, f.Fixes, f.NoFix)
	kinds := map[string]int{}
	for _, op := range f.Fixes[0].Ops {
		kinds[string(op.Kind)]++
		require.NotNil(t, op.Source, op.Path)
		assert.Equal(t, "iputils", op.Source.Package)
	}
	assert.Equal(t, map[string]int{"write": 2, "symlink": 1, "link": 1, "mknod": 1}, kinds)
}

// verifyCopy runs rpm -Va against a copy of the root's database, so that
// rpm's lock and shared-memory files do not change the root itself.
func verifyCopy(t *testing.T, root string) []string {
	t.Helper()
	cp := filepath.Join(root, ".rpmdb-verify")
	out, err := exec.Command("cp", "-a", filepath.Join(root, "var/lib/rpm"), cp).CombinedOutput()
	require.NoError(t, err, string(out))
	defer os.RemoveAll(cp)
	o, _, _ := pkgdbtest.RPMOutputDB(root, "/.rpmdb-verify", "-Va", "--nodeps", "--noscripts")
	var lines []string
	for _, l := range strings.Split(o, "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestRestoreLabelsSELinux restores a deleted library and its soname link
// on a root that runs SELinux: each gets the label the target's own
// file_contexts assigns (as restorecon would), so no relabel is needed.
func TestRestoreLabelsSELinux(t *testing.T) {
	pkgdbtest.NeedRoot(t, "rpm --root installs into a scratch root")
	pkgs := t.TempDir()
	rpm := pkgdbtest.BuildRPM(t, pkgs, pkgdbtest.RPMSpec{
		Name: "glibc", Version: "2.28", Release: "236.el8", Arch: "x86_64",
		Files: []pkgdbtest.RPMFile{
			{Path: "/usr/lib64/libnss_files-2.28.so", Content: "\x7fELF nss\n", Mode: "0755"},
			{Path: "/usr/lib64/libnss_files.so.2", Kind: "symlink", Target: "libnss_files-2.28.so"},
		},
	})
	root := pkgdbtest.RPMRoot(t, rpm)
	ctxDir := filepath.Join(root, "etc/selinux/targeted/contexts/files")
	require.NoError(t, os.MkdirAll(ctxDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc/selinux/config"), []byte("SELINUX=enforcing\nSELINUXTYPE=targeted\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(ctxDir, "file_contexts"), []byte(
		"/.*\tsystem_u:object_r:default_t:s0\n/usr/lib(64)?(/.*)?\tsystem_u:object_r:lib_t:s0\n/usr/lib(64)?/libnss_files[^/]*\\.so[^/]*\t--\tsystem_u:object_r:textrel_shlib_t:s0\n"), 0o644))
	for _, p := range []string{"usr/lib64/libnss_files-2.28.so", "usr/lib64/libnss_files.so.2"} {
		require.NoError(t, os.Remove(filepath.Join(root, p)))
	}
	fopt := facts.Options{OpenPackages: pkgdb.Open, PackageDirs: []string{pkgs}}
	findings := checkstest.RunRoot(t, Check, root, fopt, func(t *testing.T) {
		for p, want := range map[string]string{
			"usr/lib64/libnss_files-2.28.so": "system_u:object_r:textrel_shlib_t:s0",
			"usr/lib64/libnss_files.so.2":    "system_u:object_r:lib_t:s0", // the -- rule is for files only
		} {
			buf := make([]byte, 256)
			n, err := unix.Lgetxattr(filepath.Join(root, p), "security.selinux", buf)
			require.NoError(t, err, p)
			assert.Equal(t, want+"\x00", string(buf[:n]), p)
		}
	})
	require.Len(t, findings, 1, checkstest.FormatFindings(findings))
	for _, op := range findings[0].Fixes[0].Ops {
		assert.Contains(t, strings.Join(op.Source.Checks, "; "), "from the target's file_contexts", op.Path)
	}
}
