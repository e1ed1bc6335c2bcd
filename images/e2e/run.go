package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"rescue/images"
	"rescue/images/boot"
)

// Env is where and how the scenarios run.
type Env struct {
	// Release is the Debian release of the images (Debian 12 when zero).
	Release images.Release
	// Rescue is the rescue binary under test: built from this tree, or
	// the program E2E_RESCUE names (to show that a program that repairs
	// nothing fails every row).
	Rescue string
	// CacheDir keeps the Debian root and the base image between runs.
	CacheDir string
	// Out receives the artifacts: serial logs, fix reports, the table.
	Out string
	// Work holds the scenario copies (same filesystem as Out is best).
	Work string
	// Parallel is how many scenarios (and so boots) run at once.
	Parallel int
	// NoBoot stops each scenario after the dry run: the finding and its
	// severity, judged against the expected broken boot, without booting
	// (a quick look at a release's verdicts; E2E_NOBOOT=1).
	NoBoot bool
	// Boot is the template of every boot (CPUs, memory, patience).
	Boot boot.Options
	// Log receives progress lines (nil: none).
	Log func(format string, args ...any)
}

func (e *Env) logf(format string, args ...any) {
	if e.Log != nil {
		e.Log(format, args...)
	}
}

// baseVersion changes whenever BuildDebian or the base configuration
// changes in a way that must rebuild cached base images. 3: the ordinary
// user LoginUser, an SSH key for root and that user, and networkd.
const baseVersion = "3"

// release is the Debian release of the images.
func (e *Env) release() images.Release {
	if e.Release.Suite == "" {
		return images.Bookworm
	}
	return e.Release
}

// releaseName names the release in rows and tables ("debian12").
func (e *Env) releaseName() string { return fmt.Sprintf("debian%d", e.release().Version) }

// Base returns the base image of a flavor (cached under CacheDir by the
// root's key), building the root and the image when missing.
func (e *Env) Base(ctx context.Context, flavor images.Flavor) (*images.DebianImage, error) {
	t0 := time.Now()
	rel := e.release()
	root, err := images.BuildBootRoot(ctx, rel, e.CacheDir)
	if err != nil {
		return nil, err
	}
	e.logf("%s root %s ready in %s", rel, root.Key, time.Since(t0).Round(time.Second))
	name := filepath.Join(e.CacheDir, fmt.Sprintf("base-%s-%s-v%s", root.Key, flavor, baseVersion))
	meta := name + ".json"
	if data, err := os.ReadFile(meta); err == nil {
		var img images.DebianImage
		if err := json.Unmarshal(data, &img); err == nil {
			if _, err := os.Stat(img.Path); err == nil {
				if _, err := os.Stat(img.SSHKey); err == nil {
					img.Debs = root.Debs
					return &img, nil
				}
			}
		}
	}
	t1 := time.Now()
	img, err := images.BuildDebian(ctx, images.DebianOptions{Root: root, Flavor: flavor, Out: name + ".img.tmp",
		WorkDir: e.CacheDir, SSHKey: name + ".ssh-key"})
	if err != nil {
		return nil, err
	}
	if err := os.Rename(img.Path, name+".img"); err != nil {
		return nil, err
	}
	img.Path = name + ".img"
	data, _ := json.MarshalIndent(img, "", "  ")
	if err := os.WriteFile(meta, data, 0o644); err != nil {
		return nil, err
	}
	e.logf("base image %s built in %s", img.Path, time.Since(t1).Round(time.Second))
	return img, nil
}

