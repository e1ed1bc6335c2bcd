package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"rescue/images"
	"rescue/pkgdb"
	"rescue/pkgdb/pkgdbtest"
	"rescue/sysroot"
)

// A pristine root is a healthy system as its distribution's own tools make
// it. rescue must find nothing wrong with it (no critical, error or warning
// finding) and `fix --apply` must change nothing; what it does report is
// worth knowing only (info, with the reason in no_fix), and the matrix
// states each such finding per root.
type pristineRoot struct {
	name string
	// debian: the root mmdebstrap builds with these options; nil for a
	// corpus root.
	debian *images.DebianRootOptions
	// boot: the root is the boot-image package set, installed as on a
	// disk (fstab, grub.cfg); otherwise only an fstab is written, as an
	// installer writes it.
	boot bool
	// alma names an AlmaLinux root of the shared corpus.
	alma string
	// rel is the Debian release of a boot root, whose versioned faults
	// are checked after it is found pristine.
	rel images.Release
	// infos are the info findings the root has, by ID, with why.
	infos map[string]string
}

// noKernel is the info finding of every root without a kernel package.
const noKernel = "sysdirs/no-kernel:/boot"

var (
	minbaseInfos = map[string]string{noKernel: "minbase installs no kernel"}
	// The AlmaLinux container roots have no kernel, and authselect's
	// nsswitch.conf names sss and myhostname, whose packages
	// (sssd-client, systemd-libs' nss module) the micro image leaves out.
	almaInfos = map[string]string{
		noKernel: "the container image has no kernel and no /boot",
		"nss/source-not-installed:/etc/nsswitch.conf#sss":        "sssd-client is not installed",
		"nss/source-not-installed:/etc/nsswitch.conf#myhostname": "nss-myhostname is not installed",
	}
)

// pristineRoots is the matrix: Debian 11, 12 and 13, minbase and the
// boot-image package set (the e2e images' roots), each release in its
// default /usr layout (split on 11, merged on 12 and 13) and Debian 11
// merged as debootstrap and debian-installer merge it; then the AlmaLinux
// roots of the shared corpus (8 with a Berkeley DB rpm database, 9 with
// SQLite; s390x and aarch64).
func pristineRoots() []pristineRoot {
	var out []pristineRoot
	for _, rel := range images.Releases {
		out = append(out, pristineRoot{name: rel.String() + "-minbase", debian: &images.DebianRootOptions{Suite: rel.Suite}, infos: minbaseInfos})
		if rel == images.Bullseye {
			out = append(out, pristineRoot{name: rel.String() + "-minbase-merged",
				debian: &images.DebianRootOptions{Suite: rel.Suite, Usr: images.UsrMerged}, infos: minbaseInfos})
		}
		opt := images.BootRootOptions(rel, "")
		out = append(out, pristineRoot{name: rel.String() + "-boot", debian: &opt, boot: true, rel: rel})
	}
	for _, a := range []struct{ name, corpus string }{
		{"alma8-s390x", pkgdbtest.Alma8S390x}, {"alma9-s390x", pkgdbtest.Alma9S390x}, {"alma9-aarch64", pkgdbtest.Alma9Aarch64},
	} {
		out = append(out, pristineRoot{name: a.name, alma: a.corpus, infos: almaInfos})
	}
	return out
}

// TestPristineRoots scans every root of the matrix and applies the fix:
// nothing may be found but the stated info findings, and nothing may
// change (every path's type, mode, owner, size, link target, mtime and
// ctime are compared). The Debian roots are built once by mmdebstrap and
// cached (images.DebianRoot): the first run on a machine builds seven
// roots, the boot roots shared with make e2e.
func TestPristineRoots(t *testing.T) {
	pkgdbtest.NeedRoot(t, "the pristine roots are built by mmdebstrap and extracted with their owners")
	pkgdbtest.NeedTool(t, "mmdebstrap", "mmdebstrap")
	if testing.Short() {
		t.Skip("building the pristine roots takes minutes the first time; skipped with -short")
	}
	roots := pristineRoots()
	buildDebianRoots(t, roots)
	for _, r := range roots {
		t.Run(r.name, func(t *testing.T) { checkPristine(t, r) })
	}
}

