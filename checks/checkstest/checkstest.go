// Package checkstest is the golden harness for checks. Each testdata/*.txtar
// archive is a small target root:
//
//	A comment saying what the case is.
//	-- .setup --
//	chmod 0777 /
//	chown 0:42 /etc/shadow
//	symlink usr/bin /bin
//	mkdir 0755 /var/empty
//	xattr security.selinux system_u:object_r:etc_t:s0 /etc/shadow
//	host /usr/bin/bash /usr/bin/bash
//	-- .devices --
//	/dev/vda1: UUID="2222" TYPE="ext4"
//	-- .options --
//	root-device /dev/vda1
//	memory 1G
//	last-boot-memory 1G          (what the last boot's kernel log said)
//	last-boot-disk nvme0n1 nvme  (its root disk and that disk's bus)
//	last-boot-nics ens5          (the NICs it named)
//	-- .filesystems --
//	[{"device": "/dev/vda1", "type": "ext4", "mount_point": "/", "errors": true}]
//	(facts.Filesystems as JSON: what the disk layer reports)
//	-- .findings --
//	(what the check reports; rewritten by go test -update)
//	-- etc/fstab --
//	the file as it is on the broken disk
//	-- want/etc/fstab --
//	the file as the first fix of every finding leaves it
//	-- .want-setup --
//	chmod 0755 /
//
// For every archive the harness builds the root, runs the check, compares
// the findings, fails on a finding of a kind the check does not declare
// (Check.Kinds) or on a use of a fact it does not require (Check.Requires),
// applies the first fix of each finding through the real
// repair engine (journal outside the tree), compares the whole tree with the
// expected one (content, modes, owners, symlinks), checks that a second
// scan offers nothing more to fix, undoes the repair and checks that the
// tree is the original again, file mtimes included. A healthy archive has
// no .findings: it must produce none and change nothing.
package checkstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
	"golang.org/x/sys/unix"

	"rescue/bytesize"
	"rescue/checks"
	"rescue/facts"
	"rescue/parse/blkid"
	"rescue/pkgdb"
	"rescue/repair"
	"rescue/sysroot"
)

var update = flag.Bool("update", false, "rewrite the .findings sections of golden archives")

// Options adjust the harness for a check's package.
type Options struct {
	// OpenPackages, when set, gives the facts a package database.
	OpenPackages func(*sysroot.Root) (pkgdb.DB, error)
	// Setup, when set, adds to a root after the archive is unpacked what a
	// txtar cannot hold (binary files such as initramfs images, tools an
	// exec fix runs). It is called for the broken root (want false) and
	// for the expected repaired one (want true).
	Setup func(t testing.TB, a *txtar.Archive, dir string, want bool)
	// AllowExec lets the repair run exec fixes (in a chroot of the root,
	// so only as root).
	AllowExec bool
}

// Run runs every testdata/*.txtar archive of the calling package against
// check.
func Run(t *testing.T, check *checks.Check) {
	RunWith(t, check, Options{})
}

// RunWith is Run with options.
func RunWith(t *testing.T, check *checks.Check, opt Options) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.txtar archives")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			runArchive(t, check, file, opt)
		})
	}
}

// Case is an archive unpacked into a root.
type Case struct {
	Archive  *txtar.Archive
	Root     string
	Facts    facts.Options
	Findings string // the expected findings section, "" for a healthy root
	HasWant  bool
}

// Section returns the named section of the archive and whether it exists.
func (c *Case) Section(name string) (string, bool) {
	for _, f := range c.Archive.Files {
		if f.Name == name {
			return string(f.Data), true
		}
	}
	return "", false
}