// Row is one line of the table.
type Row struct {
	Scenario string `json:"scenario"`
	Fault    string `json:"fault"`
	// Release is the Debian release booted ("debian12").
	Release string `json:"release,omitempty"`
	// Kind is "baseline", "symptom" (the fault shows in the broken boot),
	// "no-symptom" (a fault with no symptom on the row's release: its
	// broken boot measures that claim with every login), "inert" (the
	// fault does nothing on the release: rescue must find nothing, and
	// the broken boot measures the claim) or "runbook".
	Kind string `json:"kind"`
	// Status: PASS, FAIL (rescue did not do what the row requires, or a
	// boot was not as expected), or ERROR (the harness could not run the
	// row).
	Status string `json:"status"`
	// Broken and Repaired are the boot outcomes (nil when not booted);
	// BrokenWant is the expected broken outcome.
	Broken     *boot.Result `json:"broken,omitempty"`
	BrokenWant string       `json:"broken_want"`
	Repaired   *boot.Result `json:"repaired,omitempty"`
	// Finding is the scenario's own finding as rescue reported it on the
	// broken image (its ID); Findings are every finding of that scan
	// (for a baseline: of the healthy image's scan).
	Finding  string   `json:"finding,omitempty"`
	Findings []string `json:"findings"`
	// Severity is what rescue says the fault breaks (faultSeverity); it
	// must agree with the broken boot on that release (SeverityAgrees).
	Severity string `json:"severity,omitempty"`
	// Applied counts the fixes rescue fix --apply applied; FixExit is its
	// exit code and FixExitWant the one required. Gone says the rescan of
	// the repaired image (Rescanned) no longer has Finding; ScanExit is
	// that scan's exit code (for a baseline, Rescanned and ScanExit are
	// about the scan of the healthy image).
	Applied     int  `json:"applied"`
	FixExit     int  `json:"fix_exit"`
	FixExitWant int  `json:"fix_exit_want,omitempty"`
	Rescanned   bool `json:"rescanned"`
	Gone        bool `json:"gone"`
	ScanExit    int  `json:"scan_exit"`
	// Undo is "identical" when undo gave back the broken files exactly,
	// else what differs.
	Undo    string   `json:"undo,omitempty"`
	Notes   []string `json:"notes,omitempty"`
	Seconds float64  `json:"seconds"`
	// BootCPU is the processor time the row's boots took (qemu's user
	// and system time): what the row costs on an idle machine.
	BootCPU float64 `json:"boot_cpu_seconds"`
}

func (r *Row) booted(res *boot.Result) {
	if res != nil {
		r.BootCPU += res.CPUSeconds
	}
}

// judgeRepaired records the repaired boot and fails the row unless it is
// healthy with every login and meets the scenario's own test of it; the
// scenario rows and the runbook rows judge it alike.
func (r *Row) judgeRepaired(res *boot.Result, sc *Scenario, base *images.DebianImage) {
	r.Repaired = res
	r.booted(res)
	if ok, why := healthy.Met(res); !ok {
		r.fail("repaired boot: %s", why)
	} else if sc.Repaired != nil {
		if why := sc.Repaired(res); why != "" {
			r.fail("repaired boot: %s", why)
		}
	} else if sc.RepairedCheck != nil {
		if why := sc.RepairedCheck(res, base); why != "" {
			r.fail("repaired boot: %s", why)
		}
	}
}

// countApplied counts the fixes a fix report applied, and notes each
// one it did not apply, with why.
func (r *Row) countApplied(fix *fixReport) {
	if fix.Result == nil {
		return
	}
	for _, it := range fix.Result.Items {
		if it.Status == "applied" {
			r.Applied++
		} else {
			r.note("fix %s %s: %s", it.Finding, it.Status, it.Reason)
		}
	}
}

func (r *Row) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (r *Row) fail(format string, args ...any) {
	if r.Status != "ERROR" {
		r.Status = "FAIL"
	}
	r.note(format, args...)
}

// failAll fails the row for each reason; it says whether there was any.
func (r *Row) failAll(why []string) bool {
	for _, w := range why {
		r.fail("%s", w)
	}
	return len(why) > 0
}

// Suite runs scenarios against one base image.
type Suite struct {
	Env  *Env
	Base *images.DebianImage
	// diskTargets says whether rescue opens image files itself (else the
	// root is loop-mounted and given as a directory).
	diskTargets bool
	bootSem     chan struct{}
}

// NewSuite prepares a suite: it checks how rescue takes an image.
func NewSuite(ctx context.Context, env *Env, base *images.DebianImage) (*Suite, error) {
	if env.Parallel < 1 {
		env.Parallel = 1
	}
	s := &Suite{Env: env, Base: base, bootSem: make(chan struct{}, env.Parallel)}
	// rescue scan on an image file works once disk support is built in;
	// until then it says the target is not a directory.
	unlock, err := lockMounts(ctx, env.CacheDir, base.RootUUID)
	if err != nil {
		return nil, err
	}
	out, _ := exec.CommandContext(ctx, env.Rescue, "scan", "--json", base.Path).CombinedOutput()
	unlock()
	s.diskTargets = !bytes.Contains(out, []byte("not a directory"))
	if !s.diskTargets {
		env.logf("rescue does not open image files yet: loop-mounting the root and passing --devices")
	}
	return s, nil
}

