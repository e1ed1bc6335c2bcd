package repair

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"rescue/sysroot"
)

// tree describes a small target root for tests.
type tree map[string]string

// build writes the tree under a new temporary root. Keys ending in "/" are
// directories, values starting with "->" are symlinks.
func build(t *testing.T, files tree) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	require.NoError(t, os.Mkdir(dir, 0o755))
	for name, content := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			require.NoError(t, os.MkdirAll(p, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		if target, ok := strings.CutPrefix(content, "->"); ok {
			require.NoError(t, os.Symlink(target, p))
			continue
		}
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

func open(t *testing.T, dir string) *sysroot.Root {
	t.Helper()
	r, err := sysroot.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

func must(t *testing.T) func(Op, error) Op {
	return func(op Op, err error) Op {
		t.Helper()
		require.NoError(t, err)
		return op
	}
}

func planOf(fixes ...Fix) *Plan {
	var c []Candidate
	for i, f := range fixes {
		c = append(c, Candidate{Finding: "test/f" + strconv.Itoa(i), Stage: StageBoot, Fix: f})
	}
	return NewPlan(c, nil)
}

// snapshot records content, mode, owner, symlink target and mtime of every
// path under dir (journal directories excluded).
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.Walk(dir, func(p string, fi fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasPrefix(rel, "var/lib/rescue") {
			return nil
		}
		st := fi.Sys().(*syscall.Stat_t)
		desc := fi.Mode().String() + " " + strconv.Itoa(int(st.Uid)) + ":" + strconv.Itoa(int(st.Gid))
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			desc += " -> " + l
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			desc += " " + string(b) + " @" + fi.ModTime().String()
		}
		out[rel] = desc
		return nil
	}))
	return out
}

func TestApplyUndoRoundTrip(t *testing.T) {
	dir := build(t, tree{
		"etc/fstab":       "UUID=1 / ext4 defaults 0 1\n",
		"etc/ssh/":        "",
		"bin":             "->usr/wrong",
		"usr/bin/":        "",
		"etc/old":         "remove me\n",
		"etc/passwd":      "->/etc/passwd.real",
		"etc/passwd.real": "root:x:0:0::/root:/bin/sh\r\n",
	})
	require.NoError(t, os.Chmod(filepath.Join(dir, "etc/ssh"), 0o777))
	// An older mtime, so that undo restoring it is visible.
	old := filepath.Join(dir, "etc/fstab")
	require.NoError(t, os.Chtimes(old, tm(2001), tm(2001)))
	before := snapshot(t, dir)

	r := open(t, dir)
	m := must(t)
	fixes := []Fix{
		{Message: "point / at 2", Ops: []Op{m(WriteFile(r, "/etc/fstab", []byte("UUID=2 / ext4 defaults 0 1\n")))}},
		{Message: "ssh dir", Ops: []Op{m(Chmod(r, "/etc/ssh", 0o755))}},
		{Message: "bin link", Ops: []Op{m(MakeSymlink(r, "/bin", "usr/bin"))}},
		{Message: "remove", Ops: []Op{m(Remove(r, "/etc/old"))}},
		{Message: "mkdir"},
		{Message: "passwd crlf", Ops: []Op{m(WriteFile(r, "/etc/passwd", []byte("root:x:0:0::/root:/bin/sh\n")))}},
		{Message: "new file", Ops: []Op{m(CreateFile(r, "/etc/new", []byte("x"), 0o600, 0, 0))}},
	}
	// The write through a symlink names the file that really changes.
	assert.Equal(t, "/etc/passwd.real", fixes[5].Ops[0].Path)

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "var/empty"), 0o755))
	fixes[4].Ops = []Op{m(Mkdir(r, "/var/empty/sshd", 0o711))}
	before = snapshot(t, dir)

	journal := t.TempDir()
	res, err := Apply(r, planOf(fixes...), Options{JournalDir: journal})
	require.NoError(t, err)
	assert.Equal(t, len(fixes), res.Applied())
	assert.NotEmpty(t, res.ID)

	b, _ := os.ReadFile(filepath.Join(dir, "etc/fstab"))
	assert.Equal(t, "UUID=2 / ext4 defaults 0 1\n", string(b))
	fi, _ := os.Stat(filepath.Join(dir, "etc/ssh"))
	assert.Equal(t, fs.FileMode(0o755), fi.Mode().Perm())
	l, _ := os.Readlink(filepath.Join(dir, "bin"))
	assert.Equal(t, "usr/bin", l)
	_, err = os.Lstat(filepath.Join(dir, "etc/old"))
	assert.True(t, os.IsNotExist(err))
	fi, _ = os.Stat(filepath.Join(dir, "var/empty/sshd"))
	assert.Equal(t, fs.FileMode(0o711), fi.Mode().Perm())
	fi, _ = os.Stat(filepath.Join(dir, "etc/new"))
	assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())
	l, _ = os.Readlink(filepath.Join(dir, "etc/passwd"))
	assert.Equal(t, "/etc/passwd.real", l, "the symlink itself is kept")
	assertNoTemps(t, dir)

	// A second apply of a fresh plan for the same state changes nothing:
	// the ops no longer match (the scan would not plan them).
	res2, err := Apply(r, planOf(fixes...), Options{JournalDir: journal})
	require.NoError(t, err)
	assert.Empty(t, res2.ID)
	for _, it := range res2.Items {
		assert.Equal(t, OutcomeRefused, it.Status)
	}

	hist, err := History(r, journal)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, StatusApplied, hist[0].Status)

	ures, err := Undo(r, UndoOptions{JournalDir: journal})
	require.NoError(t, err)
	assert.Equal(t, res.ID, ures.ID)
	assert.Equal(t, before, snapshot(t, dir), "undo restores content, modes, owners, links and mtimes")
	assertNoTemps(t, dir)

	_, err = Undo(r, UndoOptions{JournalDir: journal})
	assert.ErrorContains(t, err, "no repair to undo")
}

