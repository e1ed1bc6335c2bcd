package e2e

import (
	"bytes"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/images/boot"
)

func TestWriteMatrix(t *testing.T) {
	yes := true
	ok := &boot.Result{Class: boot.LoggedIn, RootWritable: &yes, State: "running"}
	tab := &Table{Rows: []*Row{
		{Scenario: "libnss-files-deleted", Release: "debian12", Kind: "no-symptom", Status: "PASS", Broken: ok, Repaired: ok, Seconds: 90, Severity: "warning"},
		{Scenario: "libnss-files-deleted", Release: "debian11", Kind: "symptom", Status: "PASS", Broken: &boot.Result{Class: boot.LoginRefused}, Repaired: ok, Seconds: 100, Severity: "error"},
		{Scenario: "zero-bash", Release: "debian12", Status: "FAIL", Broken: &boot.Result{Class: boot.NoShell}, Seconds: 50},
		{Scenario: "login-defs-erasechar", Release: "debian13", Kind: "inert", Status: "PASS", Broken: ok, Seconds: 60},
	}}
	var b bytes.Buffer
	require.NoError(t, tab.WriteMatrix(&b))
	got := b.String()
	// Releases in version order, whatever the order of the rows.
	assert.Contains(t, got, "| scenario | debian11 | debian12 | debian13 |\n|---|---|---|---|\n")
	assert.Contains(t, got, "| libnss-files-deleted | LOGIN_REFUSED → LOGGED_IN [error] PASS | no symptom → LOGGED_IN [warning] PASS | — |\n")
	assert.Contains(t, got, "| zero-bash | — | NO_SHELL → — FAIL | — |\n")
	assert.Contains(t, got, "| login-defs-erasechar | — | — | no symptom → (inert: nothing found, nothing to repair) PASS |\n")
	assert.Contains(t, got, "debian11: 1 row(s), 1 pass, 0 fail, 0 error; 2 boot(s); 100 row-seconds\n")
	assert.Contains(t, got, "debian12: 2 row(s), 1 pass, 1 fail, 0 error; 3 boot(s); 140 row-seconds\n")
}

// TestMatrixRotation: the rotation covers every cell outside the fixed
// sets, n a day, and never one inside them.
func TestMatrixRotation(t *testing.T) {
	fixed := map[string][]string{"bookworm": names(t, "all"), "bullseye": {"libnss-files-deleted"}, "trixie": {"zero-bash"}}
	var rest []Cell
	for _, c := range MatrixCells(false) {
		if !slices.Contains(fixed[c.Suite], c.Scenario) {
			rest = append(rest, c)
		}
	}
	require.NotEmpty(t, rest)
	const n = 8
	seen := map[Cell]bool{}
	days := (len(rest) + n - 1) / n
	for day := 1000; day < 1000+days; day++ {
		got := MatrixRotation(day, n, fixed)
		assert.Len(t, got, n)
		for _, c := range got {
			assert.NotContains(t, fixed[c.Suite], c.Scenario)
			assert.NotEqual(t, "bookworm", c.Suite, "Debian 12 runs all of its scenarios every day")
			seen[c] = true
		}
	}
	assert.Len(t, seen, len(rest), "every cell of the rest within %d days", days)
	assert.Equal(t, MatrixRotation(1234, n, fixed), MatrixRotation(1234, n, fixed))
	assert.Empty(t, MatrixRotation(1234, 0, fixed))
}

// TestMatrixCells: the full matrix has the Full scenarios, the daily one
// not; a Skip leaves a cell out.
func TestMatrixCells(t *testing.T) {
	full, daily := MatrixCells(true), MatrixCells(false)
	assert.Contains(t, full, Cell{"serial-console", "trixie"})
	assert.NotContains(t, daily, Cell{"serial-console", "trixie"})
	assert.Contains(t, daily, Cell{"libnss-files-deleted", "bullseye"})
	for _, sc := range Scenarios() {
		for suite := range sc.Skip {
			assert.NotContains(t, full, Cell{sc.Name, suite})
		}
	}
}

func TestMergeTables(t *testing.T) {
	var b bytes.Buffer
	a := &Table{Set: "all", Seconds: 10, Rows: []*Row{{Scenario: "x", Release: "debian12", Status: "PASS"}}}
	require.NoError(t, a.WriteJSON(&b))
	back, err := ReadTable(&b)
	require.NoError(t, err)
	m := MergeTables(back, &Table{Set: "y", Seconds: 5, Rows: []*Row{{Scenario: "y", Release: "debian11", Status: "PASS"}}})
	assert.Len(t, m.Rows, 2)
	assert.Equal(t, 15.0, m.Seconds)
	_, err = ReadTable(bytes.NewBufferString(`{"schema":"other"}`))
	assert.Error(t, err)
}

func names(t *testing.T, set string) []string {
	t.Helper()
	list, err := Lookup(set)
	require.NoError(t, err)
	var out []string
	for _, sc := range list {
		out = append(out, sc.Name)
	}
	return out
}