// fixReport is the part of `rescue fix --json` (and scan --json) the
// suite reads.
type fixReport struct {
	Findings []struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
		Path     string `json:"path"`
		Message  string `json:"message"`
		Fixes    []any  `json:"fixes"`
	} `json:"findings"`
	Plan *struct {
		Items []struct {
			Finding string `json:"finding"`
			Fix     struct {
				Ops []struct {
					Kind    string   `json:"kind"`
					Path    string   `json:"path"`
					Touches []string `json:"touches"`
				} `json:"ops"`
			} `json:"fix"`
		} `json:"items"`
	} `json:"plan"`
	Result *struct {
		ID    string `json:"id"`
		Items []struct {
			Finding string `json:"finding"`
			Status  string `json:"status"`
			Reason  string `json:"reason"`
		} `json:"items"`
		Warnings []string `json:"warnings"`
	} `json:"result"`
	Remaining []struct {
		ID string `json:"id"`
	} `json:"remaining"`
	Error    string `json:"error"`
	ExitCode int    `json:"exit_code"`
}

// touched lists the target paths a repair plan writes.
func (r *fixReport) touched() []string {
	var ps []string
	if r.Plan == nil {
		return nil
	}
	for _, it := range r.Plan.Items {
		for _, op := range it.Fix.Ops {
			if op.Path != "" {
				ps = append(ps, op.Path)
			}
			ps = append(ps, op.Touches...)
		}
	}
	return ps
}

func (r *fixReport) ids() []string {
	var ids []string
	for _, f := range r.Findings {
		ids = append(ids, f.ID)
	}
	return ids
}

// harnessError is a failure of the harness itself (a mount, a copy), as
// opposed to something rescue did: the row is ERROR, not FAIL.
type harnessError struct{ err error }

func (e *harnessError) Error() string { return e.err.Error() }

// rescueOn runs rescue COMMAND on an image: on the image file itself when
// rescue opens images, else on its loop-mounted root with the image's
// devices. It returns rescue's output and exit code; an error when rescue
// could not run or failed (exit 8 or more), a *harnessError when the
// harness could not mount the image.
func (s *Suite) rescueOn(ctx context.Context, img *images.DebianImage, imgPath, work string, args ...string) ([]byte, int, error) {
	unlock, err := lockMounts(ctx, s.Env.CacheDir, img.RootUUID)
	if err != nil {
		return nil, 0, &harnessError{err}
	}
	defer unlock()
	cmdArgs := append([]string{}, args...)
	if s.diskTargets {
		cmdArgs = append(cmdArgs, imgPath)
		return runRescue(ctx, s.Env.Rescue, cmdArgs)
	}
	dir, umount, err := mountRoot(ctx, img, imgPath, work)
	if err != nil {
		return nil, 0, &harnessError{err}
	}
	devs := filepath.Join(work, "devices.blkid")
	if err := os.WriteFile(devs, []byte(img.Blkid), 0o644); err != nil {
		umount()
		return nil, 0, &harnessError{err}
	}
	cmdArgs = append(cmdArgs, "--devices", devs, "--root-device", img.RootDevice, dir)
	out, code, err := runRescue(ctx, s.Env.Rescue, cmdArgs)
	if uerr := umount(); uerr != nil && err == nil {
		err = &harnessError{uerr}
	}
	return out, code, err
}

func runRescue(ctx context.Context, bin string, args []string) ([]byte, int, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code, err = ee.ExitCode(), nil
	}
	if err != nil {
		return out, code, fmt.Errorf("rescue %s: %w", strings.Join(args, " "), err)
	}
	if code >= 8 {
		return out, code, fmt.Errorf("rescue %s: exit %d: %s", strings.Join(args, " "), code, lastLine(stderr.String()))
	}
	return out, code, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// rescueJSON runs a rescue command that prints JSON and reads it.
func (s *Suite) rescueJSON(ctx context.Context, img *images.DebianImage, imgPath, work, save string, args ...string) (*fixReport, int, error) {
	out, code, err := s.rescueOn(ctx, img, imgPath, work, args...)
	if save != "" {
		_ = os.WriteFile(save, out, 0o644)
	}
	if err != nil {
		return nil, code, err
	}
	var rep fixReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, code, fmt.Errorf("reading the JSON of rescue %s: %v", args[0], err)
	}
	return &rep, code, nil
}

