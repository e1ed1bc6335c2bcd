package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"rescue/images/boot"
)

// Table is the outcome of a run, as the Markdown table `make e2e` prints
// and as JSON.
type Table struct {
	Schema string `json:"schema"`
	// Set names the scenarios run ("ci", "all" or a list).
	Set string `json:"set"`
	// Rescue is the program under test when E2E_RESCUE named one.
	Rescue string `json:"rescue,omitempty"`
	// Parallel boots and each machine's CPUs and memory.
	Parallel int    `json:"parallel"`
	CPUs     int    `json:"cpus"`
	MemoryMB int    `json:"memory_mb"`
	Rows     []*Row `json:"rows"`
	// Seconds is the wall time of the whole run, base image included.
	Seconds float64 `json:"seconds"`
}

// TableSchema identifies the JSON form of the table.
const TableSchema = "rescue.e2e/v1"

// Counts returns how many rows have each status.
func (t *Table) Counts() map[string]int {
	c := map[string]int{}
	for _, r := range t.Rows {
		c[r.Status]++
	}
	return c
}

// WriteJSON writes the table as indented JSON.
func (t *Table) WriteJSON(w io.Writer) error {
	t.Schema = TableSchema
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(t)
}

// WriteMarkdown writes the table as Markdown, one row per scenario, then
// the counts the run measured, then the notes of the rows that have any.
func (t *Table) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "| scenario | fault | finding | broken: want | broken: got | fix | rescan | repaired | logins | undo | status | time |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range t.Rows {
		finding := r.Finding
		switch {
		case r.Kind == "baseline" && !r.Rescanned:
			finding = "NOT SCANNED"
		case r.Kind == "baseline" && len(r.Findings) == 0:
			finding = "none (as wanted)"
		case r.Kind == "baseline":
			finding = strings.Join(r.Findings, "<br>")
		case r.Kind == "inert" && finding == "":
			finding = "none (as wanted: inert)"
		case finding == "":
			finding = "NOT FOUND"
		}
		fix, rescan := "—", "—"
		if r.FixExitWant != 0 {
			fix = fmt.Sprintf("%d applied, exit %d", r.Applied, r.FixExit)
			if r.FixExit != r.FixExitWant {
				fix += fmt.Sprintf(" (want %d)", r.FixExitWant)
			}
		}
		switch {
		case r.Kind == "baseline" && r.Rescanned:
			rescan = fmt.Sprintf("exit %d", r.ScanExit)
		case r.Rescanned && r.Gone:
			rescan = fmt.Sprintf("gone, exit %d", r.ScanExit)
		case r.Rescanned:
			rescan = fmt.Sprintf("STILL FOUND, exit %d", r.ScanExit)
		}
		undo := r.Undo
		if undo == "" {
			undo = "—"
		}
		logins := loginNames(r.Broken, r.Repaired)
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.0fs |\n",
			r.Scenario, cell(r.Fault), cell(finding), cell(r.BrokenWant), cell(outcome(r.Broken)), cell(fix), cell(rescan),
			cell(outcome(r.Repaired)), cell(logins), cell(shorten(undo, 80)), r.Status, r.Seconds)
	}
	b.WriteString("\n")
	b.WriteString(t.Summary())
	first := true
	for _, r := range t.Rows {
		if len(r.Notes) == 0 {
			continue
		}
		if first {
			b.WriteString("\nNotes:\n")
			first = false
		}
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s: %s\n", r.Scenario, n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary is what the run measured, counted from its rows: scenarios by
// kind and how far they were booted, baselines, statuses, boots, logins,
// processor time and wall time.
func (t *Table) Summary() string {
	c := t.Counts()
	var symptom, quiet, runbook, both, baselines, boots, serial, ssh int
	cpu := 0.0
	for _, r := range t.Rows {
		switch r.Kind {
		case "baseline":
			baselines++
		case "no-symptom", "inert":
			quiet++
		case "runbook":
			runbook++
		default:
			symptom++
		}
		if r.Kind != "baseline" && r.Broken != nil && r.Repaired != nil {
			both++
		}
		cpu += r.BootCPU
		for _, res := range []*boot.Result{r.Broken, r.Repaired} {
			if res == nil {
				continue
			}
			boots++
			for _, l := range res.Logins {
				if l.Via == boot.ViaSSH {
					ssh++
				} else {
					serial++
				}
			}
		}
	}
	var b strings.Builder
	if t.Rescue != "" {
		fmt.Fprintf(&b, "program under test: %s (E2E_RESCUE)\n", t.Rescue)
	}
	fmt.Fprintf(&b, "scenarios: %d (%d with a symptom, %d without one on the release), %d booted broken and repaired; baselines: %d\n",
		symptom+quiet, symptom, quiet, both, baselines)
	if runbook > 0 {
		fmt.Fprintf(&b, "runbook rows: %d (a helper VM runs the runbook's own step on the attached disk)\n", runbook)
	}
	fmt.Fprintf(&b, "status: %d pass, %d fail, %d error\n", c["PASS"], c["FAIL"], c["ERROR"])
	fmt.Fprintf(&b, "boots: %d, %d at a time, of %d CPU/%d MiB, using %.0f CPU-seconds; logins tried: %d on the console, %d over SSH\n",
		boots, t.Parallel, t.CPUs, t.MemoryMB, cpu, serial, ssh)
	fmt.Fprintf(&b, "time: %.0fs in all\n", t.Seconds)
	return b.String()
}

// outcome is a boot's class and qualifiers, with the reason of a failure.
func outcome(r *boot.Result) string {
	if r == nil {
		return "—"
	}
	s := r.Short()
	if r.Class != boot.LoggedIn && r.Why != "" {
		s += ": " + shorten(r.Why, 60)
	}
	return s
}

// loginNames lists the logins the boots tried (each once): "root, debian;
// ssh: root, debian". Which of them failed, the boot outcomes say.
func loginNames(rs ...*boot.Result) string {
	var serial, ssh []string
	seen := map[string]bool{}
	for _, r := range rs {
		if r == nil {
			continue
		}
		for _, l := range r.Logins {
			if seen[l.Name()] {
				continue
			}
			seen[l.Name()] = true
			if l.Via == boot.ViaSSH {
				ssh = append(ssh, l.User)
			} else {
				serial = append(serial, l.User)
			}
		}
	}
	if len(serial)+len(ssh) == 0 {
		return "—"
	}
	s := strings.Join(serial, ", ")
	if len(ssh) > 0 {
		s += "; ssh: " + strings.Join(ssh, ", ")
	}
	return s
}

func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