// Unpack builds the root of an archive in dir: every section that is not a
// dot-section or under want/ becomes a file; then .setup is applied.
func Unpack(t testing.TB, a *txtar.Archive, dir string, want bool) {
	t.Helper()
	for _, f := range a.Files {
		name := f.Name
		if strings.HasPrefix(name, ".") {
			continue
		}
		if strings.HasPrefix(name, "want/") {
			continue
		}
		writeFile(t, dir, name, f.Data)
	}
	if want {
		for _, f := range a.Files {
			if rest, ok := strings.CutPrefix(f.Name, "want/"); ok {
				writeFile(t, dir, rest, f.Data)
			}
		}
	}
	for _, f := range a.Files {
		if f.Name == ".setup" || (want && f.Name == ".want-setup") {
			applySetup(t, dir, string(f.Data))
		}
	}
}

func writeFile(t testing.TB, dir, name string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if strings.HasSuffix(name, "/") {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Remove(p)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// applySetup runs the setup directives: chmod MODE PATH, chown UID:GID PATH,
// symlink TARGET PATH, mkdir MODE PATH, remove PATH, xattr NAME VALUE PATH,
// host HOSTPATH PATH.
func applySetup(t testing.TB, dir, script string) {
	t.Helper()
	for n, line := range strings.Split(script, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		fail := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("setup line %d %q: %v", n+1, line, err)
			}
		}
		if fields[0] == "xattr" {
			// xattr NAME VALUE PATH
			if len(fields) != 4 {
				fail(fmt.Errorf("xattr wants NAME VALUE PATH"))
			}
			if err := unix.Lsetxattr(filepath.Join(dir, filepath.FromSlash(path.Clean("/"+fields[3]))), fields[1], []byte(fields[2]), 0); err != nil {
				t.Skipf("setup cannot set %s here (%v); run as root on a filesystem with xattrs (CI does)", fields[1], err)
			}
			continue
		}
		if len(fields) != 3 && !(fields[0] == "remove" && len(fields) == 2) {
			fail(fmt.Errorf("want 3 fields"))
		}
		host := func(p string) string { return filepath.Join(dir, filepath.FromSlash(path.Clean("/"+p))) }
		switch fields[0] {
		case "chmod":
			m, err := strconv.ParseUint(fields[1], 8, 32)
			fail(err)
			fail(os.Chmod(host(fields[2]), modeBits(uint32(m))))
		case "chown":
			if os.Geteuid() != 0 {
				t.Skipf("setup needs root to chown %s (run as root; CI does)", fields[2])
			}
			u, g, ok := strings.Cut(fields[1], ":")
			if !ok {
				fail(fmt.Errorf("chown wants UID:GID"))
			}
			uid, err := strconv.Atoi(u)
			fail(err)
			gid, err := strconv.Atoi(g)
			fail(err)
			fail(os.Lchown(host(fields[2]), uid, gid))
		case "symlink":
			p := host(fields[2])
			fail(os.MkdirAll(filepath.Dir(p), 0o755))
			os.RemoveAll(p)
			fail(os.Symlink(fields[1], p))
		case "mkdir":
			m, err := strconv.ParseUint(fields[1], 8, 32)
			fail(err)
			fail(os.MkdirAll(host(fields[2]), 0o755))
			fail(os.Chmod(host(fields[2]), modeBits(uint32(m))))
		case "remove":
			fail(os.RemoveAll(host(fields[1])))
		case "host":
			// host HOSTPATH PATH copies a file of the machine running the
			// test (symlinks followed) into the root with its permission
			// bits: real ELF programs and libraries for checks that read
			// them, copied at test time and never committed.
			fi, err := os.Stat(fields[1])
			if err != nil {
				t.Skipf("setup copies the host's %s, which is not here: %v", fields[1], err)
			}
			data, err := os.ReadFile(fields[1])
			fail(err)
			p := host(fields[2])
			fail(os.MkdirAll(filepath.Dir(p), 0o755))
			os.RemoveAll(p)
			fail(os.WriteFile(p, data, fi.Mode().Perm()))
			fail(os.Chmod(p, fi.Mode().Perm()))
		default:
			fail(fmt.Errorf("unknown directive %q", fields[0]))
		}
	}
}

