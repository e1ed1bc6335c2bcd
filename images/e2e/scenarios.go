// Package e2e is the boot proof: each scenario injects one of the seed's
// faults into a copy of a real, bootable Debian 12 image, requires rescue
// to report the scenario's own finding on the fault's path, shows that the
// image fails under qemu the way the fault really fails (or, for a fault
// with no symptom on Debian 12, that every login still works), repairs it
// with `rescue fix --apply` (that finding's fix applied, the exit code
// wanted, a rescan without the finding), shows that it boots healthy with
// root and an ordinary user logging in, and shows that `rescue undo` gives
// the broken files back byte for byte.
//
// The scenarios and the fault injection are plain code with unit tests;
// the boots run only under the e2e build tag (`make e2e`), so `go test
// ./...` never starts qemu.
package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"rescue/images"
	"rescue/images/boot"
)

// ResetPassword is the password the reset-access scenario sets, and
// ResetHash its SHA-512 crypt hash (openssl passwd -6 -salt rescuee2e).
const (
	ResetPassword = "N3w-pass"
	ResetHash     = "$6$rescuee2e$5ld7rAckdfPrGaT1Q/y/bUMpaX4639hWQqmavxxDunS/WKVT8SXuBTemsUkq94.ic09E0D6s6AjHkFgP18NgV0"
)

// BadUUID is the UUID the faults put where the real one belongs: no
// filesystem has it.
const BadUUID = "deadbeef-0000-4000-8000-000000000000"

// Expect is what a boot must show.
type Expect struct {
	// Class is the outcome of the first login, root's on the console.
	Class boot.Class
	// Logins are the outcomes required of further logins, by name
	// ("debian@serial", "root@ssh"): a fault PAM applies to ordinary
	// users only shows in theirs.
	Logins map[string]boot.Class
	// Check refines the class (for a login that works but is degraded);
	// it returns "" when the result is as expected, else why not.
	Check func(*boot.Result) string
	// Note says what the expectation rests on, for the table.
	Note string
	// Label is how the table shows the expectation ("": the class and
	// the logins).
	Label string
}

// Met says whether r meets the expectation, and if not, why.
func (e Expect) Met(r *boot.Result) (bool, string) {
	if r == nil {
		return false, "no boot"
	}
	if r.Class != e.Class {
		return false, fmt.Sprintf("got %s, want %s", r.Short(), e.Class)
	}
	names := make([]string, 0, len(e.Logins))
	for n := range e.Logins {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		l := r.Login(n)
		switch {
		case l == nil:
			return false, "the login " + n + " was not tried"
		case l.Class != e.Logins[n]:
			return false, fmt.Sprintf("login %s: got %s (%s), want %s", n, l.Class, l.Why, e.Logins[n])
		}
	}
	if e.Check != nil {
		if why := e.Check(r); why != "" {
			return false, why
		}
	}
	return true, ""
}

// String is the expectation as the table shows it.
func (e Expect) String() string {
	if e.Label != "" {
		return e.Label
	}
	s := string(e.Class)
	names := make([]string, 0, len(e.Logins))
	for n, c := range e.Logins {
		names = append(names, n+" "+string(c))
	}
	sort.Strings(names)
	if len(names) > 0 {
		s += " (" + strings.Join(names, "; ") + ")"
	}
	return s
}

