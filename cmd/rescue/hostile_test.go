package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The hostile-disk corpus: roots built by the test, each holding what a
// corrupted or malicious disk can hold (include and source loops, files a
// megabyte deep, a line of 8 MB, thousands of findings in one file, a
// package database of 60,000 packages, FIFOs where files belong, terminal
// escapes in names). Every case runs the real CLI as a process limited to
// hostileMemory of address space and hostileTime: scan, the fix as a diff,
// fix --apply, and undo. A crash, an out-of-memory death or a timeout fails
// the case; so does text output that carries a raw escape or control
// character, a missing expected finding, and an undo that does not leave
// the tree exactly as it was (content, modes, owners, mtimes, inodes and
// hard links).
const (
	hostileMemory = 2 << 30
	hostileTime   = 60 * time.Second
)

// hostileCase is one root of the corpus.
type hostileCase struct {
	name  string
	build func(t *testing.T, dir string)
	// want are finding kinds (check/kind) the scan must report.
	want []string
	// scanExit is the exit code scan must give (4 when 0).
	scanExit int
	// applyExit is the exit code fix --apply must give: 1 (all
	// repaired), 4 (findings remain) or 8.
	applyExit int
	// maxOutput bounds scan's text output.
	maxOutput int
	root      bool // needs root
}

