package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/actions/access"
	"rescue/checks/all"
	"rescue/images"
	"rescue/images/boot"
)

const (
	kNew = "6.1.0-56-amd64"
	kOld = "6.1.0-47-amd64"
)

// fakeRoot writes the files the faults touch, shaped like a Debian 12 root.
func fakeRoot(t *testing.T) (string, *images.DebianImage) {
	t.Helper()
	return fakeRootLayout(t, images.UsrMerged)
}

// splitUsr moves what Debian 11's split /usr keeps outside /usr.
var splitUsr = strings.NewReplacer("usr/lib/x86_64-linux-gnu/", "lib/x86_64-linux-gnu/", "usr/bin/login", "bin/login",
	"usr/bin/bash", "bin/bash", "usr/lib/systemd/systemd", "lib/systemd/systemd")

// fakeRootLayout is fakeRoot with the /usr layout given: with a split
// /usr the libraries, login, bash and systemd are where Debian 11 keeps
// them, and /lib is a directory of its own.
func fakeRootLayout(t *testing.T, usr images.UsrLayout) (string, *images.DebianImage) {
	t.Helper()
	img := &images.DebianImage{RootUUID: images.DefaultRootUUID, FSType: "ext4", Kernels: []string{kNew, kOld}}
	root := t.TempDir()
	files := map[string]string{
		"etc/fstab":                                        "UUID=" + img.RootUUID + " / ext4 errors=remount-ro 0 1\n",
		"boot/grub/grub.cfg":                               "menuentry 'Debian GNU/Linux' {\n\tlinux\t/boot/vmlinuz-" + kNew + " root=UUID=" + img.RootUUID + " ro console=ttyS0\n\tinitrd\t/boot/initrd.img-" + kNew + "\n}\n",
		"etc/ssh/sshd_config":                              "Include /etc/ssh/sshd_config.d/*.conf\n",
		"etc/ssh/ssh_host_key":                             "key\n",
		"usr/lib/x86_64-linux-gnu/libnss_files.so.2":       "\x7fELF",
		"usr/lib/x86_64-linux-gnu/security/pam_unix.so":    "\x7fELF",
		"etc/pam.d/login":                                  "@include common-auth\n",
		"etc/pam.d/sshd":                                   "@include common-auth\n",
		"usr/lib/x86_64-linux-gnu/security/pam_lastlog.so": "\x7fELF",
		"usr/bin/login":                                    "\x7fELF login",
		"usr/bin/bash":                                     "\x7fELF bash",
		"usr/lib/systemd/systemd":                          "\x7fELF systemd",
		"etc/profile":                                      "PATH=/usr/bin:/bin\n",
		"etc/security/limits.conf":                         "# /etc/security/limits.conf\n",
		"etc/login.defs":                                   "ERASECHAR\t0177\nKILLCHAR\t025\n",
		"usr/lib/systemd/system/nftables.service":          "[Service]\nExecStart=/usr/sbin/nft -f /etc/nftables.conf\n",
		"usr/lib/systemd/system/networking.service":        "[Service]\nExecStart=/sbin/ifup -a --read-environment\n",
		"etc/network/interfaces":                           "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n",
		"root/.ssh/authorized_keys":                        "ssh-ed25519 AAAA root@base\n",
		"etc/passwd":                                       "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
		"etc/shadow":                                       "root:$y$j9T$abc$def:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\n",
		"boot/initrd.img-" + kNew:                          "initrd new",
		"boot/initrd.img-" + kOld:                          "initrd old",
		"etc/sysctl.conf":                                  "# sysctl\n",
		"etc/ld.so.conf":                                   "include /etc/ld.so.conf.d/*.conf\n",
		"etc/selinux/.keep":                                "",
		"usr/lib/x86_64-linux-gnu/libc.so":                 "",
		"usr/lib/x86_64-linux-gnu/libdl.so.2":              "\x7fELF libdl",
	}
	if usr == images.UsrSplit {
		moved := map[string]string{"lib/systemd/system/.keep": ""}
		for p, c := range files {
			moved[splitUsr.Replace(p)] = c
		}
		files = moved
	}
	for p, c := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, p), []byte(c), 0o644))
	}
	require.NoError(t, os.Chmod(filepath.Join(root, "etc/ssh/ssh_host_key"), 0o600))
	require.NoError(t, os.Chmod(root, 0o755))
	return root, img
}