// Scenario is one fault and what it does to the machine.
type Scenario struct {
	// Name identifies the scenario (a file-name-safe slug).
	Name string
	// Fault says what is broken, as the seed names it.
	Fault string
	// Break injects the fault into the mounted root of an image.
	Break func(root string, img *images.DebianImage) error
	// BreakDisk injects a fault outside the filesystems into the image
	// file itself (sector 0's boot code), after Break.
	BreakDisk func(img string) error
	// DiskBytes, when set, is how much of the start of the image the
	// repair must change and undo must give back byte for byte (the
	// boot sector and the gap after it), besides the files.
	DiskBytes int64
	// Broken is how the broken image fails. Static scenarios are faults
	// with no symptom on Debian 12: their broken boot must be healthy
	// with every login (that is the claim, measured on each run), and
	// the proof of rescue is the finding, its fix and its disappearance.
	Broken Expect
	Static bool
	// On holds the broken boot on another release, by suite ("bullseye"),
	// where the fault bites differently: libnss_files.so.2 deleted has no
	// symptom on Debian 12 (glibc 2.36 has the files module built in) and
	// refuses every login on Debian 11 (glibc 2.31). The claim each row
	// measures names its release.
	On map[string]Expect
	// Skip names the releases (by suite) the scenario does not apply
	// to, with the reason: the matrix leaves those cells out.
	Skip map[string]string
	// Inert names the releases (by suite) on which the fault does
	// nothing, with why (Debian 13's login is util-linux's, which does
	// not read login.defs' ERASECHAR): there rescue must not report
	// Finding on Paths, which would be a false alarm, and the broken
	// boot must be healthy with every login; nothing is repaired.
	Inert map[string]string
	// FullOnly, when set, says why "all" (and so `make e2e`, which CI
	// runs) leaves the scenario out: `make e2e-full` and its name run it,
	// and the day's rotation of "ci" does not pick it. Two reasons so
	// far: a broken boot that takes many minutes by design (a console
	// left silent ends only when the harness gives up), and the rows
	// added after CI's 90 minutes were spent (the operator
	// actions and faults), which wait for a row to leave CI or for more
	// time there.
	FullOnly string
	// Finding is the check and kind ("fstab/root-source-unknown") rescue
	// must report on one of Paths, the target files the fault is in; its
	// fix must be applied and a rescan must no longer find it.
	Finding string
	Paths   []string
	// FixExit is the exit code wanted of `rescue fix --apply` (0: 1,
	// everything found was repaired); the rescan must then exit 0, or 4
	// when FixExit is 4.
	FixExit int
	// SSH logs in over SSH too (root and the ordinary user), on the
	// broken and the repaired boot: the fault concerns sshd or what
	// sshd's sessions go through.
	SSH bool
	// QuietConsole: the fault silences the serial console after GRUB, by
	// design (no console on ttyS0). The broken boot then ends after a
	// short silence (quietIdle) instead of the usual idle limit, and its
	// SSH logins (SSH must be set) tell a machine that runs without a
	// console from one that hangs.
	QuietConsole bool
	// Repaired, when set, is what the repaired boot must show besides
	// being healthy ("" when it does).
	Repaired func(*boot.Result) string
	// FixArgs are extra flags for `rescue fix`, such as --allow-chroot.
	FixArgs []string
	// CI marks the scenarios in the fixed subset `make e2e` runs.
	CI bool
	// Action, when set, is the rescue command line run instead of
	// "fix" (an operator action such as reset-access); the scenario then
	// needs no finding, only the action applied.
	Action []string
	// ExitZero: the action's command exits 0 when it applied its change
	// (reset-access is no repair of findings; measured: exit 0).
	ExitZero bool
	// Password, when set, is root's password on the repaired image: the
	// repaired boot logs in with it.
	Password string
	// RepairedCheck, when set, judges the repaired boot further (which
	// kernel it ran); "" when it is as the action meant.
	RepairedCheck func(r *boot.Result, img *images.DebianImage) string
	// Mirror: the fix gets no --packages and fetches what it restores
	// from a mirror the suite serves (mirror.go).
	Mirror bool
	// NewSSHKey: the harness makes a new key pair for the row; Action's
	// "{newkey.pub}" names its public half, and the repaired boot logs
	// in as root over SSH with its private half (the base image's key
	// no longer opens root's account).
	NewSSHKey bool
	// UndoArgs are extra flags for `rescue undo` (the journal directory
	// of a fix --spill). Action and UndoArgs may name "{spill}", a
	// directory of the row's on the helper.
	UndoArgs []string
	// Flavor is the base image the row breaks ("": the suite's, MBR and
	// ext4).
	Flavor images.Flavor
	// InHelper, when set, runs the row's break, rescue and undo in a
	// helper VM with the disk attached (uefi.go): for a fault on a
	// filesystem this host's kernel cannot mount (the ESP's FAT).
	InHelper *HelperRow
}

// newKeyTag and spillTag are what Action and UndoArgs name the row's own
// files by; expandArgs puts the paths in.
const (
	newKeyTag = "{newkey.pub}"
	spillTag  = "{spill}"
)

// expandArgs replaces the tags in args with the row's paths under work.
func expandArgs(args []string, work string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		a = strings.ReplaceAll(a, newKeyTag, filepath.Join(work, "newkey.pub"))
		out[i] = strings.ReplaceAll(a, spillTag, filepath.Join(work, "spill"))
	}
	return out
}

