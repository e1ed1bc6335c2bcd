package e2e

import (
	"fmt"
	"sort"
	"strings"
)

// What a row must show of rescue, decided from its JSON and exit codes
// alone, so that the rules are tested without booting anything. Each
// function returns why the row fails ("" when it does not).

// onPath says whether the target path p is one of paths, or lies below
// one of them. A directory matches what is under it only across a
// separator ("/etc/ssh" holds "/etc/ssh/sshd_config", not
// "/etc/sshd"), and "/" matches only "/" itself: as a prefix it would
// match every path and prove nothing.
func onPath(p string, paths []string) bool {
	for _, want := range paths {
		if p == want {
			return true
		}
		if dir := strings.TrimSuffix(want, "/"); dir != "" && strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// findingOf returns the ID of the scenario's own finding in a report: one
// of sc.Finding's check and kind on one of sc.Paths ("" and why not when
// there is none).
func findingOf(sc *Scenario, rep *fixReport) (string, string) {
	var near []string
	for _, f := range rep.Findings {
		if !strings.HasPrefix(f.ID, sc.Finding+":") && f.ID != sc.Finding {
			near = append(near, f.ID)
			continue
		}
		if onPath(f.Path, sc.Paths) {
			return f.ID, ""
		}
		near = append(near, f.ID)
	}
	why := fmt.Sprintf("rescue reports no %s on %s", sc.Finding, strings.Join(sc.Paths, " or "))
	if len(near) > 0 {
		sort.Strings(near)
		why += "; it reports " + strings.Join(near, ", ")
	} else {
		why += "; it reports nothing"
	}
	return "", why
}

// has says whether a report holds the finding id.
func has(rep *fixReport, id string) bool {
	for _, f := range rep.Findings {
		if f.ID == id {
			return true
		}
	}
	return false
}

// judgeFix checks `rescue fix --apply` for the finding id: no error, the
// exit code wanted, the finding's own fix applied, and the finding not
// among what remains.
func judgeFix(id string, rep *fixReport, code, want int) []string {
	var bad []string
	if rep.Error != "" {
		bad = append(bad, "rescue fix: "+rep.Error)
	}
	if code != want {
		bad = append(bad, fmt.Sprintf("rescue fix --apply exited %d, want %d", code, want))
	}
	applied := false
	var items []string
	if rep.Result != nil {
		for _, it := range rep.Result.Items {
			if it.Finding != id {
				continue
			}
			if it.Status == "applied" {
				applied = true
			} else {
				items = append(items, fmt.Sprintf("%s (%s)", it.Status, it.Reason))
			}
		}
	}
	switch {
	case applied:
	case len(items) > 0:
		bad = append(bad, fmt.Sprintf("the fix for %s was not applied: %s", id, strings.Join(items, "; ")))
	default:
		bad = append(bad, "rescue applied no fix for "+id)
	}
	for _, f := range rep.Remaining {
		if f.ID == id {
			bad = append(bad, "rescue fix says "+id+" remains")
		}
	}
	return bad
}

// judgeAction checks an operator action applied with --apply: no error,
// the exit code wanted, and every change it planned applied (applied
// counts them).
func judgeAction(rep *fixReport, code, want, applied int) []string {
	var bad []string
	if rep.Error != "" {
		bad = append(bad, "rescue: "+rep.Error)
	}
	if code != want {
		bad = append(bad, fmt.Sprintf("the action exited %d, want %d", code, want))
	}
	if applied == 0 {
		bad = append(bad, "the action applied nothing")
	}
	if rep.Result != nil {
		for _, it := range rep.Result.Items {
			if it.Status != "applied" {
				bad = append(bad, fmt.Sprintf("%s %s: %s", it.Finding, it.Status, it.Reason))
			}
		}
	}
	return bad
}

// judgeRescan checks the scan of the repaired image: the finding is gone
// and the exit code is the one wanted.
func judgeRescan(id string, rep *fixReport, code, want int) []string {
	var bad []string
	if has(rep, id) {
		bad = append(bad, "the rescan of the repaired image still finds "+id)
	}
	if code != want {
		bad = append(bad, fmt.Sprintf("the rescan exited %d, want %d", code, want))
	}
	return bad
}

// judgeBase checks the scan of a healthy base image: zero findings and
// exit 0, as on every pristine root.
func judgeBase(rep *fixReport, code int) []string {
	var bad []string
	for _, f := range rep.Findings {
		bad = append(bad, "rescue finds "+f.ID+" on the healthy image")
	}
	if code != 0 {
		bad = append(bad, fmt.Sprintf("rescue scan of the healthy image exited %d, want 0", code))
	}
	return bad
}