// scanArgs is the rescue scan command line of the suite.
func (s *Suite) scanArgs() []string {
	return []string{"scan", "--json", "--memory", fmt.Sprintf("%dM", s.memoryMB())}
}

// bootImage boots an image (unchanged: writes go to a throwaway overlay),
// waiting for a slot when Parallel boots are already running. Every boot
// that gets a shell as root logs in as the ordinary user too; with ssh,
// root and that user log in over SSH as well.
func (s *Suite) bootImage(ctx context.Context, img *images.DebianImage, imgPath, log string, ssh bool) (*boot.Result, error) {
	return s.bootImageAs(ctx, img, imgPath, log, ssh, "", "")
}

// bootImageAs is bootImage with root logging in with password ("": the
// base image's) and over SSH with the private key rootKey ("": the base
// image's), as after an action that set a new password or key.
func (s *Suite) bootImageAs(ctx context.Context, img *images.DebianImage, imgPath, log string, ssh bool, password, rootKey string) (*boot.Result, error) {
	return s.bootWith(ctx, img, imgPath, log, ssh, password, rootKey, nil)
}

// quietIdle is how long the broken boot of a QuietConsole row waits on a
// silent console (scaled by patience, like the usual idle limit): after
// GRUB nothing more is expected on it, so there is nothing to wait for
// but the machine's SSH.
const quietIdle = 30 * time.Second

// bootBroken boots the broken image of sc: for a row whose fault silences
// the serial console, the boot ends after quietIdle of silence and then
// tries the SSH logins, which show that the machine runs.
func (s *Suite) bootBroken(ctx context.Context, sc *Scenario, img *images.DebianImage, imgPath, log string) (*boot.Result, error) {
	return s.bootWith(ctx, img, imgPath, log, sc.SSH, "", "", func(o *boot.Options) {
		if sc.QuietConsole {
			o.Idle, o.SSHWhenSilent = quietIdle, true
		}
	})
}

// bootWith is bootImageAs with the options changed by set (nil: none).
func (s *Suite) bootWith(ctx context.Context, img *images.DebianImage, imgPath, log string, ssh bool, password, rootKey string, set func(*boot.Options)) (*boot.Result, error) {
	select {
	case s.bootSem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.bootSem }()
	o := s.Env.Boot
	o.Image, o.Snapshot, o.SerialLog, o.UEFI = imgPath, true, log, img.UEFI
	o.User, o.Password = "root", images.RootPassword
	if password != "" {
		o.Password = password
	}
	o.Logins = []boot.Login{{User: images.LoginUser, Password: images.LoginPassword}}
	if ssh {
		o.SSH, o.SSHKey = []string{"root", images.LoginUser}, img.SSHKey
		if rootKey != "" {
			o.SSHKeys = map[string]string{"root": rootKey}
		}
	}
	if set != nil {
		set(&o)
	}
	return boot.Run(ctx, o)
}

// Baseline boots a healthy base image (the suite's, or another flavor's)
// and scans it: it must log in healthy, with every login, and rescue must
// find nothing on it, or no scenario on it means anything.
func (s *Suite) Baseline(ctx context.Context, img *images.DebianImage) *Row {
	t0 := time.Now()
	name := "baseline-" + string(img.Flavor)
	row := &Row{Scenario: name, Release: s.Env.releaseName(), Kind: "baseline", Fault: "none (the healthy " + string(img.Flavor) + " base image)", Status: "PASS", BrokenWant: "healthy, every login"}
	defer func() { row.Seconds = time.Since(t0).Seconds() }()
	work, err := os.MkdirTemp(s.Env.Work, name+"-")
	if err != nil {
		row.Status = "ERROR"
		row.note("%v", err)
		return row
	}
	defer os.RemoveAll(work)
	rep, code, err := s.rescueJSON(ctx, img, img.Path, work, filepath.Join(s.Env.Out, name, "scan.json"), s.scanArgs()...)
	row.ScanExit = code
	switch {
	case errors.As(err, new(*harnessError)):
		row.Status = "ERROR"
		row.note("%v", err)
	case err != nil:
		row.fail("%v", err)
	default:
		row.Rescanned, row.Findings = true, rep.ids()
		row.failAll(judgeBase(rep, code))
	}
	if s.Env.NoBoot {
		row.note("not booted (E2E_NOBOOT)")
		return row
	}
	res, err := s.bootImage(ctx, img, img.Path, filepath.Join(s.Env.Out, name, "serial.log"), true)
	if err != nil {
		row.Status = "ERROR"
		row.note("%v", err)
	}
	row.Broken = res
	row.booted(res)
	if ok, why := healthy.Met(res); !ok {
		row.fail("the healthy base image: %s", why)
	}
	return row
}