func tm(year int) (t0 timeT) { return timeOf(year) }

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi fs.FileInfo, err error) error {
		if err == nil && strings.Contains(fi.Name(), ".rescue-") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}

func TestApplyRefusesChangedSinceScan(t *testing.T) {
	dir := build(t, tree{"etc/a": "one\n", "etc/b": "two\n"})
	r := open(t, dir)
	m := must(t)
	fa := Fix{Message: "a", Ops: []Op{m(WriteFile(r, "/etc/a", []byte("ONE\n")))}}
	fb := Fix{Message: "b", Ops: []Op{m(WriteFile(r, "/etc/b", []byte("TWO\n")))}}
	// Someone edits /etc/a after the scan.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/a"), []byte("edited\n"), 0o644))
	res, err := Apply(r, planOf(fa, fb), Options{JournalDir: t.TempDir()})
	require.NoError(t, err)
	assert.Equal(t, OutcomeRefused, res.Items[0].Status)
	assert.Contains(t, res.Items[0].Reason, "changed since the scan")
	assert.Equal(t, OutcomeApplied, res.Items[1].Status)
	b, _ := os.ReadFile(filepath.Join(dir, "etc/a"))
	assert.Equal(t, "edited\n", string(b), "the edit is kept")
}

func TestUndoRefusesChangedSinceRepair(t *testing.T) {
	dir := build(t, tree{"etc/a": "one\n"})
	r := open(t, dir)
	journal := t.TempDir()
	f := Fix{Message: "a", Ops: []Op{must(t)(WriteFile(r, "/etc/a", []byte("ONE\n")))}}
	_, err := Apply(r, planOf(f), Options{JournalDir: journal})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/a"), []byte("later\n"), 0o644))
	_, err = Undo(r, UndoOptions{JournalDir: journal})
	assert.ErrorIs(t, err, ErrChangedSinceRepair)
	b, _ := os.ReadFile(filepath.Join(dir, "etc/a"))
	assert.Equal(t, "later\n", string(b), "nothing restored")
	_, err = Undo(r, UndoOptions{JournalDir: journal, Force: true})
	require.NoError(t, err)
	b, _ = os.ReadFile(filepath.Join(dir, "etc/a"))
	assert.Equal(t, "one\n", string(b))
}

