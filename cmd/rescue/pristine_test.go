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

	"rescue/images"
	"rescue/pkgdb/pkgdbtest"
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
		out = append(out, pristineRoot{name: rel.String() + "-boot", debian: &opt, boot: true})
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
	var dir, debs, blkid string
	switch {
	case r.debian != nil:
		dir, debs = pkgdbtest.DebianRootWith(t, *r.debian)
		if r.boot {
			img, err := images.InstallRoot(context.Background(), dir, images.MBRExt4, "")
			if err != nil {
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

	before := treeState(t, dir)
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
	if d := diffStates(before, treeState(t, dir)); len(d) > 0 {
		t.Errorf("fix --apply changed the pristine root:\n%s", strings.Join(d, "\n"))
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

func treeState(t *testing.T, dir string) map[string]pathState {
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