// healthy is the expectation of every repaired image and every baseline: a
// login, / writable, the system running, no unit failed, and every login
// tried (root and the ordinary user, on the console and over SSH)
// answering.
var healthy = Expect{Class: boot.LoggedIn, Check: func(r *boot.Result) string {
	if !r.Healthy() {
		return "logged in but not healthy: " + r.Short()
	}
	return ""
}}

// noSymptomLabel labels the broken boot of a fault with no symptom.
const noSymptomLabel = "no symptom: healthy, every login"

// noSymptom is the broken boot of a fault with no symptom on Debian 12: as
// healthy as a repaired one, with every login, which is the claim it
// measures; check (when not nil) measures what the claim says besides.
func noSymptom(note string, check func(*boot.Result) string) Expect {
	return Expect{Class: boot.LoggedIn, Label: noSymptomLabel, Note: note, Check: func(r *boot.Result) string {
		if why := healthy.Check(r); why != "" {
			return why
		}
		if check != nil {
			return check(r)
		}
		return ""
	}}
}

// sessions checks what the named logins' sessions answered (by
// LoginResult field: "nofile" or "loginuid").
func sessions(field, want string, names ...string) func(*boot.Result) string {
	return func(r *boot.Result) string {
		for _, n := range names {
			l := r.Login(n)
			if l == nil {
				return "the login " + n + " was not tried"
			}
			got := l.NoFile
			if field == "loginuid" {
				got = l.LoginUID
			}
			if got != want {
				return fmt.Sprintf("login %s: %s is %q, want %q", n, field, got, want)
			}
		}
		return ""
	}
}

// brokenOn is the broken boot expected on release rel, and whether the
// fault has no symptom there.
func (sc *Scenario) brokenOn(rel images.Release) (Expect, bool) {
	if e, ok := sc.On[rel.Suite]; ok {
		return e, e.Label == noSymptomLabel
	}
	return sc.Broken, sc.Static
}

// SymptomOn says whether the fault shows on release rel's boot: neither
// static there nor inert (the last-boot test boots only those).
func (sc *Scenario) SymptomOn(rel images.Release) bool {
	_, static := sc.brokenOn(rel)
	_, inert := sc.Inert[rel.Suite]
	return !static && !inert
}

func (sc *Scenario) fixExit() int {
	if sc.ExitZero {
		return 0
	}
	if sc.FixExit == 0 {
		return 1
	}
	return sc.FixExit
}

func (sc *Scenario) scanExit() int {
	if sc.fixExit() == 4 {
		return 4
	}
	return 0
}

func readOnlyRoot(r *boot.Result) string {
	if r.RootWritable == nil || *r.RootWritable {
		return "/ is writable: the wrong fstab UUID had no effect"
	}
	return ""
}

// sshDown checks that sshd is not running: failed, or restarting in a
// loop (systemd restarts it, so it may never reach "failed").
func sshDown(r *boot.Result) string {
	if r.SSH == "active" || r.SSH == "" {
		return fmt.Sprintf("sshd is %q (failed units: %v)", r.SSH, r.FailedUnits)
	}
	return ""
}

