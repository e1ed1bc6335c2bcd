package checkstest

import (
	"fmt"
	"strings"
	"testing"

	"rescue/checks"
	"rescue/facts"
)

// recorder is a testing.TB that keeps the errors reported to it.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestUndeclaredKind: the assertion every golden run makes fails on a
// finding whose kind the check does not declare, and only on that one.
func TestUndeclaredKind(t *testing.T) {
	c := &checks.Check{Name: "demo", Kinds: []string{"declared"}}
	findings := []checks.Finding{
		{Check: "demo", Kind: "declared", ID: "demo/declared:/etc/a"},
		{Check: "demo", Kind: "sneaked-in", ID: "demo/sneaked-in:/etc/b"},
	}
	r := &recorder{TB: t}
	Undeclared(r, c, findings)
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], `"sneaked-in"`) {
		t.Fatalf("errors %q: want one, about kind sneaked-in", r.errs)
	}
	r.errs = nil
	Undeclared(r, c, findings[:1])
	if len(r.errs) != 0 {
		t.Fatalf("a declared kind was refused: %q", r.errs)
	}
}

// TestUndeclaredFact: the harness fails on a fact the check asked for
// without requiring it, and not on a required one.
func TestUndeclaredFact(t *testing.T) {
	c := &checks.Check{Name: "demo", Requires: []facts.Fact{facts.Fstab}}
	u := &factUse{}
	u.note(facts.Fstab)
	u.note(facts.Packages)
	u.note(facts.Packages)
	r := &recorder{TB: t}
	u.check(r, c)
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], `"packages"`) {
		t.Fatalf("errors %q: want one, about packages", r.errs)
	}
}
