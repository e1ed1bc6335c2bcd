package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"rescue/images"
)

// A versionedFault is a fault whose verdict depends on the versions on the
// target: glibc (files NSS built in from 2.34), Linux-PAM (pam_lastlog gone
// in 1.7), systemd and PAM (fs.nr_open and nofile), OpenSSH (the keywords
// it knows), GRUB, initramfs-tools. Each is injected into the real boot
// root of every release; want says, per Debian version, what rescue
// reports (severity and check/kind, fixes aside). The boot proof
// (images/e2e) boots the same faults on each release, and its table shows
// that these severities are what the machines did.
type versionedFault struct {
	name   string
	checks string
	// paths are the files the fault changes, put back after it.
	paths []string
	apply func(dir string, img *images.DebianImage) error
	want  map[int][]string
}

var versionedFaults = []versionedFault{
	{
		// glibc 2.31 (Debian 11) loads files NSS from the library, whose
		// soname is a link to libnss_files-2.31.so; from 2.34 on it is
		// built into libc and the file is a compatibility stub.
		name: "libnss-files-deleted", checks: "nss,pkgfiles",
		paths: []string{"/lib/x86_64-linux-gnu/libnss_files.so.2"},
		apply: func(dir string, _ *images.DebianImage) error {
			return os.Remove(filepath.Join(dir, "lib/x86_64-linux-gnu/libnss_files.so.2"))
		},
		want: map[int][]string{
			11: {"error nss/source-missing", "warning pkgfiles/damaged"},
			12: {"warning pkgfiles/damaged"},
			13: {"warning pkgfiles/damaged"},
		},
	},
	{
		// Debian 11's and 12's /etc/pam.d/login has "session optional
		// pam_lastlog.so"; Linux-PAM 1.7 (Debian 13) no longer ships the
		// module, and a login file kept through the upgrade still names
		// it.
		name: "pam-lastlog-kept", checks: "pam",
		paths: []string{"/etc/pam.d/login"},
		apply: func(dir string, _ *images.DebianImage) error {
			return ensureLine(filepath.Join(dir, "etc/pam.d/login"), "session    optional   pam_lastlog.so")
		},
		want: map[int][]string{
			11: nil,
			12: nil,
			13: {"warning pam/module-missing"},
		},
	},
	{
		// nofile above fs.nr_open: systemd raises nr_open at boot
		// (247, 252, 257 here), so the value matters only above 2^30.
		name: "limits-nofile", checks: "limits",
		paths: []string{"/etc/security/limits.conf"},
		apply: func(dir string, _ *images.DebianImage) error {
			return ensureLine(filepath.Join(dir, "etc/security/limits.conf"), "*               -       nofile          2000000000")
		},
		want: map[int][]string{
			11: {"warning limits/nofile-above-nr-open"},
			12: {"warning limits/nofile-above-nr-open"},
			13: {"warning limits/nofile-above-nr-open"},
		},
	},
	{
		// A keyword OpenSSH 9.8 added, in a configuration copied from a
		// newer system: sshd 8.4 (Debian 11) and 9.2 (12) stop at it.
		name: "sshd-newer-keyword", checks: "sshd",
		paths: []string{"/etc/ssh/sshd_config"},
		apply: func(dir string, _ *images.DebianImage) error {
			return ensureLine(filepath.Join(dir, "etc/ssh/sshd_config"), "PerSourcePenalties no")
		},
		want: map[int][]string{
			11: {"error sshd/bad-line"},
			12: {"error sshd/bad-line"},
			13: nil,
		},
	},
	{
		// shadow's login (Debian 11, 12) reads ERASECHAR and prints a
		// configuration error for garbage; Debian 13's login is
		// util-linux's, which does not read it.
		name: "login-defs-erasechar", checks: "logindefs",
		paths: []string{"/etc/login.defs"},
		apply: func(dir string, _ *images.DebianImage) error {
			p := filepath.Join(dir, "etc/login.defs")
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if !strings.Contains(string(data), "\nERASECHAR\t0177") {
				return fmt.Errorf("%s sets no ERASECHAR 0177", p)
			}
			return os.WriteFile(p, []byte(strings.Replace(string(data), "\nERASECHAR\t0177", "\nERASECHAR\t0x7Fgarbage", 1)), 0o644)
		},
		want: map[int][]string{
			11: {"warning logindefs/erasechar"},
			12: {"warning logindefs/erasechar"},
			13: nil,
		},
	},
	{
		name: "grub-root-uuid", checks: "grub",
		paths: []string{"/boot/grub/grub.cfg"},
		apply: func(dir string, img *images.DebianImage) error {
			p := filepath.Join(dir, "boot/grub/grub.cfg")
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if !strings.Contains(string(data), "root=UUID="+img.RootUUID) {
				return fmt.Errorf("%s has no root=UUID=%s", p, img.RootUUID)
			}
			return os.WriteFile(p, []byte(strings.ReplaceAll(string(data), "root=UUID="+img.RootUUID, "root=UUID=deadbeef-0000-4000-8000-000000000000")), 0o644)
		},
		want: map[int][]string{
			11: {"critical grub/root-unknown"},
			12: {"critical grub/root-unknown"},
			13: {"critical grub/root-unknown"},
		},
	},
	{
		// The default kernel's initramfs deleted, an older kernel left:
		// initramfs-tools on every release rebuilds it.
		name: "initramfs-deleted", checks: "kernels,initramfs",
		apply: func(dir string, img *images.DebianImage) error {
			return os.Remove(filepath.Join(dir, "boot/initrd.img-"+img.Kernels[0]))
		},
		want: map[int][]string{
			11: {"critical kernels/default-incomplete"},
			12: {"critical kernels/default-incomplete"},
			13: {"critical kernels/default-incomplete"},
		},
	},
}