func TestJournalInsideTargetStaysInside(t *testing.T) {
	outside := t.TempDir()
	dir := build(t, tree{"etc/a": "one\n", "var/lib/rescue": "->" + outside})
	r := open(t, dir)
	f := Fix{Message: "a", Ops: []Op{must(t)(WriteFile(r, "/etc/a", []byte("ONE\n")))}}
	// The link resolves inside the target to a path that does not exist:
	// apply either keeps the journal inside the target or refuses before
	// changing anything. It never follows the link to the helper.
	res, err := Apply(r, planOf(f), Options{})
	entries, _ := os.ReadDir(outside)
	assert.Empty(t, entries, "a planted var/lib/rescue symlink must not send the journal out of the target")
	if err != nil {
		assert.ErrorContains(t, err, "nothing was changed")
		b, _ := os.ReadFile(filepath.Join(dir, "etc/a"))
		assert.Equal(t, "one\n", string(b))
		return
	}
	assert.True(t, strings.HasPrefix(res.JournalDir, dir+"/"), res.JournalDir)
	_, err = Undo(r, UndoOptions{})
	require.NoError(t, err)
}

func TestWriterNeverLeavesRoot(t *testing.T) {
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("host\n"), 0o644))
	dir := build(t, tree{
		"etc/link":   "->" + victim,
		"etc/up":     "->../../../../../../" + outside,
		"etc/dirlnk": "->" + outside,
	})
	w, err := NewWriter(dir)
	require.NoError(t, err)
	defer w.Close()
	// Writing "through" each hostile link lands inside the root or fails.
	assert.NoError(t, w.WriteFile("/etc/link", []byte("x"), Meta{Mode: 0o644, UID: os.Getuid(), GID: os.Getgid()}))
	w.WriteFile("/etc/up/victim", []byte("x"), Meta{Mode: 0o644, UID: os.Getuid(), GID: os.Getgid()})
	w.WriteFile("/etc/dirlnk/victim", []byte("x"), Meta{Mode: 0o644, UID: os.Getuid(), GID: os.Getgid()})
	w.Chmod("/etc/dirlnk/victim", 0o777)
	w.Remove("/etc/dirlnk/victim")
	w.Symlink("/etc/dirlnk/victim", "/x", nil)
	b, err := os.ReadFile(victim)
	require.NoError(t, err)
	assert.Equal(t, "host\n", string(b))
	fi, _ := os.Stat(victim)
	assert.Equal(t, fs.FileMode(0o644), fi.Mode().Perm())
	// The link itself was replaced by a file inside the root.
	fi, err = os.Lstat(filepath.Join(dir, "etc/link"))
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular())

	// Constructors resolve inside the root too.
	r := open(t, dir)
	op, err := WriteFile(r, "/etc/dirlnk/victim", []byte("y"))
	if err == nil {
		assert.True(t, strings.HasPrefix(op.Path, "/"), op.Path)
		_, err = Apply(r, planOf(Fix{Message: "m", Ops: []Op{op}}), Options{JournalDir: t.TempDir()})
		require.NoError(t, err)
	}
	b, _ = os.ReadFile(victim)
	assert.Equal(t, "host\n", string(b))
}

