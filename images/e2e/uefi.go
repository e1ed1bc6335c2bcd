package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"rescue/images"
	"rescue/images/boot"
)

// The rows run in a helper: the fault is on a filesystem this host's
// kernel cannot mount (the ESP's FAT: no vfat here), so rescue, on this
// host, works on a copy of it, and grub-install cannot install onto a
// copy. A helper VM (the Debian image booted with Debian's own kernel,
// which has vfat) gets the disk attached as its second disk and, as root
// on its console, breaks it, runs rescue scan, fix and undo on it, and
// lists the trees the repair rewrites (every entry's type, mode, owner,
// size, mtime and content hash) after each step, with the kernel's own
// vfat and xfs. The disk is copied on this host twice while the helper
// holds it idle (everything unmounted and synced): broken, and repaired.
// The broken copy boots under the row's firmware and must fail; the
// repaired copy must boot healthy with every login. Undo must give the
// trees back exactly as broken.
//
// A plain row rather than a runbook one: a runbook row runs the runbook's
// helper step, which scans and fixes in one go and keeps its report on
// the helper (an OOS or SSM run keeps a snapshot instead of undoing); this
// row needs the finding, the fix, the rescan and the undo one by one, each
// judged, and a manifest between them. It shares the runbook rows'
// plumbing: the helper image, its network to a file server of this host's,
// and the release downloaded into the helper.

// HelperRow says what a row run in a helper does there.
type HelperRow struct {
	// Break are shell lines run as root in the helper, in order, each of
	// which must exit 0; $D is the attached disk's device (/dev/vdb).
	Break []string
	// Trees are what the manifests record.
	Trees []HelperTree
	// Restored are the manifest paths ("esp:/EFI/BOOT/BOOTX64.EFI") that
	// must be regular files after the repair: what the fault removed.
	Restored []string
}

// HelperTree is a directory of a filesystem of the attached disk.
type HelperTree struct {
	// Name labels its paths in the manifest ("esp").
	Name string
	// Part is the partition number; FSType and Options how the helper
	// mounts it (read-only: the manifest writes nothing).
	Part            int
	FSType, Options string
	// Dir is the directory listed, relative to the filesystem's root
	// ("" for all of it).
	Dir string
}

// helperDiskSerial is the attached disk's serial: the helper finds it as
// /dev/disk/by-id/virtio-<serial>.
const helperDiskSerial = "rescue-e2e-broken"

// uefiScenarios are the rows of the boot loader for UEFI.
func uefiScenarios() []*Scenario {
	return []*Scenario{
		{
			// The image's ESP holds Debian's signed grubx64.efi at the
			// removable-media path and at EFI/debian, each beside a
			// grub.cfg stub (images.espTree); the fault removes both
			// loaders and keeps the stubs. Measured (OVMF 2022.11,
			// -bios, no NVRAM entries): "BdsDxe: failed to load Boot0002
			// "UEFI Misc Device" … Not Found", then the firmware starts
			// its EFI shell and stays at "Shell>" (TIMEOUT after 17 min
			// of silence, the first run; the shell's banner is
			// NO_BOOTABLE since, package evidence).
			Name: "efi-loaders-deleted", Fault: "the ESP's boot loaders deleted (UEFI); rescue fix --reinstall-bootloader, run in a helper with vfat",
			Flavor: images.GPTXfsUEFI,
			InHelper: &HelperRow{
				Break: []string{
					`mkdir -p /mnt/e2e-break && mount -t vfat "${D}1" /mnt/e2e-break`,
					`rm /mnt/e2e-break/EFI/BOOT/BOOTX64.EFI /mnt/e2e-break/EFI/debian/grubx64.efi; rc=$?; umount /mnt/e2e-break && [ $rc = 0 ]`,
				},
				Trees: []HelperTree{
					{Name: "esp", Part: 1, FSType: "vfat", Options: "ro"},
					{Name: "root", Part: 2, FSType: "xfs", Options: "ro,norecovery", Dir: "boot/grub"},
				},
				Restored: []string{"esp:/EFI/BOOT/BOOTX64.EFI", "esp:/EFI/debian/grubx64.efi"},
			},
			Broken: Expect{Class: boot.NoBootable, Check: ovmfFoundNothing,
				Note: "OVMF finds no loader on the disk (BdsDxe: failed to load Boot0002 \"UEFI Misc Device\": Not Found) and waits in its EFI shell"},
			Paths:    []string{"/boot/efi/EFI"},
			Finding:  "bootloader/efi-loader-missing",
			Action:   []string{"fix", "--allow-chroot", "--reinstall-bootloader"},
			SSH:      true,
			FullOnly: outOfCIBudget,
		},
	}
}

