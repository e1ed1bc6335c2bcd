package report

import (
	"fmt"
	"io"

	"rescue/checks"
	"rescue/repair"
	"rescue/safetext"
)

// WriteActions prints each action's account as comment lines, which a
// patch tool skips, so that a dry run's output stays one diff.
func WriteActions(w io.Writer, acts []Action) {
	for _, act := range acts {
		for _, c := range act.Changes {
			fmt.Fprintf(w, "# %s: %s\n", act.Name, c)
		}
		for _, n := range act.Notes {
			fmt.Fprintf(w, "# %s: note: %s\n", act.Name, n)
		}
	}
}

// WriteFixText writes what fix --apply did, as text: each item's outcome,
// the fixes skipped and why, where the journal is and how to undo, and
// the findings that remain (failed: a check could not run, so the target
// is not called in order).
func WriteFixText(w io.Writer, arg string, plan *repair.Plan, res *repair.Result, remaining []checks.Finding, failed bool, st Style) {
	if res != nil {
		for _, it := range res.Items {
			switch it.Status {
			case repair.OutcomeApplied:
				fmt.Fprintf(w, "applied  %s\n         %s\n", safetext.Line(it.Finding), safetext.Line(it.Fix))
			default:
				fmt.Fprintf(w, "%-8s %s\n         %s\n", it.Status, safetext.Line(it.Finding), safetext.Line(it.Fix))
				if it.Reason != "" {
					fmt.Fprintf(w, "         because: %s\n", safetext.Line(it.Reason))
				}
			}
		}
		for _, s := range plan.Skipped {
			fmt.Fprintf(w, "skipped  %s\n         %s\n         because: %s\n", safetext.Line(s.Finding), safetext.Line(s.Fix), safetext.Line(s.Reason))
		}
		for _, x := range res.Warnings {
			fmt.Fprintf(w, "warning  %s\n", safetext.Line(x))
		}
		if res.ID != "" {
			fmt.Fprintf(w, "\nRepair %s: %d fix(es) applied; journal and backups in %s/%s\n", res.ID, res.Applied(), res.JournalDir, res.ID)
			fmt.Fprintf(w, "Undo with: rescue undo %s %s\n", arg, res.ID)
		} else {
			fmt.Fprintln(w, "\nNothing was changed.")
		}
	}
	if n := Problems(remaining); n > 0 {
		fmt.Fprintf(w, "\n%d finding(s) remain:\n", n)
		var shown []checks.Finding
		for _, f := range remaining {
			if f.Severity != checks.Info {
				shown = append(shown, f)
			}
		}
		WriteFindings(w, shown, st)
	} else if !failed {
		fmt.Fprintln(w, "\nThe target is in order now: a new scan finds nothing to fix.")
	}
}