// checkVersionedFaults injects each versioned fault into a release's boot
// root, scans it with the checks that judge it, compares the verdict with
// the release's, and puts the root back.
func checkVersionedFaults(t *testing.T, rel images.Release, dir string, img *images.DebianImage, args []string) {
	for _, f := range versionedFaults {
		t.Run(f.name, func(t *testing.T) {
			paths := f.paths
			if f.name == "initramfs-deleted" {
				paths = []string{"/boot/initrd.img-" + img.Kernels[0]}
			}
			restore := saveFiles(t, dir, paths)
			defer restore()
			if err := f.apply(dir, img); err != nil {
				t.Fatal(err)
			}
			out, _ := runCLI(t, append(append([]string{"scan", "--json", "--checks", f.checks}, args...), dir)...)
			var scan struct {
				Findings []struct {
					Check    string `json:"check"`
					Kind     string `json:"kind"`
					Severity string `json:"severity"`
					Message  string `json:"message"`
				} `json:"findings"`
			}
			if err := json.Unmarshal([]byte(out), &scan); err != nil {
				t.Fatalf("rescue scan --json: %v", err)
			}
			var got, lines []string
			for _, x := range scan.Findings {
				// Subjects name line numbers and kernel versions,
				// which move with the archive: severity and kind are
				// the verdict.
				s := x.Severity + " " + x.Check + "/" + x.Kind
				got = append(got, s)
				lines = append(lines, s+": "+x.Message)
			}
			sort.Strings(got)
			want := slices.Clone(f.want[rel.Version])
			sort.Strings(want)
			t.Logf("%s on %s: %s", f.name, rel, strings.Join(append([]string{fmt.Sprint(len(lines), " finding(s)")}, lines...), "\n\t"))
			if !slices.Equal(got, want) {
				t.Errorf("%s on %s: got %q, want %q", f.name, rel, got, want)
			}
		})
	}
}

// ensureLine appends line to the file unless it has it already.
func ensureLine(p, line string) error {
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) == line {
			return nil
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	return os.WriteFile(p, append(data, line+"\n"...), 0o644)
}

// saveFiles records the files (or symlinks) at paths and returns what puts
// them back as they were, content, mode and link target.
func saveFiles(t *testing.T, dir string, paths []string) func() {
	t.Helper()
	type saved struct {
		p    string
		mode os.FileMode
		data []byte
		link string
	}
	var all []saved
	for _, rel := range paths {
		p := filepath.Join(dir, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		s := saved{p: p, mode: fi.Mode()}
		if fi.Mode()&os.ModeSymlink != 0 {
			s.link, err = os.Readlink(p)
		} else {
			s.data, err = os.ReadFile(p)
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, s)
	}
	return func() {
		for _, s := range all {
			os.Remove(s.p)
			var err error
			if s.link != "" {
				err = os.Symlink(s.link, s.p)
			} else if err = os.WriteFile(s.p, s.data, s.mode.Perm()); err == nil {
				err = os.Chmod(s.p, s.mode.Perm())
			}
			if err != nil {
				t.Errorf("putting %s back: %v", s.p, err)
			}
		}
	}
}
