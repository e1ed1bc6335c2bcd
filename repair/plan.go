package repair

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/aymanbagabas/go-udiff"
)

// Fix is one way to repair one finding: a verb phrase saying what it does
// ("Point / at UUID=2222…") and the ops that do it. A finding's fixes are
// alternatives; at most one is applied.
type Fix struct {
	Message string `json:"message"`
	Ops     []Op   `json:"ops"`
}

// Stage orders a plan: what stops the machine booting is repaired first,
// then what stops anyone logging in, then the rest.
type Stage int

// The stages, in the order they are applied.
const (
	StageBoot  Stage = 1
	StageLogin Stage = 2
	StageOther Stage = 3
)

func (s Stage) String() string {
	switch s {
	case StageBoot:
		return "boot"
	case StageLogin:
		return "login"
	}
	return "other"
}

// MarshalText writes the stage by name.
func (s Stage) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Candidate is a fix chosen for a finding, offered to the planner.
type Candidate struct {
	Finding string // the finding's stable id
	Stage   Stage
	Fix     Fix
}

// Item is a fix that made it into the plan.
type Item struct {
	Finding string `json:"finding"`
	Stage   Stage  `json:"stage"`
	Fix     Fix    `json:"fix"`
	// MergedInto names the earlier items whose ops also carry this fix's
	// changes: two line edits of one file made from the same content are
	// merged into a single write.
	MergedInto []string `json:"merged_into,omitempty"`
}

// Skipped is a fix left out of the plan, and why.
type Skipped struct {
	Finding string `json:"finding"`
	Fix     string `json:"fix"`
	Reason  string `json:"reason"`
}

// Plan is the ordered set of fixes to apply.
type Plan struct {
	Items   []Item    `json:"items"`
	Skipped []Skipped `json:"skipped,omitempty"`
}

// Ops returns every op of the plan in the order apply runs them.
func (p *Plan) Ops() []Op {
	var ops []Op
	for _, it := range p.Items {
		ops = append(ops, it.Fix.Ops...)
	}
	return ops
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Ops()) == 0 }

// ContentReader returns the current content of a target path; the planner
// uses it to merge line edits.
type ContentReader func(path string) ([]byte, error)

// Policy is a rule of the whole plan rather than of one finding: given the
// ops planned so far, it offers further candidates (an SELinux relabel when
// the plan creates files). NewPlan places what a policy offers after every
// other candidate, through the same overlap handling, so a policy's op that
// collides with a fix's is merged or skipped like any other.
type Policy func(ops []Op) []Candidate

// NewPlan orders candidates by stage (stable, so findings keep their order
// inside a stage) and resolves overlaps: writes to one file made from the
// same content are merged when their line edits do not overlap, identical
// metadata ops are kept once, and anything else touching a path an earlier
// fix touches is skipped with a reason that says to re-run. Then each
// policy, in order, sees the plan's ops and adds its candidates the same
// way.
func NewPlan(cands []Candidate, read ContentReader, policies ...Policy) *Plan {
	cands = slices.Clone(cands)
	slices.SortStableFunc(cands, func(a, b Candidate) int { return int(a.Stage) - int(b.Stage) })

	pl := &planner{p: &Plan{}, read: read, owner: map[string]int{}, sets: map[string]*editSet{}}
	for _, c := range cands {
		pl.add(c)
	}
	for _, policy := range policies {
		for _, c := range policy(pl.p.Ops()) {
			pl.add(c)
		}
	}
	pl.p.build(read)
	return pl.p
}

// planner is the state of NewPlan while it places candidates.
type planner struct {
	p    *Plan
	read ContentReader
	// owner maps a path to the index of the item whose ops touch it.
	owner map[string]int
	// sets hold the merged edits of each file edited by several fixes.
	sets map[string]*editSet
}

