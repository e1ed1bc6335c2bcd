// Package actionstest is the golden harness for operator actions
// (reset-access, serial console, kernel choice). Each testdata/*.txtar
// archive is a target root in the checks' format (see checkstest), with:
//
//	-- .args --
//	user alice
//	(the action's options, one "name value" a line)
//	-- .want --
//	(the action's account of what it changes and what still stands in
//	the way, or "error: …"; rewritten by go test -update)
//	-- want/etc/shadow --
//	(files as the action leaves them)
//
// The harness plans the action, compares its account, applies the plan
// through the real repair engine (journal outside the tree), compares the
// whole tree with the expected one, plans again and expects nothing to do
// (an action run twice changes nothing the second time), undoes the repair
// and checks the tree is the original again, mtimes included. An archive
// with no want/ files is a root where the action has nothing to do.
package actionstest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"rescue/checks/checkstest"
	"rescue/repair"
	"rescue/sysroot"
)

// updating reports whether -update was given: the flag is checkstest's,
// which also rewrites this harness's .want sections.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// Args are the options of an archive's .args section.
type Args map[string]string

// Planner plans the action on root with args; it returns the plan's
// candidates and the action's account of them. A returned error is
// compared with the archive's "error: " line.
type Planner func(t testing.TB, root *sysroot.Root, args Args, a *txtar.Archive) ([]repair.Candidate, string, error)

// Run runs every testdata/*.txtar archive of the calling package.
func Run(t *testing.T, plan Planner) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.txtar archives")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			runArchive(t, file, plan)
		})
	}
}

// Section returns the content of a named section.
func Section(a *txtar.Archive, name string) (string, bool) {
	for _, f := range a.Files {
		if f.Name == name {
			return string(f.Data), true
		}
	}
	return "", false
}

func parseArgs(a *txtar.Archive) Args {
	args := Args{}
	s, _ := Section(a, ".args")
	for _, line := range strings.Split(s, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		if k != "" {
			args[k] = strings.TrimSpace(v)
		}
	}
	return args
}

func runArchive(t *testing.T, file string, plan Planner) {
	a, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	checkstest.Unpack(t, a, dir, false)
	before := checkstest.Snapshot(t, dir)
	root, err := sysroot.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	args := parseArgs(a)

	cands, text, err := plan(t, root, args, a)
	got := text
	if err != nil {
		got = "error: " + err.Error() + "\n"
	}
	want, _ := Section(a, ".want")
	if updating() {
		setSection(a, ".want", got)
		if err := os.WriteFile(file, txtar.Format(a), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if got != want {
		t.Errorf("the action's account differs\n--- want\n%s--- got\n%s", want, got)
	}
	if !checkstest.EqualTrees(t, "planning", before, checkstest.Snapshot(t, dir), true) {
		t.Fatal("planning changed the tree")
	}
	if err != nil {
		return
	}

	p := repair.NewPlan(cands, func(name string) ([]byte, error) { return root.ReadFile(name) })
	var diff bytes.Buffer
	if err := repair.WriteDiff(&diff, root, p); err != nil {
		t.Fatalf("diff: %v", err)
	}
	journal := t.TempDir()
	res, err := repair.Apply(root, p, repair.Options{JournalDir: journal})
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, diff.String())
	}
	for _, it := range res.Items {
		if it.Status != repair.OutcomeApplied {
			t.Errorf("%s: %s: %s", it.Finding, it.Status, it.Reason)
		}
	}
	wantDir := filepath.Join(t.TempDir(), "want")
	if err := os.Mkdir(wantDir, 0o755); err != nil {
		t.Fatal(err)
	}
	checkstest.Unpack(t, a, wantDir, true)
	if !checkstest.EqualTrees(t, "the tree after the action", checkstest.Snapshot(t, wantDir), checkstest.Snapshot(t, dir), false) {
		t.Logf("diff of the plan:\n%s", diff.String())
	}

	again, _, err := plan(t, root, args, a)
	if err != nil {
		t.Fatalf("planning again: %v", err)
	}
	if p2 := repair.NewPlan(again, nil); !p2.Empty() {
		t.Errorf("a second run would change more:\n%s", p2.Describe())
	}

	if res.ID != "" {
		if _, err := repair.Undo(root, repair.UndoOptions{JournalDir: journal}); err != nil {
			t.Fatalf("undo: %v", err)
		}
	}
	checkstest.EqualTrees(t, "the tree after undo", before, checkstest.Snapshot(t, dir), true)
}

func setSection(a *txtar.Archive, name, data string) {
	for i := range a.Files {
		if a.Files[i].Name == name {
			a.Files[i].Data = []byte(data)
			return
		}
	}
	insert := 0
	for insert < len(a.Files) && strings.HasPrefix(a.Files[insert].Name, ".") {
		insert++
	}
	a.Files = append(a.Files[:insert], append([]txtar.File{{Name: name, Data: []byte(data)}}, a.Files[insert:]...)...)
}

// Account is an action's account as a golden records it: one "change:"
// line per change, then one "note:" line per note.
func Account(changes, notes []string) string {
	var s strings.Builder
	for _, c := range changes {
		s.WriteString("change: " + c + "\n")
	}
	for _, n := range notes {
		s.WriteString("note: " + n + "\n")
	}
	return s.String()
}
