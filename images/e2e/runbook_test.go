package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"rescue/runbooks"
)

// TestRunbookScenarios: every runbook row names a real scenario and a
// runbook whose helper step the row can fill in completely, and the set
// names select them.
func TestRunbookScenarios(t *testing.T) {
	names := map[string]bool{}
	for _, sc := range Scenarios() {
		names[sc.Name] = true
	}
	for _, rs := range RunbookScenarios() {
		if !names[rs.Scenario] {
			t.Errorf("%s: no scenario %s", rs.Name, rs.Scenario)
		}
		cmd, err := runbooks.HelperCommand(rs.Runbook)
		if err != nil {
			t.Fatal(err)
		}
		text, err := runbooks.Fill(cmd, stepValues(rs.Runbook, "fix", rs.DiskID, 1024, strings.Repeat("a", 64)))
		if err != nil {
			t.Errorf("%s: %v", rs.Name, err)
		}
		if !strings.Contains(text, "disk='"+rs.DiskID+"'") {
			t.Errorf("%s: the step does not get the disk id", rs.Name)
		}
		if names[rs.Name] {
			t.Errorf("%s is also a plain scenario's name", rs.Name)
		}
	}
	// The default sets carry one runbook row only (CI's budget), and
	// it scans before it fixes.
	for _, set := range []string{"all", "ci", ""} {
		rows, rest := LookupRunbooks(set)
		if len(rows) != 1 || rows[0].Name != "runbook-oos-grub-root-uuid" || !rows[0].Scan || rest != set {
			t.Errorf("%q: %d rows, rest %q", set, len(rows), rest)
		}
	}
	if rows, rest := LookupRunbooks("runbooks"); len(rows) != len(RunbookScenarios()) || rest != "none" {
		t.Errorf("runbooks: %d rows, rest %q", len(rows), rest)
	}
	if rows, rest := LookupRunbooks("full"); len(rows) != len(RunbookScenarios()) || rest != "full" {
		t.Errorf("full: %d rows, rest %q", len(rows), rest)
	}
	if rows, rest := LookupRunbooks("none"); len(rows) != 0 || rest != "none" {
		t.Errorf("none: %d rows, rest %q", len(rows), rest)
	}
	rows, rest := LookupRunbooks("zero-bash,runbook-oos-lvm-profile")
	if len(rows) != 1 || rows[0].Name != "runbook-oos-lvm-profile" || rest != "zero-bash" {
		t.Errorf("a list: %v, rest %q", rows, rest)
	}
	if rows, rest = LookupRunbooks("runbook-ssm-pam-unix-deleted"); len(rows) != 1 || rest != "none" {
		t.Errorf("one row: %v, rest %q", rows, rest)
	}
	// Every scenario a runbook row reuses can be judged: it names its
	// finding and the paths it lies on.
	for _, rs := range RunbookScenarios() {
		for _, sc := range Scenarios() {
			if sc.Name == rs.Scenario && (sc.Finding == "" || len(sc.Paths) == 0 || sc.Break == nil) {
				t.Errorf("%s: scenario %s has no finding, paths or fault", rs.Name, sc.Name)
			}
		}
	}
}

// TestStepJudges: the steps' documents as the runbook reads them. What
// the step prints when the release is a program that does nothing
// (E2E_RESCUE=/bin/true: the OOS step, run by hand with /bin/true as its
// release, printed exactly `nothing` in both modes and exited 0) fails
// both the scan and the fix; so do a failed step, a fix that leaves
// findings and anything on stderr.
func TestStepJudges(t *testing.T) {
	run := func(rc int, doc, stderr string) *stepRun {
		r := &stepRun{rc: rc, stdout: []byte(doc), stderr: []byte(stderr)}
		if err := json.Unmarshal(r.stdout, &r.envelope); err != nil {
			t.Fatal(err)
		}
		return r
	}
	const nothing = `{"schema":"rescue.runbook/v1","mode":"%s","disk":"d-bp1abcdef0123456789","exit_code":0,"findings_left":null,"report_location":"","report":null,"report_bytes":0}`
	doc := func(mode string, code int, left string) string {
		return fmt.Sprintf(`{"schema":"rescue.runbook/v1","mode":"%s","disk":"d-bp1abcdef0123456789","exit_code":%d,"findings_left":%s,"report_location":"","report":null,"report_bytes":9000}`, mode, code, left)
	}
	for _, tc := range []struct {
		name string
		bad  []string
		want int // reasons
	}{
		{"scan found the fault", judgeScanStep(run(0, doc("scan", 4, "2"), "")), 0},
		{"scan by /bin/true", judgeScanStep(run(0, fmt.Sprintf(nothing, "scan"), "")), 1},
		{"scan found nothing", judgeScanStep(run(0, doc("scan", 0, "0"), "")), 1},
		{"scan step failed", judgeScanStep(run(8, doc("scan", 8, "null"), "")), 2},
		{"scan wrote to stderr", judgeScanStep(run(0, doc("scan", 4, "1"), "oops")), 1},
		{"fix repaired all", judgeFixStep(run(0, doc("fix", 1, "0"), ""), 1), 0},
		{"fix by /bin/true", judgeFixStep(run(0, fmt.Sprintf(nothing, "fix"), ""), 1), 2},
		{"fix left findings", judgeFixStep(run(0, doc("fix", 1, "1"), ""), 1), 1},
		{"fix step failed", judgeFixStep(run(16, doc("fix", 16, "3"), ""), 1), 3},
		{"fix wanted 4", judgeFixStep(run(0, doc("fix", 4, "1"), ""), 4), 0},
	} {
		if len(tc.bad) != tc.want {
			t.Errorf("%s: %d reasons, want %d: %q", tc.name, len(tc.bad), tc.want, tc.bad)
		}
	}
}
