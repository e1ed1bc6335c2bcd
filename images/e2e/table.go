package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Table is the outcome of a run, as the Markdown table `make e2e` prints
// and as JSON.
type Table struct {
	Schema string `json:"schema"`
	// Set names the scenarios run ("ci", "all" or a list).
	Set string `json:"set"`
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
// the notes of the rows that have any.
func (t *Table) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "| scenario | fault | broken: want | broken: got | findings | repaired | undo | status | time |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range t.Rows {
		broken := "—"
		if r.Broken != nil {
			broken = r.Broken.Short()
			if r.Broken.Class != "LOGGED_IN" && r.Broken.Why != "" {
				broken += ": " + shorten(r.Broken.Why, 60)
			}
		}
		repaired := "—"
		if r.Repaired != nil {
			repaired = r.Repaired.Short()
			if r.Repaired.Class != "LOGGED_IN" && r.Repaired.Why != "" {
				repaired += ": " + shorten(r.Repaired.Why, 60)
			}
		}
		findings := "none"
		if len(r.Findings) > 0 {
			findings = strings.Join(r.Findings, "<br>")
		}
		if r.Applied > 0 {
			findings += fmt.Sprintf(" (%d applied)", r.Applied)
		}
		undo := r.Undo
		if undo == "" {
			undo = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %.0fs |\n",
			r.Scenario, cell(r.Fault), cell(r.BrokenWant), cell(broken), cell(findings), cell(repaired), cell(shorten(undo, 80)), r.Status, r.Seconds)
	}
	c := t.Counts()
	cpu, boots := 0.0, 0
	for _, r := range t.Rows {
		cpu += r.BootCPU
		if r.Broken != nil {
			boots++
		}
		if r.Repaired != nil {
			boots++
		}
	}
	fmt.Fprintf(&b, "\n%d row(s): %d pass, %d fail, %d no check yet, %d error; %d boot(s), %d at a time, of %d CPU/%d MiB, using %.0f CPU-seconds; %.0fs in all\n",
		len(t.Rows), c["PASS"], c["FAIL"], c["NO_CHECK"], c["ERROR"], boots, t.Parallel, t.CPUs, t.MemoryMB, cpu, t.Seconds)
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

func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