func hostileCases() []hostileCase {
	return []hostileCase{
		{name: "sshd-include-loop", build: func(t *testing.T, dir string) {
			write(t, dir, "etc/ssh/sshd_config", strings.Repeat("Include /etc/ssh/sshd_config\n", 3)+"UsePAM no\n")
		}, want: []string{"sshd/include-cycle"}, applyExit: 1},
		{name: "sshd-include-diamond", build: func(t *testing.T, dir string) {
			// No loop: three includes per file, sixteen deep (3^16 files).
			write(t, dir, "etc/ssh/sshd_config", "Include d0\nUsePAM no\n")
			for i := 0; i < 16; i++ {
				write(t, dir, fmt.Sprintf("etc/ssh/d%d", i), strings.Repeat(fmt.Sprintf("Include d%d\n", i+1), 3))
			}
			write(t, dir, "etc/ssh/d16", "PermitRootLogin prohibit-password\n")
		}, want: []string{"sshd/include-too-large"}, applyExit: 4},
		{name: "pam-include-loop", build: func(t *testing.T, dir string) {
			write(t, dir, "etc/pam.d/login", strings.Repeat("auth include login\n", 3)+"auth required pam_unix.so\n")
			write(t, dir, "etc/pam.d/sshd", "auth include login\n")
			write(t, dir, "etc/pam.d/other", "auth required pam_deny.so\n")
		}, want: []string{"pam/include-cycle"}, applyExit: 4},
		{name: "profile-deep-parens", build: func(t *testing.T, dir string) {
			write(t, dir, "etc/profile.d/deep.sh", strings.Repeat("(", 1<<20))
		}, want: []string{"profile/unparsable"}, applyExit: 4},
		{name: "rclocal-deep-substitution", build: func(t *testing.T, dir string) {
			write(t, dir, "etc/rc.local", "#!/bin/sh\n"+strings.Repeat("$(", 1<<18))
			os.Chmod(filepath.Join(dir, "etc/rc.local"), 0o755)
		}, want: []string{"rclocal/syntax-error"}, applyExit: 4},
		{name: "grub-default-deep", build: func(t *testing.T, dir string) {
			write(t, dir, "etc/default/grub", `GRUB_CMDLINE_LINUX="`+strings.Repeat(`$(echo "`, 1<<17)+"\n")
		}, want: []string{"grub/default-grub-syntax"}, applyExit: 4},
		{name: "profile-cycle-past-line-262143", build: func(t *testing.T, dir string) {
			write(t, dir, "etc/profile.d/proxy.sh", strings.Repeat("\n", 300000)+". /etc/profile\n")
		}, want: []string{"profile/source-cycle"}, applyExit: 1},
		{name: "fstab-4000-entries", build: func(t *testing.T, dir string) {
			var b strings.Builder
			b.WriteString("UUID=2f6e2a1c-7c5b-4e0a-9a55-3d0b7c1e9f00 / ext4 errors=remount-ro 0 1\n")
			for i := 0; i < 4000; i++ {
				fmt.Fprintf(&b, "UUID=%08x-dead-4a11-b0a7-0000000000aa /data%d xfs defaults 0 2\n", i, i)
			}
			write(t, dir, "etc/fstab", b.String())
		}, want: []string{"fstab/source-unknown"}, applyExit: 1, maxOutput: 8 << 20},
		{name: "sshd-20000-keywords", build: func(t *testing.T, dir string) {
			var b strings.Builder
			b.WriteString("UsePAM no\n")
			for i := 0; i < 20000; i++ {
				fmt.Fprintf(&b, "Bogus%dKeyword yes\n", i)
			}
			write(t, dir, "etc/ssh/sshd_config", b.String())
		}, want: []string{"sshd/bad-line"}, applyExit: 1, maxOutput: 16 << 20},
		{name: "evidence-8MB-line", build: func(t *testing.T, dir string) {
			write(t, dir, "etc/fstab", "UUID=2f6e2a1c-7c5b-4e0a-9a55-3d0b7c1e9f00 / ext4 defaults 0 1\nUUID=77777777-dead-4a11-b0a7-0000000000aa /"+strings.Repeat("x", 8<<20)+" xfs defaults 0 2\n")
		}, want: []string{"fstab/source-unknown"}, applyExit: 1, maxOutput: 1 << 20},
		{name: "dpkg-repeated-stanzas", build: func(t *testing.T, dir string) {
			stanza := "Package: bash\nStatus: install ok installed\nPriority: required\nArchitecture: amd64\nVersion: 5.2.15-2+b2\nConffiles:\n /etc/bash.bashrc 89269e1298235f1b12b4c16e4065ad0d\n /etc/skel/.bashrc 0123456789abcdef0123456789abcdef\nDescription: GNU Bourne Again SHell\n" + strings.Repeat(" Bash is an sh-compatible command language interpreter.\n", 40) + "\n"
			write(t, dir, "var/lib/dpkg/status", strings.Repeat(stanza, 4000))
			write(t, dir, "var/lib/dpkg/info/bash.list", "/.\n/bin/bash\n/etc/bash.bashrc\n")
		}, want: []string{"pkgfiles/damaged"}, applyExit: 4},
		{name: "dpkg-60000-packages", build: func(t *testing.T, dir string) {
			var b strings.Builder
			for i := 0; i < 60000; i++ {
				fmt.Fprintf(&b, "Package: fake%d\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\nConffiles:\n /etc/fake/f%d 0123456789abcdef0123456789abcdef\n\n", i, i)
			}
			write(t, dir, "var/lib/dpkg/status", b.String())
		}, want: []string{"pkgfiles/damaged"}, applyExit: 4, maxOutput: 64 << 20},
		{name: "garbage-config-files", build: func(t *testing.T, dir string) {
			junk := make([]byte, 4<<20)
			for i := range junk {
				junk[i] = byte(i*7919 + i>>8)
			}
			line := []byte(strings.Repeat("A", 4<<20) + "\n")
			for i, p := range []string{"etc/passwd", "etc/group", "etc/nsswitch.conf", "etc/sysctl.conf", "etc/security/limits.conf",
				"etc/login.defs", "etc/selinux/config", "boot/grub/grub.cfg", "etc/ld.so.conf", "etc/ld.so.preload", "etc/os-release",
				"etc/network/interfaces", "etc/securetty", "etc/ssh/sshd_config", "etc/pam.d/login", "etc/crypttab", "boot/grub/grubenv"} {
				data := junk
				if i%2 == 1 {
					data = line
				}
				writeBytes(t, dir, p, data)
			}
			// Some checks cannot read files this large: exit 8.
		}, scanExit: 8, applyExit: 8},
		{name: "escapes-in-names-and-lines", build: func(t *testing.T, dir string) {
			evil := "evil\n  CRITICAL: forged\x1b[2J\x1b]0;owned\x07\u202e.sh"
			write(t, dir, "etc/profile.d/"+evil, ". \"/etc/profile.d/"+evil+"\"\n")
			write(t, dir, "etc/fstab", "UUID=2f6e2a1c-7c5b-4e0a-9a55-3d0b7c1e9f00 / ext4 defaults 0 1\nUUID=77777777-dead-4a11-b0a7-0000000000aa /data\x1b[31m xfs defaults 0 2\r\n")
		}, want: []string{"profile/source-cycle:/etc/profile.d/evil\\n", "fstab/crlf"}, applyExit: 4},
		{name: "fifo-at-fstab", build: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "etc/fstab"))
			if err := unix.Mkfifo(filepath.Join(dir, "etc/fstab"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, scanExit: 8, applyExit: 8},
		{name: "fifo-at-shadow", build: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "etc/shadow"))
			if err := unix.Mkfifo(filepath.Join(dir, "etc/shadow"), 0o666); err != nil {
				t.Fatal(err)
			}
			// Reported, with no chmod planned on the FIFO.
		}, want: []string{"perms/shadow-file"}, applyExit: 4},
		{name: "hard-linked-shadow", root: true, build: func(t *testing.T, dir string) {
			os.Chmod(filepath.Join(dir, "etc/shadow"), 0o666)
			if err := os.Link(filepath.Join(dir, "etc/shadow"), filepath.Join(dir, "etc/shadow.hardlink")); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(filepath.Join(dir, "etc/fstab"), filepath.Join(dir, "etc/fstab.hardlink")); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"perms/shadow-file", "fstab/root-source-unknown"}, applyExit: 1},
	}
}

