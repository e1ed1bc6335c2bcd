package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/spf13/cobra"

	"rescue/actions/bootkernel"
	"rescue/actions/console"
	"rescue/actions/spill"
	"rescue/facts"
	"rescue/repair"
	"rescue/report"
)

// actionRunOptions are the flags every operator action shares with fix:
// show the change, or apply it with a journal.
type actionRunOptions struct {
	apply          bool
	json           bool
	journalDir     string
	allowChroot    bool
	clearImmutable bool
}

func (o *actionRunOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&o.apply, "apply", false, "apply the change (default: only show it as a diff)")
	f.BoolVar(&o.json, "json", false, "print the plan and its outcome as JSON (schema rescue.fix/v1)")
	f.StringVar(&o.journalDir, "journal-dir", "", "keep the journal and backups in `DIR` on the helper instead of on the target")
	f.BoolVar(&o.clearImmutable, "clear-immutable", false, "lift chattr +i/+a from files the change must touch, and set it again afterwards")
}

// actionPlanner plans an operator action on an opened target: the plan's
// candidates and the action's account of them.
type actionPlanner func(t *target, f *facts.Facts) ([]repair.Candidate, []report.Action, error)

// runAction runs an operator action through the same plan, diff, journal
// and undo as fix: without --apply the plan is shown and nothing changes.
// An action is not a finding, so the exit status is 0 when it was shown or
// applied, and 8 when it could not be.
func (a *app) runAction(ctx context.Context, arg string, topt targetOptions, o actionRunOptions, plan actionPlanner) error {
	t, err := a.openTarget(ctx, arg, topt, o.apply)
	if err != nil {
		return err
	}
	defer t.Close()
	f := facts.New(t.root, facts.Options{Devices: t.devices, Filesystems: t.filesystems})
	cands, acts, err := plan(t, f)
	if err != nil {
		return err
	}
	p := repair.NewPlan(cands, func(name string) ([]byte, error) { return t.root.ReadFileLimit(name, 1<<30) })
	addRelabel(t, f, p)
	rep := &report.FixReport{Schema: report.FixSchema, Tool: a.tool(), Target: t.info, OS: f.OS(),
		DryRun: !o.apply, Actions: acts, Plan: p}

	if !o.apply {
		if o.json {
			return rep.WriteJSON(a.stdout)
		}
		writeActions(a.stdout, acts)
		if p.Empty() {
			fmt.Fprintln(a.stderr, "rescue: nothing to change")
			return nil
		}
		if err := repair.WriteDiff(a.stdout, t.root, p); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "rescue: this is a dry run; nothing was changed. Apply with --apply\n")
		return nil
	}
	result, applyErr := repair.Apply(t.root, p, repair.Options{
		JournalDir: o.journalDir, AllowExec: o.allowChroot, ClearImmutable: o.clearImmutable, Log: a.log,
	})
	rep.Result = result
	if applyErr != nil {
		rep.Error, rep.ExitCode = applyErr.Error(), report.ExitError
	}
	for _, it := range result.Items {
		if it.Status != repair.OutcomeApplied && applyErr == nil {
			rep.ExitCode = report.ExitError
			applyErr = fmt.Errorf("%s: %s: %s", it.Finding, it.Status, it.Reason)
			rep.Error = applyErr.Error()
		}
	}
	a.exit = rep.ExitCode
	if o.json {
		if err := rep.WriteJSON(a.stdout); err != nil {
			return err
		}
		if applyErr != nil {
			fmt.Fprintf(a.stderr, "rescue: error: %v\n", applyErr)
		}
		return nil
	}
	writeActions(a.stdout, acts)
	a.writeFixText(arg, p, result, nil, false)
	if applyErr != nil {
		return withHint(applyErr, fmt.Sprintf("what was done is journaled: rescue undo %s", arg))
	}
	return nil
}

// writeActions prints each action's account as comment lines, which a
// patch tool skips, so that a dry run's output stays one diff.
func writeActions(w io.Writer, acts []report.Action) {
	for _, act := range acts {
		for _, c := range act.Changes {
			fmt.Fprintf(w, "# %s: %s\n", act.Name, c)
		}
		for _, n := range act.Notes {
			fmt.Fprintf(w, "# %s: note: %s\n", act.Name, n)
		}
	}
}

// fixActions plans the operator actions asked for by fix's flags
// (--boot-kernel, --boot-previous-kernel, --serial-console, --spill) and adds them to the candidates, after the fixes of
// findings: a finding's fix of the same file is planned first, and the
// action is skipped with "run rescue fix again" when they overlap.
func fixActions(t *target, f *facts.Facts, o *fixOptions, cands *[]repair.Candidate) ([]report.Action, error) {
	var acts []report.Action
	if o.bootKernel != "" && o.bootPrevious {
		return nil, usagef("give --boot-kernel VERSION or --boot-previous-kernel, not both")
	}
	if o.bootKernel != "" || o.bootPrevious {
		l, err := f.Boot()
		if err != nil {
			return nil, err
		}
		r, err := bootkernel.Plan(t.root, l, bootkernel.Options{Version: o.bootKernel, Previous: o.bootPrevious})
		if err != nil {
			return nil, err
		}
		*cands = append(*cands, repair.Candidate{Finding: bootkernel.Finding, Stage: repair.StageBoot, Fix: r.Fix})
		acts = append(acts, report.Action{Name: "boot-kernel", Changes: r.Changes, Notes: r.Notes})
	}
	if o.spill != "" {
		if err := spillOutside(t, o.spill); err != nil {
			return nil, err
		}
		r, err := spill.Plan(t.root, t.filesystems)
		if err != nil {
			return nil, err
		}
		if len(r.Files) > 0 {
			// First: the room it makes is what the other fixes may need.
			*cands = append(*cands, repair.Candidate{Finding: spill.Finding, Stage: repair.StageBoot, Fix: r.Fix})
		}
		r.Notes = append(r.Notes, "undo with: rescue undo TARGET --journal-dir "+o.spill)
		acts = append(acts, report.Action{Name: "spill", Changes: r.Changes, Notes: r.Notes})
	}
	if o.serialConsole != "" {
		r, err := console.Plan(t.root, console.Options{Port: o.serialConsole})
		if err != nil {
			return nil, usagef("--serial-console: %v", err)
		}
		*cands = append(*cands, repair.Candidate{Finding: console.Finding, Stage: repair.StageOther, Fix: r.Fix})
		acts = append(acts, report.Action{Name: "serial-console", Changes: r.Changes, Notes: r.Notes})
	}
	return acts, nil
}

// spillOutside refuses a spill directory on the target itself: inside its
// tree, or on one of the filesystems the spill would move files from
// (moving them there frees nothing).
func spillOutside(t *target, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return usagef("--spill %s: %v", dir, err)
	}
	top := filepath.Clean(t.root.HostPath())
	if abs == top || strings.HasPrefix(abs+"/", top+"/") {
		return usagef("--spill %s is inside the target (%s): give a directory on the helper", dir, top)
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
		return usagef("--spill %s: %v", dir, err)
	}
	for _, p := range []string{"/", "/var", "/var/log", "/var/cache", "/var/lib/systemd/coredump", "/var/crash"} {
		fi, err := t.root.Stat(p)
		if err != nil {
			continue
		}
		if s, ok := fi.Sys().(*syscall.Stat_t); ok && uint64(s.Dev) == uint64(st.Dev) {
			return usagef("--spill %s is on the same filesystem as the target's %s: moving files there frees nothing; give a directory on another disk of the helper", dir, p)
		}
	}
	return nil
}
