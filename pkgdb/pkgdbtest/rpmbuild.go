package pkgdbtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RPMFile is one entry of a test package.
type RPMFile struct {
	Path    string
	Kind    string // "file" (default), "dir", "symlink", "hardlink", "cdev"
	Content string // file content
	Target  string // symlink target; for a hard link, the path it links to
	Mode    string // octal permission bits, "0644" by default
	User    string // "root" by default
	Group   string // "root" by default
	// Attrs are %files directives before the path: "%config(noreplace)",
	// "%ghost", "%doc", "%caps(cap_net_raw=ep)", "%verify(not md5)".
	Attrs string
	Major int // for cdev
	Minor int
}

// RPMSpec describes a test package built with rpmbuild.
type RPMSpec struct {
	Name, Version, Release string
	Arch                   string // "noarch" by default
	// Payload is rpm's _binary_payload ("w9.gzdio", "w6.xzdio",
	// "w19.zstdio"); rpm's default when empty.
	Payload string
	Files   []RPMFile
}

// BuildRPM builds the package with Debian's rpmbuild into outDir and returns
// the .rpm file's path.
func BuildRPM(t testing.TB, outDir string, spec RPMSpec) string {
	t.Helper()
	NeedTool(t, "rpmbuild", "rpm")
	if spec.Arch == "" {
		spec.Arch = "noarch"
	}
	top := t.TempDir()
	for _, d := range []string{"SOURCES", "SPECS", "BUILD", "RPMS", "SRPMS", "BUILDROOT"} {
		if err := os.MkdirAll(filepath.Join(top, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// noarch is declared in the spec; another architecture is a build
	// target, which rpmbuild accepts for any host (the test packages hold
	// no compiled code).
	buildArch := "BuildArch: noarch"
	if spec.Arch != "noarch" {
		buildArch = ""
	}
	var install, files strings.Builder
	for i, f := range spec.Files {
		mode, user, group := f.Mode, f.User, f.Group
		if user == "" {
			user = "root"
		}
		if group == "" {
			group = "root"
		}
		switch f.Kind {
		case "", "file":
			if mode == "" {
				mode = "0644"
			}
			if strings.Contains(f.Attrs, "%ghost") {
				break // a ghost is listed, not shipped
			}
			src := filepath.Join(top, "SOURCES", fmt.Sprintf("f%d", i))
			if err := os.WriteFile(src, []byte(f.Content), 0o644); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&install, "install -D -m %s %s %%{buildroot}%s\n", mode, src, f.Path)
		case "hardlink":
			if mode == "" {
				mode = "0644"
			}
			fmt.Fprintf(&install, "mkdir -p %%{buildroot}%s\nln %%{buildroot}%s %%{buildroot}%s\n", filepath.Dir(f.Path), f.Target, f.Path)
		case "dir":
			if mode == "" {
				mode = "0755"
			}
			fmt.Fprintf(&install, "mkdir -p %%{buildroot}%s\n", f.Path)
		case "symlink":
			mode = "-"
			fmt.Fprintf(&install, "mkdir -p %%{buildroot}%s\nln -sf %s %%{buildroot}%s\n", filepath.Dir(f.Path), f.Target, f.Path)
		case "cdev":
			if mode == "" {
				mode = "0666"
			}
			fmt.Fprintf(&files, "%%dev(c, %d, %d) ", f.Major, f.Minor)
		}
		if f.Kind == "dir" {
			files.WriteString("%dir ")
		}
		fmt.Fprintf(&files, "%%attr(%s,%s,%s) %s %s\n", mode, user, group, f.Attrs, f.Path)
	}
	text := fmt.Sprintf(`Name: %s
Version: %s
Release: %s
Summary: rescue test package %s
License: MIT
%s
%%define debug_package %%{nil}
%%define __os_install_post %%{nil}
%%define _build_id_links none

%%description
A package built by rescue's tests.

%%install
%s
%%files
%s`, spec.Name, spec.Version, spec.Release, spec.Name, buildArch, install.String(), files.String())
	specFile := filepath.Join(top, "SPECS", spec.Name+".spec")
	if err := os.WriteFile(specFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--define", "_topdir " + top, "--nodeps", "-bb", specFile}
	if spec.Arch != "noarch" {
		args = append([]string{"--target", spec.Arch}, args...)
	}
	if spec.Payload != "" {
		args = append([]string{"--define", "_binary_payload " + spec.Payload}, args...)
	}
	cmd := exec.Command("rpmbuild", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpmbuild: %v\n%s\nspec:\n%s", err, out, text)
	}
	name := fmt.Sprintf("%s-%s-%s.%s.rpm", spec.Name, spec.Version, spec.Release, spec.Arch)
	built := filepath.Join(top, "RPMS", spec.Arch, name)
	dst := filepath.Join(outDir, name)
	data, err := os.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// Passwd and Group are the account files of scratch RPM roots: rpm maps the
// owner names of packages through them.
const (
	Passwd = "root:x:0:0:root:/root:/bin/bash\nbin:x:1:1:bin:/bin:/sbin/nologin\ndaemon:x:2:2:daemon:/sbin:/sbin/nologin\nmail:x:8:12:mail:/var/spool/mail:/sbin/nologin\nnobody:x:65534:65534:Kernel Overflow User:/:/sbin/nologin\n"
	Group  = "root:x:0:\nbin:x:1:\ndaemon:x:2:\nmail:x:12:\ntty:x:5:\nnobody:x:65534:\n"
)

// RPMRoot makes a scratch root with account files and an empty rpm
// database (SQLite, Debian rpm's default), and installs the packages into
// it with rpm --root. It needs root: rpm chroots to install.
func RPMRoot(t testing.TB, rpms ...string) string {
	t.Helper()
	NeedRoot(t, "rpm --root chroots into the scratch root")
	NeedTool(t, "rpm", "rpm")
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"etc/passwd": Passwd, "etc/group": Group} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	RPM(t, dir, "--initdb")
	if len(rpms) > 0 {
		RPM(t, dir, append([]string{"-i", "--nodeps", "--noscripts", "--nosignature", "--ignorearch"}, rpms...)...)
	}
	return dir
}

// RPM runs rpm on a root with the database at /var/lib/rpm and returns its
// standard output; it fails the test when rpm fails.
func RPM(t testing.TB, root string, args ...string) string {
	t.Helper()
	out, errOut, err := RPMOutput(root, args...)
	if err != nil {
		t.Fatalf("rpm %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// RPMOutput runs rpm on a root and returns its standard output, its
// standard error and the exit error; rpm -V exits non-zero when it finds
// differences, which is not a failure.
func RPMOutput(root string, args ...string) (string, string, error) {
	return RPMOutputDB(root, "/var/lib/rpm", args...)
}

// RPMOutputDB is RPMOutput with the database at dbpath (inside root).
func RPMOutputDB(root, dbpath string, args ...string) (string, string, error) {
	cmd := exec.Command("rpm", append([]string{"--root", root, "--dbpath", dbpath}, args...)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// RPMVerify runs rpm -Va on a root (no dependency checks, no verify
// scripts: only the files) and returns its lines.
func RPMVerify(t testing.TB, root string) []string {
	t.Helper()
	out, errOut, err := RPMOutput(root, "-Va", "--nodeps", "--noscripts")
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("rpm -Va: %v\n%s", err, errOut)
		}
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
