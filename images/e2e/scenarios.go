// Package e2e is the boot proof: each scenario injects one of the seed's
// faults into a copy of a real, bootable Debian 12 image, shows that the
// image fails under qemu the way the fault really fails, repairs it with
// `rescue fix --apply`, shows that it boots to a logged-in shell, and shows
// that `rescue undo` gives the broken files back byte for byte.
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
	"strings"

	"rescue/images"
	"rescue/images/boot"
)

// BadUUID is the UUID the faults put where the real one belongs: no
// filesystem has it.
const BadUUID = "deadbeef-0000-4000-8000-000000000000"

// Expect is what a boot must show.
type Expect struct {
	Class boot.Class
	// Check refines the class (for a login that works but is degraded);
	// it returns "" when the result is as expected, else why not.
	Check func(*boot.Result) string
	// Note says what the expectation rests on, for the table.
	Note string
}

// Met says whether r meets the expectation, and if not, why.
func (e Expect) Met(r *boot.Result) (bool, string) {
	if r == nil {
		return false, "no boot"
	}
	if r.Class != e.Class {
		return false, fmt.Sprintf("got %s, want %s", r.Short(), e.Class)
	}
	if e.Check != nil {
		if why := e.Check(r); why != "" {
			return false, why
		}
	}
	return true, ""
}

// Scenario is one fault and what it does to the machine.
type Scenario struct {
	// Name identifies the scenario (a file-name-safe slug).
	Name string
	// Fault says what is broken, as the seed names it.
	Fault string
	// Break injects the fault into the mounted root of an image.
	Break func(root string, img *images.DebianImage) error
	// Broken is how the broken image fails. Static scenarios (faults
	// with no symptom on Debian 12) are not booted broken: it is enough
	// that rescue finds them and that the repaired image boots.
	Broken Expect
	Static bool
	// Paths are the target files the fault is in: rescue must report a
	// finding on one of them.
	Paths []string
	// FixArgs are extra flags for `rescue fix`, such as --allow-chroot.
	FixArgs []string
	// CI marks the scenarios in the fixed subset `make e2e` runs.
	CI bool
	// Mirror: the fix gets no --packages and fetches what it restores
	// from a mirror the suite serves (mirror.go).
	Mirror bool
}

// healthy is the expectation of every repaired image.
var healthy = Expect{Class: boot.LoggedIn, Check: func(r *boot.Result) string {
	if !r.Healthy() {
		return "logged in but not healthy: " + r.Short()
	}
	return ""
}}