func modeBits(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// FactOptions reads .devices and .options into facts options.
func FactOptions(t testing.TB, a *txtar.Archive) facts.Options {
	t.Helper()
	var opt facts.Options
	var rootDev string
	for _, f := range a.Files {
		switch f.Name {
		case ".devices":
			list, err := blkid.Parse(f.Data)
			if err != nil {
				t.Fatalf(".devices: %v", err)
			}
			opt.Devices = &facts.Devices{Source: "file", List: list}
		case ".filesystems":
			if err := json.Unmarshal(f.Data, &opt.Filesystems); err != nil {
				t.Fatalf(".filesystems: %v", err)
			}
		case ".disk":
			// The target's whole disk (facts.Disk); its path is a file
			// the check's Setup made.
			opt.Disk = &facts.Disk{}
			if err := json.Unmarshal(f.Data, opt.Disk); err != nil {
				t.Fatalf(".disk: %v", err)
			}
		case ".options":
			for _, line := range strings.Split(string(f.Data), "\n") {
				k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
				switch k {
				case "":
				case "root-device":
					rootDev = strings.TrimSpace(v)
				case "memory":
					n, err := bytesize.Parse(strings.TrimSpace(v))
					if err != nil {
						t.Fatalf(".options: %v", err)
					}
					opt.Memory = n
				case "last-boot-disk":
					// The root disk the last boot's kernel log
					// named: "last-boot-disk nvme0n1 nvme".
					disk, bus, _ := strings.Cut(strings.TrimSpace(v), " ")
					if opt.Machine == nil {
						opt.Machine = &facts.Machine{}
					}
					opt.Machine.Disk, opt.Machine.DiskBus, opt.Machine.DiskBusFrom = disk, bus, "the test's last boot"
				case "last-boot-nics":
					// The NICs the last boot's kernel log named.
					if opt.Machine == nil {
						opt.Machine = &facts.Machine{}
					}
					opt.Machine.NICs, opt.Machine.NICsFrom = strings.Fields(v), "the test's last boot"
				case "last-boot-memory":
					n, err := bytesize.Parse(strings.TrimSpace(v))
					if err != nil {
						t.Fatalf(".options: %v", err)
					}
					if opt.Machine == nil {
						opt.Machine = &facts.Machine{}
					}
					opt.Machine.Memory, opt.Machine.MemoryFrom = n, "the test's last boot"
				default:
					t.Fatalf(".options: unknown option %q", k)
				}
			}
		}
	}
	if rootDev != "" {
		if opt.Devices == nil {
			t.Fatal(".options: root-device without .devices")
		}
		for i := range opt.Devices.List {
			if opt.Devices.List[i].Path == rootDev {
				opt.Devices.Root = &opt.Devices.List[i]
			}
		}
		if opt.Devices.Root == nil {
			t.Fatalf(".options: root-device %s is not in .devices", rootDev)
		}
	}
	return opt
}

// FormatFindings renders findings the way .findings sections hold them.
func FormatFindings(fs []checks.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%s %s", f.Severity, f.ID)
		if f.Line > 0 {
			fmt.Fprintf(&b, " (line %d)", f.Line)
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "  %s\n", f.Message)
		for _, x := range f.Fixes {
			fmt.Fprintf(&b, "  fix: %s\n", x.Message)
		}
		if len(f.Fixes) == 0 && f.NoFix != "" {
			fmt.Fprintf(&b, "  no fix: %s\n", f.NoFix)
		}
	}
	return b.String()
}