// errorf ends a row early with an error of the harness's own (ERROR).
func (r *Row) errorf(format string, args ...any) *Row {
	r.Status = "ERROR"
	r.note(format, args...)
	return r
}

// rescueFailed ends a row early with an error from running rescue: the
// harness's own (ERROR) or rescue's (FAIL).
func (r *Row) rescueFailed(err error) *Row {
	if errors.As(err, new(*harnessError)) {
		return r.errorf("%v", err)
	}
	r.fail("%v", err)
	return r
}

// Run runs one scenario: copy, break, find, boot broken, fix, rescan,
// boot repaired, undo, compare.
func (s *Suite) Run(ctx context.Context, sc *Scenario) (row *Row) {
	if sc.InHelper != nil {
		return s.runInHelper(ctx, sc)
	}
	t0 := time.Now()
	broken, static := sc.brokenOn(s.Env.release())
	row = &Row{Scenario: sc.Name, Fault: sc.Fault, Release: s.Env.releaseName(), Kind: "symptom", Status: "PASS", BrokenWant: broken.String()}
	if static {
		row.Kind = "no-symptom"
	}
	out := filepath.Join(s.Env.Out, sc.Name)
	defer func() {
		row.Seconds = time.Since(t0).Seconds()
		writeJSON(filepath.Join(out, "row.json"), row)
	}()
	errorf, rescueFailed := row.errorf, row.rescueFailed
	if err := os.MkdirAll(out, 0o755); err != nil {
		return errorf("%v", err)
	}
	work, err := os.MkdirTemp(s.Env.Work, sc.Name+"-")
	if err != nil {
		return errorf("%v", err)
	}
	defer os.RemoveAll(work)
	if err := s.prepareRow(ctx, sc, work); err != nil {
		return errorf("%v", err)
	}

	// The broken image: a sparse copy of the base with the fault in it.
	img := filepath.Join(work, "disk.img")
	if err := copySparse(ctx, s.Base.Path, img); err != nil {
		return errorf("%v", err)
	}
	if err := s.mounted(ctx, img, work, func(dir string) error {
		if sc.Break == nil {
			return nil // an action on a healthy machine
		}
		return sc.Break(dir, s.Base)
	}); err != nil {
		return errorf("injecting the fault: %v", err)
	}
	if sc.BreakDisk != nil {
		if err := sc.BreakDisk(img); err != nil {
			return errorf("injecting the fault into the disk: %v", err)
		}
	}
	// rescue must find the fault: its own finding, on its own path. The
	// dry run also says what the repair will touch, so that the broken
	// content of exactly those files is hashed before anything changes.
	plan, code, err := s.rescueJSON(ctx, s.Base, img, work, filepath.Join(out, "plan.json"), s.fixArgs(sc, false, work)...)
	if err != nil {
		return rescueFailed(err)
	}
	row.Findings = plan.ids()
	// An operator action (sc.Action) repairs no finding: its proof is
	// the action applied, a rescan without findings and the repaired
	// boot that shows what it did (RepairedCheck, Password). An action
	// that answers a finding without being its fix (fix --spill for a
	// full disk, which fsstate reports without a fix) names it: rescue
	// must report it, with a severity the broken boot agrees with, and
	// the rescan after the action must no longer.
	if why, ok := sc.Inert[s.Env.release().Suite]; ok {
		return s.runInert(ctx, sc, row, plan, img, out, why)
	}
	id := ""
	if sc.Action == nil || sc.Finding != "" {
		var why string
		if id, why = findingOf(sc, plan); id == "" {
			row.fail("%s", why)
			return row
		}
		row.Finding = id
		if code != 4 && sc.Action == nil {
			row.fail("rescue fix (the dry run) exited %d with findings, want 4", code)
		}
		row.Severity = faultSeverity(plan, id, sc.Paths)
	}
	if s.Env.NoBoot {
		if ok, why := SeverityAgrees(expectedBoot(broken, static), row.Severity); row.Severity != "" && !ok {
			row.fail("severity against the expected broken boot: %s", why)
		}
		row.note("not booted (E2E_NOBOOT): finding and severity only")
		return row
	}
	touched := map[string]bool{}
	for _, p := range plan.touched() {
		touched[p] = true
	}
	var before manifest
	if err := s.mounted(ctx, img, work, func(dir string) (err error) {
		before, err = takeManifest(dir, touched)
		return err
	}); err != nil {
		return errorf("recording the broken state: %v", err)
	}
	diskBefore, err := diskHash(img, sc.DiskBytes)
	if err != nil {
		return errorf("recording the broken disk: %v", err)
	}

	// The broken boot: the symptom, or for a fault without one, the
	// claim that every login works.
	res, err := s.bootBroken(ctx, sc, s.Base, img, filepath.Join(out, "broken-serial.log"))
	if err != nil {
		return errorf("booting the broken image: %v", err)
	}
	row.Broken = res
	row.booted(res)
	if ok, why := broken.Met(res); !ok {
		row.fail("broken boot: %s", why)
	}
	// What rescue says the fault breaks must be what this boot showed.
	if ok, why := SeverityAgrees(res, row.Severity); row.Severity != "" && !ok {
		row.fail("severity on %s: %s", s.Env.releaseName(), why)
	}

	// The repair: the finding's own fix applied, the exit code wanted,
	// and a rescan in which the finding is gone.
	row.FixExitWant = sc.fixExit()
	fix, code, err := s.rescueJSON(ctx, s.Base, img, work, filepath.Join(out, "fix.json"), s.fixArgs(sc, true, work)...)
	row.FixExit = code
	if err != nil {
		return rescueFailed(err)
	}
	row.countApplied(fix)
	judged := judgeFix(id, fix, code, row.FixExitWant)
	if sc.Action != nil {
		judged = judgeAction(fix, code, row.FixExitWant, row.Applied)
	}
	if row.failAll(judged) && row.Applied == 0 {
		return row
	}
	after, code, err := s.rescueJSON(ctx, s.Base, img, work, filepath.Join(out, "rescan.json"), s.scanArgs()...)
	row.ScanExit = code
	if err != nil {
		return rescueFailed(err)
	}
	row.Rescanned, row.Gone = true, !has(after, id)
	row.failAll(judgeRescan(id, after, code, sc.scanExit()))
	if sc.DiskBytes > 0 {
		if h, err := diskHash(img, sc.DiskBytes); err != nil {
			return errorf("reading the repaired disk: %v", err)
		} else if h == diskBefore {
			row.fail("the repair left the first %d bytes of the disk as they were broken", sc.DiskBytes)
		}
	}

	// The repaired image must boot healthy, every login answering (root
	// with the password an action set, if it set one).
	rootKey := ""
	if sc.NewSSHKey {
		rootKey = filepath.Join(work, "newkey")
	}
	res, err = s.bootImageAs(ctx, s.Base, img, filepath.Join(out, "repaired-serial.log"), sc.SSH, sc.Password, rootKey)
	if err != nil {
		return errorf("booting the repaired image: %v", err)
	}
	row.judgeRepaired(res, sc, s.Base)

	// Undo must give back the broken files exactly.
	for _, p := range fix.touched() {
		if !touched[p] {
			row.note("the repair touched %s, which the dry run did not plan", p)
			touched[p] = true
		}
	}
	uout, _, err := s.rescueOn(ctx, s.Base, img, work, append([]string{"undo"}, expandArgs(sc.UndoArgs, work)...)...)
	_ = os.WriteFile(filepath.Join(out, "undo.txt"), uout, 0o644)
	if err != nil {
		return rescueFailed(fmt.Errorf("rescue undo: %w", err))
	}
	var undone manifest
	if err := s.mounted(ctx, img, work, func(dir string) (err error) {
		undone, err = takeManifest(dir, touched)
		return err
	}); err != nil {
		return errorf("recording the state after undo: %v", err)
	}
	if h, err := diskHash(img, sc.DiskBytes); err != nil {
		return errorf("reading the disk after undo: %v", err)
	} else if h != diskBefore {
		row.fail("undo left the first %d bytes of the disk different from the broken ones", sc.DiskBytes)
		return row
	}
	if d := diffManifests(before, undone); len(d) > 0 {
		if len(d) > 8 {
			d = append(d[:8], fmt.Sprintf("… %d more", len(d)-8))
		}
		row.Undo = strings.Join(d, "; ")
		row.fail("undo left differences: %s", row.Undo)
		return row
	}
	row.Undo = "identical"
	return row
}