func TestPlanMergesDisjointLineEdits(t *testing.T) {
	base := "a\nb\nc\nd\ne\n"
	dir := build(t, tree{"etc/f": base})
	r := open(t, dir)
	m := must(t)
	f1 := Fix{Message: "1", Ops: []Op{m(WriteFile(r, "/etc/f", []byte("A\nb\nc\nd\ne\n")))}}
	f2 := Fix{Message: "2", Ops: []Op{m(WriteFile(r, "/etc/f", []byte("a\nb\nc\nd\nE\n")))}}
	f3 := Fix{Message: "3", Ops: []Op{m(WriteFile(r, "/etc/f", []byte("x\nb\nc\nd\ne\n")))}}
	p := NewPlan([]Candidate{
		{Finding: "f3", Stage: StageOther, Fix: f3},
		{Finding: "f1", Stage: StageBoot, Fix: f1},
		{Finding: "f2", Stage: StageLogin, Fix: f2},
	}, func(p string) ([]byte, error) { return r.ReadFile(p) })
	require.Len(t, p.Items, 2)
	assert.Equal(t, "f1", p.Items[0].Finding, "boot stage first")
	assert.Equal(t, "A\nb\nc\nd\nE\n", string(p.Items[0].Fix.Ops[0].Data))
	assert.Equal(t, []string{"f1"}, p.Items[1].MergedInto)
	require.Len(t, p.Skipped, 1)
	assert.Equal(t, "f3", p.Skipped[0].Finding)
	assert.Contains(t, p.Skipped[0].Reason, "run rescue fix again")

	var diff bytes.Buffer
	require.NoError(t, WriteDiff(&diff, r, p))
	assert.Contains(t, diff.String(), "-a\n+A\n")
	assert.Contains(t, diff.String(), "-e\n+E\n")
	assert.Contains(t, diff.String(), "# skipped f3")
}

func TestDiffShowsModesLinksAndRemovals(t *testing.T) {
	dir := build(t, tree{"etc/x": "gone\n", "bin/": "", "lib": "->usr/lib"})
	require.NoError(t, os.Chmod(dir, 0o777))
	r := open(t, dir)
	m := must(t)
	p := planOf(
		Fix{Message: "root mode", Ops: []Op{m(Chmod(r, "/", 0o755))}},
		Fix{Message: "rm", Ops: []Op{m(Remove(r, "/etc/x"))}},
		Fix{Message: "link", Ops: []Op{m(MakeSymlink(r, "/sbin", "usr/sbin"))}},
		Fix{Message: "relink", Ops: []Op{m(MakeSymlink(r, "/lib", "usr/lib64"))}},
		Fix{Message: "new", Ops: []Op{m(CreateFile(r, "/etc/new", []byte("hi\n"), 0o600, 0, 0))}},
		Fix{Message: "own", Ops: []Op{m(Chown(r, "/bin", 0, 0))}},
	)
	var b bytes.Buffer
	require.NoError(t, WriteDiff(&b, r, p))
	d := b.String()
	for _, want := range []string{
		"diff --git a/. b/.\nold mode 040777\nnew mode 040755\n",
		"diff --git a/etc/x b/etc/x\ndeleted file mode 100644\n--- a/etc/x\n+++ /dev/null\n",
		"-gone\n",
		"diff --git a/sbin b/sbin\nnew file mode 120000\n",
		"+usr/sbin\n",
		"-usr/lib\n+usr/lib64\n",
		"diff --git a/etc/new b/etc/new\nnew file mode 100600\n--- /dev/null\n+++ b/etc/new\n",
		"new owner 0:0\n",
	} {
		assert.Contains(t, d, want)
	}
	assert.Equal(t, fs.FileMode(0o777), mustStat(t, dir).Mode().Perm(), "a diff writes nothing")
}

func mustStat(t *testing.T, p string) fs.FileInfo {
	fi, err := os.Stat(p)
	require.NoError(t, err)
	return fi
}

func requireRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CI runs as root)")
	}
}

func TestReadOnlyTargetFailsBeforeAnyChange(t *testing.T) {
	requireRoot(t)
	dir := build(t, tree{"etc/a": "one\n"})
	require.NoError(t, unix.Mount(dir, dir, "", unix.MS_BIND, ""))
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	require.NoError(t, unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""))
	r := open(t, dir)
	f := Fix{Message: "a", Ops: []Op{must(t)(WriteFile(r, "/etc/a", []byte("ONE\n")))}}
	_, err := Apply(r, planOf(f), Options{})
	assert.ErrorContains(t, err, "read-only")
	assert.ErrorContains(t, err, "nothing was changed")
}

