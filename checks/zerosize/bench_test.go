package zerosize

import (
	"context"
	"os"
	"testing"
	"time"

	"rescue/checks"
	"rescue/facts"
	"rescue/sysroot"
)

// TestHostRoot runs the check on the machine's own root, read-only, as a
// real-root smoke test and timing: it must walk a full distribution in
// seconds and find nothing critical on a system that is running.
func TestHostRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("walks the host's /usr and /etc")
	}
	if _, err := os.Stat("/usr/lib/os-release"); err != nil {
		t.Skip("the host has no /usr/lib/os-release; not a distribution root")
	}
	r, err := sysroot.Open("/")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	start := time.Now()
	res := checks.Run(context.Background(), r, facts.New(r, facts.Options{}), []*checks.Check{Check}, nil)
	took := time.Since(start)
	for _, s := range res.Checks {
		if s.Error != "" {
			t.Fatal(s.Error)
		}
	}
	for _, f := range res.Findings {
		t.Logf("%s %s: %s", f.Severity, f.Path, f.Message)
		if f.Severity == checks.Critical {
			t.Errorf("a running system has a critical empty file: %s", f.Path)
		}
	}
	t.Logf("walked the host root in %v, %d findings", took, len(res.Findings))
	if took > 60*time.Second {
		t.Errorf("walking the host root took %v", took)
	}
}