// TestFaultsLandWhereTheySay injects each fault into a fake Debian root and
// checks that it changes something, and only in the paths on which the
// scenario expects rescue to report (plus new directories), in both /usr
// layouts: Debian 12 and 13 merge it, Debian 11 does not.
func TestFaultsLandWhereTheySay(t *testing.T) {
	// The fake roots are on the helper's own disk: the disk-full row
	// writes its files there but must not fill it.
	fill := fillRest
	fillRest = func(r string) error { return writeFile(r, fillFile, "data\n") }
	defer func() { fillRest = fill }()
	for _, sc := range Scenarios() {
		if sc.Break == nil {
			continue // an action on a healthy machine: no fault
		}
		for _, usr := range []images.UsrLayout{images.UsrMerged, images.UsrSplit} {
			t.Run(sc.Name+"/"+string(usr), func(t *testing.T) {
				root, img := fakeRootLayout(t, usr)
				all := map[string]bool{}
				before, err := takeManifest(root, nil)
				require.NoError(t, err)
				for p := range before {
					all[p] = true
				}
				before, err = takeManifest(root, all)
				require.NoError(t, err)
				require.NoError(t, sc.Break(root, img))
				after, err := takeManifest(root, all)
				require.NoError(t, err)
				d := diffManifests(before, after)
				require.NotEmpty(t, d, "the fault changed nothing")
				for _, line := range d {
					p, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(line, "added "), "missing "), ":")
					if strings.HasPrefix(line, "added ") && after[p].Type.IsDir() {
						continue
					}
					assert.True(t, onPath(p, sc.Paths), "%s changed %q, outside %v", sc.Name, line, sc.Paths)
				}
			})
		}
	}
}

