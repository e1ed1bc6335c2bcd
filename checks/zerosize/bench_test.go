package zerosize

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"rescue/checks"
	"rescue/facts"
	"rescue/sysroot"
)

// hostRoot opens the machine's own root read-only, or skips when it is
// not a distribution root.
func hostRoot(tb testing.TB) *sysroot.Root {
	if _, err := os.Stat("/usr/lib/os-release"); err != nil {
		tb.Skip("the host has no /usr/lib/os-release; not a distribution root")
	}
	r, err := sysroot.Open("/")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// scanHost runs the check on the host root with fresh facts (the package
// database is read each time, as a scan would).
func scanHost(tb testing.TB, r *sysroot.Root) *checks.Result {
	res := checks.Run(context.Background(), r, facts.New(r, facts.Options{}), []*checks.Check{Check}, nil)
	for _, s := range res.Checks {
		if s.Error != "" {
			tb.Fatal(s.Error)
		}
	}
	return res
}

// TestHostRoot runs the check on the machine's own root, read-only, as a
// real-root smoke test: it must find nothing critical on a system that is
// running. Its speed is BenchmarkHostRootVsFind's business.
func TestHostRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("walks the host's /usr and /etc")
	}
	r := hostRoot(t)
	res := scanHost(t, r)
	for _, f := range res.Findings {
		t.Logf("%s %s: %s", f.Severity, f.Path, f.Message)
		if f.Severity == checks.Critical {
			t.Errorf("a running system has a critical empty file: %s", f.Path)
		}
	}
	// Whatever the check reports must be an empty regular file that find
	// sees too: the check filters find's list, it never adds to it.
	empty := findEmpty(t)
	for _, f := range res.Findings {
		if !empty[f.Path] {
			t.Errorf("%s is reported empty but find -type f -empty does not list it", f.Path)
		}
	}
	t.Logf("%d findings among %d empty files", len(res.Findings), len(empty))
}

// walkedDirs are the check's roots as find must be given them: resolved
// through the host's merged-/usr links, each once.
func walkedDirs(tb testing.TB) []string {
	seen := map[string]bool{}
	var dirs []string
	for _, r := range roots {
		d, err := filepath.EvalSymlinks(r.dir)
		if err != nil || seen[d] {
			continue
		}
		seen[d] = true
		dirs = append(dirs, d)
	}
	return dirs
}

// findEmpty is what an operator would run instead of the check: find's
// list of empty regular files in the same directories. Like the check, it
// crosses into filesystems mounted below them (no -xdev).
func findEmpty(tb testing.TB) map[string]bool {
	args := append(walkedDirs(tb), "-type", "f", "-empty")
	var out bytes.Buffer
	cmd := exec.Command("find", args...)
	cmd.Stdout = &out
	_ = cmd.Run() // unreadable directories make find exit 1
	empty := map[string]bool{}
	for _, l := range strings.Split(out.String(), "\n") {
		if l != "" {
			empty[l] = true
		}
	}
	return empty
}

// BenchmarkHostRootVsFind times the whole check on the host root (package
// database read, libraries classified, every file judged) against
// `find DIRS -type f -empty` on the same directories, alternating,
// and reports the ratio find/rescue: above 1 means the check is faster
// than the bare find an operator would start with.
func BenchmarkHostRootVsFind(b *testing.B) {
	if _, err := exec.LookPath("find"); err != nil {
		b.Skip("find is not installed")
	}
	r := hostRoot(b)
	scanHost(b, r) // warm the page cache for both
	findEmpty(b)
	var ours, theirs time.Duration
	for b.Loop() {
		t0 := time.Now()
		scanHost(b, r)
		t1 := time.Now()
		findEmpty(b)
		ours, theirs = ours+t1.Sub(t0), theirs+time.Since(t1)
	}
	b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N), "rescue-ns/op")
	b.ReportMetric(float64(theirs.Nanoseconds())/float64(b.N), "find-ns/op")
	b.ReportMetric(float64(theirs)/float64(ours), "find/rescue")
}