// Scenarios returns the seed's faults, in the seed's order.
func Scenarios() []*Scenario {
	return append([]*Scenario{
		{
			Name: "fstab-root-uuid", Fault: "fstab root UUID wrong", CI: true,
			Break: func(r string, img *images.DebianImage) error {
				return replaceIn(r, "/etc/fstab", "UUID="+img.RootUUID, "UUID="+BadUUID)
			},
			Broken:  Expect{Class: boot.LoggedIn, Check: readOnlyRoot, Note: "logs in, / stays read-only (systemd-remount-fs fails)"},
			Paths:   []string{"/etc/fstab"},
			Finding: "fstab/root-source-unknown",
		},
		{
			Name: "fstab-missing-disk", Fault: "extra fstab entry for a missing data disk without nofail",
			Break: func(r string, _ *images.DebianImage) error {
				if err := os.MkdirAll(filepath.Join(r, "data"), 0o755); err != nil {
					return err
				}
				return appendTo(r, "/etc/fstab", "UUID="+BadUUID+" /data ext4 defaults 0 2\n")
			},
			Broken:  Expect{Class: boot.Emergency, Note: "emergency mode after the 90 s device timeout"},
			Paths:   []string{"/etc/fstab"},
			Finding: "fstab/source-unknown",
		},
		{
			Name: "grub-root-uuid", Fault: "grub.cfg root=UUID wrong", CI: true,
			Break: func(r string, img *images.DebianImage) error {
				return replaceIn(r, "/boot/grub/grub.cfg", "root=UUID="+img.RootUUID, "root=UUID="+BadUUID)
			},
			Broken:  Expect{Class: boot.InitramfsShell, Note: "initramfs: ALERT! UUID=… does not exist"},
			Paths:   []string{"/boot/grub/grub.cfg"},
			Finding: "grub/root-unknown",
		},
		{
			Name: "grub-cfg-empty", Fault: "grub.cfg emptied",
			Break:   func(r string, _ *images.DebianImage) error { return truncate(r, "/boot/grub/grub.cfg") },
			Broken:  Expect{Class: boot.GrubPrompt, Note: "grub> on the VGA screen; the serial console stays silent"},
			Paths:   []string{"/boot/grub/grub.cfg"},
			Finding: "grub/config-empty",
		},
		{
			Name: "grub-cfg-deleted", Fault: "grub.cfg deleted", CI: true,
			Break:   func(r string, _ *images.DebianImage) error { return remove(r, "/boot/grub/grub.cfg") },
			Broken:  Expect{Class: boot.GrubPrompt, Note: "grub> on the VGA screen; the serial console stays silent"},
			Paths:   []string{"/boot/grub/grub.cfg"},
			Finding: "grub/config-missing",
		},
		{
			Name: "chmod-777-root", Fault: "chmod 777 /", Static: true,
			Break: func(r string, _ *images.DebianImage) error { return os.Chmod(r, 0o777) },
			// Measured: sshd checks the modes of the home directory and
			// ~/.ssh, not of /.
			Broken:  noSymptom("every login works, on the console and over SSH", nil),
			Paths:   []string{"/"},
			Finding: "perms/root-dir",
			SSH:     true,
		},
		{
			Name: "chmod-777-etc-ssh", Fault: "chmod -R 777 /etc/ssh",
			Break: func(r string, _ *images.DebianImage) error {
				return filepath.Walk(filepath.Join(r, "etc/ssh"), func(p string, fi os.FileInfo, err error) error {
					if err != nil || fi.Mode()&os.ModeSymlink != 0 {
						return err
					}
					return os.Chmod(p, 0o777)
				})
			},
			Broken: Expect{Class: boot.LoggedIn, Check: sshDown, Note: "console logins work; sshd fails and restarts, no SSH login",
				Logins: map[string]boot.Class{"root@ssh": boot.Unreachable, images.LoginUser + "@ssh": boot.Unreachable}},
			Paths:   []string{"/etc/ssh"},
			Finding: "perms/ssh-dir",
			SSH:     true,
		},
		{
			Name: "libnss-files-deleted", Fault: "libnss_files.so.2 deleted", Static: true,
			Break: func(r string, _ *images.DebianImage) error {
				// Merged /usr has it under /usr/lib; Debian 11's
				// split /usr under /lib.
				return removeFirst(r, "/usr/lib/x86_64-linux-gnu/libnss_files.so.2", "/lib/x86_64-linux-gnu/libnss_files.so.2")
			},
			Broken: noSymptom("every login works: glibc 2.36 has the files NSS module built in", nil),
			// Measured on Debian 11: no account can be looked up, so
			// the console says Login incorrect.
			On:      map[string]Expect{images.Bullseye.Suite: {Class: boot.LoginRefused, Note: "Debian 11, glibc 2.31: Login incorrect (no files NSS module)"}},
			Paths:   []string{"/usr/lib/x86_64-linux-gnu/libnss_files.so.2", "/lib/x86_64-linux-gnu/libnss_files.so.2"},
			Finding: "pkgfiles/damaged",
			SSH:     true,
		},
		{
			Name: "pam-unix-deleted", Fault: "pam_unix.so deleted", CI: true,
			Break: func(r string, _ *images.DebianImage) error {
				return removeFirst(r, "/usr/lib/x86_64-linux-gnu/security/pam_unix.so", "/lib/x86_64-linux-gnu/security/pam_unix.so")
			},
			// Measured: sshd accepts the key, then closes the connection
			// when PAM's account stack (pam_unix) fails.
			Broken: Expect{Class: boot.LoginRefused, Note: "Login incorrect; sshd closes the connection",
				Logins: map[string]boot.Class{"root@ssh": boot.LoginRefused, images.LoginUser + "@ssh": boot.LoginRefused}},
			Paths:   []string{"/usr/lib/x86_64-linux-gnu/security/pam_unix.so", "/lib/x86_64-linux-gnu/security/pam_unix.so"},
			Finding: "pam/module-missing",
			SSH:     true,
		},
		{
			Name: "pam-login-deleted", Fault: "/etc/pam.d/login deleted", Static: true,
			Break: func(r string, _ *images.DebianImage) error { return remove(r, "/etc/pam.d/login") },
			// Measured: the serial console's login uses the PAM service
			// "login" (the journal says pam_unix(login:session)); with its
			// file gone PAM uses /etc/pam.d/other, which on Debian holds
			// the common-* stacks, so every login works, but the console
			// session goes without the rest of the login stack: no
			// pam_loginuid (the audit login uid stays unset), no
			// pam_limits, pam_nologin or motd.
			Broken: noSymptom("every login works; the console session runs under /etc/pam.d/other (no loginuid)",
				sessions("loginuid", "4294967295", images.LoginUser+"@serial")),
			Paths:   []string{"/etc/pam.d/login"},
			Finding: "pam/missing",
			SSH:     true,
		},
		{
			Name: "pam-sshd-deleted", Fault: "/etc/pam.d/sshd deleted", Static: true,
			Break: func(r string, _ *images.DebianImage) error { return remove(r, "/etc/pam.d/sshd") },
			// sshd has UsePAM yes; with its service file gone PAM runs
			// /etc/pam.d/other for sshd, which on Debian holds the
			// common-* stacks: SSH logins are expected to work, the
			// sessions without sshd's own pam_loginuid (the audit login
			// uid stays unset).
			Broken: noSymptom("every login works; SSH sessions run under /etc/pam.d/other (no loginuid)",
				sessions("loginuid", "4294967295", "root@ssh", images.LoginUser+"@ssh")),
			Paths:    []string{"/etc/pam.d/sshd"},
			Finding:  "sshd/pam-service-missing",
			SSH:      true,
			FullOnly: outOfCIBudget,
		},
		{
			Name: "zero-login", Fault: "zero-size /usr/bin/login",
			Break:   func(r string, _ *images.DebianImage) error { return truncateFirst(r, "/usr/bin/login", "/bin/login") },
			Broken:  Expect{Class: boot.LoginRefused, Note: "the login prompt comes back after the user name"},
			Paths:   []string{"/usr/bin/login", "/bin/login"},
			Finding: "zerosize/empty",
		},
		{
			Name: "zero-bash", Fault: "zero-size /usr/bin/bash", CI: true,
			Break:   func(r string, _ *images.DebianImage) error { return truncateFirst(r, "/usr/bin/bash", "/bin/bash") },
			Broken:  Expect{Class: boot.NoShell, Note: "password accepted, the shell cannot run"},
			Paths:   []string{"/usr/bin/bash", "/bin/bash"},
			Finding: "zerosize/empty",
		},
		{
			Name: "zero-systemd", Fault: "zero-size systemd",
			Break: func(r string, _ *images.DebianImage) error {
				return truncateFirst(r, "/usr/lib/systemd/systemd", "/lib/systemd/systemd")
			},
			Broken:  Expect{Class: boot.KernelPanic, Note: "no init: Exec format error"},
			Paths:   []string{"/usr/lib/systemd/systemd", "/lib/systemd/systemd"},
			Finding: "zerosize/empty",
		},
		{
			Name: "profile-self-source", Fault: "/etc/profile sourcing itself", CI: true,
			Break:   func(r string, _ *images.DebianImage) error { return appendTo(r, "/etc/profile", ". /etc/profile\n") },
			Broken:  Expect{Class: boot.NoShell, Note: "password accepted, no prompt ever"},
			Paths:   []string{"/etc/profile"},
			Finding: "profile/source-cycle",
		},
		{
			// Not in the fixed CI subset while its repair (SELINUX=permissive,
			// the kernel still booted with selinux=1) leaves a machine whose
			// udev never announces ttyS0 (measured): e2e-full and the
			// rotation still run it.
			Name: "selinux-no-policy", Fault: "SELinux enforcing without policy",
			Break: func(r string, _ *images.DebianImage) error {
				if err := os.MkdirAll(filepath.Join(r, "etc/selinux"), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(r, "etc/selinux/config"), []byte("SELINUX=enforcing\nSELINUXTYPE=targeted\n"), 0o644); err != nil {
					return err
				}
				// Debian enables SELinux only when the kernel is told to.
				return editLines(r, "/boot/grub/grub.cfg", regexp.MustCompile(`^\s*linux\s`), func(l string) string {
					return l + " security=selinux selinux=1"
				})
			},
			Broken:  Expect{Class: boot.SystemdFreeze, Note: "Failed to load SELinux policy. Freezing."},
			Paths:   []string{"/etc/selinux/config", "/boot/grub/grub.cfg"},
			Finding: "selinux/no-policy",
		},
		{
			Name: "limits-nofile", Fault: "limits.conf nofile above nr_open", Static: true,
			// A "*" line, which limits.conf(5) does not apply to root, and
			// a root line: an ordinary user's logins measure the one, root's
			// SSH login the other (the first console login answers the
			// state command, not the check).
			Break: func(r string, _ *images.DebianImage) error {
				return appendTo(r, "/etc/security/limits.conf", "*               -       nofile          2000000000\nroot            -       nofile          2000000000\n")
			},
			// Measured: pam_limits logs "Could not set limit for 'nofile'
			// to soft=2000000000, hard=2000000000: Operation not
			// permitted" (above fs.nr_open) and the session opens anyway,
			// with the default 1024.
			Broken: noSymptom("every login works; pam_limits cannot set the limit, the sessions keep 1024",
				sessions("nofile", "1024", images.LoginUser+"@serial", images.LoginUser+"@ssh", "root@ssh")),
			Paths:   []string{"/etc/security/limits.conf"},
			Finding: "limits/nofile-above-nr-open",
			SSH:     true,
		},
		{
			Name: "ld-so-preload-missing", Fault: "/etc/ld.so.preload naming a missing library", Static: true,
			Break: func(r string, _ *images.DebianImage) error {
				return writeFile(r, "/etc/ld.so.preload", "/usr/lib/x86_64-linux-gnu/libmissing-rescue.so\n")
			},
			// Measured: every program prints "ERROR: ld.so: object … cannot
			// be preloaded … ignored", but boot and login work.
			Broken:  noSymptom("every login works; every program prints an ld.so error", nil),
			Paths:   []string{"/etc/ld.so.preload"},
			Finding: "libs/preload",
			SSH:     true,
		},
		{
			Name: "login-defs-erasechar", Fault: "login.defs ERASECHAR garbage", Static: true,
			Break: func(r string, _ *images.DebianImage) error {
				return editLines(r, "/etc/login.defs", regexp.MustCompile(`^ERASECHAR\s`), func(string) string { return "ERASECHAR\t0x7Fgarbage" })
			},
			// Measured: login prints "configuration error - cannot parse
			// ERASECHAR value" and goes on to log in.
			Broken: noSymptom("every login works; login prints a configuration error", nil),
			// Debian 13 moved /bin/login to util-linux, whose login
			// does not read ERASECHAR, and rescue's check knows it.
			Inert:   map[string]string{images.Trixie.Suite: "Debian 13's /bin/login is util-linux's, which does not read ERASECHAR"},
			Paths:   []string{"/etc/login.defs"},
			Finding: "logindefs/erasechar",
			SSH:     true,
		},
		{
			Name: "passwd-crlf", Fault: "passwd with CRLF endings",
			Break:   func(r string, _ *images.DebianImage) error { return replaceIn(r, "/etc/passwd", "\n", "\r\n") },
			Broken:  Expect{Class: boot.NoShell},
			Paths:   []string{"/etc/passwd"},
			Finding: "accounts/crlf",
		},
		{
			Name: "initramfs-deleted", Fault: "default kernel's initramfs deleted with an older kernel present", CI: true,
			Break: func(r string, img *images.DebianImage) error {
				if len(img.Kernels) < 2 {
					return fmt.Errorf("the image has one kernel (%v): the fault needs an older one", img.Kernels)
				}
				return remove(r, "/boot/initrd.img-"+img.Kernels[0])
			},
			Broken:  Expect{Class: boot.KernelPanic, Note: "no initramfs: the kernel cannot mount root=UUID="},
			Paths:   []string{"/boot"},
			Finding: "kernels/default-incomplete",
			// The fix boots the older kernel; the newest one stays
			// without its initramfs, a warning that remains.
			FixExit: 4,
			FixArgs: []string{"--allow-chroot"},
		},
		{
			// The operator action the clouds call "reset password": root
			// is locked ('!'), forced to change its password and past its
			// expiry date, so the console refuses it; reset-access sets a
			// new password, and the repaired image logs in with it.
			Name: "reset-access-password", Fault: "root locked, password expired, account expired; rescue reset-access",
			Break: func(r string, _ *images.DebianImage) error {
				return editLines(r, "/etc/shadow", regexp.MustCompile(`^root:`), func(l string) string {
					f := strings.Split(l, ":")
					f[1], f[2], f[7] = "!"+f[1], "0", "1"
					return strings.Join(f, ":")
				})
			},
			Broken:   Expect{Class: boot.LoginRefused, Note: "Login incorrect (the password is locked)"},
			Paths:    []string{"/etc/shadow"},
			Action:   []string{"reset-access", "--user", "root", "--password-hash", ResetHash},
			Password: ResetPassword,
			ExitZero: true,
		},
		{
			// The operator action that gives back the cloud's serial
			// console: with no console on ttyS0, systemd starts no getty
			// there and the serial console stays silent after GRUB;
			// rescue fix --serial-console makes it a console with a login
			// prompt again.
			Name: "serial-console", Fault: "no console on the serial port; rescue fix --serial-console",
			Break: func(r string, _ *images.DebianImage) error {
				drop := regexp.MustCompile(` console=ttyS0[^ "]*`)
				for _, p := range []string{"/boot/grub/grub.cfg", "/etc/default/grub"} {
					if _, err := os.Stat(at(r, p)); p == "/etc/default/grub" && os.IsNotExist(err) {
						continue
					}
					if err := editLines(r, p, drop, func(l string) string { return drop.ReplaceAllString(l, "") }); err != nil {
						return err
					}
				}
				return nil
			},
			// The console is silent by design, so the broken boot ends
			// after a short silence and its SSH logins show that the
			// machine runs (QuietConsole): no wait for the idle limit.
			Broken: Expect{Class: boot.Timeout, Note: "GRUB's menu, then nothing on the serial console; the machine runs: SSH logs in",
				Logins: map[string]boot.Class{"root@ssh": boot.LoggedIn, images.LoginUser + "@ssh": boot.LoggedIn}},
			QuietConsole: true,
			SSH:          true,
			FullOnly:     outOfCIBudget,
			Paths:        []string{"/boot/grub/grub.cfg", "/etc/default/grub"},
			Action:       []string{"fix", "--serial-console"},
		},
		{
			// An operator action on a healthy machine (no fault): boot
			// the kernel before the newest. The repaired boot must run
			// it, as the kernel's banner on the serial console says.
			Name: "boot-previous-kernel", Fault: "none; rescue fix --boot-previous-kernel", Static: true,
			Broken:        noSymptom("the healthy base image, booting its newest kernel", nil),
			Paths:         []string{"/boot/grub/grub.cfg"},
			Action:        []string{"fix", "--boot-previous-kernel"},
			RepairedCheck: bootedKernel(1),
		},
		{
			Name: "min-free-kbytes", Fault: "vm.min_free_kbytes larger than RAM",
			Break: func(r string, _ *images.DebianImage) error {
				return appendTo(r, "/etc/sysctl.conf", "vm.min_free_kbytes = 2097152\n")
			},
			Broken:  Expect{Class: boot.KernelPanic, Note: "the machine has 1 GiB"},
			Paths:   []string{"/etc/sysctl.conf", "/etc/sysctl.d/99-sysctl.conf"},
			Finding: "sysctl/min-free-kbytes",
		},
	}, append(append(append(mirrorScenarios(), intrusionScenarios()...), operatorScenarios()...), bootloaderScenarios()...)...)
}

