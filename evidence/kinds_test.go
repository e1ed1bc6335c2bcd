package evidence

import (
	"strings"
	"testing"

	"rescue/checks/all"
)

// TestRulesNameDeclaredKinds holds the link table to the checks'
// finding-kind contract: the check/kind part of every pattern (before the
// first ':') matches a kind some check declares, so a renamed or removed
// kind cannot leave a rule that links nothing any more.
func TestRulesNameDeclaredKinds(t *testing.T) {
	var declared []string
	for _, c := range all.Checks() {
		for _, k := range c.Kinds {
			declared = append(declared, c.Name+"/"+k)
		}
	}
	for _, r := range Rules {
		for _, p := range r.Findings {
			kind, _, _ := strings.Cut(p, ":")
			ok := false
			for _, d := range declared {
				if globMatch(kind, d) {
					ok = true
					break
				}
			}
			if !ok {
				t.Errorf("rule for %s: pattern %q names no declared finding kind", r.Event, p)
			}
		}
	}
}
