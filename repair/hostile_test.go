package repair

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A file name and a file's lines come from the disk: in the diff neither
// may reach the terminal raw or break the diff's lines.
func TestDiffEscapesNamesAndContent(t *testing.T) {
	name := "etc/evil\n+++ b/etc/passwd\x1b[2J"
	dir := build(t, tree{name: "line one\nsecret\x1b]0;title\x07\r\n"})
	r := open(t, dir)
	m := must(t)
	p := planOf(Fix{Message: "edit\x1b[31m", Ops: []Op{m(WriteFile(r, "/"+name, []byte("line one\nfixed\n")))}})
	var b bytes.Buffer
	require.NoError(t, WriteDiff(&b, r, p))
	d := b.String()
	for _, c := range []string{"\x1b", "\x07", "\r"} {
		require.NotContains(t, d, c, d)
	}
	require.NotContains(t, d, "\n+++ b/etc/passwd", d)
	require.Contains(t, d, `diff --git a/etc/evil\n+++ b/etc/passwd\x1b[2J b/etc/evil\n+++ b/etc/passwd\x1b[2J`+"\n", d)
	require.Contains(t, d, `-secret\x1b]0;title\x07\r`+"\n", d)
	require.Equal(t, 8, strings.Count(d, "\n"), d)
}

// diffEdits must turn base into data exactly, at line boundaries, for any
// pair.
func FuzzDiffEdits(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("a\nB\nc\n"))
	f.Add([]byte(strings.Repeat("x", 9000)+"\ny\n"), []byte(strings.Repeat("x", 9000)+"\nz\n"))
	f.Add([]byte("same"), []byte("same"))
	f.Add([]byte(""), []byte("new\n"))
	f.Fuzz(func(t *testing.T, base, data []byte) {
		edits := diffEdits(base, data)
		got, err := applyEdits(base, edits)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("diffEdits(%q, %q) = %v gives %q", base, data, edits, got)
		}
		for _, e := range edits {
			if e.Start > 0 && base[e.Start-1] != '\n' {
				t.Fatalf("edit %v does not start a line of %q", e, base)
			}
		}
	})
}

// One fix per line of a 20,000-line file: each fix carries its edit, not
// a copy of the file, the planner merges them without re-sorting, and the
// plan holds one new copy. (Copies made 2.7 GB of a 4,000-line fstab.)
func TestManyFixesOfOneFileShareOneCopy(t *testing.T) {
	const n = 20000
	var b strings.Builder
	offs := make([]int, n)
	for i := 0; i < n; i++ {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "Keyword%d value%d\n", i, i)
	}
	base := []byte(b.String())
	dir := build(t, tree{"etc/f": b.String()})
	r := open(t, dir)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	var cands []Candidate
	var want strings.Builder
	for i := 0; i < n; i++ {
		line := fmt.Sprintf("Keyword%d value%d", i, i)
		s := offs[i]
		op, err := EditFile(r, "/etc/f", base, []Edit{{Start: s, End: s + len(line), New: []byte("# " + line)}})
		require.NoError(t, err)
		cands = append(cands, Candidate{Finding: fmt.Sprint("f", i), Stage: StageOther, Fix: Fix{Message: "m", Ops: []Op{op}}})
		fmt.Fprintf(&want, "# %s\n", line)
	}
	p := NewPlan(cands, func(p string) ([]byte, error) { return r.ReadFile(p) })
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	require.Len(t, p.Items, n)
	require.Len(t, p.Skipped, 0)
	require.Equal(t, want.String(), string(p.Items[0].Fix.Ops[0].Data))
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("planning took %s", d)
	}
	// The file is 440 KB: n copies would be 8.8 GB of allocation.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 200<<20 {
		t.Errorf("planning allocated %d MB", alloc>>20)
	}
}

// A restore replaces a large binary file whole: one edit, at once, not a
// line diff of megabytes of binary.
func TestLargeBinaryRewriteIsOneEdit(t *testing.T) {
	base := bytes.Repeat([]byte("\x7fELF\x00\n"), 4<<20)
	data := bytes.Repeat([]byte("\x7fELF\x01\n"), 4<<20)
	start := time.Now()
	edits := diffEdits(base, data)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("diffEdits took %s", d)
	}
	if len(edits) != 1 {
		t.Errorf("%d edits", len(edits))
	}
	got, err := applyEdits(base, edits)
	require.NoError(t, err)
	require.True(t, bytes.Equal(got, data))
}