// ovmfNotFound and ovmfShell are what OVMF prints on the serial console
// when the disk's boot option has no loader, and when it falls back to
// its shell.
var (
	ovmfNotFound = regexp.MustCompile(`BdsDxe: failed to load Boot[0-9A-F]{4} "UEFI Misc Device" [^\r\n]*: Not Found`)
	ovmfShell    = regexp.MustCompile(`UEFI Interactive Shell v[0-9]`)
)

// ovmfFoundNothing checks that the firmware itself found nothing to start
// on the disk (and not that something after it hung).
func ovmfFoundNothing(r *boot.Result) string {
	data, err := os.ReadFile(r.SerialLog)
	if err != nil {
		return fmt.Sprintf("reading the serial log: %v", err)
	}
	if !ovmfNotFound.Match(data) {
		return "the console does not show OVMF failing to load the disk's loader (BdsDxe: failed to load … \"UEFI Misc Device\" … Not Found)"
	}
	if !ovmfShell.Match(data) {
		return "the console does not show OVMF falling back to its EFI shell"
	}
	return ""
}

// doScript runs a command in the helper and sends the host its stdout,
// stderr and exit code (/result/NAME.out, .err, .rc).
const doScript = `#!/bin/sh
# do.sh NAME COMMAND...
set -u
name=$1; shift
"$@" </dev/null >/run/e2e/$name.out 2>/run/e2e/$name.err
echo $? >/run/e2e/$name.rc
for f in out err rc; do
	python3 -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=open(sys.argv[2], "rb").read(), method="PUT"))' "http://` + guestAddr + `/result/$name.$f" "/run/e2e/$name.$f" || exit 92
done
`

// manifestScript lists the row's trees on the disk $1 (the helper's
// kernel mounts them read-only): one line per entry (tree, type, mode,
// owner, size, mtime, symlink target, path), then the SHA-256 of each
// regular file.
func (hr *HelperRow) manifestScript() string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# manifest.sh DISK\nset -eu\nd=$1\nm=/mnt/e2e-manifest\nmkdir -p $m\n")
	for _, t := range hr.Trees {
		fmt.Fprintf(&b, "mount -t %s -o %s \"${d}%d\" $m\n", t.FSType, t.Options, t.Part)
		fmt.Fprintf(&b, "(cd $m && %s) || { umount $m; exit 1; }\n", t.listing())
		b.WriteString("umount $m\n")
	}
	return b.String()
}

// listing is the shell command that lists the tree, run in the root of
// its filesystem.
func (t HelperTree) listing() string {
	dir := "./" + t.Dir
	return fmt.Sprintf("find '%s' -printf '%s\\t%%y\\t%%m\\t%%U\\t%%G\\t%%s\\t%%T@\\t%%l\\t%%p\\n' && find '%s' -type f -exec sha256sum {} + | sed 's/^/%s\\tsha256\\t/'",
		dir, t.Name, dir, t.Name)
}

