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
	"sort"
	"strings"
	"sync"
	"time"

	"rescue/images"
	"rescue/images/boot"
)

// Env is where and how the scenarios run.
type Env struct {
	// Rescue is the rescue binary under test, built from this tree.
	Rescue string
	// CacheDir keeps the Debian root and the base image between runs.
	CacheDir string
	// Out receives the artifacts: serial logs, fix reports, the table.
	Out string
	// Work holds the scenario copies (same filesystem as Out is best).
	Work string
	// Parallel is how many scenarios (and so boots) run at once.
	Parallel int
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
// changes in a way that must rebuild cached base images.
const baseVersion = "2"

// Base returns the base image of a flavor (cached under CacheDir by the
// root's key), building the root and the image when missing.
func (e *Env) Base(ctx context.Context, flavor images.Flavor) (*images.DebianImage, error) {
	t0 := time.Now()
	root, err := images.BuildBootRoot(ctx, e.CacheDir)
	if err != nil {
		return nil, err
	}
	e.logf("debian root %s ready in %s", root.Key, time.Since(t0).Round(time.Second))
	name := filepath.Join(e.CacheDir, fmt.Sprintf("base-%s-%s-v%s", root.Key, flavor, baseVersion))
	meta := name + ".json"
	if data, err := os.ReadFile(meta); err == nil {
		var img images.DebianImage
		if err := json.Unmarshal(data, &img); err == nil {
			if _, err := os.Stat(img.Path); err == nil {
				img.Debs = root.Debs
				return &img, nil
			}
		}
	}
	t1 := time.Now()
	img, err := images.BuildDebian(ctx, images.DebianOptions{Root: root, Flavor: flavor, Out: name + ".img.tmp", WorkDir: e.CacheDir})
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
	// Status: PASS, FAIL, NO_CHECK (rescue finds nothing yet), or
	// ERROR (the scenario itself could not run).
	Status string `json:"status"`
	// Broken and Repaired are the boot outcomes ("" when not booted);
	// BrokenWant is the expected broken outcome.
	Broken     *boot.Result `json:"broken,omitempty"`
	BrokenWant string       `json:"broken_want"`
	Repaired   *boot.Result `json:"repaired,omitempty"`
	// Findings are the IDs of what rescue found that the base image does
	// not have; Applied counts the fixes applied; FixExit is rescue
	// fix's exit code.
	Findings []string `json:"findings"`
	Applied  int      `json:"applied"`
	FixExit  int      `json:"fix_exit"`
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

func (r *Row) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (r *Row) fail(format string, args ...any) {
	r.Status = "FAIL"
	r.note(format, args...)
}

// Suite runs scenarios against one base image.
type Suite struct {
	Env  *Env
	Base *images.DebianImage
	// BaseFindings are the finding IDs rescue reports on the healthy
	// base image; they are left out of each scenario's findings.
	BaseFindings map[string]bool
	// diskTargets says whether rescue opens image files itself (else the
	// root is loop-mounted and given as a directory).
	diskTargets bool
	bootSem     chan struct{}
	// diskMu serializes what mounts a scenario's image (fault injection,
	// rescue, manifests): every copy carries the base's filesystem UUID,
	// and rescue rightly reports a filesystem whose UUID is mounted on the
	// helper already (a clone of the helper's disk). Only the boots, which
	// mount nothing on the host, run side by side.
	diskMu sync.Mutex
}

// NewSuite prepares a suite: it checks how rescue takes an image and what
// it reports on the healthy base.
func NewSuite(ctx context.Context, env *Env, base *images.DebianImage) (*Suite, error) {
	if env.Parallel < 1 {
		env.Parallel = 1
	}
	s := &Suite{Env: env, Base: base, BaseFindings: map[string]bool{}, bootSem: make(chan struct{}, env.Parallel)}
	// rescue scan on an image file works once disk support is built in;
	// until then it says the target is not a directory.
	out, err := exec.CommandContext(ctx, env.Rescue, "scan", "--json", base.Path).CombinedOutput()
	s.diskTargets = !bytes.Contains(out, []byte("not a directory"))
	_ = err
	if !s.diskTargets {
		env.logf("rescue does not open image files yet: loop-mounting the root and passing --devices")
	}
	rep, err := s.scan(ctx, base.Path)
	if err != nil {
		return nil, fmt.Errorf("scanning the base image: %w", err)
	}
	for _, f := range rep.Findings {
		s.BaseFindings[f.ID] = true
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

// rescueOn runs rescue COMMAND on an image: on the image file itself when
// rescue opens images, else on its loop-mounted root with the image's
// devices.
func (s *Suite) rescueOn(ctx context.Context, imgPath, work string, args ...string) ([]byte, int, error) {
	s.diskMu.Lock()
	defer s.diskMu.Unlock()
	cmdArgs := append([]string{}, args...)
	if s.diskTargets {
		cmdArgs = append(cmdArgs, imgPath)
		return runRescue(ctx, s.Env.Rescue, cmdArgs)
	}
	dir, umount, err := mountRoot(ctx, s.Base, imgPath, work)
	if err != nil {
		return nil, 0, err
	}
	devs := filepath.Join(work, "devices.blkid")
	if err := os.WriteFile(devs, []byte(s.Base.Blkid), 0o644); err != nil {
		umount()
		return nil, 0, err
	}
	cmdArgs = append(cmdArgs, "--devices", devs, "--root-device", s.Base.RootDevice, dir)
	out, code, err := runRescue(ctx, s.Env.Rescue, cmdArgs)
	if uerr := umount(); uerr != nil && err == nil {
		err = uerr
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

func (s *Suite) scan(ctx context.Context, imgPath string) (*fixReport, error) {
	work, err := os.MkdirTemp(s.Env.Work, "scan-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	out, _, err := s.rescueOn(ctx, imgPath, work, "scan", "--json")
	if err != nil {
		return nil, err
	}
	var rep fixReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, fmt.Errorf("reading rescue scan --json: %w", err)
	}
	return &rep, nil
}

// bootImage boots an image (unchanged: writes go to a throwaway overlay),
// waiting for a slot when Parallel boots are already running.
func (s *Suite) bootImage(ctx context.Context, img *images.DebianImage, imgPath, log string, timeout time.Duration) (*boot.Result, error) {
	select {
	case s.bootSem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.bootSem }()
	o := s.Env.Boot
	o.Image, o.Snapshot, o.SerialLog, o.UEFI = imgPath, true, log, img.UEFI
	if timeout > 0 {
		o.Timeout = timeout
	}
	return boot.Run(ctx, o)
}

// Baseline boots a healthy base image (the suite's, or another flavor's):
// it must log in healthy, or no scenario on it means anything.
func (s *Suite) Baseline(ctx context.Context, img *images.DebianImage) *Row {
	t0 := time.Now()
	name := "baseline-" + string(img.Flavor)
	row := &Row{Scenario: name, Fault: "none (the healthy " + string(img.Flavor) + " base image)", Status: "PASS", BrokenWant: string(boot.LoggedIn)}
	res, err := s.bootImage(ctx, img, img.Path, filepath.Join(s.Env.Out, name, "serial.log"), 0)
	if err != nil {
		row.Status = "ERROR"
		row.note("%v", err)
	}
	row.Broken = res
	row.booted(res)
	if ok, why := Repaired().Met(res); !ok {
		row.fail("the healthy base image: %s", why)
	}
	if img == s.Base {
		for id := range s.BaseFindings {
			row.Findings = append(row.Findings, id)
		}
		sort.Strings(row.Findings)
	}
	row.Seconds = time.Since(t0).Seconds()
	return row
}

// Run runs one scenario: copy, break, boot broken, fix, boot repaired,
// undo, compare.
func (s *Suite) Run(ctx context.Context, sc *Scenario) (row *Row) {
	t0 := time.Now()
	row = &Row{Scenario: sc.Name, Fault: sc.Fault, Status: "PASS", BrokenWant: string(sc.Broken.Class)}
	if sc.Static {
		row.BrokenWant = "(static) " + row.BrokenWant
	}
	out := filepath.Join(s.Env.Out, sc.Name)
	defer func() {
		row.Seconds = time.Since(t0).Seconds()
		writeJSON(filepath.Join(out, "row.json"), row)
	}()
	if err := os.MkdirAll(out, 0o755); err != nil {
		row.Status = "ERROR"
		row.note("%v", err)
		return row
	}
	work, err := os.MkdirTemp(s.Env.Work, sc.Name+"-")
	if err != nil {
		row.Status = "ERROR"
		row.note("%v", err)
		return row
	}
	defer os.RemoveAll(work)
	errorf := func(format string, args ...any) *Row {
		row.Status = "ERROR"
		row.note(format, args...)
		return row
	}

	// The broken image: a sparse copy of the base with the fault in it.
	img := filepath.Join(work, "disk.img")
	if err := copySparse(ctx, s.Base.Path, img); err != nil {
		return errorf("%v", err)
	}
	if err := s.mounted(ctx, img, work, func(dir string) error { return sc.Break(dir, s.Base) }); err != nil {
		return errorf("injecting the fault: %v", err)
	}
	// What the repair will touch, from a dry run, so that the broken
	// content of exactly those files is hashed before anything changes.
	dry, _, err := s.rescueOn(ctx, img, work, s.fixArgs(sc, false)...)
	if err != nil {
		return errorf("%v", err)
	}
	var plan fixReport
	if err := json.Unmarshal(dry, &plan); err != nil {
		return errorf("reading rescue fix --json: %v", err)
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

	if !sc.Static {
		res, err := s.bootImage(ctx, s.Base, img, filepath.Join(out, "broken-serial.log"), 0)
		if err != nil {
			return errorf("booting the broken image: %v", err)
		}
		row.Broken = res
		row.booted(res)
		if ok, why := sc.Broken.Met(res); !ok {
			row.fail("broken boot: %s", why)
		}
	}

	// The repair.
	data, code, err := s.rescueOn(ctx, img, work, s.fixArgs(sc, true)...)
	_ = os.WriteFile(filepath.Join(out, "fix.json"), data, 0o644)
	row.FixExit = code
	if err != nil {
		return errorf("%v", err)
	}
	var rep fixReport
	if err := json.Unmarshal(data, &rep); err != nil {
		return errorf("reading rescue fix --json: %v", err)
	}
	onFault := false
	for _, f := range rep.Findings {
		if s.BaseFindings[f.ID] {
			continue
		}
		row.Findings = append(row.Findings, f.ID)
		for _, p := range sc.Paths {
			if f.Path == p || strings.HasPrefix(f.Path, strings.TrimSuffix(p, "/")+"/") {
				onFault = true
			}
		}
	}
	if rep.Result != nil {
		for _, it := range rep.Result.Items {
			if it.Status == "applied" {
				row.Applied++
			} else {
				row.note("fix %s %s: %s", it.Finding, it.Status, it.Reason)
			}
		}
	}
	if len(row.Findings) == 0 {
		if row.Status == "PASS" {
			row.Status = "NO_CHECK"
		}
		row.note("no check yet: rescue reports nothing on %s", strings.Join(sc.Paths, " or "))
		return row
	}
	if !onFault {
		row.note("rescue reports nothing on %s itself", strings.Join(sc.Paths, " or "))
	}
	if rep.Error != "" {
		row.fail("rescue fix: %s", rep.Error)
	}
	if row.Applied == 0 {
		row.fail("rescue found the fault but applied no fix")
		return row
	}

	// The repaired image must boot healthy.
	res, err := s.bootImage(ctx, s.Base, img, filepath.Join(out, "repaired-serial.log"), 0)
	if err != nil {
		return errorf("booting the repaired image: %v", err)
	}
	row.Repaired = res
	row.booted(res)
	if ok, why := Repaired().Met(res); !ok {
		row.fail("repaired boot: %s", why)
	}

	// Undo must give back the broken files exactly.
	for _, p := range rep.touched() {
		if !touched[p] {
			row.note("the repair touched %s, which the dry run did not plan", p)
			touched[p] = true
		}
	}
	uout, _, err := s.rescueOn(ctx, img, work, "undo")
	_ = os.WriteFile(filepath.Join(out, "undo.txt"), uout, 0o644)
	if err != nil {
		row.fail("rescue undo: %v", err)
		return row
	}
	var after manifest
	if err := s.mounted(ctx, img, work, func(dir string) (err error) {
		after, err = takeManifest(dir, touched)
		return err
	}); err != nil {
		return errorf("recording the state after undo: %v", err)
	}
	if d := diffManifests(before, after); len(d) > 0 {
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

// mounted runs f on the mounted root of an image.
func (s *Suite) mounted(ctx context.Context, img, work string, f func(dir string) error) error {
	s.diskMu.Lock()
	defer s.diskMu.Unlock()
	dir, umount, err := mountRoot(ctx, s.Base, img, work)
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
func (s *Suite) fixArgs(sc *Scenario, apply bool) []string {
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
