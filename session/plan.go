package session

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"rescue/actions/bootkernel"
	reinstall "rescue/actions/bootloader"
	"rescue/actions/console"
	"rescue/actions/spill"
	"rescue/checks"
	"rescue/evidence"
	"rescue/facts"
	"rescue/pkgrepo"
	"rescue/repair"
	"rescue/report"
)

// ScanReport is the scan's report: findings, the facts it names, and the
// last boot with each decisive line linked to the findings that explain it.
func (t *Target) ScanReport(tool report.Tool, f *facts.Facts, res *checks.Result, lb *evidence.Report) *report.Report {
	r := report.New(tool, t.Info, f.OS(), t.Devices, res)
	evidence.Link(lb.Boots, res.Findings)
	r.LastBoot = lb
	return r
}

// Repair is a planned repair of an opened target: what the scan found (nil
// for an operator action), the plan, and the report that describes it.
type Repair struct {
	Target  *Target
	Facts   *facts.Facts
	Scan    *checks.Result
	Plan    *repair.Plan
	Actions []report.Action
	Report  *report.FixReport
	// rescan is how the target is scanned again after the repair.
	rescan ScanOptions
}

// ActionOptions are the operator actions fix can add to a repair
// (--boot-kernel, --boot-previous-kernel, --serial-console, --spill).
type ActionOptions struct {
	BootKernel    string
	BootPrevious  bool
	SerialConsole string
	Spill         string
	// ReinstallBootloader reinstalls GRUB on the target's disk
	// (--reinstall-bootloader); AllowChroot says whether it may run.
	ReinstallBootloader bool
	AllowChroot         bool
}

// FixOptions say what a fix plans.
type FixOptions struct {
	Tool report.Tool
	// Checks are the checks whose findings are fixed (--only).
	Checks []*checks.Check
	// Choose picks a finding's fix by its 0-based index (-1: none).
	Choose map[string]int
	// Memory is the instance's RAM (--memory), 0 when not given.
	Memory int64
	// Repos are where restores get packages (--mirror, --cache,
	// --offline); PlanFix sets the mode.
	Repos   pkgrepo.Options
	Actions ActionOptions
	// Apply says the plan is for applying (restores download their
	// packages), not a dry run (restores only resolve them).
	Apply    bool
	Progress func() (show func(format string, args ...any), done func())
}

// PlanFix scans the target and plans the repair of what it found: the
// chosen fix of each finding, the operator actions asked for, and the
// plan's policies.
func (t *Target) PlanFix(ctx context.Context, o FixOptions) (*Repair, error) {
	if err := pkgrepo.CheckCache(t.Root, o.Repos.CacheDir); err != nil {
		return nil, &UsageError{err}
	}
	// A dry run resolves where packages would come from (repository
	// metadata only); --apply downloads them.
	repos := o.Repos
	repos.Mode = pkgrepo.Resolve
	if o.Apply {
		repos.Mode = pkgrepo.Download
	}
	// The machine's facts from its last boot, so that fix judges what
	// scan judged.
	_, machine, err := t.LastBoot("")
	if err != nil {
		return nil, err
	}
	so := ScanOptions{Memory: o.Memory, Machine: machine, Repos: &repos, Progress: o.Progress}
	res, f := t.Scan(ctx, o.Checks, so)
	if res.Failed() {
		for _, c := range res.Checks {
			if c.Error != "" {
				t.log.Error("check could not run", "check", c.Name, "error", firstLine(c.Error))
			}
		}
	}
	cands, err := checks.Candidates(res.Findings, o.Choose)
	if err != nil {
		return nil, &UsageError{err}
	}
	acts, err := t.actions(f, o.Actions, &cands)
	if err != nil {
		return nil, err
	}
	plan := t.Plan(f, cands)
	return &Repair{Target: t, Facts: f, Scan: res, Plan: plan, Actions: acts, rescan: so,
		Report: &report.FixReport{Schema: report.FixSchema, Tool: o.Tool, Target: t.Info, OS: f.OS(),
			DryRun: !o.Apply, Findings: res.Findings, Actions: acts, Plan: plan}}, nil
}