func TestFaultDetails(t *testing.T) {
	root, img := fakeRoot(t)
	for _, name := range []string{"selinux-no-policy", "passwd-crlf", "initramfs-deleted", "chmod-777-etc-ssh"} {
		sc, err := Lookup(name)
		require.NoError(t, err)
		require.NoError(t, sc[0].Break(root, img))
	}
	cfg, err := os.ReadFile(filepath.Join(root, "boot/grub/grub.cfg"))
	require.NoError(t, err)
	assert.Contains(t, string(cfg), "console=ttyS0 security=selinux selinux=1\n")
	passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	require.NoError(t, err)
	assert.Equal(t, 2, bytes.Count(passwd, []byte("\r\n")))
	_, err = os.Stat(filepath.Join(root, "boot/initrd.img-"+kNew))
	assert.True(t, os.IsNotExist(err), "the default kernel's initramfs is gone")
	_, err = os.Stat(filepath.Join(root, "boot/initrd.img-"+kOld))
	assert.NoError(t, err, "the older kernel's initramfs stays")
	fi, err := os.Stat(filepath.Join(root, "etc/ssh/ssh_host_key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o777), fi.Mode().Perm())

	one := &images.DebianImage{RootUUID: img.RootUUID, Kernels: []string{kNew}}
	sc, _ := Lookup("initramfs-deleted")
	assert.ErrorContains(t, sc[0].Break(t.TempDir(), one), "needs an older one")
}

// TestResetAccessScenario checks the reset-access scenario's credentials:
// the hash is the password's, and the fault locks and expires root.
func TestResetAccessScenario(t *testing.T) {
	assert.Equal(t, ResetHash, access.SHA512Crypt(ResetPassword, "rescuee2e", 0))
	root, img := fakeRoot(t)
	sc, err := Lookup("reset-access-password")
	require.NoError(t, err)
	require.NoError(t, sc[0].Break(root, img))
	shadow, err := os.ReadFile(filepath.Join(root, "etc/shadow"))
	require.NoError(t, err)
	assert.Equal(t, "root:!$y$j9T$abc$def:0:0:99999:7::1:\ndaemon:*:20000:0:99999:7:::\n", string(shadow))
}

func TestBootedKernel(t *testing.T) {
	log := filepath.Join(t.TempDir(), "serial.log")
	require.NoError(t, os.WriteFile(log, []byte("[    0.000000] Linux version "+kOld+" (debian-kernel@lists.debian.org)\n"), 0o644))
	img := &images.DebianImage{Kernels: []string{kNew, kOld}}
	r := &boot.Result{SerialLog: log}
	assert.Equal(t, "", bootedKernel(1)(r, img))
	assert.Contains(t, bootedKernel(0)(r, img), "does not show")
	assert.Contains(t, bootedKernel(2)(r, img), "has 2 kernel(s)")
}

func TestLookup(t *testing.T) {
	all, err := Lookup("all")
	require.NoError(t, err)
	assert.Len(t, all, 25)
	full, err := Lookup("full")
	require.NoError(t, err)
	assert.Len(t, full, 35, "full adds the scenarios whose broken boot is long by design, the operator rows and the boot loader's")
	for _, s := range full {
		if s.FullOnly != "" {
			assert.NotContains(t, all, s, "%s is left out of all", s.Name)
		}
	}
	ci, err := Lookup("ci")
	require.NoError(t, err)
	assert.NotEmpty(t, ci)
	assert.Less(t, len(ci), len(all))
	names := map[string]bool{}
	for _, s := range full {
		assert.False(t, names[s.Name], "duplicate %s", s.Name)
		names[s.Name] = true
		assert.NotEmpty(t, s.Paths, s.Name)
		switch {
		case s.Action == nil:
			assert.Regexp(t, `^[a-z0-9]+/[a-z0-9-]+$`, s.Finding, "%s: the finding rescue must report, check/kind", s.Name)
		case s.Finding != "" && (s.Name == "mbr-code-zeroed" || s.Name == "efi-loaders-deleted"):
			// --reinstall-bootloader is the finding's own fix, asked
			// for by name.
			assert.Equal(t, []string{"fix", "--allow-chroot", "--reinstall-bootloader"}, s.Action)
		case s.Finding != "":
			// fix --spill answers fsstate/full, which has no fix of its own.
			assert.Equal(t, []string{"fix", "--spill", spillTag}, s.Action, "%s: only fix --spill answers a finding it is not the fix of", s.Name)
		}
		if s.Static {
			assert.Equal(t, boot.LoggedIn, s.Broken.Class, "%s: a static fault has no symptom", s.Name)
			ok, why := s.Broken.Met(measuredResult())
			assert.True(t, ok, "%s: the claim is a healthy boot with every login: %s", s.Name, why)
			assert.Equal(t, "no symptom: healthy, every login", s.Broken.String())
			ok, _ = s.Broken.Met(oneLoginFails())
			assert.False(t, ok, "%s: a failed login breaks the claim", s.Name)
		}
	}
	two, err := Lookup("zero-bash, grub-cfg-deleted")
	require.NoError(t, err)
	assert.Equal(t, "grub-cfg-deleted", two[1].Name)
	_, err = Lookup("nope")
	assert.ErrorContains(t, err, "unknown scenario")
}

func TestDiffManifests(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "f")
	require.NoError(t, os.WriteFile(p, []byte("one"), 0o644))
	hash := map[string]bool{"/f": true}
	before, err := takeManifest(root, hash)
	require.NoError(t, err)

	// Same size, same mtime, different content: only the hash sees it.
	mt := time.Unix(1700000000, 0)
	require.NoError(t, os.Chtimes(p, mt, mt))
	before, err = takeManifest(root, hash)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, []byte("two"), 0o644))
	require.NoError(t, os.Chmod(p, 0o600))
	require.NoError(t, os.Chtimes(p, mt, mt))
	require.NoError(t, os.Mkdir(filepath.Join(root, "new"), 0o755))
	after, err := takeManifest(root, hash)
	require.NoError(t, err)
	d := diffManifests(before, after)
	assert.Equal(t, []string{"/f: mode 644->600, content", "added /new"}, d)

	// The journal directory is rescue's own and is left out.
	require.NoError(t, os.MkdirAll(filepath.Join(root, "var/lib/rescue/x"), 0o755))
	after2, err := takeManifest(root, hash)
	require.NoError(t, err)
	for k := range after2 {
		assert.False(t, strings.HasPrefix(k, journalDir), k)
	}
	assert.Equal(t, []string{"added /var", "added /var/lib"}, diffManifests(after, after2), "only /var and /var/lib are new")
}