func runArchive(t *testing.T, check *checks.Check, file string, opt Options) {
	a, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	Unpack(t, a, dir, false)
	if opt.Setup != nil {
		opt.Setup(t, a, dir, false)
	}
	fopt := FactOptions(t, a)
	fopt.OpenPackages = opt.OpenPackages
	before := Snapshot(t, dir)

	findings := scan(t, check, dir, fopt)
	got := FormatFindings(findings)
	c := &Case{Archive: a}
	want, _ := c.Section(".findings")
	if *update {
		setSection(a, ".findings", got)
		if err := os.WriteFile(file, txtar.Format(a), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if got != want {
		t.Errorf("findings differ\n--- want\n%s--- got\n%s", want, got)
	}
	if after := Snapshot(t, dir); !equalSnap(t, "the scan", before, after) {
		t.Fatal("the scan changed the tree")
	}

	// Repair with the first fix of each finding.
	root, err := sysroot.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	cands, err := checks.Candidates(findings, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan := repair.NewPlan(cands, func(p string) ([]byte, error) { return root.ReadFile(p) })
	var diff bytes.Buffer
	if err := repair.WriteDiff(&diff, root, plan); err != nil {
		t.Fatalf("diff: %v", err)
	}
	journal := t.TempDir()
	res, err := repair.Apply(root, plan, repair.Options{JournalDir: journal, AllowExec: opt.AllowExec})
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, diff.String())
	}
	for _, it := range res.Items {
		if it.Status != repair.OutcomeApplied {
			t.Errorf("fix for %s: %s: %s", it.Finding, it.Status, it.Reason)
		}
	}
	if len(plan.Skipped) > 0 {
		t.Logf("skipped (apply again to converge): %+v", plan.Skipped)
	}

	// The repaired tree must be the original with want/ and .want-setup.
	wantDir := filepath.Join(t.TempDir(), "want")
	if err := os.Mkdir(wantDir, 0o755); err != nil {
		t.Fatal(err)
	}
	Unpack(t, a, wantDir, true)
	if opt.Setup != nil {
		opt.Setup(t, a, wantDir, true)
	}
	if !equalSnap(t, "the repaired tree", Snapshot(t, wantDir), Snapshot(t, dir)) {
		t.Logf("diff of the plan:\n%s", diff.String())
	}

	// Nothing more to fix: a second scan plans nothing.
	again := scan(t, check, dir, fopt)
	if len(plan.Skipped) == 0 {
		cands, err = checks.Candidates(again, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(cands) > 0 {
			t.Errorf("after the repair, the check still offers fixes:\n%s", FormatFindings(again))
		}
	}

	// Undo gives back the original, mtimes of files included.
	if res.ID != "" {
		if _, err := repair.Undo(root, repair.UndoOptions{JournalDir: journal}); err != nil {
			t.Fatalf("undo: %v", err)
		}
	}
	equalSnapMtime(t, "the tree after undo", before, Snapshot(t, dir))
}

func scan(t *testing.T, check *checks.Check, dir string, fopt facts.Options) []checks.Finding {
	t.Helper()
	root, err := sysroot.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	used := &factUse{}
	res := checks.Run(context.Background(), root, facts.New(root, fopt).Watch(used.note), []*checks.Check{check}, nil)
	for _, s := range res.Checks {
		if s.Error != "" {
			t.Fatalf("check %s failed: %s", s.Name, s.Error)
		}
	}
	Undeclared(t, check, res.Findings)
	used.check(t, check)
	return res.Findings
}

// factUse records the facts a check asked for (from Run and from
// Prepare, which may run at the same time).
type factUse struct {
	mu   sync.Mutex
	seen []facts.Fact
}

func (u *factUse) note(f facts.Fact) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !slices.Contains(u.seen, f) {
		u.seen = append(u.seen, f)
	}
}

// check fails the test for every fact the check used without listing it
// in Requires: the scan prefetches what the required facts read, and the
// docs and `rescue checks` say what a check depends on from that list.
func (u *factUse) check(t testing.TB, c *checks.Check) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, f := range u.seen {
		if !slices.Contains(c.Requires, f) {
			t.Errorf("%s used the fact %q, which is not in its Requires %q", c.Name, f, c.Requires)
		}
	}
}

// Undeclared fails the test for every finding whose kind the check does not
// list in its Kinds. Every golden run (Run, RunWith, RunRoot) and every
// fuzz run (FuzzCheck) goes through it, so a new kind cannot reach a
// report, where runbooks and --choose would start to depend on it, without
// being declared and so documented.
func Undeclared(t testing.TB, check *checks.Check, findings []checks.Finding) {
	t.Helper()
	for _, f := range findings {
		if !check.Declares(f.Kind) {
			t.Errorf("%s reported a finding of kind %q (%s), which is not in its Kinds %q", check.Name, f.Kind, f.ID, check.Kinds)
		}
	}
}

