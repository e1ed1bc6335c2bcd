package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"rescue/images"
)

// WriteMatrix writes the scenario × release table: one line per scenario,
// one column per release (in version order) with the broken and the
// repaired outcome, the severity rescue gave the fault there and the row's
// status ("—" where the scenario did not run on that release), then each
// release's counts, as measured by the run.
func (t *Table) WriteMatrix(w io.Writer) error {
	var releases, scenarios []string
	cell := map[[2]string]*Row{}
	for _, r := range t.Rows {
		rel := releaseName(r.Release)
		if !contains(releases, rel) {
			releases = append(releases, rel)
		}
		if !contains(scenarios, r.Scenario) {
			scenarios = append(scenarios, r.Scenario)
		}
		cell[[2]string{r.Scenario, rel}] = r
	}
	slices.SortStableFunc(releases, func(a, b string) int { return releaseOrder(a) - releaseOrder(b) })
	var b strings.Builder
	b.WriteString("| scenario |")
	for _, rel := range releases {
		fmt.Fprintf(&b, " %s |", rel)
	}
	b.WriteString("\n|---|")
	b.WriteString(strings.Repeat("---|", len(releases)))
	b.WriteString("\n")
	for _, sc := range scenarios {
		fmt.Fprintf(&b, "| %s |", sc)
		for _, rel := range releases {
			r := cell[[2]string{sc, rel}]
			if r == nil {
				b.WriteString(" — |")
				continue
			}
			fmt.Fprintf(&b, " %s |", cell3(r))
		}
		b.WriteString("\n")
	}
	b.WriteString("\nEach cell: the broken boot → the repaired boot [the severity rescue gave the fault] status; " +
		"\"no symptom\" is a broken boot that logged in healthy with every login, measured on that release.\n\n")
	for _, rel := range releases {
		c := map[string]int{}
		rows, boots, secs := 0, 0, 0.0
		for _, r := range t.Rows {
			if releaseName(r.Release) != rel {
				continue
			}
			rows++
			c[r.Status]++
			secs += r.Seconds
			if r.Broken != nil {
				boots++
			}
			if r.Repaired != nil {
				boots++
			}
		}
		fmt.Fprintf(&b, "%s: %d row(s), %d pass, %d fail, %d error; %d boot(s); %.0f row-seconds\n",
			rel, rows, c["PASS"], c["FAIL"], c["ERROR"], boots, secs)
	}
	if t.Seconds > 0 {
		fmt.Fprintf(&b, "wall time of the runs: %.0fs\n", t.Seconds)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cell3 is one cell: broken → repaired [severity] status.
func cell3(r *Row) string {
	broken := "(not booted)"
	if r.Broken != nil {
		broken = r.Broken.Short()
		if r.Kind == "no-symptom" && r.Broken.Healthy() {
			broken = "no symptom"
		}
	}
	repaired := "—"
	if r.Kind == "inert" {
		if r.Broken != nil && r.Broken.Healthy() {
			broken = "no symptom"
		}
		repaired = "(inert: nothing found, nothing to repair)"
	}
	if r.Repaired != nil {
		repaired = r.Repaired.Short()
	}
	sev := ""
	if r.Severity != "" {
		sev = " [" + r.Severity + "]"
	}
	return cell(fmt.Sprintf("%s → %s%s %s", broken, repaired, sev, r.Status))
}

// releaseOrder sorts "debian11" before "debian12" before "debian13".
func releaseOrder(rel string) int {
	if r, ok := images.LookupRelease(rel); ok {
		return r.Version
	}
	return 1000
}

func releaseName(rel string) string {
	if rel == "" {
		return "debian12"
	}
	return rel
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Cell is one scenario on one release (by suite).
type Cell struct {
	Scenario string
	Suite    string
}

// Applies says whether a scenario runs on a release, and if not, why.
func (sc *Scenario) Applies(suite string) (bool, string) {
	if why, ok := sc.Skip[suite]; ok {
		return false, why
	}
	return true, ""
}

// MatrixCells is the release matrix: every scenario on every release it
// applies to, release by release; full adds the scenarios only `make
// e2e-full` runs (Scenario.FullOnly).
func MatrixCells(full bool) []Cell {
	var out []Cell
	for _, rel := range images.Releases {
		for _, sc := range Scenarios() {
			if ok, _ := sc.Applies(rel.Suite); ok && (full || sc.FullOnly == "") {
				out = append(out, Cell{Scenario: sc.Name, Suite: rel.Suite})
			}
		}
	}
	return out
}

// MatrixRotation is the day's share of the matrix cells outside the fixed
// sets (fixed: scenario names by suite): n cells, taken in turn so that
// every cell is booted once every ceil(rest/n) days, and a given day's
// choice is the same wherever it is computed (day: days since the Unix
// epoch, UTC). The cells come back grouped by release, in matrix order.
func MatrixRotation(day, n int, fixed map[string][]string) []Cell {
	var rest []Cell
	for _, c := range MatrixCells(false) {
		if !slices.Contains(fixed[c.Suite], c.Scenario) {
			rest = append(rest, c)
		}
	}
	if n > len(rest) {
		n = len(rest)
	}
	if n <= 0 {
		return nil
	}
	pick := map[int]bool{}
	for i := 0; i < n; i++ {
		pick[(day*n+i)%len(rest)] = true
	}
	var out []Cell
	for i, c := range rest {
		if pick[i] {
			out = append(out, c)
		}
	}
	return out
}

// ReadTable reads a table written by WriteJSON.
func ReadTable(r io.Reader) (*Table, error) {
	var t Table
	if err := json.NewDecoder(r).Decode(&t); err != nil {
		return nil, err
	}
	if t.Schema != TableSchema {
		return nil, fmt.Errorf("table schema %q, want %q", t.Schema, TableSchema)
	}
	return &t, nil
}

// MergeTables puts the rows of several runs (one per release) in one
// table, for WriteMatrix; the seconds add up.
func MergeTables(ts ...*Table) *Table {
	out := &Table{Set: "matrix"}
	var sets []string
	for _, t := range ts {
		out.Rows = append(out.Rows, t.Rows...)
		out.Seconds += t.Seconds
		sets = append(sets, t.Set)
		out.Parallel, out.CPUs, out.MemoryMB = t.Parallel, t.CPUs, t.MemoryMB
	}
	out.Set = strings.Join(sets, "; ")
	return out
}
