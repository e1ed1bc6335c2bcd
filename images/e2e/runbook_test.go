package e2e

import (
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
