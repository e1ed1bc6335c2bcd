package e2e

import (
	"fmt"
	"slices"
	"strings"

	"rescue/images/boot"
)

// What rescue's severities promise, as the boots can see it: critical, the
// machine does not boot (to a login prompt, or boots into emergency mode);
// error, it boots but nobody can log in; warning, degraded or risky; info,
// worth knowing.
//
// SeverityAgrees says whether the severity rescue gave a fault's finding
// is what the broken boot showed on that release: a fault that stops the
// boot must be critical; one that refuses the login (or gives no shell)
// error or critical; one that logs in degraded (/ read-only, a failed unit,
// sshd down) anything but info; one with no symptom at all (a healthy
// login) warning or info, since claiming that the machine cannot boot or
// let anyone in would be wrong on that release. It returns why not.
func SeverityAgrees(r *boot.Result, severity string) (bool, string) {
	if r == nil {
		return true, "" // not booted: nothing to compare with
	}
	var allowed []string
	var what string
	switch {
	case r.Class == boot.LoginRefused || r.Class == boot.NoShell:
		allowed, what = []string{"critical", "error"}, "boots, but the login fails"
	case r.Class == boot.LoggedIn && r.Healthy():
		allowed, what = []string{"warning", "info"}, "no symptom: a healthy login"
	case r.Class == boot.LoggedIn:
		allowed, what = []string{"critical", "error", "warning"}, "logs in degraded ("+r.Short()+")"
	case r.Class == boot.Timeout:
		return true, "" // the boot says nothing definite
	default:
		allowed, what = []string{"critical"}, "does not boot ("+string(r.Class)+")"
	}
	if slices.Contains(allowed, severity) {
		return true, ""
	}
	return false, fmt.Sprintf("rescue calls it %s, but the machine %s: want %s", severity, what, strings.Join(allowed, " or "))
}

// severityRank orders the severities, most severe first.
var severityRank = map[string]int{"critical": 1, "error": 2, "warning": 3, "info": 4}

// faultSeverity is what rescue says the fault breaks: the most severe of
// the scenario's own finding (id) and every other finding on the fault's
// paths. Another check may grade the same file by what it breaks on this
// release (nss/source-missing on glibc 2.31 for a deleted libnss_files,
// beside pkgfiles/damaged), and an operator reads the worst of them.
func faultSeverity(rep *fixReport, id string, paths []string) string {
	best := ""
	for _, f := range rep.Findings {
		if f.ID != id && !onPath(f.Path, paths) {
			continue
		}
		r, ok := severityRank[f.Severity]
		if !ok {
			continue
		}
		if best == "" || r < severityRank[best] {
			best = f.Severity
		}
	}
	return best
}

// expectedBoot is the boot an expectation describes, for comparing a
// severity with it when no boot ran (E2E_NOBOOT): its class, healthy
// when the fault has no symptom there, degraded when it logs in with one.
func expectedBoot(e Expect, static bool) *boot.Result {
	r := &boot.Result{Class: e.Class}
	if e.Class == boot.LoggedIn {
		yes := true
		r.RootWritable, r.State = &yes, "degraded"
		if static {
			r.State = "running"
		}
	}
	return r
}