// parseHelperManifest reads manifest.sh's output into a manifest keyed
// "tree:/path".
func parseHelperManifest(text string) (manifest, error) {
	m := manifest{}
	key := func(tree, p string) string {
		return tree + ":" + path.Clean("/"+strings.TrimPrefix(p, "."))
	}
	hashes := map[string]string{}
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) == 3 && f[1] == "sha256" {
			sum, p, ok := strings.Cut(f[2], "  ")
			if !ok || len(sum) != 64 {
				return nil, fmt.Errorf("manifest: bad hash line %q", line)
			}
			hashes[key(f[0], p)] = sum
			continue
		}
		if len(f) != 9 {
			return nil, fmt.Errorf("manifest: bad line %q", line)
		}
		var e entry
		switch f[1] {
		case "f":
		case "d":
			e.Type = os.ModeDir
		case "l":
			e.Type = os.ModeSymlink
		default:
			e.Type = os.ModeIrregular
		}
		mode, err := strconv.ParseUint(f[2], 8, 32)
		if err != nil {
			return nil, fmt.Errorf("manifest: mode in %q: %v", line, err)
		}
		e.Mode = os.FileMode(mode & 0o777)
		if mode&0o4000 != 0 {
			e.Mode |= os.ModeSetuid
		}
		if mode&0o2000 != 0 {
			e.Mode |= os.ModeSetgid
		}
		if mode&0o1000 != 0 {
			e.Mode |= os.ModeSticky
		}
		uid, err1 := strconv.ParseUint(f[3], 10, 32)
		gid, err2 := strconv.ParseUint(f[4], 10, 32)
		size, err3 := strconv.ParseInt(f[5], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("manifest: numbers in %q", line)
		}
		e.UID, e.GID, e.Size = uint32(uid), uint32(gid), size
		// Seconds and nanoseconds as find prints them (%T@), kept
		// exact: a float would round the nanoseconds.
		sec, frac, _ := strings.Cut(f[6], ".")
		s, err := strconv.ParseInt(sec, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("manifest: mtime in %q: %v", line, err)
		}
		frac = (frac + "000000000")[:9]
		ns, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("manifest: mtime in %q: %v", line, err)
		}
		e.Mtime = time.Unix(s, ns)
		e.Link = f[7]
		m[key(f[0], f[8])] = e
	}
	for k, sum := range hashes {
		e, ok := m[k]
		if !ok || !e.Type.IsRegular() {
			return nil, fmt.Errorf("manifest: a hash of %s, which is not a listed file", k)
		}
		e.Hash = sum
		m[k] = e
	}
	for k, e := range m {
		if e.Type.IsRegular() && e.Hash == "" {
			return nil, fmt.Errorf("manifest: %s has no hash", k)
		}
	}
	return m, nil
}

// judgeHelperManifests judges the trees: the repair must have changed
// them and put back every path of restored as a regular file, and undo
// must give back the broken ones exactly. It returns the undo verdict
// ("identical", else what differs) and why the row fails.
func judgeHelperManifests(broken, repaired, undone manifest, restored []string) (string, []string) {
	var bad []string
	if d := diffManifests(broken, repaired); len(d) == 0 {
		bad = append(bad, "the repair left the trees as they were broken")
	}
	for _, p := range restored {
		if e, ok := repaired[p]; !ok || !e.Type.IsRegular() || e.Size == 0 {
			bad = append(bad, "the repair did not put back "+p)
		}
	}
	d := diffManifests(broken, undone)
	if len(d) == 0 {
		return "identical", bad
	}
	if len(d) > 8 {
		d = append(d[:8], fmt.Sprintf("… %d more", len(d)-8))
	}
	undo := strings.Join(d, "; ")
	return undo, append(bad, "undo left differences: "+undo)
}

// helperResult is a command's output in the helper.
type helperResult struct {
	stdout, stderr []byte
	rc             int
}

// helperDo runs COMMAND in the helper through do.sh and returns what it
// printed and its exit code; name keys its files (out/NAME.out, .err).
func helperDo(ctx context.Context, h *boot.Helper, fsrv *fileServer, name, command string, timeout time.Duration, out string) (*helperResult, error) {
	fsrv.clearReceived()
	con, rc, err := h.Run(ctx, "sh /run/e2e/do.sh "+name+" "+command, timeout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", name, err, consoleTail(con))
	}
	if rc != 0 {
		return nil, fmt.Errorf("%s: do.sh exited %d: %s", name, rc, consoleTail(con))
	}
	r := &helperResult{}
	var ok1, ok2, ok3 bool
	r.stdout, ok1 = fsrv.received("/result/" + name + ".out")
	r.stderr, ok2 = fsrv.received("/result/" + name + ".err")
	rcText, ok3 := fsrv.received("/result/" + name + ".rc")
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("%s: the helper did not send back its output", name)
	}
	if _, err := fmt.Sscan(string(rcText), &r.rc); err != nil {
		return nil, fmt.Errorf("%s: exit code %q: %v", name, rcText, err)
	}
	_ = os.WriteFile(filepath.Join(out, name+".out"), r.stdout, 0o644)
	_ = os.WriteFile(filepath.Join(out, name+".err"), r.stderr, 0o644)
	return r, nil
}

