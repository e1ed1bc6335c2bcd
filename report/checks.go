package report

import (
	"fmt"
	"io"
	"text/tabwriter"

	"rescue/checks"
)

// ChecksSchema names the JSON of rescue checks --json (a list: the
// document has no schema field of its own, so it is validated by name).
const ChecksSchema = "rescue.checks/v1"

// CheckInfo is one check as rescue checks --json lists it.
type CheckInfo struct {
	Name     string   `json:"name"`
	Summary  string   `json:"summary"`
	Requires []string `json:"requires,omitempty"`
	// Kinds are the finding kinds the check can report: the "check/kind"
	// prefix of the finding ids runbooks and --choose name.
	Kinds []string `json:"kinds"`
}

// Checks describes the checks for rescue checks --json.
func Checks(list []*checks.Check) []CheckInfo {
	var rows []CheckInfo
	for _, c := range list {
		r := CheckInfo{Name: c.Name, Summary: c.Summary(), Kinds: c.Kinds}
		for _, f := range c.Requires {
			r.Requires = append(r.Requires, string(f))
		}
		rows = append(rows, r)
	}
	return rows
}

// WriteChecksJSON writes the list of checks as JSON.
func WriteChecksJSON(w io.Writer, list []*checks.Check) error { return writeJSON(w, Checks(list)) }

// WriteChecksText writes one line per check: its name and summary.
func WriteChecksText(w io.Writer, list []*checks.Check) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\n", c.Name, c.Summary())
	}
	return tw.Flush()
}