// bootedKernel checks that the boot ran the image's kernel number i
// (newest first), from the kernel's banner in the serial log.
func bootedKernel(i int) func(*boot.Result, *images.DebianImage) string {
	return func(r *boot.Result, img *images.DebianImage) string {
		if i >= len(img.Kernels) {
			return fmt.Sprintf("the image has %d kernel(s): %v", len(img.Kernels), img.Kernels)
		}
		data, err := os.ReadFile(r.SerialLog)
		if err != nil {
			return fmt.Sprintf("reading the serial log: %v", err)
		}
		want := "Linux version " + img.Kernels[i] + " "
		if !bytes.Contains(data, []byte(want)) {
			return fmt.Sprintf("the serial log does not show %q", strings.TrimSpace(want))
		}
		return ""
	}
}

// Lookup returns the named scenarios; "ci" names the CI subset, "all"
// every scenario and "none" none (only the baselines boot).
func Lookup(names string) ([]*Scenario, error) {
	all := Scenarios()
	switch names {
	case "", "all":
		var out []*Scenario
		for _, s := range all {
			if s.FullOnly == "" {
				out = append(out, s)
			}
		}
		return out, nil
	case "full":
		return all, nil
	case "none":
		return nil, nil
	case "ci":
		var out []*Scenario
		for _, s := range all {
			if s.CI {
				out = append(out, s)
			}
		}
		return out, nil
	}
	byName := map[string]*Scenario{}
	for _, s := range all {
		byName[s.Name] = s
	}
	var out []*Scenario
	for _, n := range strings.Split(names, ",") {
		s := byName[strings.TrimSpace(n)]
		if s == nil {
			return nil, fmt.Errorf("unknown scenario %q", n)
		}
		out = append(out, s)
	}
	return out, nil
}