// ActionPlanner plans an operator action on an opened target: the plan's
// candidates and the action's account of them.
type ActionPlanner func(t *Target, f *facts.Facts) ([]repair.Candidate, []report.Action, error)

// PlanAction plans an operator action (reset-access) as a repair: the
// same plan, policies, diff, journal and undo as fix, without a scan.
func (t *Target) PlanAction(tool report.Tool, apply bool, plan ActionPlanner) (*Repair, error) {
	f := facts.New(t.Root, facts.Options{Devices: t.Devices, Filesystems: t.Filesystems, Disk: t.Disk})
	cands, acts, err := plan(t, f)
	if err != nil {
		return nil, err
	}
	p := t.Plan(f, cands)
	return &Repair{Target: t, Facts: f, Plan: p, Actions: acts,
		Report: &report.FixReport{Schema: report.FixSchema, Tool: tool, Target: t.Info, OS: f.OS(),
			DryRun: !apply, Actions: acts, Plan: p}}, nil
}

// Plan orders the candidates into a plan (repair.NewPlan, reading line
// edits' bases from the target through the planning cache EditFile
// filled, so a file is not read again to build its new content) with the
// policies of a whole repair.
func (t *Target) Plan(f *facts.Facts, cands []repair.Candidate) *repair.Plan {
	return repair.NewPlan(cands, func(p string) ([]byte, error) { return repair.ReadContent(t.Root, p, 1<<30) },
		t.relabelPolicy(f))
}

// relabelPolicy schedules an SELinux relabel when the target runs SELinux
// and the plan creates files: a new file has no security.selinux label,
// and an unlabelled file under enforcing SELinux is unreadable to confined
// services. Replaced files keep their labels (the writer copies xattrs).
// It is a planner policy so that the planner's overlap handling sees its
// op: a fix that schedules the relabel itself (the selinux check's) is
// merged with it rather than written twice.
func (t *Target) relabelPolicy(f *facts.Facts) repair.Policy {
	return func(ops []repair.Op) []repair.Candidate {
		mode := f.SELinuxMode()
		if mode != "enforcing" && mode != "permissive" {
			return nil
		}
		creates := false
		for _, op := range ops {
			if _, labelled := op.Xattrs["security.selinux"]; labelled {
				continue // restored from a package with the policy's label
			}
			if op.Expect.Type == repair.Absent && (op.Kind == repair.KindWrite || op.Kind == repair.KindSymlink || op.Kind == repair.KindMkdir || op.Kind == repair.KindMknod) && op.Path != "/.autorelabel" {
				creates = true
			}
		}
		if !creates || t.Root.Exists("/.autorelabel") {
			return nil
		}
		op, err := repair.CreateFile(t.Root, "/.autorelabel", nil, 0o644, 0, 0)
		if err != nil {
			return nil
		}
		return []repair.Candidate{{
			Finding: "selinux/relabel", Stage: repair.StageOther,
			Fix: repair.Fix{Message: "Schedule an SELinux relabel at next boot (/.autorelabel) for the files this repair creates", Ops: []repair.Op{op}},
		}}
	}
}