func TestTable(t *testing.T) {
	yes := true
	root := boot.LoginResult{User: "root", Via: boot.ViaSerial, Class: boot.LoggedIn}
	user := boot.LoginResult{User: "debian", Via: boot.ViaSerial, Class: boot.LoggedIn}
	sshUser := boot.LoginResult{User: "debian", Via: boot.ViaSSH, Class: boot.LoggedIn}
	tb := &Table{Set: "ci", Parallel: 2, CPUs: 1, MemoryMB: 1024, Seconds: 300, Rows: []*Row{
		{Scenario: "baseline-mbr-ext4", Kind: "baseline", Status: "PASS", BrokenWant: "healthy, every login", Rescanned: true,
			Broken: &boot.Result{Class: boot.LoggedIn, State: "running", RootWritable: &yes, Logins: []boot.LoginResult{root, user, sshUser}}, BootCPU: 40},
		{Scenario: "grub-root-uuid", Fault: "grub.cfg root=UUID wrong", Kind: "symptom", Status: "PASS", BrokenWant: "INITRAMFS_SHELL",
			Broken:   &boot.Result{Class: boot.InitramfsShell, Why: "ALERT! UUID=deadbeef does not exist"},
			Repaired: &boot.Result{Class: boot.LoggedIn, State: "running", RootWritable: &yes, Logins: []boot.LoginResult{root, user}},
			Finding:  "grub/root-unknown:/boot/grub/grub.cfg#x", Findings: []string{"grub/root-unknown:/boot/grub/grub.cfg#x"},
			Applied: 1, FixExit: 1, FixExitWant: 1, Rescanned: true, Gone: true, Undo: "identical", Seconds: 95, BootCPU: 80},
		{Scenario: "zero-bash", Fault: "zero-size /usr/bin/bash", Kind: "symptom", Status: "FAIL", BrokenWant: "NO_SHELL",
			Notes: []string{"rescue reports no zerosize/empty on /usr/bin/bash or /bin/bash; it reports nothing"}},
		{Scenario: "limits-nofile", Kind: "no-symptom", Status: "FAIL", BrokenWant: "LOGGED_IN",
			Broken: &boot.Result{Class: boot.LoggedIn, State: "running", RootWritable: &yes, Logins: []boot.LoginResult{root,
				{User: "debian", Via: boot.ViaSerial, Class: boot.NoShell, Why: "Cannot open session"}}},
			Finding: "limits/nofile-above-nr-open:/etc/security/limits.conf#1", Applied: 1, FixExit: 4, FixExitWant: 1, Rescanned: true, ScanExit: 4},
	}}
	var md bytes.Buffer
	require.NoError(t, tb.WriteMarkdown(&md))
	s := md.String()
	assert.Contains(t, s, "| baseline-mbr-ext4 |  | none (as wanted) | healthy, every login | LOGGED_IN | — | exit 0 | — | root, debian; ssh: debian | — | PASS | 0s |")
	assert.Contains(t, s, "| grub-root-uuid | grub.cfg root=UUID wrong | grub/root-unknown:/boot/grub/grub.cfg#x | INITRAMFS_SHELL | INITRAMFS_SHELL: ALERT! UUID=deadbeef does not exist | 1 applied, exit 1 | gone, exit 0 | LOGGED_IN | root, debian | identical | PASS | 95s |")
	tb.Rows[0].Rescanned = false
	var md2 bytes.Buffer
	require.NoError(t, tb.WriteMarkdown(&md2))
	assert.Contains(t, md2.String(), "| baseline-mbr-ext4 |  | NOT SCANNED | healthy, every login | LOGGED_IN | — | — |", "a scan that failed is not a clean one")
	tb.Rows[0].Rescanned = true
	assert.Contains(t, s, "| zero-bash | zero-size /usr/bin/bash | NOT FOUND | NO_SHELL | — | — | — | — | — | — | FAIL | 0s |")
	assert.Contains(t, s, "| LOGGED_IN (debian@serial NO_SHELL) | 1 applied, exit 4 (want 1) | STILL FOUND, exit 4 |")
	assert.Contains(t, s, "scenarios: 3 (2 with a symptom, 1 without one on the release), 1 booted broken and repaired; baselines: 1\n")
	assert.Contains(t, s, "status: 2 pass, 2 fail, 0 error\n")
	assert.Contains(t, s, "boots: 4, 2 at a time, of 1 CPU/1024 MiB, using 120 CPU-seconds; logins tried: 6 on the console, 1 over SSH\n")
	assert.Contains(t, s, "time: 300s in all\n")
	assert.Contains(t, s, "- zero-bash: rescue reports no zerosize/empty")
	assert.NotContains(t, s, "program under test")
	tb.Rescue = "/bin/true"
	assert.Contains(t, tb.Summary(), "program under test: /bin/true (E2E_RESCUE)\n")
	var js bytes.Buffer
	require.NoError(t, tb.WriteJSON(&js))
	var back Table
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	assert.Equal(t, TableSchema, back.Schema)
	assert.Equal(t, boot.InitramfsShell, back.Rows[1].Broken.Class)
	assert.Equal(t, boot.NoShell, back.Rows[3].Broken.Logins[1].Class)
}

