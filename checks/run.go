package checks

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"rescue/facts"
	"rescue/repair"
	"rescue/sysroot"
)

// Status is the outcome of one check in a run.
type Status struct {
	Name     string `json:"name"`
	Findings int    `json:"findings"`
	// Error is set when the check could not do its work.
	Error string `json:"error,omitempty"`
}

// Result is the outcome of running checks on a target.
type Result struct {
	Findings []Finding `json:"findings"`
	Checks   []Status  `json:"checks"`
	Notes    []string  `json:"notes,omitempty"`
}

// Failed reports whether any check could not do its work.
func (r *Result) Failed() bool {
	for _, c := range r.Checks {
		if c.Error != "" {
			return true
		}
	}
	return false
}

// Budgets of time. A check on a healthy disk takes seconds (verifying every
// package file's metadata on a large system, well under a minute); one
// that runs for minutes is looking at a disk made to keep it busy. A check
// over its budget is recorded as not finished and the scan goes on; once
// the scan's budget is spent, the remaining checks are not run. Variables,
// so that tests can shorten them.
var (
	CheckBudget = 5 * time.Minute
	ScanBudget  = 20 * time.Minute
)

// Run runs the checks on the target. Checks run one after another in list
// order (they are I/O bound on one disk); a check that fails or panics is
// recorded in its Status and the others still run. Findings come out most
// severe first, then in check order.
//
// Run returns as soon as ctx is cancelled (SIGTERM), or a check exceeds its
// budget, even when the check is busy in code that does not watch ctx: it
// runs in a goroutine of its own, which is then left behind.
func Run(ctx context.Context, root *sysroot.Root, f *facts.Facts, list []*Check, progress func(name string, i, n int)) *Result {
	res := &Result{}
	deadline := time.Now().Add(ScanBudget)
	pf := root.Prefetch(ctx, Reads(list), 0)
	defer pf.Stop()
	prep := prepare(root, f, list)
	for i, c := range list {
		if ctx.Err() == nil && time.Now().After(deadline) {
			res.Checks = append(res.Checks, Status{Name: c.Name, Error: fmt.Sprintf("not run: the scan's time budget (%s) is spent", ScanBudget)})
			continue
		}
		if ctx.Err() != nil {
			res.Checks = append(res.Checks, Status{Name: c.Name, Error: "not run: " + ctx.Err().Error()})
			continue
		}
		if progress != nil {
			progress(c.Name, i, len(list))
		}
		p := &Pass{Check: c, Root: root, Facts: f, prep: prep[c]}
		done := make(chan error, 1)
		go func() { done <- runOne(p) }()
		timer := time.NewTimer(CheckBudget)
		var err error
		finished := false
		select {
		case err = <-done:
			finished = true
		case <-ctx.Done():
			err = fmt.Errorf("stopped: %w", ctx.Err())
		case <-timer.C:
			err = fmt.Errorf("did not finish within its time budget (%s): the disk holds more than a system has, or was made to keep rescue busy", CheckBudget)
		}
		timer.Stop()
		st := Status{Name: c.Name}
		if err != nil {
			st.Error = err.Error()
		}
		if !finished {
			// The goroutine may still be writing to p: nothing of it
			// is read.
			res.Checks = append(res.Checks, st)
			continue
		}
		st.Findings = len(p.findings)
		res.Checks = append(res.Checks, st)
		res.Findings = append(res.Findings, p.findings...)
		res.Notes = append(res.Notes, p.notes...)
	}
	slices.SortStableFunc(res.Findings, func(a, b Finding) int { return int(a.Severity) - int(b.Severity) })
	return res
}

// preparation is a check's Prepare under way.
type preparation struct {
	done chan struct{}
	val  any
}

// prepare starts the Prepare of every check that has one, each on a
// goroutine of its own. A panic in one is a nil result: the check's Run
// then does the work itself, and reports what goes wrong.
func prepare(root *sysroot.Root, f *facts.Facts, list []*Check) map[*Check]*preparation {
	out := map[*Check]*preparation{}
	for _, c := range list {
		if c.Prepare == nil {
			continue
		}
		p := &preparation{done: make(chan struct{})}
		out[c] = p
		go func() {
			defer close(p.done)
			defer func() {
				if recover() != nil {
					p.val = nil
				}
			}()
			p.val = c.Prepare(root, f)
		}()
	}
	return out
}

// Reads is what the checks will read, in the order they run: the facts
// they require (each once), then what each lists in Reads.
func Reads(list []*Check) []string {
	var out []string
	seen := map[string]bool{}
	add := func(ps []string) {
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	for _, c := range list {
		for _, fact := range c.Requires {
			add(facts.Reads(fact))
		}
		add(c.Reads)
	}
	return out
}

// runOne runs a check, turning a panic into an error: a bug in one check
// must not cost the operator the rest of the report.
func runOne(p *Pass) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error (please report): %v\n%s", r, debug.Stack())
		}
	}()
	return p.Check.Run(p)
}

// Select picks checks from all by a spec: "all", a comma-separated list of
// names or family names, "-name" to leave one out ("all,-selinux",
// "-intrusions"). An empty spec is "all".
func Select(all []*Check, spec string) ([]*Check, error) {
	byName := map[string]*Check{}
	family := map[string][]*Check{}
	for _, c := range all {
		byName[c.Name] = c
		if c.Family != "" {
			family[c.Family] = append(family[c.Family], c)
		}
	}
	chosen := map[string]bool{}
	spec = strings.TrimSpace(spec)
	if spec == "" {
		spec = "all"
	}
	parts := strings.Split(spec, ",")
	if strings.HasPrefix(strings.TrimSpace(parts[0]), "-") {
		parts = append([]string{"all"}, parts...)
	}
	for _, part := range parts {
		part = strings.TrimSpace(part)
		name, exclude := strings.CutPrefix(part, "-")
		switch {
		case name == "all" && !exclude:
			for _, c := range all {
				chosen[c.Name] = true
			}
		case byName[name] != nil:
			chosen[name] = !exclude
		case family[name] != nil:
			for _, c := range family[name] {
				chosen[c.Name] = !exclude
			}
		case part == "":
		default:
			return nil, fmt.Errorf("unknown check %q (rescue checks lists them)", name)
		}
	}
	var out []*Check
	for _, c := range all {
		if chosen[c.Name] {
			out = append(out, c)
		}
	}
	return out, nil
}

// Candidates turns findings into planner input: for each finding with
// fixes, the alternative choose picks (0 by default), staged by severity.
// choose maps a finding id to the index of the fix to use; a finding mapped
// to -1 is left out.
func Candidates(findings []Finding, choose map[string]int) ([]repair.Candidate, error) {
	var out []repair.Candidate
	seen := map[string]bool{}
	for _, f := range findings {
		seen[f.ID] = true
		if len(f.Fixes) == 0 {
			continue
		}
		i := choose[f.ID]
		if i < 0 {
			continue
		}
		if i >= len(f.Fixes) {
			return nil, fmt.Errorf("finding %s has %d fixes; there is no fix %d", f.ID, len(f.Fixes), i+1)
		}
		out = append(out, repair.Candidate{Finding: f.ID, Stage: f.Severity.Stage(), Fix: f.Fixes[i]})
	}
	for id := range choose {
		if !seen[id] {
			return nil, fmt.Errorf("no finding %s in this scan", id)
		}
	}
	return out, nil
}
