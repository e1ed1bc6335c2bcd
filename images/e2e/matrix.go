package e2e

import (
	"fmt"
	"io"
	"strings"
)

// WriteMatrix writes the scenario × release table: one line per scenario,
// one column per release with the broken and the repaired outcome and the
// row's status there ("—" where the scenario did not run on that release),
// then each release's counts, as measured by the run.
func (t *Table) WriteMatrix(w io.Writer) error {
	var releases, scenarios []string
	cell := map[[2]string]*Row{}
	for _, r := range t.Rows {
		if !contains(releases, r.Release) {
			releases = append(releases, r.Release)
		}
		if !contains(scenarios, r.Scenario) {
			scenarios = append(scenarios, r.Scenario)
		}
		cell[[2]string{r.Scenario, r.Release}] = r
	}
	var b strings.Builder
	b.WriteString("| scenario |")
	for _, rel := range releases {
		fmt.Fprintf(&b, " %s |", releaseName(rel))
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
	b.WriteString("\n")
	for _, rel := range releases {
		c := map[string]int{}
		boots, secs := 0, 0.0
		for _, r := range t.Rows {
			if r.Release != rel {
				continue
			}
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
			releaseName(rel), c["PASS"]+c["FAIL"]+c["ERROR"]+c["NO_CHECK"], c["PASS"], c["FAIL"], c["ERROR"]+c["NO_CHECK"], boots, secs)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cell3 is one cell: broken → repaired, status.
func cell3(r *Row) string {
	broken := "(not booted)"
	if r.Broken != nil {
		broken = r.Broken.Short()
	}
	repaired := "—"
	if r.Repaired != nil {
		repaired = r.Repaired.Short()
	}
	return cell(fmt.Sprintf("%s → %s %s", broken, repaired, r.Status))
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