// RunRoot is the harness for a root the test builds itself, with what an
// archive cannot hold (a real package database, package files to restore
// from): it scans dir, applies the first fix of every finding through the
// real engine, calls verify on the repaired tree, checks that a second
// scan offers nothing more to fix, undoes the repair and checks that the
// tree is the original again, mtimes included. It returns the findings of
// the first scan for the test to assert on.
func RunRoot(t *testing.T, check *checks.Check, dir string, fopt facts.Options, verify func(t *testing.T)) []checks.Finding {
	t.Helper()
	before := hashSnapshot(t, dir)
	findings := scan(t, check, dir, fopt)
	root, err := sysroot.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	cands, err := checks.Candidates(findings, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan := repair.NewPlan(cands, func(p string) ([]byte, error) { return root.ReadFile(p) })
	journal := t.TempDir()
	res, err := repair.Apply(root, plan, repair.Options{JournalDir: journal})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	for _, it := range res.Items {
		if it.Status != repair.OutcomeApplied {
			t.Errorf("fix for %s: %s: %s", it.Finding, it.Status, it.Reason)
		}
	}
	if verify != nil {
		verify(t)
	}
	if len(plan.Skipped) == 0 {
		again := scan(t, check, dir, fopt)
		if c, err := checks.Candidates(again, nil); err != nil || len(c) > 0 {
			t.Errorf("after the repair, the check still offers fixes:\n%s", FormatFindings(again))
		}
	}
	if res.ID != "" {
		if _, err := repair.Undo(root, repair.UndoOptions{JournalDir: journal}); err != nil {
			t.Fatalf("undo: %v", err)
		}
	}
	equalSnapMtime(t, "the tree after undo", before, hashSnapshot(t, dir))
	return findings
}

// HashSnapshot is Snapshot with file contents replaced by their SHA-256,
// read one file at a time (whole distribution roots do not fit in memory),
// and only regular files read (a root's FIFOs would block).
func HashSnapshot(t testing.TB, dir string) map[string]Entry { return hashSnapshot(t, dir) }

func hashSnapshot(t testing.TB, dir string) map[string]Entry {
	t.Helper()
	out := map[string]Entry{}
	err := filepath.Walk(dir, func(p string, fi fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		uid, gid := sysroot.Owner(fi)
		e := Entry{Mode: fi.Mode(), UID: uid, GID: gid}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.Type = "symlink"
			e.Content, err = os.Readlink(p)
		case fi.IsDir():
			e.Type = "dir"
		default:
			e.Type = "file"
			e.Mtime = fi.ModTime()
			if !fi.Mode().IsRegular() {
				break
			}
			var f *os.File
			if f, err = os.Open(p); err == nil {
				h := sha256.New()
				_, err = io.Copy(h, f)
				f.Close()
				e.Content = hex.EncodeToString(h.Sum(nil))
			}
		}
		out["/"+filepath.ToSlash(rel)] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func setSection(a *txtar.Archive, name, data string) {
	for i := range a.Files {
		if a.Files[i].Name == name {
			if data == "" {
				a.Files = append(a.Files[:i], a.Files[i+1:]...)
			} else {
				a.Files[i].Data = []byte(data)
			}
			return
		}
	}
	if data == "" {
		return
	}
	// New sections go first, after the prelude, where a reader looks.
	f := txtar.File{Name: name, Data: []byte(data)}
	insert := 0
	for insert < len(a.Files) && strings.HasPrefix(a.Files[insert].Name, ".") {
		insert++
	}
	a.Files = append(a.Files[:insert], append([]txtar.File{f}, a.Files[insert:]...)...)
}

// Entry is what a snapshot records of one path.
type Entry struct {
	Type    string
	Mode    fs.FileMode
	UID     int
	GID     int
	Content string // file content, or symlink target
	Mtime   time.Time
}

// Snapshot records every path under dir.
func Snapshot(t testing.TB, dir string) map[string]Entry {
	t.Helper()
	out := map[string]Entry{}
	err := filepath.Walk(dir, func(p string, fi fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		uid, gid := sysroot.Owner(fi)
		e := Entry{Mode: fi.Mode(), UID: uid, GID: gid}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.Type = "symlink"
			e.Content, err = os.Readlink(p)
		case fi.IsDir():
			e.Type = "dir"
		default:
			e.Type = "file"
			e.Mtime = fi.ModTime()
			var b []byte
			b, err = os.ReadFile(p)
			e.Content = string(b)
		}
		out["/"+filepath.ToSlash(rel)] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func equalSnap(t testing.TB, what string, want, got map[string]Entry) bool {
	t.Helper()
	return compareSnap(t, what, want, got, false)
}

func equalSnapMtime(t testing.TB, what string, want, got map[string]Entry) bool {
	t.Helper()
	return compareSnap(t, what, want, got, true)
}

// compareSnap reports every path that differs. Owners are compared only when
// running as root (otherwise every file is the tester's).
func compareSnap(t testing.TB, what string, want, got map[string]Entry, mtime bool) bool {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	ok := true
	for _, k := range keys {
		w, inW := want[k]
		g, inG := got[k]
		switch {
		case !inW:
			t.Errorf("%s: unexpected %s %s", what, g.Type, k)
			ok = false
		case !inG:
			t.Errorf("%s: missing %s %s", what, w.Type, k)
			ok = false
		case w.Type != g.Type:
			t.Errorf("%s: %s is a %s, want a %s", what, k, g.Type, w.Type)
			ok = false
		case w.Type != "symlink" && w.Mode != g.Mode:
			t.Errorf("%s: %s has mode %v, want %v", what, k, g.Mode, w.Mode)
			ok = false
		case w.Content != g.Content:
			t.Errorf("%s: %s content differs\n--- want\n%s\n--- got\n%s", what, k, w.Content, g.Content)
			ok = false
		case os.Geteuid() == 0 && (w.UID != g.UID || w.GID != g.GID):
			t.Errorf("%s: %s is owned by %d:%d, want %d:%d", what, k, g.UID, g.GID, w.UID, w.GID)
			ok = false
		case mtime && w.Type == "file" && !w.Mtime.Equal(g.Mtime):
			t.Errorf("%s: %s has mtime %v, want %v", what, k, g.Mtime, w.Mtime)
			ok = false
		}
	}
	return ok
}

// FuzzCheck runs check on a root holding files (target-relative names) and
// fails on a check error or panic, on a finding of an undeclared kind or a
// use of an undeclared fact, or when a fix of a finding cannot be rendered as a diff. Checks' fuzz targets call it with fuzzed file
// content: a hostile file must give findings or nothing, never a crash.
func FuzzCheck(t *testing.T, check *checks.Check, files map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		writeFile(t, dir, name, data)
	}
	root, err := sysroot.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	used := &factUse{}
	res := checks.Run(context.Background(), root, facts.New(root, facts.Options{}).Watch(used.note), []*checks.Check{check}, nil)
	for _, s := range res.Checks {
		if s.Error != "" {
			t.Fatalf("check %s failed: %s", s.Name, s.Error)
		}
	}
	Undeclared(t, check, res.Findings)
	used.check(t, check)
	cands, err := checks.Candidates(res.Findings, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan := repair.NewPlan(cands, func(p string) ([]byte, error) { return root.ReadFile(p) })
	if err := repair.WriteDiff(&bytes.Buffer{}, root, plan); err != nil {
		t.Fatalf("diff: %v", err)
	}
}

// EqualTrees compares two snapshots and reports every path that differs
// (mtimes of files too when mtime is set); harnesses outside this package
// (the operator actions') use it.
func EqualTrees(t testing.TB, what string, want, got map[string]Entry, mtime bool) bool {
	t.Helper()
	return compareSnap(t, what, want, got, mtime)
}