// actions plans the operator actions fix was asked for and adds them to
// the candidates, after the fixes of findings: a finding's fix of the same
// file is planned first, and the action is skipped with "run rescue fix
// again" when they overlap.
func (t *Target) actions(f *facts.Facts, o ActionOptions, cands *[]repair.Candidate) ([]report.Action, error) {
	var acts []report.Action
	if o.BootKernel != "" && o.BootPrevious {
		return nil, Usagef("give --boot-kernel VERSION or --boot-previous-kernel, not both")
	}
	if o.BootKernel != "" || o.BootPrevious {
		l, err := f.Boot()
		if err != nil {
			return nil, err
		}
		r, err := bootkernel.Plan(t.Root, l, bootkernel.Options{Version: o.BootKernel, Previous: o.BootPrevious})
		if err != nil {
			return nil, err
		}
		*cands = append(*cands, repair.Candidate{Finding: bootkernel.Finding, Stage: repair.StageBoot, Fix: r.Fix})
		acts = append(acts, report.Action{Name: "boot-kernel", Changes: r.Changes, Notes: r.Notes})
	}
	if o.Spill != "" {
		if err := t.spillOutside(o.Spill); err != nil {
			return nil, err
		}
		r, err := spill.Plan(t.Root, t.Filesystems)
		if err != nil {
			return nil, err
		}
		if len(r.Files) > 0 {
			// First: the room it makes is what the other fixes may need.
			*cands = append(*cands, repair.Candidate{Finding: spill.Finding, Stage: repair.StageBoot, Fix: r.Fix})
		}
		r.Notes = append(r.Notes, "undo with: rescue undo TARGET --journal-dir "+o.Spill)
		acts = append(acts, report.Action{Name: "spill", Changes: r.Changes, Notes: r.Notes})
	}
	if o.ReinstallBootloader {
		act, err := t.reinstallBootloader(f, o, cands)
		if err != nil {
			return nil, err
		}
		acts = append(acts, act)
	}
	if o.SerialConsole != "" {
		r, err := console.Plan(t.Root, console.Options{Port: o.SerialConsole})
		if err != nil {
			return nil, Usagef("--serial-console: %v", err)
		}
		*cands = append(*cands, repair.Candidate{Finding: console.Finding, Stage: repair.StageOther, Fix: r.Fix})
		acts = append(acts, report.Action{Name: "serial-console", Changes: r.Changes, Notes: r.Notes})
	}
	return acts, nil
}

// spillOutside refuses a spill directory on the target itself: inside its
// tree, or on one of the filesystems the spill would move files from
// (moving them there frees nothing).
func (t *Target) spillOutside(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Usagef("--spill %s: %v", dir, err)
	}
	top := filepath.Clean(t.Root.HostPath())
	if abs == top || strings.HasPrefix(abs+"/", top+"/") {
		return Usagef("--spill %s is inside the target (%s): give a directory on the helper", dir, top)
	}
	probe := abs
	for {
		if _, err := os.Stat(probe); err == nil || probe == "/" {
			break
		}
		probe = filepath.Dir(probe)
	}
	var st unix.Stat_t
	if err := unix.Stat(probe, &st); err != nil {
		return Usagef("--spill %s: %v", dir, err)
	}
	for _, p := range []string{"/", "/var", "/var/log", "/var/cache", "/var/lib/systemd/coredump", "/var/crash"} {
		fi, err := t.Root.Stat(p)
		if err != nil {
			continue
		}
		if s, ok := fi.Sys().(*syscall.Stat_t); ok && uint64(s.Dev) == uint64(st.Dev) {
			return Usagef("--spill %s is on the same filesystem as the target's %s: moving files there frees nothing; give a directory on another disk of the helper", dir, p)
		}
	}
	return nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// reinstallBootloader plans --reinstall-bootloader. When the scan found
// the boot loader broken, the finding's own fix is that reinstall: it is
// planned once, as the finding's.
func (t *Target) reinstallBootloader(f *facts.Facts, o ActionOptions, cands *[]repair.Candidate) (report.Action, error) {
	r, err := reinstall.Plan(t.Root, f.Disk(), reinstall.Options{AllowChroot: o.AllowChroot})
	if err != nil {
		return report.Action{}, Usagef("--reinstall-bootloader: %v", err)
	}
	act := report.Action{Name: "reinstall-bootloader", Changes: r.Changes, Notes: r.Notes}
	for _, c := range *cands {
		if strings.HasPrefix(c.Finding, "bootloader/") && len(c.Fix.Ops) > 0 && c.Fix.Ops[0].Kind == repair.KindExec {
			act.Notes = append(act.Notes, "the fix of "+c.Finding+" is this reinstall: it is planned once, as that finding's")
			return act, nil
		}
	}
	*cands = append(*cands, repair.Candidate{Finding: reinstall.Finding, Stage: repair.StageBoot, Fix: r.Fix})
	return act, nil
}