// Repaired is what every repaired image must show: a login, / writable,
// the system running and no unit failed.
func Repaired() Expect { return healthy }

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
			Broken: Expect{Class: boot.LoggedIn, Check: readOnlyRoot, Note: "logs in, / stays read-only (systemd-remount-fs fails)"},
			Paths:  []string{"/etc/fstab"},
		},
		{
			Name: "fstab-missing-disk", Fault: "extra fstab entry for a missing data disk without nofail",
			Break: func(r string, _ *images.DebianImage) error {
				if err := os.MkdirAll(filepath.Join(r, "data"), 0o755); err != nil {
					return err
				}
				return appendTo(r, "/etc/fstab", "UUID="+BadUUID+" /data ext4 defaults 0 2\n")
			},
			Broken: Expect{Class: boot.Emergency, Note: "emergency mode after the 90 s device timeout"},
			Paths:  []string{"/etc/fstab"},
		},
		{
			Name: "grub-root-uuid", Fault: "grub.cfg root=UUID wrong", CI: true,
			Break: func(r string, img *images.DebianImage) error {
				return replaceIn(r, "/boot/grub/grub.cfg", "root=UUID="+img.RootUUID, "root=UUID="+BadUUID)
			},
			Broken: Expect{Class: boot.InitramfsShell, Note: "initramfs: ALERT! UUID=… does not exist"},
			Paths:  []string{"/boot/grub/grub.cfg"},
		},
		{
			Name: "grub-cfg-empty", Fault: "grub.cfg emptied",
			Break:  func(r string, _ *images.DebianImage) error { return truncate(r, "/boot/grub/grub.cfg") },
			Broken: Expect{Class: boot.GrubPrompt, Note: "grub> on the VGA screen; the serial console stays silent"},
			Paths:  []string{"/boot/grub/grub.cfg"},
		},
		{
			Name: "grub-cfg-deleted", Fault: "grub.cfg deleted", CI: true,
			Break:  func(r string, _ *images.DebianImage) error { return remove(r, "/boot/grub/grub.cfg") },
			Broken: Expect{Class: boot.GrubPrompt, Note: "grub> on the VGA screen; the serial console stays silent"},
			Paths:  []string{"/boot/grub/grub.cfg"},
		},
		{
			Name: "chmod-777-root", Fault: "chmod 777 /", Static: true,
			Break:  func(r string, _ *images.DebianImage) error { return os.Chmod(r, 0o777) },
			Broken: Expect{Class: boot.LoggedIn, Note: "no symptom on Debian 12: asserted statically"},
			Paths:  []string{"/"},
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
			Broken: Expect{Class: boot.LoggedIn, Check: sshDown, Note: "console login works; sshd fails and restarts"},
			Paths:  []string{"/etc/ssh"},
		},
		{
			Name: "libnss-files-deleted", Fault: "libnss_files.so.2 deleted", Static: true,
			Break: func(r string, _ *images.DebianImage) error {
				return remove(r, "/usr/lib/x86_64-linux-gnu/libnss_files.so.2")
			},
			Broken: Expect{Class: boot.LoggedIn, Note: "no symptom with glibc 2.36 (files NSS is built into libc): asserted statically"},
			Paths:  []string{"/usr/lib/x86_64-linux-gnu/libnss_files.so.2", "/lib/x86_64-linux-gnu/libnss_files.so.2"},
		},
		{
			Name: "pam-unix-deleted", Fault: "pam_unix.so deleted", CI: true,
			Break: func(r string, _ *images.DebianImage) error {
				return remove(r, "/usr/lib/x86_64-linux-gnu/security/pam_unix.so")
			},
			Broken: Expect{Class: boot.LoginRefused, Note: "Login incorrect"},
			Paths:  []string{"/usr/lib/x86_64-linux-gnu/security/pam_unix.so", "/lib/x86_64-linux-gnu/security/pam_unix.so"},
		},
		{
			Name: "pam-login-deleted", Fault: "/etc/pam.d/login deleted", Static: true,
			Break: func(r string, _ *images.DebianImage) error { return remove(r, "/etc/pam.d/login") },
			// Measured: login then uses /etc/pam.d/other, which on Debian
			// includes the common-* stacks, so the console login works.
			Broken: Expect{Class: boot.LoggedIn, Note: "no symptom on Debian 12 (PAM falls back to /etc/pam.d/other): asserted statically"},
			Paths:  []string{"/etc/pam.d/login"},
		},
		{
			Name: "zero-login", Fault: "zero-size /usr/bin/login",
			Break:  func(r string, _ *images.DebianImage) error { return truncate(r, "/usr/bin/login") },
			Broken: Expect{Class: boot.LoginRefused, Note: "the login prompt comes back after the user name"},
			Paths:  []string{"/usr/bin/login", "/bin/login"},
		},
		{
			Name: "zero-bash", Fault: "zero-size /usr/bin/bash", CI: true,
			Break:  func(r string, _ *images.DebianImage) error { return truncate(r, "/usr/bin/bash") },
			Broken: Expect{Class: boot.NoShell, Note: "password accepted, the shell cannot run"},
			Paths:  []string{"/usr/bin/bash", "/bin/bash"},
		},
		{
			Name: "zero-systemd", Fault: "zero-size systemd",
			Break:  func(r string, _ *images.DebianImage) error { return truncate(r, "/usr/lib/systemd/systemd") },
			Broken: Expect{Class: boot.KernelPanic, Note: "no init: Exec format error"},
			Paths:  []string{"/usr/lib/systemd/systemd", "/lib/systemd/systemd"},
		},
		{
			Name: "profile-self-source", Fault: "/etc/profile sourcing itself", CI: true,
			Break:  func(r string, _ *images.DebianImage) error { return appendTo(r, "/etc/profile", ". /etc/profile\n") },
			Broken: Expect{Class: boot.NoShell, Note: "password accepted, no prompt ever"},
			Paths:  []string{"/etc/profile"},
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
			Broken: Expect{Class: boot.SystemdFreeze, Note: "Failed to load SELinux policy. Freezing."},
			Paths:  []string{"/etc/selinux/config", "/boot/grub/grub.cfg"},
		},
		{
			Name: "limits-nofile", Fault: "limits.conf nofile above nr_open", Static: true,
			Break: func(r string, _ *images.DebianImage) error {
				return appendTo(r, "/etc/security/limits.conf", "*               -       nofile          2000000000\n")
			},
			Broken: Expect{Class: boot.LoggedIn, Note: "no symptom on Debian 12 (systemd raises fs.nr_open): asserted statically"},
			Paths:  []string{"/etc/security/limits.conf"},
		},
		{
			Name: "ld-so-preload-missing", Fault: "/etc/ld.so.preload naming a missing library", Static: true,
			Break: func(r string, _ *images.DebianImage) error {
				return writeFile(r, "/etc/ld.so.preload", "/usr/lib/x86_64-linux-gnu/libmissing-rescue.so\n")
			},
			// Measured: every program prints "ERROR: ld.so: object … cannot
			// be preloaded … ignored", but boot and login work.
			Broken: Expect{Class: boot.LoggedIn, Note: "login works; every program prints an ld.so error: asserted statically"},
			Paths:  []string{"/etc/ld.so.preload"},
		},
		{
			Name: "login-defs-erasechar", Fault: "login.defs ERASECHAR garbage", Static: true,
			Break: func(r string, _ *images.DebianImage) error {
				return editLines(r, "/etc/login.defs", regexp.MustCompile(`^ERASECHAR\s`), func(string) string { return "ERASECHAR\t0x7Fgarbage" })
			},
			// Measured: login prints "configuration error - cannot parse
			// ERASECHAR value" and goes on to log in.
			Broken: Expect{Class: boot.LoggedIn, Note: "login prints a configuration error and logs in: asserted statically"},
			Paths:  []string{"/etc/login.defs"},
		},
		{
			Name: "passwd-crlf", Fault: "passwd with CRLF endings",
			Break:  func(r string, _ *images.DebianImage) error { return replaceIn(r, "/etc/passwd", "\n", "\r\n") },
			Broken: Expect{Class: boot.NoShell},
			Paths:  []string{"/etc/passwd"},
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
			FixArgs: []string{"--allow-chroot"},
		},
		{
			Name: "min-free-kbytes", Fault: "vm.min_free_kbytes larger than RAM",
			Break: func(r string, _ *images.DebianImage) error {
				return appendTo(r, "/etc/sysctl.conf", "vm.min_free_kbytes = 2097152\n")
			},
			Broken: Expect{Class: boot.KernelPanic, Note: "the machine has 1 GiB"},
			Paths:  []string{"/etc/sysctl.conf", "/etc/sysctl.d/99-sysctl.conf"},
		},
	}, mirrorScenarios()...)
}

// Lookup returns the named scenarios; "ci" names the CI subset, "all"
// every scenario and "none" none (only the baselines boot).
func Lookup(names string) ([]*Scenario, error) {
	all := Scenarios()
	switch names {
	case "", "all":
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
		if !s.CI {
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

func remove(root, p string) error {
	if _, err := os.Lstat(at(root, p)); err != nil {
		return err
	}
	return os.Remove(at(root, p))
}