// runInert finishes the row of a fault that is inert on the release: no
// finding of the scenario's on its paths (a finding would say something
// breaks that does not), and a broken boot that is healthy with every
// login, which is the claim the row measures on that release.
func (s *Suite) runInert(ctx context.Context, sc *Scenario, row *Row, plan *fixReport, img, out, why string) *Row {
	row.Kind = "inert"
	want := noSymptom("inert on "+s.Env.releaseName()+": "+why, nil)
	row.BrokenWant = want.String() + " (inert: " + why + ")"
	if id, _ := findingOf(sc, plan); id != "" {
		row.Finding = id
		row.fail("rescue reports %s, but on %s the fault is inert: %s", id, s.Env.releaseName(), why)
	}
	if s.Env.NoBoot {
		row.note("not booted (E2E_NOBOOT): findings only")
		return row
	}
	res, err := s.bootBroken(ctx, sc, s.Base, img, filepath.Join(out, "broken-serial.log"))
	if err != nil {
		return row.errorf("booting the broken image: %v", err)
	}
	row.Broken = res
	row.booted(res)
	if ok, why := want.Met(res); !ok {
		row.fail("broken boot: %s", why)
	}
	return row
}

// prepareRow makes what the row's command lines name besides the image:
// the new key pair of a NewSSHKey row, the spill directory on the helper.
func (s *Suite) prepareRow(ctx context.Context, sc *Scenario, work string) error {
	if sc.NewSSHKey {
		key := filepath.Join(work, "newkey")
		out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rescue-e2e-new-key", "-f", key).CombinedOutput()
		if err != nil {
			return fmt.Errorf("making the new key: %v: %s", err, out)
		}
	}
	if strings.Contains(strings.Join(append(append([]string{}, sc.Action...), sc.UndoArgs...), " "), spillTag) {
		return os.Mkdir(filepath.Join(work, "spill"), 0o700)
	}
	return nil
}