func write(t *testing.T, dir, name, data string) { writeBytes(t, dir, name, []byte(data)) }

func writeBytes(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// demoRoot copies the demo's broken Debian root, with the modes git cannot
// hold, as scripts/demo.sh does; each case adds its hostile files.
func demoRoot(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	if out, err := exec.Command("cp", "-a", filepath.Join("..", "..", "testdata", "demo", "root"), dir).CombinedOutput(); err != nil {
		t.Fatalf("copying the demo root: %v %s", err, out)
	}
	os.Remove(filepath.Join(dir, "var/lib/.keep"))
	for p, m := range map[string]fs.FileMode{".": 0o755, "root": 0o700, "root/.ssh": 0o700, "root/.ssh/authorized_keys": 0o600,
		"etc/shadow": 0o640, "etc/gshadow": 0o640, "usr/bin/bash": 0o755, "usr/sbin/nologin": 0o755} {
		os.Chmod(filepath.Join(dir, p), m)
	}
	for _, k := range []string{"rsa", "ecdsa", "ed25519"} {
		os.Chmod(filepath.Join(dir, "etc/ssh/ssh_host_"+k+"_key"), 0o600)
	}
	for l, target := range map[string]string{"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib"} {
		os.Symlink(target, filepath.Join(dir, l))
	}
	// login and sshd are installed: PAM and sshd are checked.
	bash, _ := os.ReadFile(filepath.Join(dir, "usr/bin/bash"))
	writeBytes(t, dir, "usr/bin/login", bash)
	writeBytes(t, dir, "usr/sbin/sshd", append(bash, []byte("OpenSSH_9.2p1")...))
	return dir
}

// limitedRun is one run of the CLI under the corpus's limits.
type limitedRun struct {
	stdout, stderr []byte
	code           int
	wall           time.Duration
}

func runLimited(t *testing.T, args ...string) limitedRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hostileTime)
	defer cancel()
	all := append([]string{fmt.Sprintf("--as=%d", hostileMemory), "rescue-cli"}, args...)
	cmd := exec.CommandContext(ctx, "prlimit", all...)
	// A test binary built with cgo has glibc's allocator, which reserves
	// 64 MiB of address space per thread; rescue itself is built without.
	cmd.Env = append(os.Environ(), "MALLOC_ARENA_MAX=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := limitedRun{stdout: out.Bytes(), stderr: errb.Bytes(), wall: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("rescue %s: not done within %s", strings.Join(args, " "), hostileTime)
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running rescue: %v", err)
	}
	for _, bad := range []string{"fatal error:", "panic:", "runtime: out of memory", "goroutine 1 [", "internal error (please report)"} {
		if bytes.Contains(r.stderr, []byte(bad)) || bytes.Contains(r.stdout, []byte(bad)) {
			t.Fatalf("rescue %s crashed (exit %d):\n%.3000s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if r.code < 0 || r.code > 16 {
		t.Fatalf("rescue %s died: exit %d:\n%.3000s", strings.Join(args, " "), r.code, r.stderr)
	}
	// (No peak memory here: the child is forked from this test process and
	// its ru_maxrss counts this process's pages; the limit is what holds.)
	t.Logf("rescue %-8s exit %d  %6.2fs  %d bytes out", args[0], r.code, r.wall.Seconds(), len(r.stdout))
	return r
}

// rawTerminal reports the first raw control character in text output (a
// tab and the newlines that end lines excepted), or -1.
func rawTerminal(b []byte) int {
	for i, c := range b {
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			return i
		}
	}
	return bytes.Index(b, []byte("\u202e"))
}