func TestRotation(t *testing.T) {
	ci, _ := Lookup("ci")
	all, _ := Lookup("all")
	rest := len(all) - len(ci)
	seen := map[string]bool{}
	for day := 20000; day < 20000+(rest+2)/3; day++ {
		r := Rotation(day, 3)
		require.Len(t, r, 3)
		for _, s := range r {
			assert.False(t, s.CI, "%s is in the fixed subset already", s.Name)
			seen[s.Name] = true
		}
	}
	assert.Len(t, seen, rest, "every scenario outside the subset comes round within ceil(rest/3) days")
	names := func(l []*Scenario) (n []string) {
		for _, s := range l {
			n = append(n, s.Name)
		}
		return n
	}
	assert.Equal(t, names(Rotation(20001, 3)), names(Rotation(20001, 3)), "a day's choice is stable")
	assert.NotEqual(t, names(Rotation(20001, 3)), names(Rotation(20002, 3)), "and changes the next day")
	assert.Len(t, Rotation(1, 100), rest)
}

// healthyResult is a boot in which everything answered.
func healthyResult() *boot.Result {
	yes := true
	return &boot.Result{Class: boot.LoggedIn, State: "running", RootWritable: &yes, SSH: "active", Logins: []boot.LoginResult{
		{User: "root", Via: boot.ViaSerial, Class: boot.LoggedIn},
		{User: "debian", Via: boot.ViaSerial, Class: boot.LoggedIn},
		{User: "root", Via: boot.ViaSSH, Class: boot.LoggedIn},
		{User: "debian", Via: boot.ViaSSH, Class: boot.LoggedIn},
	}}
}

// oneLoginFails is healthyResult but the ordinary user's console login
// ends at once, as when PAM cannot open the session.
func oneLoginFails() *boot.Result {
	r := healthyResult()
	r.Logins[1].Class, r.Logins[1].Why = boot.NoShell, "Cannot open session"
	return r
}

// measuredResult is a boot of a fault with no symptom as it was measured
// on Debian 12: every login answers, with the default open-files limit,
// and the console login of the ordinary user and the SSH logins without a
// login uid (as under /etc/pam.d/other).
func measuredResult() *boot.Result {
	r := healthyResult()
	for i := range r.Logins {
		r.Logins[i].NoFile = "1024"
	}
	for _, i := range []int{1, 2, 3} {
		r.Logins[i].LoginUID = "4294967295"
	}
	return r
}

// TestMinerMarks judges the intrusion row's boots from console transcripts:
// the mark of the stand-in miner makes the broken boot pass and the
// repaired one fail, and its absence the other way round.
func TestMinerMarks(t *testing.T) {
	dir := t.TempDir()
	marked, clean := filepath.Join(dir, "marked.log"), filepath.Join(dir, "clean.log")
	require.NoError(t, os.WriteFile(marked, []byte("[  OK  ] Started bot.service\r\n"+minerMark+" ran from unit\r\ndebian login: "), 0o644))
	require.NoError(t, os.WriteFile(clean, []byte("debian login: "), 0o644))
	assert.Empty(t, minerRan(&boot.Result{SerialLog: marked}))
	assert.NotEmpty(t, minerRan(&boot.Result{SerialLog: clean}))
	assert.Empty(t, minerGone(&boot.Result{SerialLog: clean}))
	assert.NotEmpty(t, minerGone(&boot.Result{SerialLog: marked}))
}

