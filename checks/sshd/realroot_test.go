package sshd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/checks/limits"
	"rescue/checks/logindefs"
	"rescue/checks/network"
	"rescue/checks/rclocal"
	"rescue/checks/sysctl"
	"rescue/facts"
	"rescue/images"
	"rescue/parse/sysctlconf"
	"rescue/repair"
	"rescue/sysroot"
)

// The real-root tests run against a real Debian 12 root built by mmdebstrap:
// the e2e boot root (images.BuildBootRoot: systemd, openssh-server,
// ifupdown, procps, a kernel), cached under images.DefaultCacheDir, so
// make test builds it once and make e2e boots the same tarball.
// RESCUE_LOGINB_ROOT_TAR names another tarball.
func realRootTar(t *testing.T) string {
	if p := os.Getenv("RESCUE_LOGINB_ROOT_TAR"); p != "" {
		return p
	}
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		t.Skip("real-root test: mmdebstrap is not installed (make deps installs it)")
	}
	root, err := images.BuildBootRoot(context.Background(), images.Bookworm, "")
	if err != nil {
		t.Fatalf("building the Debian 12 root: %v", err)
	}
	return root.Tarball
}

// realRoot extracts the cached Debian root into a fresh directory.
func realRoot(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("real-root test: skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("real-root test: needs root to extract a root filesystem with its owners and to chroot (CI runs as root)")
	}
	tarball := realRootTar(t)
	dir := filepath.Join(t.TempDir(), "root")
	require.NoError(t, os.Mkdir(dir, 0o755))
	// Documentation, locales, apt's caches, kernels and modules are not
	// read by the checks these tests run; leaving them out makes the
	// extraction a fifth of the tarball.
	args := []string{"-xf", tarball, "-C", dir}
	for _, x := range []string{"./boot", "./usr/lib/modules", "./usr/lib/firmware", "./usr/lib/grub", "./usr/share/doc", "./usr/share/man", "./usr/share/locale", "./usr/share/zoneinfo", "./var/cache/apt", "./var/lib/apt/lists", "./usr/share/perl"} {
		args = append(args, "--exclude="+x)
	}
	if out, err := exec.Command("tar", args...).CombinedOutput(); err != nil {
		t.Fatalf("extracting %s: %v\n%s", tarball, err, out)
	}
	return dir
}

func scanWith(t *testing.T, dir string, list ...*checks.Check) []checks.Finding {
	t.Helper()
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	res := checks.Run(context.Background(), root, facts.New(root, facts.Options{Memory: 2 << 30}), list, nil)
	for _, s := range res.Checks {
		require.Empty(t, s.Error, "check %s failed", s.Name)
	}
	return res.Findings
}

// sshdT runs the target's own sshd -t in a chroot: the test's reference
// for what sshd accepts (rescue itself never runs the target's programs).
func sshdT(t *testing.T, dir string) (bool, string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "run/sshd"), 0o755))
	cmd := exec.Command("chroot", dir, "/usr/sbin/sshd", "-t")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("running sshd -t: %v", err)
	}
	return err == nil, strings.TrimSpace(out.String())
}

// TestRealDebianRootIsHealthy runs the login checks on a fresh Debian 12:
// a stock system must give no finding at all.
func TestRealDebianRootIsHealthy(t *testing.T) {
	dir := realRoot(t)
	ok, out := sshdT(t, dir)
	require.True(t, ok, "the stock configuration must pass sshd -t: %s", out)
	fs := scanWith(t, dir, sysctl.Check, logindefs.Check, limits.Check, Check, network.Check, rclocal.Check)
	for _, f := range fs {
		t.Errorf("finding on a stock Debian 12 root: %s %s: %s", f.Severity, f.ID, f.Message)
	}
}

