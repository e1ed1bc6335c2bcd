package ldso

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/sysroot"
)

// The host's own programs are real ELF files with real DT_NEEDED entries;
// tests copy them into throwaway roots (never into the repository).
const (
	hostBash   = "/usr/bin/bash"
	hostTinfo  = "/lib/x86_64-linux-gnu/libtinfo.so.6"
	hostLibc   = "/lib/x86_64-linux-gnu/libc.so.6"
	hostLoader = "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
)

func hostFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Skipf("this test copies the host's %s, which it cannot read: %v", p, err)
	}
	return data
}

func put(t *testing.T, root, p string, data []byte, mode os.FileMode) {
	t.Helper()
	full := filepath.Join(root, p)
	require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
	require.NoError(t, os.WriteFile(full, data, mode))
}

func link(t *testing.T, root, target, p string) {
	t.Helper()
	full := filepath.Join(root, p)
	require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
	require.NoError(t, os.Symlink(target, full))
}

// debianRoot builds a merged-/usr Debian-style root holding bash and what
// it needs.
func debianRoot(t *testing.T) string {
	dir := t.TempDir()
	for _, d := range []string{"bin", "lib", "sbin"} {
		link(t, dir, "usr/"+d, d)
	}
	put(t, dir, "usr/bin/bash", hostFile(t, hostBash), 0o755)
	put(t, dir, "usr/lib/x86_64-linux-gnu/libtinfo.so.6", hostFile(t, hostTinfo), 0o644)
	put(t, dir, "usr/lib/x86_64-linux-gnu/libc.so.6", hostFile(t, hostLibc), 0o755)
	put(t, dir, "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", hostFile(t, hostLoader), 0o755)
	link(t, dir, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2")
	put(t, dir, "etc/ld.so.conf", []byte("include /etc/ld.so.conf.d/*.conf\n"), 0o644)
	put(t, dir, "etc/ld.so.conf.d/x86_64-linux-gnu.conf", []byte("/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n"), 0o644)
	return dir
}

// elRoot builds a RHEL-style root: /usr/lib64, /lib64 -> usr/lib64, no
// multiarch directories.
func elRoot(t *testing.T) string {
	dir := t.TempDir()
	for _, d := range []string{"bin", "lib", "lib64", "sbin"} {
		link(t, dir, "usr/"+d, d)
	}
	put(t, dir, "usr/bin/bash", hostFile(t, hostBash), 0o755)
	put(t, dir, "usr/lib64/libtinfo.so.6", hostFile(t, hostTinfo), 0o755)
	put(t, dir, "usr/lib64/libc.so.6", hostFile(t, hostLibc), 0o755)
	put(t, dir, "usr/lib64/ld-linux-x86-64.so.2", hostFile(t, hostLoader), 0o755)
	put(t, dir, "etc/ld.so.conf", []byte("include ld.so.conf.d/*.conf\n"), 0o644)
	return dir
}

func open(t *testing.T, dir string) *Loader {
	t.Helper()
	r, err := sysroot.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return New(r)
}

func depMap(deps []Dep) map[string]Dep {
	m := map[string]Dep{}
	for _, d := range deps {
		m[d.Name] = d
	}
	return m
}

func TestClosureBothFamilies(t *testing.T) {
	for name, c := range map[string]struct {
		dir   func(*testing.T) string
		tinfo string
	}{
		"debian": {debianRoot, "/lib/x86_64-linux-gnu/libtinfo.so.6"},
		"el":     {elRoot, "/lib64/libtinfo.so.6"},
	} {
		t.Run(name, func(t *testing.T) {
			l := open(t, c.dir(t))
			prog, deps, err := l.Closure("/bin/bash")
			require.NoError(t, err)
			assert.Equal(t, "/lib64/ld-linux-x86-64.so.2", prog.Interp)
			assert.Equal(t, X8664, prog.Arch)
			m := depMap(deps)
			require.Contains(t, m, "libtinfo.so.6")
			assert.Equal(t, OK, m["libtinfo.so.6"].State)
			assert.Equal(t, c.tinfo, m["libtinfo.so.6"].Path)
			assert.Equal(t, OK, m["libc.so.6"].State)
			assert.ElementsMatch(t, []string{"/bin/bash", c.tinfo}, m["libc.so.6"].NeededBy)
			assert.Equal(t, OK, m["/lib64/ld-linux-x86-64.so.2"].State)
			assert.Equal(t, X8664, l.MainArch())
		})
	}
}

func TestBrokenLibraries(t *testing.T) {
	dir := debianRoot(t)
	tinfo := filepath.Join(dir, "usr/lib/x86_64-linux-gnu/libtinfo.so.6")

	require.NoError(t, os.Remove(tinfo))
	_, deps, err := open(t, dir).Closure("/usr/bin/bash")
	require.NoError(t, err)
	d := depMap(deps)["libtinfo.so.6"]
	assert.Equal(t, Missing, d.State)
	assert.Equal(t, "", d.Path)
	assert.Equal(t, []string{"/usr/local/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}, d.Searched)

	require.NoError(t, os.WriteFile(tinfo, nil, 0o644))
	_, deps, _ = open(t, dir).Closure("/usr/bin/bash")
	assert.Equal(t, Empty, depMap(deps)["libtinfo.so.6"].State)

	require.NoError(t, os.WriteFile(tinfo, []byte("#!/bin/sh\nnot a library\n"), 0o644))
	_, deps, _ = open(t, dir).Closure("/usr/bin/bash")
	d = depMap(deps)["libtinfo.so.6"]
	assert.Equal(t, Damaged, d.State)
	assert.ErrorContains(t, d.Err, "not an ELF file")

	// An empty loader is fatal before anything else runs.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"), nil, 0o755))
	_, deps, _ = open(t, dir).Closure("/usr/bin/bash")
	assert.Equal(t, Empty, depMap(deps)["/lib64/ld-linux-x86-64.so.2"].State)
}

// A library of another ELF class is skipped by ld.so, which goes on to the
// next directory: an i386 libc in /usr/local/lib/x86_64-linux-gnu must not
// hide the right one.
func TestWrongClassIsSkipped(t *testing.T) {
	dir := debianRoot(t)
	i386 := elf32(t)
	put(t, dir, "usr/local/lib/x86_64-linux-gnu/libc.so.6", i386, 0o644)
	r := open(t, dir).Find("libc.so.6", X8664, nil)
	assert.Equal(t, OK, r.State)
	assert.Equal(t, "/lib/x86_64-linux-gnu/libc.so.6", r.Path)
}

// elf32 returns the header of a 32-bit x86 ELF shared object, which is all
// ld.so (and probe) look at to skip it.
func elf32(t *testing.T) []byte {
	h := make([]byte, 52)
	copy(h, []byte{0x7f, 'E', 'L', 'F', 1, 1, 1})
	h[16] = byte(elf.ET_DYN)
	h[18] = byte(elf.EM_386)
	h[20] = 1  // e_version
	h[40] = 52 // e_ehsize
	_, err := elf.NewFile(bytesReaderAt(h))
	require.NoError(t, err)
	return h
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, os.ErrClosed
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, os.ErrClosed
	}
	return n, nil
}

func TestRunPath(t *testing.T) {
	const hostSystemd = "/usr/lib/systemd/systemd"
	data := hostFile(t, hostSystemd)
	dir := debianRoot(t)
	put(t, dir, "usr/lib/systemd/systemd", data, 0o755)
	l := open(t, dir)
	o, err := l.ReadObject("/lib/systemd/systemd")
	require.NoError(t, err)
	require.NotEmpty(t, o.RunPath, "Debian's systemd has a RUNPATH to its private libraries")
	_, deps, err := l.Closure("/lib/systemd/systemd")
	require.NoError(t, err)
	private := 0
	for _, d := range deps {
		// systemd's private libraries (libsystemd-shared-252.so) were not
		// copied: they are missing, and were looked for in RUNPATH first.
		if filepath.Ext(d.Name) == ".so" {
			private++
			assert.Equal(t, Missing, d.State, d.Name)
			assert.Equal(t, o.RunPath[0], d.Searched[0], "RUNPATH is searched first")
		}
	}
	assert.NotZero(t, private)
	assert.Equal(t, OK, depMap(deps)["libc.so.6"].State)
}

// corpus finds a file of the shared corpus (../shared/corpus/rpm next to
// the repository or one of its parents), or skips.
func corpus(t *testing.T, name string) string {
	dir, err := os.Getwd()
	require.NoError(t, err)
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "corpus", "rpm", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if d == filepath.Dir(d) {
			t.Skipf("the shared corpus file %s is not in any parent of %s", name, dir)
		}
	}
}

func TestGlibcVersion(t *testing.T) {
	l := open(t, debianRoot(t))
	v, ok := l.Glibc(X8664)
	require.True(t, ok)
	assert.True(t, v.AtLeast(2, 34), "the host's glibc is newer than 2.34: %v", v)
	assert.Contains(t, v.How, "version definition of /lib/x86_64-linux-gnu/libc.so.6")

	// Before 2.34, libc.so.6 is a symlink to libc-X.Y.so.
	dir := elRoot(t)
	lib := filepath.Join(dir, "usr/lib64")
	require.NoError(t, os.Rename(filepath.Join(lib, "libc.so.6"), filepath.Join(lib, "libc-2.28.so")))
	require.NoError(t, os.Symlink("libc-2.28.so", filepath.Join(lib, "libc.so.6")))
	v, ok = open(t, dir).Glibc(X8664)
	require.True(t, ok)
	assert.Equal(t, Version{2, 28, "libc-2.28.so"}, v)
	assert.False(t, v.AtLeast(2, 34))

	// No libc at all: unknown.
	require.NoError(t, os.Remove(filepath.Join(lib, "libc.so.6")))
	_, ok = open(t, dir).Glibc(X8664)
	assert.False(t, ok)
}

// TestGlibcRealEL8 reads the version definitions of a real glibc 2.28 (an
// s390x AlmaLinux 8 build from the shared corpus), copied as a plain file so
// that the version must come from the ELF, not from the file name.
func TestGlibcRealEL8(t *testing.T) {
	tarball := corpus(t, "almalinux-8-docker-s390x-micro-20231122.tar.xz")
	tmp := t.TempDir()
	out, err := exec.Command("tar", "-C", tmp, "-xJf", tarball, "usr/lib64/libc-2.28.so").CombinedOutput()
	if err != nil {
		t.Skipf("cannot extract libc from the corpus: %v: %s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(tmp, "usr/lib64/libc-2.28.so"))
	require.NoError(t, err)
	dir := t.TempDir()
	put(t, dir, "usr/lib64/libc.so.6", data, 0o755)
	s390x := Arch{Class: elf.ELFCLASS64, Machine: elf.EM_S390, Triplet: "s390x-linux-gnu", LibDir: "lib64", Platform: "s390x"}
	l := open(t, dir)
	v, ok := l.Glibc(s390x)
	require.True(t, ok)
	assert.Equal(t, 2, v.Major)
	assert.Equal(t, 28, v.Minor)
	// For x86_64 the s390x library is of the wrong machine: not found.
	_, ok = l.Glibc(X8664)
	assert.False(t, ok)
}

func TestAliases(t *testing.T) {
	dir := debianRoot(t)
	r, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer r.Close()
	assert.ElementsMatch(t, []string{"/usr/bin/bash", "/bin/bash"}, Aliases(r, "/usr/bin/bash"))
	assert.ElementsMatch(t, []string{"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6"}, Aliases(r, "/lib/x86_64-linux-gnu/libc.so.6"))
	// /lib64 is a real directory here, not a link into /usr.
	assert.Equal(t, []string{"/lib64/ld-linux-x86-64.so.2"}, Aliases(r, "/lib64/ld-linux-x86-64.so.2"))
	assert.Equal(t, []string{"/etc/ld.so.conf"}, Aliases(r, "/etc/ld.so.conf"))
}

func TestCorruptELF(t *testing.T) {
	dir := debianRoot(t)
	bash := hostFile(t, hostBash)
	// Keep the header, wreck the section and program header tables.
	bad := append([]byte{}, bash[:64]...)
	for i := 0; i < 4096; i++ {
		bad = append(bad, byte(i*7))
	}
	put(t, dir, "usr/bin/bad", bad, 0o755)
	l := open(t, dir)
	_, _, err := l.Closure("/usr/bin/bad")
	assert.Error(t, err)
	_, err = l.ReadObject("/etc/ld.so.conf")
	assert.ErrorIs(t, err, ErrNotELF)
}

func FuzzReadObject(f *testing.F) {
	if data, err := os.ReadFile(hostBash); err == nil && len(data) > 8192 {
		f.Add(data[:8192])
	}
	f.Add([]byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := readObject(bytesReaderAt(data))
		if err == nil && o == nil {
			t.Fatal("nil object without an error")
		}
	})
}

func TestFileOf(t *testing.T) {
	dir := debianRoot(t)
	lib := filepath.Join(dir, "usr/lib/x86_64-linux-gnu")
	require.NoError(t, os.Rename(filepath.Join(lib, "libtinfo.so.6"), filepath.Join(lib, "libtinfo.so.6.4")))
	require.NoError(t, os.Symlink("libtinfo.so.6.4", filepath.Join(lib, "libtinfo.so.6")))
	require.NoError(t, os.Symlink("/nowhere/libgone.so", filepath.Join(lib, "libdangling.so")))
	r, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer r.Close()
	// The link of the last element is followed, the directory keeps its
	// spelling (/lib is a link to usr/lib here).
	assert.Equal(t, "/lib/x86_64-linux-gnu/libtinfo.so.6.4", FileOf(r, "/lib/x86_64-linux-gnu/libtinfo.so.6"))
	// An absolute link target is taken as it is written.
	assert.Equal(t, "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", FileOf(r, "/lib64/ld-linux-x86-64.so.2"))
	assert.Equal(t, "/usr/bin/bash", FileOf(r, "/usr/bin/bash"))
	// A dangling link names the missing file.
	assert.Equal(t, "/nowhere/libgone.so", FileOf(r, "/lib/x86_64-linux-gnu/libdangling.so"))
	assert.Equal(t, "/nowhere/libgone.so", New(r).Expected("libdangling.so", X8664, nil))
	assert.Equal(t, "/lib/x86_64-linux-gnu/libnew.so.1", New(r).Expected("libnew.so.1", X8664, nil), "next to libc")
	assert.Equal(t, "", FileOf(r, ""))
}