// A hostile target whose /etc and /var are absolute symlinks to the
// helper's own directories: every change, through a planned fix and its
// journal or through the writer directly, lands inside the root (at the
// link's target taken as if the root were "/") or fails, and the helper's
// directories stay as they were. A writer that resolved names on the host
// (a string join onto the root's host path, or an open that follows links
// the host's way) writes into them.
func TestWriterDoesNotFollowLinksToTheHost(t *testing.T) {
	hostEtc, hostVar := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(hostEtc, "passwd"), []byte("host\n"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(hostEtc, "ssh"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(hostEtc, "ssh", "sshd_config"), []byte("host\n"), 0o644))
	dir := build(t, tree{
		"etc": "->" + hostEtc,
		"var": "->" + hostVar,
		// The same paths inside the root, where the links lead when
		// they are followed as if the root were "/".
		strings.TrimPrefix(hostEtc, "/") + "/passwd":            "target\n",
		strings.TrimPrefix(hostEtc, "/") + "/ssh/sshd_config":   "target\n",
		strings.TrimPrefix(hostVar, "/") + "/":                  "",
		strings.TrimPrefix(hostEtc, "/") + "/shadow":            "target\n",
		strings.TrimPrefix(hostEtc, "/") + "/ssh/moduli":        "target\n",
		strings.TrimPrefix(hostEtc, "/") + "/ssh/ssh_host_key":  "target\n",
		strings.TrimPrefix(hostEtc, "/") + "/ssh/ssh_host_key2": "target\n",
	})
	hostBefore := map[string]map[string]string{hostEtc: snapshot(t, hostEtc), hostVar: snapshot(t, hostVar)}

	// A planned fix, applied with its journal inside the target.
	r := open(t, dir)
	m := must(t)
	p := planOf(Fix{Message: "repair", Ops: []Op{
		m(WriteFile(r, "/etc/passwd", []byte("fixed\n"))),
		m(Chmod(r, "/etc/ssh/sshd_config", 0o600)),
		m(Mkdir(r, "/etc/new.d", 0o755)),
		m(Remove(r, "/etc/shadow")),
	}})
	res, err := Apply(r, p, Options{})
	require.NoError(t, err)
	inside := filepath.Join(dir, hostEtc)
	b, err := os.ReadFile(filepath.Join(inside, "passwd"))
	require.NoError(t, err)
	assert.Equal(t, "fixed\n", string(b), "the fix lands inside the root")
	assert.Equal(t, fs.FileMode(0o600), mustStat(t, filepath.Join(inside, "ssh/sshd_config")).Mode().Perm())
	assert.True(t, mustStat(t, filepath.Join(inside, "new.d")).IsDir())
	assert.NoFileExists(t, filepath.Join(inside, "shadow"))
	assert.True(t, strings.HasPrefix(res.JournalDir, filepath.Join(dir, hostVar)+"/"), res.JournalDir)

	// The writer's own operations, one by one. (A planned op's path is
	// already resolved by its constructor; these names are not.)
	w, err := NewWriter(dir)
	require.NoError(t, err)
	defer w.Close()
	own := Meta{Mode: 0o644, UID: os.Getuid(), GID: os.Getgid()}
	assert.NoError(t, w.WriteFile("/etc/ssh/moduli", []byte("x"), own))
	assert.NoError(t, w.WriteFile("/etc/created", []byte("x"), own))
	assert.NoError(t, w.Mkdir("/etc/made", 0o755, Owner{UID: os.Getuid(), GID: os.Getgid()}))
	assert.NoError(t, w.MkdirAll("/etc/a/b/c"))
	assert.NoError(t, w.MkdirAll("/var/lib/x"))
	assert.NoError(t, w.Symlink("/etc/link", "/somewhere", nil))
	assert.NoError(t, w.Link("/etc/hard", "/etc/ssh/ssh_host_key"))
	assert.NoError(t, w.Chmod("/etc/ssh/ssh_host_key2", 0o640))
	assert.NoError(t, w.Chown("/etc/ssh/ssh_host_key2", os.Getuid(), os.Getgid()))
	assert.NoError(t, w.SetMtime("/etc/ssh/ssh_host_key2", time.Unix(1e9, 0)))
	assert.NoError(t, w.Remove("/etc/ssh/moduli"))
	for _, p := range []string{"created", "made", "a/b/c", "link", "hard"} {
		_, err := os.Lstat(filepath.Join(inside, p))
		assert.NoError(t, err, "%s is made inside the root", p)
	}
	assert.DirExists(t, filepath.Join(dir, hostVar, "lib/x"))

	for host, before := range hostBefore {
		assert.Equal(t, before, snapshot(t, host), "the helper's %s changed", host)
	}
}