// TestBrokenOnRelease: a fault that bites on another release is judged
// there by that release's expectation, not by the Debian 12 claim.
func TestBrokenOnRelease(t *testing.T) {
	sc, err := Lookup("libnss-files-deleted")
	require.NoError(t, err)
	e12, static12 := sc[0].brokenOn(images.Bookworm)
	assert.True(t, static12, "no symptom on Debian 12")
	ok, _ := e12.Met(measuredResult())
	assert.True(t, ok)
	e11, static11 := sc[0].brokenOn(images.Bullseye)
	assert.False(t, static11, "Debian 11 refuses the logins")
	ok, _ = e11.Met(measuredResult())
	assert.False(t, ok, "a healthy boot does not meet the Debian 11 expectation")
	refused := &boot.Result{Class: boot.LoginRefused, State: "running", Why: "Login incorrect"}
	ok, why := e11.Met(refused)
	assert.True(t, ok, why)
}

// TestScenarioFindingsAreDeclared holds the boot proof to the checks'
// finding-kind contract: the finding every scenario requires (check/kind)
// is one its check declares.
func TestScenarioFindingsAreDeclared(t *testing.T) {
	for _, sc := range Scenarios() {
		if sc.Finding == "" {
			continue
		}
		name, kind, _ := strings.Cut(sc.Finding, "/")
		c := all.Lookup(name)
		if c == nil || !c.Declares(kind) {
			t.Errorf("scenario %s: finding %s is not a declared kind of a check", sc.Name, sc.Finding)
		}
	}
}

func TestDiskFullExpectation(t *testing.T) {
	sc, err := Lookup("disk-full-spill")
	require.NoError(t, err)
	r := healthyResult()
	r.Logins = append(r.Logins, boot.LoginResult{User: "root", Via: boot.ViaSSH, Class: boot.LoggedIn},
		boot.LoginResult{User: images.LoginUser, Via: boot.ViaSSH, Class: boot.LoggedIn})
	ok, why := sc[0].Broken.Met(r)
	assert.False(t, ok, "a healthy boot is not the measured full disk")
	assert.Contains(t, why, "want degraded")
	r.State, r.FailedUnits = "degraded", []string{"systemd-machine-id-commit.service", "systemd-random-seed.service", "systemd-update-utmp.service"}
	ok, why = sc[0].Broken.Met(r)
	assert.True(t, ok, why)
	r.FailedUnits = r.FailedUnits[:2]
	ok, _ = sc[0].Broken.Met(r)
	assert.False(t, ok)
}

// The serial-console row's broken boot is a silent console on a machine
// that runs: a hang (no SSH answers) or a console that logs in is not it,
// and the row is the only one whose broken boot ends early on silence.
func TestQuietConsoleExpectation(t *testing.T) {
	sc, err := Lookup("serial-console")
	require.NoError(t, err)
	require.True(t, sc[0].QuietConsole && sc[0].SSH, "the silence is judged by SSH")
	ok, _ := sc[0].Broken.Met(healthyResult())
	assert.False(t, ok, "a console that logs in is not the fault")
	hang := &boot.Result{Class: boot.Timeout}
	ok, why := sc[0].Broken.Met(hang)
	assert.False(t, ok, "a machine that hangs is not the fault")
	assert.Contains(t, why, "was not tried")
	runs := &boot.Result{Class: boot.Timeout, Logins: []boot.LoginResult{
		{User: "root", Via: boot.ViaSSH, Class: boot.LoggedIn}, {User: images.LoginUser, Via: boot.ViaSSH, Class: boot.LoggedIn}}}
	ok, why = sc[0].Broken.Met(runs)
	assert.True(t, ok, why)
	full, err := Lookup("full")
	require.NoError(t, err)
	for _, s := range full {
		assert.Equal(t, s.Name == "serial-console", s.QuietConsole, s.Name)
	}
}
