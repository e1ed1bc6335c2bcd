package all

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"rescue/checks"
	"rescue/checks/checkstest"
	"rescue/docs/schema"
	"rescue/facts"
	"rescue/repair"
	"rescue/report"
	"rescue/sysroot"
)

// TestGoldenReportsMatchSchemas builds every check's golden roots, scans
// each with its check, and validates what rescue would print against
// docs/schema: the scan report, the dry-run fix report, and the fix report
// after the repair is applied (with its results and what remains). A
// field added to the JSON without its schema, or a value outside it,
// fails here.
func TestGoldenReportsMatchSchemas(t *testing.T) {
	n := 0
	for _, c := range Checks() {
		files, err := filepath.Glob(filepath.Join("..", c.Name, "testdata", "*.txtar"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			t.Run(c.Name+"/"+strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
				a, err := txtar.ParseFile(file)
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				checkstest.Unpack(t, a, dir, false)
				validateGolden(t, c, dir, checkstest.FactOptions(t, a))
				n++
			})
		}
	}
	if n < len(Checks()) {
		t.Errorf("validated %d goldens for %d checks", n, len(Checks()))
	}
}

func validateGolden(t *testing.T, c *checks.Check, dir string, fopt facts.Options) {
	root, err := sysroot.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	tool := report.Tool{Name: "rescue", Version: "test"}
	target := report.Target{Path: dir}
	f := facts.New(root, fopt)
	res := checks.Run(context.Background(), root, f, []*checks.Check{c}, nil)
	valid(t, report.New(tool, target, f.OS(), fopt.Devices, res).WriteJSON)

	cands, err := checks.Candidates(res.Findings, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan := repair.NewPlan(cands, func(p string) ([]byte, error) { return root.ReadFile(p) })
	fix := &report.FixReport{Schema: report.FixSchema, Tool: tool, Target: target, OS: f.OS(), DryRun: true,
		Findings: res.Findings, Plan: plan, FindingsLeft: report.Problems(res.Findings), ExitCode: report.ExitFindings}
	valid(t, fix.WriteJSON)
	if plan.Empty() {
		return
	}
	result, err := repair.Apply(root, plan, repair.Options{JournalDir: t.TempDir()})
	after := checks.Run(context.Background(), root, facts.New(root, fopt), []*checks.Check{c}, nil)
	fix.DryRun, fix.Result, fix.Remaining = false, result, after.Findings
	fix.FindingsLeft, fix.ExitCode = report.Problems(after.Findings), report.ExitRepaired
	if err != nil {
		fix.Error, fix.ExitCode = err.Error(), report.ExitError
	}
	valid(t, fix.WriteJSON)
}

func valid(t *testing.T, write func(w io.Writer) error) {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(b.Bytes()); err != nil {
		t.Errorf("%v\n%s", err, b.String())
	}
}