// add places one candidate: into the plan, merged with earlier items, or
// among the skipped.
func (pl *planner) add(c Candidate) {
	p, owner, sets, read := pl.p, pl.owner, pl.sets, pl.read
	item := Item{Finding: c.Finding, Stage: c.Stage, Fix: c.Fix}
	item.Fix.Ops = nil
	type merge struct {
		item, op int
		data     []byte
		edits    []Edit
		set      *editSet
	}
	var merges []merge
	conflict := ""
	for _, op := range c.Fix.Ops {
		var touchedBy []int
		for _, path := range op.Paths() {
			if i, ok := owner[path]; ok {
				touchedBy = append(touchedBy, i)
				if conflict == "" {
					conflict = path
				}
			}
		}
		if len(touchedBy) == 0 {
			item.Fix.Ops = append(item.Fix.Ops, op)
			continue
		}
		if len(touchedBy) > 1 || op.Kind == KindExec {
			break
		}
		i := touchedBy[0]
		if set, j := editsOf(sets, p.Items[i].Fix.Ops, op); set != nil {
			// Edits of one file from one content: merged without
			// reading or copying the file.
			if !set.fits(op.Edits) {
				break
			}
			conflict = ""
			merges = append(merges, merge{item: i, op: j, edits: op.Edits, set: set})
		} else {
			j, merged, edits, ok := mergeInto(p.Items[i].Fix.Ops, op, read)
			if !ok {
				break
			}
			conflict = ""
			if j >= 0 {
				merges = append(merges, merge{i, j, merged, edits, nil})
			}
		}
		if !slices.Contains(item.MergedInto, p.Items[i].Finding) {
			item.MergedInto = append(item.MergedInto, p.Items[i].Finding)
		}
	}
	if conflict != "" {
		p.Skipped = append(p.Skipped, Skipped{
			Finding: c.Finding,
			Fix:     c.Fix.Message,
			Reason: fmt.Sprintf("%s is also changed by the fix for %s; run rescue fix again after this repair",
				conflict, p.Items[owner[conflict]].Finding),
		})
		return
	}
	for _, m := range merges {
		o := &p.Items[m.item].Fix.Ops[m.op]
		if m.set != nil {
			m.set.add(m.edits)
			o.Edits = m.set.edits
			continue
		}
		o.Data, o.Edits = m.data, m.edits
		delete(sets, o.Path)
	}
	idx := len(p.Items)
	p.Items = append(p.Items, item)
	for _, op := range item.Fix.Ops {
		for _, path := range op.Paths() {
			owner[path] = idx
		}
	}
}

// build makes the new content of every write that carries edits, once per
// file, from the content read returns (which must still be what the op
// expects; otherwise apply refuses the op as changed since the scan).
func (p *Plan) build(read ContentReader) {
	if read == nil {
		return
	}
	for i := range p.Items {
		for j := range p.Items[i].Fix.Ops {
			o := &p.Items[i].Fix.Ops[j]
			if o.Kind != KindWrite || o.Data != nil || o.Edits == nil {
				continue
			}
			if base, err := read(o.Path); err == nil {
				if data, err := o.materialize(base); err == nil {
					o.Data = data
				}
			}
		}
	}
}