// consoleTail is the end of a command's console output, without the
// harness's marker line.
func consoleTail(con string) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimSpace(con), "\n") {
		if l = strings.TrimSpace(l); l != "" && !doneMarker.MatchString(l) {
			keep = append(keep, l)
		}
	}
	if len(keep) > 3 {
		keep = keep[len(keep)-3:]
	}
	return strings.Join(keep, " | ")
}

var doneMarker = regexp.MustCompile(`HELPER42DONE rc=`)

// runInHelper runs a row whose break, rescue and undo run in a helper.
func (s *Suite) runInHelper(ctx context.Context, sc *Scenario) (row *Row) {
	t0 := time.Now()
	hr := sc.InHelper
	row = &Row{Scenario: sc.Name, Fault: sc.Fault, Release: s.Env.releaseName(), Kind: "symptom", Status: "PASS",
		BrokenWant: sc.Broken.String(), FixExitWant: sc.fixExit()}
	out := filepath.Join(s.Env.Out, sc.Name)
	defer func() {
		row.Seconds = time.Since(t0).Seconds()
		writeJSON(filepath.Join(out, "row.json"), row)
	}()
	errorf := row.errorf
	if err := os.MkdirAll(out, 0o755); err != nil {
		return errorf("%v", err)
	}
	if s.Env.NoBoot {
		row.note("not run (E2E_NOBOOT): rescue runs in a helper VM this row boots")
		return row
	}
	base, helperImg, work, img, err := s.helperDisk(ctx, sc.Flavor, sc.Name)
	if err != nil {
		return errorf("%v", err)
	}
	defer os.RemoveAll(work)
	fsrv, releaseSum, err := s.releaseServer()
	if err != nil {
		return errorf("%v", err)
	}
	defer fsrv.ln.Close()
	fsrv.put("/do.sh", []byte(doScript))
	fsrv.put("/manifest.sh", []byte(hr.manifestScript()))

	// The broken copy boots while the helper repairs the disk; a row
	// that ends early stops that boot.
	brokenImg, repairedImg := filepath.Join(work, "broken.img"), filepath.Join(work, "repaired.img")
	var brokenRes *boot.Result
	var brokenErr error
	brokenDone := make(chan struct{})
	brokenStarted := false
	bctx, stopBroken := context.WithCancel(ctx)
	startBroken := func() {
		brokenStarted = true
		go func() {
			defer close(brokenDone)
			brokenRes, brokenErr = s.bootBroken(bctx, sc, base, brokenImg, filepath.Join(out, "broken-serial.log"))
		}()
	}
	defer func() {
		if brokenStarted {
			<-brokenDone
		}
	}()
	defer stopBroken()

	var gapBroken string
	select {
	case s.bootSem <- struct{}{}:
	case <-ctx.Done():
		return errorf("%v", ctx.Err())
	}
	err = func() error {
		defer func() { <-s.bootSem }()
		o := s.Env.Boot
		o.Image, o.Snapshot, o.SerialLog, o.UEFI = helperImg.Path, true, filepath.Join(out, "helper-serial.log"), false
		o.User, o.Password = "root", images.RootPassword
		h, err := boot.StartHelper(ctx, boot.HelperOptions{Options: o, Guest: guestAddr, Host: fsrv.ln.Addr().String(),
			Disks: []boot.Disk{{Image: img, Serial: helperDiskSerial}}})
		if err != nil {
			return err
		}
		defer func() {
			h.Close()
			row.BootCPU += h.CPUSeconds
		}()
		gapBroken, err = s.helperSession(ctx, h, fsrv, sc, base, row, img, brokenImg, repairedImg, releaseSum, out, startBroken)
		return err
	}()
	if err != nil {
		return errorf("helper: %v", err)
	}
	// The helper is off: the image is as it left it.
	if gapBroken != "" {
		if h, err := diskHash(img, gapBytes); err != nil {
			return errorf("reading the disk after undo: %v", err)
		} else if h != gapBroken {
			row.fail("the disk's first %d bytes after undo differ from the broken ones", gapBytes)
		}
	}
	if row.Status == "PASS" && fileExists(repairedImg) {
		if r := s.judgeRepairedCopies(ctx, sc, base, row, work, brokenImg, repairedImg, out); r != nil {
			return r
		}
	}
	if !brokenStarted {
		return row
	}
	<-brokenDone
	brokenStarted = false
	if brokenErr != nil {
		return errorf("booting the broken image: %v", brokenErr)
	}
	row.Broken = brokenRes
	row.booted(brokenRes)
	if ok, why := sc.Broken.Met(brokenRes); !ok {
		row.fail("broken boot: %s", why)
	}
	if ok, why := SeverityAgrees(brokenRes, row.Severity); row.Severity != "" && !ok {
		row.fail("severity on %s: %s", s.Env.releaseName(), why)
	}
	return row
}

