package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"rescue/repair"
	"rescue/report"
	"rescue/session"
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

// runAction runs an operator action through the same plan, diff, journal
// and undo as fix: without --apply the plan is shown and nothing changes.
// An action is not a finding, so the exit status is 0 when it was shown or
// applied, and 8 when it could not be.
func (a *app) runAction(ctx context.Context, arg string, topt targetOptions, o actionRunOptions, plan session.ActionPlanner) error {
	t, err := a.openTarget(ctx, arg, topt, o.apply)
	if err != nil {
		return err
	}
	defer a.closeTarget(t)
	r, err := t.PlanAction(a.tool(), o.apply, plan)
	if err != nil {
		return err
	}
	rep := r.Report

	if !o.apply {
		if o.json {
			return rep.WriteJSON(a.stdout)
		}
		report.WriteActions(a.stdout, r.Actions)
		if r.Plan.Empty() {
			fmt.Fprintln(a.stderr, "rescue: nothing to change")
			return nil
		}
		if err := repair.WriteDiff(a.stdout, t.Root, r.Plan); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "rescue: this is a dry run; nothing was changed. Apply with --apply\n")
		return nil
	}
	out := r.ApplyAction(session.ApplyOptions{JournalDir: o.journalDir, AllowExec: o.allowChroot, ClearImmutable: o.clearImmutable})
	a.exit = rep.ExitCode
	if o.json {
		if err := rep.WriteJSON(a.stdout); err != nil {
			return err
		}
		if out.Err != nil {
			fmt.Fprintf(a.stderr, "rescue: error: %v\n", out.Err)
		}
		return nil
	}
	report.WriteActions(a.stdout, r.Actions)
	report.WriteFixText(a.stdout, arg, r.Plan, out.Result, nil, false, a.style())
	if out.Err != nil {
		return withHint(out.Err, fmt.Sprintf("what was done is journaled: rescue undo %s", arg))
	}
	return nil
}