// mergeInto tries to fold op into ops (an earlier fix's ops, one of which
// touches op's path). It returns the index of the op whose data or edits
// must become the merged ones (or -1 when op is simply a duplicate), and
// ok=false on conflict.
func mergeInto(ops []Op, op Op, read ContentReader) (int, []byte, []Edit, bool) {
	for j, prev := range ops {
		if prev.Path != op.Path || prev.Kind == KindExec {
			continue
		}
		if prev.Kind != op.Kind {
			return 0, nil, nil, false
		}
		switch op.Kind {
		case KindWrite:
			if prev.Expect != op.Expect || !ownerModeEqual(prev, op) {
				return 0, nil, nil, false
			}
			if prev.Edits == nil && op.Edits == nil && bytes.Equal(prev.Data, op.Data) {
				// Two checks restoring the same file from the same
				// package: one write does for both.
				return -1, nil, nil, true
			}
			if read == nil || op.Expect.Type != File {
				return 0, nil, nil, false
			}
			base, err := read(op.Path)
			if err != nil || sum(base) != op.Expect.SHA256 {
				return 0, nil, nil, false
			}
			a, err := prev.materializeOr(base)
			if err != nil {
				return 0, nil, nil, false
			}
			b, err := op.materializeOr(base)
			if err != nil {
				return 0, nil, nil, false
			}
			if bytes.Equal(a, b) {
				return -1, nil, nil, true
			}
			merged, ok := mergeLines(string(base), string(a), string(b))
			if !ok {
				return 0, nil, nil, false
			}
			return j, []byte(merged), nil, true
		case KindChmod:
			if *prev.Mode == *op.Mode {
				return -1, nil, nil, true
			}
		case KindChown:
			if *prev.Owner == *op.Owner {
				return -1, nil, nil, true
			}
		case KindSymlink:
			if prev.Target == op.Target {
				return -1, nil, nil, true
			}
		case KindRemove, KindQuarantine, KindSpill, KindUnlock:
			return -1, nil, nil, true
		case KindLink:
			if prev.Target == op.Target {
				return -1, nil, nil, true
			}
		case KindFetch:
			if prev.Source.From == op.Source.From {
				return -1, nil, nil, true
			}
		case KindMkdir, KindMknod:
			if ownerModeEqual(prev, op) && (op.Node == nil || *prev.Node == *op.Node) {
				return -1, nil, nil, true
			}
		}
		return 0, nil, nil, false
	}
	return 0, nil, nil, false
}

// materializeOr returns the op's data, or its edits made to base.
func (o Op) materializeOr(base []byte) ([]byte, error) {
	if o.Data != nil || o.Edits == nil {
		return o.Data, nil
	}
	return o.materialize(base)
}

func ownerModeEqual(a, b Op) bool {
	if (a.Mode == nil) != (b.Mode == nil) || (a.Owner == nil) != (b.Owner == nil) {
		return false
	}
	return (a.Mode == nil || *a.Mode == *b.Mode) && (a.Owner == nil || *a.Owner == *b.Owner)
}

// mergeLines applies the line edits base→a and base→b together when no two
// of them touch the same line (or insert at the same place).
func mergeLines(base, a, b string) (string, bool) {
	ea, eb := udiff.Lines(base, a), udiff.Lines(base, b)
	all := append(slices.Clone(ea), eb...)
	slices.SortStableFunc(all, func(x, y udiff.Edit) int {
		if x.Start != y.Start {
			return x.Start - y.Start
		}
		return x.End - y.End
	})
	var out []udiff.Edit
	for _, e := range all {
		if n := len(out); n > 0 {
			last := out[n-1]
			if last == e {
				continue // the same change made by both
			}
			if e.Start < last.End || e.Start == last.Start {
				return "", false
			}
		}
		out = append(out, e)
	}
	merged, err := udiff.Apply(base, out)
	if err != nil {
		return "", false
	}
	return merged, true
}

// Describe lists the plan's fixes, one per line, for logs.
func (p *Plan) Describe() string {
	var b strings.Builder
	for _, it := range p.Items {
		fmt.Fprintf(&b, "[%s] %s: %s\n", it.Stage, it.Finding, it.Fix.Message)
	}
	return b.String()
}

// Builder collects the ops of a fix together with the errors their
// constructors return, so a check can write
//
//	fix, err := repair.NewFix("Point / at UUID=…").
//		Add(repair.WriteFile(root, "/etc/fstab", data)).
//		Build()
//
// and offer no fix (saying why) when any op could not be planned.
type Builder struct {
	fix Fix
	err error
}

// NewFix starts a fix with its message, a verb phrase.
func NewFix(message string) *Builder { return &Builder{fix: Fix{Message: message}} }

// Add appends an op, or records the error its constructor returned.
func (b *Builder) Add(op Op, err error) *Builder {
	if b.err == nil {
		if err != nil {
			b.err = err
		} else {
			b.fix.Ops = append(b.fix.Ops, op)
		}
	}
	return b
}

// Build returns the fix, or the first error.
func (b *Builder) Build() (Fix, error) {
	if b.err != nil {
		return Fix{}, b.err
	}
	return b.fix, nil
}
