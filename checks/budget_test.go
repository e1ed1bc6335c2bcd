package checks

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A check stuck in code that does not watch the context (a parser on a
// hostile file) must not hold up the scan past its budget, nor a SIGTERM.
func TestRunHonoursBudgetAndCancellation(t *testing.T) {
	defer func(c, s time.Duration) { CheckBudget, ScanBudget = c, s }(CheckBudget, ScanBudget)
	CheckBudget, ScanBudget = 200*time.Millisecond, time.Hour
	stuck := &Check{Name: "stuck", Run: func(*Pass) error { select {} }}
	quick := &Check{Name: "quick", Run: func(p *Pass) error { p.Report(Finding{Kind: "k", Severity: Warning}); return nil }}

	start := time.Now()
	res := Run(context.Background(), nil, nil, []*Check{stuck, quick}, nil)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %s", d)
	}
	if !strings.Contains(res.Checks[0].Error, "time budget") || res.Checks[1].Error != "" || len(res.Findings) != 1 {
		t.Errorf("checks %+v, findings %d", res.Checks, len(res.Findings))
	}

	CheckBudget = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start = time.Now()
	res = Run(ctx, nil, nil, []*Check{stuck, quick}, nil)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %s after cancellation", d)
	}
	if !strings.Contains(res.Checks[0].Error, "stopped") || !strings.Contains(res.Checks[1].Error, "not run") {
		t.Errorf("checks %+v", res.Checks)
	}

	CheckBudget, ScanBudget = time.Hour, 0
	res = Run(context.Background(), nil, nil, []*Check{quick}, nil)
	if !strings.Contains(res.Checks[0].Error, "budget") {
		t.Errorf("checks %+v", res.Checks)
	}
}