func TestFullJournalFailsBeforeAnyChange(t *testing.T) {
	requireRoot(t)
	journal := t.TempDir()
	require.NoError(t, unix.Mount("tmpfs", journal, "tmpfs", 0, "size=64k"))
	t.Cleanup(func() { unix.Unmount(journal, unix.MNT_DETACH) })
	big := strings.Repeat("x", 4<<20)
	dir := build(t, tree{"etc/big": big})
	r := open(t, dir)
	f := Fix{Message: "a", Ops: []Op{must(t)(WriteFile(r, "/etc/big", []byte("small\n")))}}
	_, err := Apply(r, planOf(f), Options{JournalDir: journal})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nothing was changed")
	b, _ := os.ReadFile(filepath.Join(dir, "etc/big"))
	assert.Equal(t, big, string(b))
}

func TestImmutableFileIsRefusedThenLifted(t *testing.T) {
	requireRoot(t)
	dir := build(t, tree{"etc/a": "one\n"})
	if out, err := exec.Command("chattr", "+i", filepath.Join(dir, "etc/a")).CombinedOutput(); err != nil {
		t.Skipf("chattr +i not supported here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", filepath.Join(dir, "etc/a")).Run() })
	r := open(t, dir)
	f := Fix{Message: "a", Ops: []Op{must(t)(WriteFile(r, "/etc/a", []byte("ONE\n")))}}
	journal := t.TempDir()
	res, err := Apply(r, planOf(f), Options{JournalDir: journal})
	require.NoError(t, err)
	assert.Equal(t, OutcomeRefused, res.Items[0].Status)
	assert.Contains(t, res.Items[0].Reason, "--clear-immutable")

	res, err = Apply(r, planOf(f), Options{JournalDir: journal, ClearImmutable: true})
	require.NoError(t, err)
	assert.Equal(t, OutcomeApplied, res.Items[0].Status)
	b, _ := os.ReadFile(filepath.Join(dir, "etc/a"))
	assert.Equal(t, "ONE\n", string(b))
	w := &Writer{root: r}
	locked, err := w.Locked("/etc/a")
	require.NoError(t, err)
	assert.True(t, locked, "the flag is set again after the change")

	_, err = Undo(r, UndoOptions{JournalDir: journal})
	require.NoError(t, err)
	b, _ = os.ReadFile(filepath.Join(dir, "etc/a"))
	assert.Equal(t, "one\n", string(b))
	locked, _ = w.Locked("/etc/a")
	assert.True(t, locked)
}

func TestXattrsAreKept(t *testing.T) {
	dir := build(t, tree{"etc/a": "one\n"})
	p := filepath.Join(dir, "etc/a")
	if err := unix.Setxattr(p, "user.rescue-test", []byte("label"), 0); err != nil {
		t.Skipf("user xattrs not supported here: %v", err)
	}
	r := open(t, dir)
	f := Fix{Message: "a", Ops: []Op{must(t)(WriteFile(r, "/etc/a", []byte("ONE\n")))}}
	journal := t.TempDir()
	_, err := Apply(r, planOf(f), Options{JournalDir: journal})
	require.NoError(t, err)
	buf := make([]byte, 64)
	n, err := unix.Getxattr(p, "user.rescue-test", buf)
	require.NoError(t, err)
	assert.Equal(t, "label", string(buf[:n]), "a replaced file keeps its xattrs")
	require.NoError(t, unix.Removexattr(p, "user.rescue-test"))
	// The repaired file lost the attribute: undo must still see it as the
	// repair's result (xattrs are not part of the state) and restore it.
	_, err = Undo(r, UndoOptions{JournalDir: journal})
	require.NoError(t, err)
	n, err = unix.Getxattr(p, "user.rescue-test", buf)
	require.NoError(t, err)
	assert.Equal(t, "label", string(buf[:n]))
}