// buildDebianRoots builds the missing Debian roots two at a time (mmdebstrap
// waits on the network as much as on the CPU), so that a cold cache costs
// less than the builds one after the other.
func buildDebianRoots(t *testing.T, roots []pristineRoot) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	errs := make([]error, len(roots))
	for i, r := range roots {
		if r.debian == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t0 := time.Now()
			tarball, err := images.DebianRoot(context.Background(), *r.debian)
			errs[i] = err
			if err == nil {
				t.Logf("%s: %s (%s)", r.name, filepath.Base(tarball), time.Since(t0).Round(time.Second))
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", roots[i].name, err)
		}
	}
}

// rootDevice is how the pristine roots' disk looks to rescue: one
// filesystem, the root.
const rootDevice = "/dev/vda1"

func checkPristine(t *testing.T, r pristineRoot) {
	var (
		dir, debs, blkid string
		img              *images.DebianImage
		err              error
	)
	switch {
	case r.debian != nil:
		dir, debs = pkgdbtest.DebianRootWith(t, *r.debian)
		if r.boot {
			if img, err = images.InstallRoot(context.Background(), dir, images.MBRExt4, ""); err != nil {
				t.Fatal(err)
			}
			blkid = img.Blkid
		} else {
			// debian-installer's fstab line for an ext4 root.
			blkid = installFstab(t, dir, "ext4", "errors=remount-ro 0 1")
		}
	default:
		dir = pkgdbtest.AlmaRoot(t, r.alma)
		// Anaconda's fstab line for an xfs root.
		blkid = installFstab(t, dir, "xfs", "defaults 0 0")
	}
	devices := filepath.Join(t.TempDir(), "blkid")
	if err := os.WriteFile(devices, []byte(blkid), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--devices", devices, "--root-device", rootDevice}
	if debs != "" {
		args = append(args, "--packages", debs)
	}

	before := pathStates(t, dir)
	text, _ := runCLI(t, append(append([]string{"scan"}, args...), dir)...)
	t.Logf("rescue scan %s:\n%s", r.name, text)
	out, code := runCLI(t, append(append([]string{"scan", "--json"}, args...), dir)...)
	var scan struct {
		Findings []pristineFinding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &scan); err != nil {
		t.Fatalf("rescue scan --json: %v\n%s", err, out)
	}
	if code != 0 {
		t.Errorf("rescue scan: exit code %d, want 0 (info findings alone)", code)
	}
	got := map[string]bool{}
	for _, f := range scan.Findings {
		got[f.ID] = true
		if f.Severity != "info" {
			t.Errorf("%s %s: %s", f.Severity, f.ID, f.Message)
			continue
		}
		if _, ok := r.infos[f.ID]; !ok {
			t.Errorf("info %s is not stated for this root: %s", f.ID, f.Message)
		}
		if len(f.Fixes) > 0 || f.NoFix == "" {
			t.Errorf("info %s offers %d fix(es) and no reason (no_fix %q): a pristine root has nothing to repair", f.ID, len(f.Fixes), f.NoFix)
		}
	}
	for id, why := range r.infos {
		if !got[id] {
			t.Errorf("the stated info %s (%s) is not reported", id, why)
		}
	}

	out, code = runCLI(t, append(append([]string{"fix", "--apply", "--json"}, args...), dir)...)
	var fix struct {
		Result *struct {
			ID    string            `json:"id"`
			Items []json.RawMessage `json:"items"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &fix); err != nil {
		t.Fatalf("rescue fix --apply --json: %v\n%s", err, out)
	}
	if code != 0 || fix.Result == nil || fix.Result.ID != "" || len(fix.Result.Items) != 0 {
		t.Errorf("rescue fix --apply: exit code %d, want 0 with nothing applied:\n%s", code, out)
	}
	if d := diffStates(before, pathStates(t, dir)); len(d) > 0 {
		t.Errorf("fix --apply changed the pristine root:\n%s", strings.Join(d, "\n"))
	}
	if r.rel.Suite != "" && !t.Failed() {
		checkVersionedFaults(t, r.rel, dir, img, args)
	}
}

type pristineFinding struct {
	ID       string            `json:"id"`
	Severity string            `json:"severity"`
	Message  string            `json:"message"`
	NoFix    string            `json:"no_fix"`
	Fixes    []json.RawMessage `json:"fixes"`
}

// installFstab writes the fstab an installer writes for a root filesystem
// of type fstype, and returns the matching blkid line.
func installFstab(t *testing.T, dir, fstype, rest string) string {
	t.Helper()
	line := fmt.Sprintf("UUID=%s / %s %s\n", images.DefaultRootUUID, fstype, rest)
	if err := os.WriteFile(filepath.Join(dir, "etc/fstab"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s: UUID=%q TYPE=%q\n", rootDevice, images.DefaultRootUUID, fstype)
}

// runCLI runs rescue in this process and returns its standard output and
// exit code; an operational or usage error fails the test.
func runCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	if code >= 8 {
		t.Fatalf("rescue %s: exit code %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
	return stdout.String(), code
}

// pathState is what a repair would change about a path: ctime moves with
// any write, chmod or chown, whatever else is put back.
type pathState struct {
	mode         fs.FileMode
	uid, gid     uint32
	size         int64
	link         string
	mtime, ctime syscall.Timespec
}

func pathStates(t *testing.T, dir string) map[string]pathState {
	t.Helper()
	m := map[string]pathState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		s := pathState{mode: fs.FileMode(st.Mode), uid: st.Uid, gid: st.Gid, mtime: st.Mtim, ctime: st.Ctim}
		if d.Type().IsRegular() {
			s.size = st.Size
		}
		if d.Type()&fs.ModeSymlink != 0 {
			s.link, _ = os.Readlink(p)
		}
		m[strings.TrimPrefix(p, dir)] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func diffStates(before, after map[string]pathState) []string {
	var d []string
	for p, b := range before {
		a, ok := after[p]
		switch {
		case !ok:
			d = append(d, "removed "+p)
		case a != b:
			d = append(d, fmt.Sprintf("changed %s: %+v -> %+v", p, b, a))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			d = append(d, "added "+p)
		}
	}
	sort.Strings(d)
	if len(d) > 20 {
		d = append(d[:20], fmt.Sprintf("… and %d more", len(d)-20))
	}
	return d
}

// TestPristineLayouts checks the layout rescue reads from the real rpm
// databases in testdata/rpmdb (CentOS 5 to 8, UBI 8 on s390x, SUSE 15,
// Fedora 35, CBL-Mariner 2.0): for each, a skeleton root is built from
// the database alone, every directory, symlink and file where the packages
// put it, with the recorded modes and sizes (the files' content is not in
// a database: they are sparse). The checks that judge a layout (system
// directories and merged-/usr links, directory modes, packaged files
// present and not emptied) must find nothing. The skeleton's os-release is
// zeros as well, so what rescue knows of the layout comes from the
// database and the tree.
func TestPristineLayouts(t *testing.T) {
	for _, db := range []struct{ dir, file string }{
		{"centos5-plain", "Packages"}, {"centos6-plain", "Packages"}, {"centos7-plain", "Packages"},
		{"centos8-modularitylabel", "Packages"}, {"ubi8-s390x", "Packages"}, {"sle15-bci", "Packages.db"},
		{"fedora35", "rpmdb.sqlite"}, {"cbl-mariner-2.0", "rpmdb.sqlite"},
	} {
		t.Run(db.dir, func(t *testing.T) {
			dir := t.TempDir()
			t0 := time.Now()
			n := skeletonFromRPMDB(t, dir, db.dir, db.file)
			made := time.Now()
			devices := filepath.Join(t.TempDir(), "blkid")
			if err := os.WriteFile(devices, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			out, code := runCLI(t, "scan", "--checks", "sysdirs,perms,pkgfiles", "--devices", devices, dir)
			t.Logf("%s (%d paths from the database, made in %s): rescue scan --checks sysdirs,perms,pkgfiles in %s:\n%s",
				db.dir, n, made.Sub(t0).Round(time.Millisecond), time.Since(made).Round(time.Millisecond), out)
			if code != 0 {
				t.Errorf("exit code %d, want 0:\n%s", code, out)
			}
		})
	}
}

// skeletonFromRPMDB puts the named database of testdata/rpmdb under
// dir/var/lib/rpm and builds, from its records, every directory, symlink
// and regular file (sparse, of the recorded size and mode) the installed
// packages own. It returns how many paths it made.
func skeletonFromRPMDB(t *testing.T, dir, name, file string) int {
	t.Helper()
	z, err := os.ReadFile(filepath.Join("..", "..", "testdata", "rpmdb", name, file+".zst"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := d.DecodeAll(z, nil)
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "var/lib/rpm"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "var/lib/rpm", file), data, 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := sysroot.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	db, err := pkgdb.Open(root)
	if err != nil || db == nil {
		t.Fatalf("opening the database: %v", err)
	}
	var recs []pkgdb.File
	for _, p := range db.Packages() {
		for _, f := range db.Files(p.ID) {
			if f.State != pkgdb.StateNormal || f.Flags&(pkgdb.Ghost|pkgdb.MissingOK) != 0 || f.Mode == 0 {
				continue
			}
			recs = append(recs, f)
		}
	}
	// Parents before children; where packages disagree on a path the
	// first record made wins.
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Path < recs[j].Path })
	n := 0
	for _, f := range recs {
		parent, err := mkdirIn(dir, filepath.Dir(f.Path), 0)
		if err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		p := filepath.Join(dir, parent, filepath.Base(f.Path))
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		switch {
		case f.Mode.IsDir():
			err = os.Mkdir(p, f.Mode.Perm())
		case f.Mode&fs.ModeSymlink != 0:
			err = os.Symlink(f.LinkTarget, p)
		case f.Mode.IsRegular():
			err = os.WriteFile(p, nil, f.Mode.Perm())
			if err == nil && f.Size > 0 {
				err = os.Truncate(p, f.Size)
			}
		default:
			continue // device nodes and fifos are not layout
		}
		if err != nil {
			t.Fatalf("%s: %v", f.Path, err)
		}
		n++
	}
	// Modes as recorded (setuid bits included), after the files went in
	// (a 0555 directory would refuse them); the first record of a path
	// made it.
	done := map[string]bool{}
	for _, f := range recs {
		if f.Mode&fs.ModeSymlink != 0 || done[f.Path] {
			continue
		}
		done[f.Path] = true
		os.Chmod(filepath.Join(dir, f.Path), repairMode(f.Mode))
	}
	return n
}

// mkdirIn makes directory p (target-absolute) inside root the way rpm would
// find it: a symlink on the way is followed (a package listing /lib/x
// where /lib -> usr/lib puts x in /usr/lib), making what it points to when
// that is missing. It returns p with the symlinks resolved.
func mkdirIn(root, p string, depth int) (string, error) {
	if depth > 40 {
		return "", fmt.Errorf("too many levels of symlinks at %s", p)
	}
	cur := "/"
	for _, c := range strings.Split(strings.Trim(filepath.Clean(p), "/"), "/") {
		if c == "" {
			continue
		}
		next := filepath.Join(cur, c)
		fi, err := os.Lstat(filepath.Join(root, next))
		switch {
		case os.IsNotExist(err):
			if err := os.Mkdir(filepath.Join(root, next), 0o755); err != nil {
				return "", err
			}
		case err != nil:
			return "", err
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(filepath.Join(root, next))
			if err != nil {
				return "", err
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(cur, target)
			}
			if next, err = mkdirIn(root, target, depth+1); err != nil {
				return "", err
			}
		case !fi.IsDir():
			return "", fmt.Errorf("%s is not a directory", next)
		}
		cur = next
	}
	return cur, nil
}

// repairMode keeps the permission and special bits of a recorded mode.
func repairMode(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}