func TestHostileCorpus(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("SKIP: prlimit (util-linux) is not installed: the hostile-disk corpus needs it to limit memory")
	}
	devices, err := filepath.Abs(filepath.Join("..", "..", "testdata", "demo", "devices"))
	if err != nil {
		t.Fatal(err)
	}
	target := []string{"--devices", devices, "--root-device", "/dev/vdb1", "--memory", "2G"}
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			if c.root && os.Geteuid() != 0 {
				t.Skip("SKIP: needs root (hard links to root-owned files); CI runs as root")
			}
			t.Parallel()
			dir := demoRoot(t)
			c.build(t, dir)
			args := func(cmd string, extra ...string) []string {
				return append(append([]string{cmd, dir}, target...), extra...)
			}

			scan := runLimited(t, args("scan")...)
			want := c.scanExit
			if want == 0 {
				want = 4
			}
			if scan.code != want {
				t.Errorf("scan: exit %d, want %d:\n%.2000s", scan.code, want, scan.stderr)
			}
			if i := rawTerminal(scan.stdout); i >= 0 {
				t.Errorf("scan's text output holds a raw control character at %d: %q", i, scan.stdout[max(0, i-80):min(len(scan.stdout), i+20)])
			}
			if bytes.Contains(scan.stdout, []byte("\n  CRITICAL: forged")) {
				t.Errorf("a name from the disk forged a line of the report")
			}
			limit := c.maxOutput
			if limit == 0 {
				limit = 4 << 20
			}
			if len(scan.stdout) > limit {
				t.Errorf("scan printed %d bytes (more than %d)", len(scan.stdout), limit)
			}
			js := runLimited(t, args("scan", "--json")...)
			for _, k := range c.want {
				if !bytes.Contains(js.stdout, []byte(`"id": "`+k)) {
					t.Errorf("no %s finding in the scan", k)
				}
			}

			diff := runLimited(t, args("fix")...)
			if i := rawTerminal(diff.stdout); i >= 0 {
				t.Errorf("the diff holds a raw control character at %d: %q", i, diff.stdout[max(0, i-80):min(len(diff.stdout), i+20)])
			}

			before := treeState(t, dir)
			journal := t.TempDir()
			apply := runLimited(t, args("fix", "--apply", "--journal-dir", journal)...)
			if apply.code != c.applyExit {
				t.Errorf("fix --apply: exit %d, want %d:\n%.2000s\n%.2000s", apply.code, c.applyExit, apply.stdout, apply.stderr)
			}
			if i := rawTerminal(apply.stdout); i >= 0 {
				t.Errorf("fix --apply's text output holds a raw control character at %d", i)
			}
			if !bytes.Contains(apply.stdout, []byte("Undo with:")) {
				return // nothing was changed
			}
			if before2 := treeState(t, dir); before2 == before {
				t.Errorf("fix --apply reported a repair and changed nothing")
			}
			undo := runLimited(t, "undo", dir, "--journal-dir", journal)
			if undo.code != 0 {
				t.Fatalf("undo: exit %d:\n%s", undo.code, undo.stderr)
			}
			if after := treeState(t, dir); after != before {
				t.Errorf("the tree after undo is not the tree before the repair:\n%s", lineDiff(before, after))
			}
		})
	}
}