func TestStateJSONModes(t *testing.T) {
	var m Mode
	require.NoError(t, m.UnmarshalJSON([]byte(`"0755"`)))
	assert.Equal(t, Mode(0o755), m)
	require.NoError(t, m.UnmarshalJSON([]byte(`420`)))
	assert.Equal(t, Mode(0o644), m)
	assert.Error(t, m.UnmarshalJSON([]byte(`"99"`)))
	b, _ := Mode(0o4755).MarshalJSON()
	assert.Equal(t, `"4755"`, string(b))
}

func TestPlanKeepsOneOfIdenticalWrites(t *testing.T) {
	dir := build(t, tree{"usr/lib/": ""})
	r := open(t, dir)
	m := must(t)
	// Two checks (zerosize and libs, say) restore the same missing
	// library from the same package.
	f1 := Fix{Message: "restore (zerosize)", Ops: []Op{m(CreateFile(r, "/usr/lib/libc.so.6", []byte("ELF"), 0o755, 0, 0))}}
	f2 := Fix{Message: "restore (libs)", Ops: []Op{m(CreateFile(r, "/usr/lib/libc.so.6", []byte("ELF"), 0o755, 0, 0))}}
	p := NewPlan([]Candidate{{Finding: "a", Stage: StageBoot, Fix: f1}, {Finding: "b", Stage: StageBoot, Fix: f2}}, nil)
	require.Len(t, p.Items, 2)
	assert.Empty(t, p.Skipped)
	assert.Len(t, p.Ops(), 1)
	assert.Equal(t, []string{"a"}, p.Items[1].MergedInto)
	res, err := Apply(r, p, Options{JournalDir: t.TempDir()})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Applied())
}

// TestPolicyGoesThroughOverlapHandling: what a policy offers (the SELinux
// relabel, say) is placed after every fix and through the same overlap
// handling: when a fix already creates the same file the same way, the
// policy's op is merged into it instead of a second create that apply
// would refuse; a different change of that file is skipped with a reason.
func TestPolicyGoesThroughOverlapHandling(t *testing.T) {
	dir := build(t, tree{"etc/": ""})
	r := open(t, dir)
	m := must(t)
	var seen []string
	relabel := func(data []byte) Policy {
		return func(ops []Op) []Candidate {
			seen = nil
			for _, op := range ops {
				seen = append(seen, op.Path)
			}
			return []Candidate{{Finding: "selinux/relabel", Stage: StageOther,
				Fix: Fix{Message: "relabel", Ops: []Op{m(CreateFile(r, "/.autorelabel", data, 0o644, 0, 0))}}}}
		}
	}
	cands := []Candidate{
		{Finding: "selinux/x", Stage: StageOther, Fix: Fix{Message: "schedule a relabel", Ops: []Op{m(CreateFile(r, "/.autorelabel", nil, 0o644, 0, 0))}}},
		{Finding: "new", Stage: StageBoot, Fix: Fix{Message: "create", Ops: []Op{m(CreateFile(r, "/etc/new", []byte("x"), 0o644, 0, 0))}}},
	}
	p := NewPlan(cands, nil, relabel(nil))
	assert.Equal(t, []string{"/etc/new", "/.autorelabel"}, seen, "the policy sees the plan's ops in apply order")
	require.Len(t, p.Items, 3)
	assert.Equal(t, "selinux/relabel", p.Items[2].Finding, "a policy's item comes last")
	assert.Equal(t, []string{"selinux/x"}, p.Items[2].MergedInto)
	assert.Len(t, p.Ops(), 2, "one create of /.autorelabel, not two")
	res, err := Apply(r, p, Options{JournalDir: t.TempDir()})
	require.NoError(t, err)
	assert.Equal(t, 3, res.Applied())

	p = NewPlan(cands, nil, relabel([]byte("other")))
	require.Len(t, p.Skipped, 1)
	assert.Equal(t, "selinux/relabel", p.Skipped[0].Finding)
	assert.Contains(t, p.Skipped[0].Reason, "/.autorelabel is also changed by the fix for selinux/x")
}
