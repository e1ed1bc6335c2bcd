package limits

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/facts/pamstack"
	"rescue/parse/osrelease"
	"rescue/parse/sysctlconf"
	"rescue/pkgdb"
	"rescue/sysroot"
)

func rootWith(t *testing.T, files ...string) *sysroot.Root {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, f)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, nil, 0o644))
	}
	r, err := sysroot.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

func TestSystemdVersion(t *testing.T) {
	deb := osrelease.Info{ID: "debian", VersionID: "11"}
	v, src := systemdVersion(rootWith(t, "lib/systemd/libsystemd-shared-247.so", "lib/systemd/systemd"), deb)
	assert.Equal(t, 247, v)
	assert.Equal(t, "/lib/systemd/libsystemd-shared-247.so", src)

	v, _ = systemdVersion(rootWith(t, "usr/lib/systemd/libsystemd-shared-239.so", "usr/lib/systemd/libsystemd-shared-99x.so"), osrelease.Info{})
	assert.Equal(t, 239, v, "the versioned library wins over the release table")

	v, src = systemdVersion(rootWith(t, "usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so"), deb)
	assert.Equal(t, 252, v, "Debian 12 keeps it in the multiarch directory")
	assert.Equal(t, "/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so", src)

	v, _ = systemdVersion(rootWith(t, "usr/lib64/systemd/libsystemd-shared-250.so"), osrelease.Info{ID: "rhel", VersionID: "9.0"})
	assert.Equal(t, 250, v)

	v, _ = systemdVersion(rootWith(t, "usr/lib/systemd/systemd"), osrelease.Info{ID: "rhel", VersionID: "8.6"})
	assert.Equal(t, 239, v)

	v, _ = systemdVersion(rootWith(t, "usr/lib/systemd/systemd"), osrelease.Info{ID: "exotic"})
	assert.Equal(t, 230, v, "systemd without libsystemd-shared is older than 231")

	v, _ = systemdVersion(rootWith(t, "sbin/init"), osrelease.Info{ID: "centos", VersionID: "6"})
	assert.Equal(t, 0, v, "CentOS 6 has upstart, not systemd")
}

func TestPAMReplacesUnlimited(t *testing.T) {
	for _, c := range []struct {
		id, ver string
		want    bool
	}{
		{"debian", "12", true}, {"debian", "11", false}, {"ubuntu", "22.04", false},
		{"ubuntu", "24.04", true}, {"centos", "7", false}, {"rhel", "9.3", false}, {"fedora", "38", true},
	} {
		assert.Equal(t, c.want, pamReplacesUnlimited(osrelease.Info{ID: c.id, VersionID: c.ver}), c.id+" "+c.ver)
	}
}

func TestLeadingUint(t *testing.T) {
	n, ok := leadingUint("2000000 extra")
	assert.True(t, ok)
	assert.Equal(t, uint64(2000000), n)
	n, ok = leadingUint("99999999999999999999999")
	assert.True(t, ok)
	assert.Equal(t, uint64(math.MaxUint64), n)
	_, ok = leadingUint("lots")
	assert.False(t, ok)
}

// pkgList is a package database that only lists packages.
type pkgList []pkgdb.Package

func (l pkgList) Kind() string               { return "dpkg" }
func (l pkgList) Packages() []pkgdb.Package  { return l }
func (l pkgList) Files(string) []pkgdb.File  { return nil }
func (l pkgList) Owners(string) []pkgdb.File { return nil }

// TestPAMVersionFromPackages: the installed Linux-PAM decides, whatever the
// release says (a Debian 11 with 1.5.2 from backports, say).
func TestPAMVersionFromPackages(t *testing.T) {
	for _, c := range []struct {
		pkg, version string
		want         [3]int
		ok           bool
	}{
		{"libpam-modules", "1.4.0-9+deb11u2", [3]int{1, 4, 0}, true},
		{"libpam-modules", "1.5.2-6+deb12u3", [3]int{1, 5, 2}, true},
		{"libpam-modules", "1.7.0-5", [3]int{1, 7, 0}, true},
		{"pam", "1.5.1-14.el9", [3]int{1, 5, 1}, true},
		{"pam", "1:1.1.8-23.el7", [3]int{1, 1, 8}, true},
		{"bash", "5.2", [3]int{}, false},
		{"pam", "garbage", [3]int{}, false},
	} {
		v, ok := pamVersion(pkgList{{Name: c.pkg, Version: c.version}})
		assert.Equal(t, c.ok, ok, c.version)
		assert.Equal(t, c.want, v, c.version)
	}
	_, ok := pamVersion(nil)
	assert.False(t, ok)

	deb11 := osrelease.Info{ID: "debian", VersionID: "11"}
	root := rootWith(t)
	sys := readSystem(root, deb11, pkgList{{Name: "libpam-modules", Version: "1.5.2-6"}}, sysctlconf.Load(root))
	assert.True(t, sys.pamUnlimitedOK, "the package says 1.5.2")
	sys = readSystem(root, deb11, nil, sysctlconf.Load(root))
	assert.False(t, sys.pamUnlimitedOK, "without a database, Debian 11's release says 1.4")
}

// TestUsesPAMLimits: pam_limits counts when a service's session stack, as
// libpam builds it, has it; not on a comment, in a line of another type,
// in a backup file or a malformed line. login's stack is named first.
func TestUsesPAMLimits(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		used  bool
		by    string
	}{
		{"include from login", map[string]string{
			"etc/pam.d/login":       "session include system-auth\n",
			"etc/pam.d/system-auth": "session required pam_limits.so\n",
		}, true, "login's session stack (/etc/pam.d/system-auth:1)"},
		{"vendor directory", map[string]string{
			"etc/pam.d/common-auth": "auth required pam_unix.so\n",
			"usr/lib/pam.d/sshd":    "-session optional pam_limits.so\n",
		}, true, "sshd's session stack (/usr/lib/pam.d/sshd:1)"},
		{"another service", map[string]string{
			"etc/pam.d/login": "session required pam_unix.so\n",
			"etc/pam.d/su":    "session required pam_limits.so\n",
		}, true, "su's session stack (/etc/pam.d/su:1)"},
		{"comment, other type, backup, malformed", map[string]string{
			"etc/pam.d/login":         "session required pam_unix.so # pam_limits.so\nauth required pam_limits.so\n",
			"etc/pam.d/login.rpmsave": "session required pam_limits.so\n",
			"etc/pam.d/sshd":          "session pam_limits.so\n",
		}, false, ""},
	}
	for _, c := range cases {
		dir := t.TempDir()
		for p, data := range c.files {
			require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(data), 0o644))
		}
		r, err := sysroot.Open(dir)
		require.NoError(t, err)
		used, by := usesPAMLimits(pamstack.New(r))
		r.Close()
		assert.Equal(t, c.used, used, c.name)
		assert.Equal(t, c.by, by, c.name)
	}
	used, _ := usesPAMLimits(pamstack.New(rootWith(t, "etc/hostname")))
	assert.True(t, used, "no PAM directory: taken as used, the side that reports the limit at its full weight")
}