// treeState describes every entry under dir: type, mode, owner, size,
// content digest, symlink target, mtime, and which entries are one inode.
func treeState(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	inodes := map[uint64]string{}
	err := filepath.Walk(dir, func(p string, fi fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		st := fi.Sys().(*syscall.Stat_t)
		line := fmt.Sprintf("%s %v %d:%d", rel, fi.Mode(), st.Uid, st.Gid)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			line += " -> " + l
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %x %d", sha256.Sum256(b), fi.ModTime().UnixNano())
			if st.Nlink > 1 {
				if first, ok := inodes[st.Ino]; ok {
					line += " same inode as " + first
				} else {
					inodes[st.Ino] = rel
				}
			}
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func lineDiff(a, b string) string {
	as, bs := strings.Split(a, "\n"), strings.Split(b, "\n")
	in := map[string]bool{}
	for _, l := range bs {
		in[l] = true
	}
	var out []string
	for _, l := range as {
		if !in[l] {
			out = append(out, "- "+l)
		}
	}
	in = map[string]bool{}
	for _, l := range as {
		in[l] = true
	}
	for _, l := range bs {
		if !in[l] {
			out = append(out, "+ "+l)
		}
	}
	if len(out) > 40 {
		out = append(out[:40], "...")
	}
	return strings.Join(out, "\n")
}

// The cases that need a real filesystem: an inode the kernel refuses
// (EFSCORRUPTED) where sshd_config is, a read-only /boot below a writable
// root, and a partition table that cannot be read.
func TestHostileDisks(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("SKIP: prlimit (util-linux) is not installed")
	}

	t.Run("unreadable-partition-table", func(t *testing.T) {
		img := filepath.Join(t.TempDir(), "disk.img")
		if err := os.WriteFile(img, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(img, 8<<20); err != nil {
			t.Fatal(err)
		}
		// A protective MBR whose GPT headers are both garbage.
		f, err := os.OpenFile(img, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		mbr := make([]byte, 512)
		mbr[446+4] = 0xee
		copy(mbr[446+8:], []byte{1, 0, 0, 0, 0xff, 0x3f, 0, 0})
		mbr[510], mbr[511] = 0x55, 0xaa
		f.WriteAt(mbr, 0)
		f.WriteAt([]byte("EFI PART garbage"), 512)
		f.Close()
		text := runLimited(t, "probe", img)
		js := runLimited(t, "probe", "--json", img)
		if text.code != 8 || js.code != text.code {
			t.Errorf("probe exits %d, probe --json %d: want 8 for both", text.code, js.code)
		}
	})

	t.Run("sigterm-during-package-verification", func(t *testing.T) {
		dir := demoRoot(t)
		var b strings.Builder
		for i := 0; i < 60000; i++ {
			fmt.Fprintf(&b, "Package: fake%d\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\nConffiles:\n /etc/fake/f%d 0123456789abcdef0123456789abcdef\n\n", i, i)
		}
		write(t, dir, "var/lib/dpkg/status", b.String())
		cmd := exec.Command("prlimit", fmt.Sprintf("--as=%d", hostileMemory), "rescue-cli", "scan", dir, "--checks", "pkgfiles,zerosize")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		sent := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(hostileTime):
			cmd.Process.Kill()
			t.Fatal("the scan did not stop after SIGTERM")
		}
		took := time.Since(sent)
		t.Logf("stopped %.2fs after SIGTERM, exit %d", took.Seconds(), cmd.ProcessState.ExitCode())
		if !bytes.Contains(out.Bytes(), []byte("context canceled")) {
			t.Skipf("SKIP: the scan finished before the signal arrived:\n%.500s", out.Bytes())
		}
		if took > 5*time.Second || cmd.ProcessState.ExitCode() != 8 {
			t.Errorf("stopped %s after SIGTERM with exit %d", took, cmd.ProcessState.ExitCode())
		}
	})

	if os.Geteuid() != 0 {
		t.Skip("SKIP: the filesystem cases need root (loop devices, mounts); CI runs as root")
	}
	for _, tool := range []string{"mkfs.ext4", "debugfs", "losetup"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIP: %s is not installed", tool)
		}
	}

	t.Run("sshd-config-efscorrupted", func(t *testing.T) {
		src := t.TempDir()
		write(t, src, "etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n")
		write(t, src, "usr/sbin/sshd", "ELF stand-in OpenSSH_9.2p1")
		write(t, src, "etc/ssh/sshd_config", "Port 22\n")
		img := filepath.Join(t.TempDir(), "root.img")
		for _, argv := range [][]string{
			{"truncate", "-s", "32M", img},
			{"mkfs.ext4", "-q", "-F", "-d", src, img},
			// A deleted inode still named by its directory: the kernel
			// refuses it with EFSCORRUPTED ("Structure needs cleaning").
			{"debugfs", "-w", "-R", "sif /etc/ssh/sshd_config links_count 0", img},
		} {
			if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
				t.Fatalf("%v: %v %s", argv, err, out)
			}
		}
		mnt := t.TempDir()
		loop, err := exec.Command("losetup", "-f", "--show", img).Output()
		if err != nil {
			t.Fatal(err)
		}
		dev := strings.TrimSpace(string(loop))
		t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
		if err := unix.Mount(dev, mnt, "ext4", unix.MS_RDONLY, "noload"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
		if _, err := os.Stat(filepath.Join(mnt, "etc/ssh/sshd_config")); !errors.Is(err, unix.EUCLEAN) {
			t.Skipf("SKIP: the kernel did not refuse the inode (%v)", err)
		}
		js := runLimited(t, "scan", "--json", mnt, "--checks", "sshd")
		if !bytes.Contains(js.stdout, []byte(`"id": "sshd/config-unreadable`)) || bytes.Contains(js.stdout, []byte("config-missing")) {
			t.Errorf("want sshd/config-unreadable, not config-missing:\n%s", js.stdout)
		}
	})

	t.Run("read-only-boot", func(t *testing.T) {
		dir := demoRoot(t)
		boot := filepath.Join(dir, "boot")
		if err := unix.Mount(boot, boot, "", unix.MS_BIND, ""); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Unmount(boot, unix.MNT_DETACH) })
		if err := unix.Mount("", boot, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
			t.Fatal(err)
		}
		devices, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "demo", "devices"))
		before := treeState(t, dir)
		apply := runLimited(t, "fix", dir, "--apply", "--devices", devices, "--root-device", "/dev/vdb1")
		if apply.code != 8 || !bytes.Contains(apply.stderr, []byte("/boot/grub/grub.cfg is on a filesystem mounted read-only")) {
			t.Errorf("fix --apply: exit %d:\n%s", apply.code, apply.stderr)
		}
		if after := treeState(t, dir); after != before {
			t.Errorf("a change was made before the read-only /boot was found:\n%s", lineDiff(before, after))
		}
	})
}
