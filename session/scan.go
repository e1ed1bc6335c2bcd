package session

import (
	"context"
	"fmt"
	"sync"
	"time"

	"rescue/bytesize"
	"rescue/checks"
	"rescue/facts"
	"rescue/pkgdb"
	"rescue/pkgrepo"
)

// ScanOptions say what a scan knows beyond the target.
type ScanOptions struct {
	// Memory is the instance's RAM (--memory), 0 when not given.
	Memory int64
	// Machine is what the last boot's logs said about the machine.
	Machine *facts.Machine
	// Repos says how restores may use the target's repositories: only
	// name them (scan), resolve (fix) or download (fix --apply).
	Repos *pkgrepo.Options
	// Progress starts a one-line status for one scan: show redraws it,
	// done clears it (nil: none).
	Progress func() (show func(format string, args ...any), done func())
}

// Scan gathers the target's facts and runs the checks on them.
func (t *Target) Scan(ctx context.Context, list []*checks.Check, o ScanOptions) (*checks.Result, *facts.Facts) {
	show, done := func(string, ...any) {}, func() {}
	if o.Progress != nil {
		show, done = o.Progress()
	}
	var repos *pkgrepo.Options
	if o.Repos != nil {
		r := *o.Repos
		r.Log = t.log
		r.Progress = func(what string, n, total int64) {
			if total > 0 {
				show("fetching %s: %s of %s", what, HumanBytes(n), HumanBytes(total))
			} else {
				show("fetching %s: %s", what, HumanBytes(n))
			}
		}
		repos = &r
	}
	f := facts.New(t.Root, facts.Options{Devices: t.Devices, Memory: o.Memory, Machine: o.Machine, OpenPackages: pkgdb.Open,
		PackageDirs: t.packages, Filesystems: t.Filesystems, Disk: t.Disk, Repos: repos, Context: ctx})
	// The line names the check running and what was read so far; a
	// ticker redraws it while a long check (a walk of /usr) runs.
	began := time.Now()
	var mu sync.Mutex
	current := ""
	line := func() {
		mu.Lock()
		name := current
		mu.Unlock()
		files, bytes := t.Root.ReadStats()
		rate := float64(bytes) / max(time.Since(began).Seconds(), 1e-3)
		show("checking %s: %d files, %s read, %s/s", name, files, HumanBytes(bytes), HumanBytes(int64(rate)))
	}
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				line()
			}
		}
	}()
	res := checks.Run(ctx, t.Root, f, list, func(name string, i, n int) {
		mu.Lock()
		current = fmt.Sprintf("%s (%d/%d)", name, i+1, n)
		mu.Unlock()
		line()
	})
	close(stop)
	<-ticked
	done()
	if t.Location != nil {
		for i := range res.Findings {
			if res.Findings[i].Path != "" {
				res.Findings[i].Location = t.Location(res.Findings[i].Path)
			}
		}
	}
	return res, f
}

// HumanBytes writes a count of bytes read or fetched for progress lines.
func HumanBytes(n int64) string { return bytesize.Format(n, bytesize.Download) }