// judgeRepairedCopies scans the broken and the repaired copies on this
// host and boots the repaired one; it returns the row when it ends with
// an error of the harness's.
func (s *Suite) judgeRepairedCopies(ctx context.Context, sc *Scenario, base *images.DebianImage, row *Row, work, brokenImg, repairedImg, out string) *Row {
	// This host's rescue reads the ESP in pure Go (a copy): it must
	// agree with the helper's scans, on the broken and the repaired copy.
	if rep, code, err := s.rescueJSON(ctx, base, brokenImg, work, filepath.Join(out, "host-scan-broken.json"), s.scanArgs()...); err != nil {
		row.fail("rescue scan of the broken copy on this host: %v", err)
	} else if !has(rep, row.Finding) || code != 4 {
		row.fail("rescue scan of the broken copy on this host (ESP read in pure Go): exit %d, findings %v, want %s", code, rep.ids(), row.Finding)
	}
	if rep, code, err := s.rescueJSON(ctx, base, repairedImg, work, filepath.Join(out, "host-scan-repaired.json"), s.scanArgs()...); err != nil {
		row.fail("rescue scan of the repaired copy on this host: %v", err)
	} else {
		row.failAll(judgeRescan(row.Finding, rep, code, sc.scanExit()))
	}

	// The repaired disk boots alone, healthy, every login answering.
	res, err := s.bootImage(ctx, base, repairedImg, filepath.Join(out, "repaired-serial.log"), sc.SSH)
	if err != nil {
		return row.errorf("booting the repaired image: %v", err)
	}
	row.judgeRepaired(res, sc, base)
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// helperSession is the row's work in the helper: prepare, break, scan,
// fix, rescan and undo, with a manifest after the break, the fix and the
// undo, and a copy of the disk after the break (started booting at once,
// startBroken) and after the fix. It returns the digest of the broken
// disk's first gapBytes. An error is the harness's (ERROR); what rescue
// did wrong fails the row.
func (s *Suite) helperSession(ctx context.Context, h *boot.Helper, fsrv *fileServer, sc *Scenario, base *images.DebianImage, row *Row,
	img, brokenImg, repairedImg, sha, out string, startBroken func()) (string, error) {
	hr := sc.InHelper
	timeout := time.Duration(float64(20*time.Minute) * max(s.Env.Boot.Patience, 1))
	run := func(what, line string) error {
		con, rc, err := h.Run(ctx, line, timeout)
		if err != nil {
			return fmt.Errorf("%s: %w: %s", what, err, consoleTail(con))
		}
		if rc != 0 {
			return fmt.Errorf("%s (%s): exit %d: %s", what, line, rc, consoleTail(con))
		}
		return nil
	}
	for _, line := range []string{
		`dev=$(ls /sys/class/net | grep -v '^lo$' | head -n 1); ip link set "$dev" up && { ip -4 addr show dev "$dev" | grep -q inet || ip addr add 10.0.2.15/24 dev "$dev"; }`,
		`mkdir -p /run/e2e && python3 -c 'import sys, urllib.request as u; [u.urlretrieve("http://` + guestAddr + `/" + n, "/run/e2e/" + n) for n in sys.argv[1:]]' rescue do.sh manifest.sh`,
		`install -m 755 /run/e2e/rescue /usr/local/bin/rescue && echo "` + sha + `  /usr/local/bin/rescue" | sha256sum -c --quiet -`,
		`udevadm settle; D=$(readlink -f /dev/disk/by-id/virtio-` + helperDiskSerial + `) && test -b "$D" && test -b "${D}1"`,
	} {
		if err := run("preparing the helper", line); err != nil {
			return "", err
		}
	}
	manifestOf := func(step string) (manifest, error) {
		r, err := helperDo(ctx, h, fsrv, "manifest-"+step, `sh /run/e2e/manifest.sh "$D"`, timeout, out)
		if err != nil {
			return nil, err
		}
		if r.rc != 0 {
			return nil, fmt.Errorf("the manifest %s: exit %d: %.300s", step, r.rc, r.stderr)
		}
		return parseHelperManifest(string(r.stdout))
	}
	// sync: the helper writes nothing more, so this host reads the
	// image as the helper left it.
	copyDisk := func(to string) error {
		if err := run("syncing", "sync"); err != nil {
			return err
		}
		return copySparse(ctx, img, to)
	}

	for _, line := range hr.Break {
		if err := run("injecting the fault", line); err != nil {
			return "", err
		}
	}
	broken, err := manifestOf("broken")
	if err != nil {
		return "", err
	}
	if err := copyDisk(brokenImg); err != nil {
		return "", err
	}
	gapBroken, err := diskHash(img, gapBytes)
	if err != nil {
		return "", err
	}
	startBroken()

	mem := fmt.Sprintf("%dM", s.memoryMB())
	rescue := func(name string, args ...string) (*fixReport, int, error) {
		r, err := helperDo(ctx, h, fsrv, name, "/usr/local/bin/rescue "+strings.Join(args, " ")+` "$D"`, timeout, out)
		if err != nil {
			return nil, 0, err
		}
		if r.rc >= 8 {
			return nil, r.rc, fmt.Errorf("rescue %s exited %d: %s", args[0], r.rc, lastLine(string(r.stderr)))
		}
		var rep fixReport
		if err := json.Unmarshal(r.stdout, &rep); err != nil {
			return nil, r.rc, fmt.Errorf("reading the JSON of rescue %s: %v", args[0], err)
		}
		return &rep, r.rc, nil
	}

	// The finding, on the disk as the helper's kernel mounts it.
	plan, code, err := rescue("scan", "scan", "--json", "--memory", mem)
	if err != nil {
		row.fail("%v", err)
		return gapBroken, nil
	}
	row.Findings = plan.ids()
	id, why := findingOf(sc, plan)
	if id == "" {
		row.fail("%s", why)
		return gapBroken, nil
	}
	row.Finding = id
	row.Severity = faultSeverity(plan, id, sc.Paths)
	if code != 4 {
		row.fail("rescue scan of the broken disk exited %d, want 4", code)
	}

	// The repair: the finding's fix applied, nothing undo cannot take
	// back, and a rescan without the finding.
	args := append(append([]string{}, sc.Action...), "--json", "--apply", "--memory", mem)
	fix, code, err := rescue("fix", args...)
	row.FixExit = code
	if err != nil {
		row.fail("%v", err)
		return gapBroken, nil
	}
	row.countApplied(fix)
	if fix.Result != nil {
		for _, w := range fix.Result.Warnings {
			row.fail("the fix changed what undo cannot put back: %s", w)
		}
	}
	if row.failAll(judgeFix(id, fix, code, row.FixExitWant)) && row.Applied == 0 {
		return gapBroken, nil
	}
	if fix.Result != nil && fix.Result.ID != "" {
		s.keepExecLog(ctx, h, fsrv, hr, row, fix.Result.ID, timeout, out)
	}
	after, code, err := rescue("rescan", "scan", "--json", "--memory", mem)
	row.ScanExit = code
	if err != nil {
		row.fail("%v", err)
		return gapBroken, nil
	}
	row.Rescanned, row.Gone = true, !has(after, id)
	row.failAll(judgeRescan(id, after, code, sc.scanExit()))
	repaired, err := manifestOf("repaired")
	if err != nil {
		return gapBroken, err
	}
	if err := copyDisk(repairedImg); err != nil {
		return gapBroken, err
	}
	if h, err := diskHash(img, gapBytes); err != nil {
		return gapBroken, err
	} else if h != gapBroken {
		// Nothing outside the filesystems is backed up for UEFI.
		row.fail("the repair changed the disk's first %d bytes (outside its filesystems)", gapBytes)
	}

	// Undo, in the helper too: the ESP as the kernel mounts it.
	u, err := helperDo(ctx, h, fsrv, "undo", `/usr/local/bin/rescue undo "$D"`, timeout, out)
	if err != nil {
		return gapBroken, err
	}
	_ = os.WriteFile(filepath.Join(out, "undo.txt"), append(append([]byte{}, u.stdout...), u.stderr...), 0o644)
	if u.rc != 0 {
		row.fail("rescue undo exited %d: %s", u.rc, lastLine(string(u.stderr)))
	}
	undone, err := manifestOf("undone")
	if err != nil {
		return gapBroken, err
	}
	verdict, bad := judgeHelperManifests(broken, repaired, undone, hr.Restored)
	row.Undo = verdict
	row.failAll(bad)
	row.note("the trees (%s): %d entries broken, %s after the repair", treeNames(hr.Trees), len(broken), describeDiff(diffManifests(broken, repaired)))
	return gapBroken, nil
}

// keepExecLog keeps what the commands of the repair printed (the
// journal's exec-*.log on the target's root, the tree named "root") with
// the row's artifacts, as exec-log.out; it judges nothing.
func (s *Suite) keepExecLog(ctx context.Context, h *boot.Helper, fsrv *fileServer, hr *HelperRow, row *Row, id string, timeout time.Duration, out string) {
	for _, t := range hr.Trees {
		if t.Name != "root" || !regexp.MustCompile(`^[0-9A-Za-z-]+$`).MatchString(id) {
			continue
		}
		cmd := fmt.Sprintf(`sh -c 'mkdir -p /mnt/e2e-log && mount -t %s -o %s "$1" /mnt/e2e-log || exit 1; cat /mnt/e2e-log%s/%s/exec-*.log; rc=$?; umount /mnt/e2e-log; exit $rc' sh "${D}%d"`,
			t.FSType, t.Options, journalDir, id, t.Part)
		r, err := helperDo(ctx, h, fsrv, "exec-log", cmd, timeout, out)
		switch {
		case err != nil:
			row.note("the repair's exec log was not kept: %v", err)
		case r.rc != 0:
			row.note("the repair's exec log was not kept: exit %d: %.200s", r.rc, r.stderr)
		}
	}
}

func treeNames(ts []HelperTree) string {
	var names []string
	for _, t := range ts {
		names = append(names, t.Name+" /"+t.Dir)
	}
	return strings.Join(names, ", ")
}

// describeDiff counts a diff's lines by kind ("12 added, 3 changed").
func describeDiff(d []string) string {
	n := map[string]int{}
	for _, l := range d {
		switch {
		case strings.HasPrefix(l, "added "):
			n["added"]++
		case strings.HasPrefix(l, "missing "):
			n["missing"]++
		default:
			n["changed"]++
		}
	}
	var parts []string
	for _, k := range []string{"added", "changed", "missing"} {
		if n[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[k], k))
		}
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, ", ")
}