// mounted runs f on the mounted root of a copy of the base image.
func (s *Suite) mounted(ctx context.Context, img, work string, f func(dir string) error) error {
	return s.mountedOn(ctx, s.Base, img, work, f)
}

// mountedOn runs f on the mounted root of a copy of the base image base
// (another flavor's, for a runbook row), under the lock on mounting its
// clones.
func (s *Suite) mountedOn(ctx context.Context, base *images.DebianImage, img, work string, f func(dir string) error) error {
	unlock, err := lockMounts(ctx, s.Env.CacheDir, base.RootUUID)
	if err != nil {
		return err
	}
	defer unlock()
	dir, umount, err := mountRoot(ctx, base, img, work)
	if err != nil {
		return err
	}
	err = f(dir)
	if uerr := umount(); err == nil {
		err = uerr
	}
	return err
}

// fixArgs is the rescue fix command line of a scenario: the machine's
// memory, the root's packages for restoring files, and the scenario's own
// flags.
func (s *Suite) fixArgs(sc *Scenario, apply bool, work string) []string {
	if sc.Action != nil {
		args := append(expandArgs(sc.Action, work), "--json")
		if apply {
			args = append(args, "--apply")
		}
		return args
	}
	args := []string{"fix", "--json", "--memory", fmt.Sprintf("%dM", s.memoryMB()), "--packages", s.Base.Debs}
	if sc.Mirror {
		args = append(args[:len(args)-2], s.mirrorArgs(sc)...)
	}
	if apply {
		args = append(args, "--apply")
	}
	return append(args, sc.FixArgs...)
}

func (s *Suite) memoryMB() int {
	if s.Env.Boot.MemoryMB > 0 {
		return s.Env.Boot.MemoryMB
	}
	return 1024
}

func writeJSON(path string, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err == nil {
		_ = os.WriteFile(path, append(data, '\n'), 0o644)
	}
}

// RunAll runs the scenarios, Parallel at a time, and returns their rows in
// the order given.
func (s *Suite) RunAll(ctx context.Context, list []*Scenario, done func(*Row)) []*Row {
	rows := make([]*Row, len(list))
	sem := make(chan struct{}, s.Env.Parallel)
	var wg sync.WaitGroup
	for i, sc := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rows[i] = s.Run(ctx, sc)
			if done != nil {
				done(rows[i])
			}
		}()
	}
	wg.Wait()
	return rows
}
