package session

import (
	"context"
	"fmt"
	"strings"

	"rescue/checks"
	"rescue/checks/all"
	"rescue/repair"
	"rescue/report"
)

// ApplyOptions say how a repair is applied.
type ApplyOptions struct {
	// JournalDir keeps the journal and backups on the helper ("": on the
	// target, /var/lib/rescue).
	JournalDir     string
	AllowExec      bool
	ClearImmutable bool
}

// Outcome is what applying a repair did.
type Outcome struct {
	Result *repair.Result
	// Err is why the repair stopped or an item was not applied.
	Err error
	// Remaining are the findings of the scan after the repair (fix only).
	Remaining []checks.Finding
	// NotRun names the checks that could not run before or after the
	// repair ("" when all ran): the repair is not known to be complete.
	NotRun string
}

// DryRun fills in the report of a fix that is only shown: its exit code
// says what the scan found.
func (r *Repair) DryRun() *report.FixReport {
	rep := r.Report
	rep.ExitCode = report.ExitOK
	rep.FindingsLeft = report.Problems(r.Scan.Findings)
	if rep.FindingsLeft > 0 {
		rep.ExitCode = report.ExitFindings
	}
	if r.Scan.Failed() {
		// As scan: what a check could not look at may need fixing.
		rep.ExitCode = report.ExitError
	}
	return rep
}

func (r *Repair) apply(o ApplyOptions) (*repair.Result, error) {
	result, err := repair.Apply(r.Target.Root, r.Plan, repair.Options{
		JournalDir: o.JournalDir, AllowExec: o.AllowExec, ClearImmutable: o.ClearImmutable, Log: r.Target.log,
	})
	r.Report.Result = result
	return result, err
}

// ApplyFix applies a fix's plan, then scans the target again with every
// check, whatever --only chose: what remains on the target is what the
// report's closing line and exit code say.
func (r *Repair) ApplyFix(ctx context.Context, o ApplyOptions) *Outcome {
	t, rep := r.Target, r.Report
	result, applyErr := r.apply(o)
	t.refreshSpace()
	after, _ := t.Scan(ctx, all.Checks(), r.rescan)
	rep.Remaining = after.Findings
	failed := notRun(r.Scan, after)
	rep.FindingsLeft = report.Problems(after.Findings)
	switch {
	case applyErr != nil:
		rep.Error, rep.ExitCode = applyErr.Error(), report.ExitError
	case failed != "":
		// A check that could not run may have something to repair: the
		// repair cannot be called complete.
		rep.Error, rep.ExitCode = failed, report.ExitError
	case report.Problems(after.Findings) > 0:
		rep.ExitCode = report.ExitFindings
	case result != nil && result.ID != "", t.fscked():
		// A filesystem check that ran before mounting changed the
		// disk as much as a fix does: a runbook must not read "nothing
		// to do".
		rep.ExitCode = report.ExitRepaired
	default:
		rep.ExitCode = report.ExitOK
	}
	return &Outcome{Result: result, Err: applyErr, Remaining: after.Findings, NotRun: failed}
}

// ApplyAction applies an operator action's plan. An action is not a
// finding: it succeeded when every item was applied.
func (r *Repair) ApplyAction(o ApplyOptions) *Outcome {
	rep := r.Report
	result, applyErr := r.apply(o)
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
	return &Outcome{Result: result, Err: applyErr}
}

// notRun names the checks that could not run before or after the repair,
// or is "".
func notRun(results ...*checks.Result) string {
	var names []string
	seen := map[string]bool{}
	for _, r := range results {
		for _, c := range r.Checks {
			if c.Error != "" && !seen[c.Name] {
				seen[c.Name] = true
				names = append(names, c.Name+" ("+firstLine(c.Error)+")")
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	return "check(s) could not run, so the repair is not known to be complete: " + strings.Join(names, "; ")
}