// TestRealSshdAgrees compares the check's verdict on single configuration
// lines with what the real OpenSSH 9.2 sshd -t says about them.
func TestRealSshdAgrees(t *testing.T) {
	dir := realRoot(t)
	cfgPath := filepath.Join(dir, "etc/ssh/sshd_config")
	stock, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	cases := []string{
		// Accepted by sshd 9.2.
		"PermitRootLogin prohibit-password",
		"PasswordAuthentication no # a trailing comment",
		"LoginGraceTime 1m30s",
		"RequiredRSASize 2048",
		"ChannelTimeout session=5m",
		"UsePrivilegeSeparation sandbox",
		"Protocol 2",
		"Port=2222",
		"Banner \"/etc/issue.net\"",
		"PubkeyAcceptedAlgorithms +ssh-rsa",
		"Match User backup\n\tX11Forwarding no",
		"Match All\nPort 2222",
		"AllowUsers root@10.0.0.*",
		"KeepAlive yes",
		"GSSAPIKeyExchange no",
		"DebianBanner no",
		"ClientAliveInterval 0",
		"PerSourceMaxStartups 10",
		"SetEnv FOO=bar",
		"Compression delayed",
		"permitrootlogin NO",
		"Include /etc/ssh/nonexistent/*.conf",
		// Refused by sshd 9.2.
		"PasswordAuthenticaton no",
		"UseDNS",
		"ClientAliveInterval 30x",
		"PermitRootLogin maybe",
		"X11Forwarding yes please",
		"Match User backup\n\tPort 2222",
		"PerSourcePenalties authfail:300s",
		"Port 70000",
		"MaxAuthTries three",
		"SshdSessionPath /usr/lib/openssh/sshd-session",
		"Match Bogus x",
		"Banner \"unbalanced",
		"AddressFamily ipx",
		"Compression maybe",
		"RefuseConnection yes",
	}
	for _, line := range cases {
		require.NoError(t, os.WriteFile(cfgPath, append(append([]byte{}, stock...), []byte("\n"+line+"\n")...), 0o644))
		realOK, out := sshdT(t, dir)
		var ours []string
		for _, f := range scanWith(t, dir, Check) {
			if f.Kind == "bad-line" || f.Kind == "include-problem" {
				ours = append(ours, f.Message)
			}
		}
		if realOK != (len(ours) == 0) {
			t.Errorf("%q: sshd -t accepts it: %v (%s); the check reports: %v", line, realOK, out, ours)
		}
	}
}

// TestRealSshdAcceptsTheRepair breaks the real configuration in the ways
// the check fixes, applies the fixes through the repair engine, and asks
// the real sshd whether it starts again.
func TestRealSshdAcceptsTheRepair(t *testing.T) {
	dir := realRoot(t)
	cfgPath := filepath.Join(dir, "etc/ssh/sshd_config")
	stock, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	broken := string(stock) + "\nPasswordAuthenticaton no\nUseDNS\nClientAliveInterval 30x\nPerSourcePenalties authfail:300s\nMatch User backup\n\tPort 2222\n\tX11Forwarding no\n"
	require.NoError(t, os.WriteFile(cfgPath, []byte(broken), 0o644))
	ok, _ := sshdT(t, dir)
	require.False(t, ok, "the broken configuration must fail sshd -t")

	fs := scanWith(t, dir, Check)
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	cands, err := checks.Candidates(fs, nil)
	require.NoError(t, err)
	require.Len(t, cands, 5, "one fix per refused line")
	plan := repair.NewPlan(cands, func(p string) ([]byte, error) { return root.ReadFile(p) })
	require.Empty(t, plan.Skipped, "the line edits of one file merge")
	res, err := repair.Apply(root, plan, repair.Options{JournalDir: t.TempDir()})
	require.NoError(t, err)
	require.Equal(t, 5, res.Applied())
	ok, out := sshdT(t, dir)
	require.True(t, ok, "after the repair sshd -t must pass: %s", out)
	fixed, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	require.Contains(t, string(fixed), "# disabled by rescue: unknown keyword: PasswordAuthenticaton no")
	require.Contains(t, string(fixed), "\tX11Forwarding no", "the rest of the Match block stays")
	fmt.Fprintln(os.Stderr) // keep go test's output tidy after sshd's
}