// Rotation returns n of the scenarios outside the CI subset, chosen by day
// (days since the Unix epoch, UTC): CI runs them besides its fixed subset,
// so that every scenario is booted in CI every few days, and a given day's
// choice can be run again with E2E_SCENARIOS=NAME,… .
func Rotation(day, n int) []*Scenario {
	var rest []*Scenario
	for _, s := range Scenarios() {
		if !s.CI && s.FullOnly == "" {
			rest = append(rest, s)
		}
	}
	if n > len(rest) {
		n = len(rest)
	}
	out := make([]*Scenario, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, rest[(day*n+i)%len(rest)])
	}
	return out
}

// The fault helpers work on a root directory and a target-absolute path.
// They refuse to write through a symlink's last component, so that a fault
// lands on the file the scenario names.

func at(root, p string) string { return filepath.Join(root, filepath.FromSlash(p)) }

func replaceIn(root, p, old, new string) error {
	data, err := os.ReadFile(at(root, p))
	if err != nil {
		return err
	}
	if !bytes.Contains(data, []byte(old)) {
		return fmt.Errorf("%s does not contain %q", p, old)
	}
	return rewrite(root, p, bytes.ReplaceAll(data, []byte(old), []byte(new)))
}

func editLines(root, p string, match *regexp.Regexp, edit func(string) string) error {
	data, err := os.ReadFile(at(root, p))
	if err != nil {
		return err
	}
	lines := strings.Split(string(data), "\n")
	n := 0
	for i, l := range lines {
		if match.MatchString(l) {
			lines[i] = edit(l)
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("%s has no line matching %s", p, match)
	}
	return rewrite(root, p, []byte(strings.Join(lines, "\n")))
}

// rewrite replaces a file's content in place, keeping its inode, mode and
// owner, as an editor saving over it would.
func rewrite(root, p string, data []byte) error {
	f, err := os.OpenFile(at(root, p), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func appendTo(root, p, text string) error {
	f, err := os.OpenFile(at(root, p), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeFile(root, p, text string) error {
	if err := os.MkdirAll(filepath.Dir(at(root, p)), 0o755); err != nil {
		return err
	}
	return os.WriteFile(at(root, p), []byte(text), 0o644)
}

func truncate(root, p string) error {
	fi, err := os.Lstat(at(root, p))
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", p)
	}
	return os.Truncate(at(root, p), 0)
}

// firstOf returns the first of paths that exists in the root: where the
// release keeps the file (/usr/bin/bash under merged /usr, /bin/bash on
// Debian 11's split /usr).
func firstOf(root string, paths ...string) (string, error) {
	for _, p := range paths {
		if _, err := os.Lstat(at(root, p)); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("none of %s exists", strings.Join(paths, ", "))
}

func removeFirst(root string, paths ...string) error {
	p, err := firstOf(root, paths...)
	if err != nil {
		return err
	}
	return remove(root, p)
}

func truncateFirst(root string, paths ...string) error {
	p, err := firstOf(root, paths...)
	if err != nil {
		return err
	}
	return truncate(root, p)
}

func remove(root, p string) error {
	if _, err := os.Lstat(at(root, p)); err != nil {
		return err
	}
	return os.Remove(at(root, p))
}