// TestRealRootBroken breaks a real Debian 12 root the ways the other
// login checks look for, and checks that what they learn from the real
// files (shadow's login binary, systemd's versioned library, the real
// sysctl.d layout) is right.
func TestRealRootBroken(t *testing.T) {
	dir := realRoot(t)
	write := func(name, data string, mode os.FileMode) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), mode))
		require.NoError(t, os.Chmod(p, mode))
	}
	defs, err := os.ReadFile(filepath.Join(dir, "etc/login.defs"))
	require.NoError(t, err)
	write("etc/login.defs", strings.Replace(string(defs), "ERASECHAR\t0177", "ERASECHAR\t01777", 1), 0o644)
	write("etc/security/limits.d/99-huge.conf", "* - nofile 2000000000\n", 0o644)
	write("etc/sysctl.d/99-tuning.conf", "vm.min_free_kbytes = 1048576\n", 0o644)
	write("etc/rc.local", "#!/bin/sh -e\nwhile true; do sleep 10; done\nexit 0\n", 0o755)

	got := map[string]checks.Finding{}
	for _, f := range scanWith(t, dir, sysctl.Check, logindefs.Check, limits.Check, network.Check, rclocal.Check) {
		got[f.Check+"/"+f.Kind] = f
	}
	f, ok := got["logindefs/erasechar"]
	require.True(t, ok, "ERASECHAR 01777 with shadow's login: %v", got)
	require.Equal(t, checks.Error, f.Severity)
	require.Contains(t, strings.Join(f.Evidence, "\n"), "/bin/login is shadow's login")

	f, ok = got["limits/nofile-above-nr-open"]
	require.True(t, ok)
	require.Equal(t, checks.Warning, f.Severity, "systemd 252 raises fs.nr_open")
	require.Contains(t, strings.Join(f.Evidence, "\n"), "libsystemd-shared-252.so")

	f, ok = got["sysctl/min-free-kbytes"]
	require.True(t, ok)
	require.Equal(t, checks.Critical, f.Severity, "1 GiB of 2 GiB")

	f, ok = got["rclocal/blocks"]
	require.True(t, ok)
	require.Equal(t, checks.Error, f.Severity)
	require.Len(t, got, 4, "nothing else: %v", got)
}

// TestRealSysctlOrder compares the order in which sysctlconf applies the
// files with the real systemd-sysctl's (--cat-config, systemd 252).
func TestRealSysctlOrder(t *testing.T) {
	dir := realRoot(t)
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	write("usr/lib/sysctl.d/10-x.conf", "vm.a = 1\n")
	write("etc/sysctl.d/10-x.conf", "vm.a = 2\n")
	write("run/sysctl.d/05-run.conf", "vm.b = 1\n")
	write("usr/local/lib/sysctl.d/60-local.conf", "vm.c = 1\n")
	write("etc/sysctl.d/zz-last.conf", "vm.d = 1\n")
	require.NoError(t, os.Symlink("/dev/null", filepath.Join(dir, "etc/sysctl.d/50-pid-max.conf")))

	out, err := exec.Command("chroot", dir, "/usr/lib/systemd/systemd-sysctl", "--cat-config").CombinedOutput()
	require.NoError(t, err, "%s", out)
	var want []string
	for _, line := range strings.Split(string(out), "\n") {
		p, ok := strings.CutPrefix(line, "# ")
		if !ok || !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, ".conf") || strings.Contains(p, " ") {
			continue
		}
		if target, err := os.Readlink(filepath.Join(dir, p)); err == nil && target == "/dev/null" {
			continue // a mask: nothing is applied from it
		}
		if target, err := filepath.EvalSymlinks(filepath.Join(dir, p)); err == nil {
			p = "/" + strings.TrimPrefix(target, dir+"/")
		}
		want = append(want, p)
	}
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	got := sysctlconfLoad(root)
	require.Len(t, want, 6, "systemd-sysctl lists the files: %v", want)
	require.Equal(t, want, got)
}

func sysctlconfLoad(root *sysroot.Root) []string {
	var out []string
	for _, f := range sysctlconf.Load(root).Files {
		p := f.Path
		if r, err := root.Resolve(p); err == nil {
			p = r
		}
		out = append(out, p)
	}
	return out
}
