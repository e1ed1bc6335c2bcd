//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"rescue/images"
	"rescue/images/boot"
)

// TestBootProof builds (or takes from the cache) the Debian base image,
// boots it, and runs the scenarios E2E_SCENARIOS names ("ci" by default,
// "all", or a comma-separated list), E2E_PARALLEL at a time. The table goes
// to E2E_OUT/table.md and table.json, with every serial log beside it.
// "ci" is the fixed subset (Scenario.CI) plus E2E_ROTATE others that change
// every day (Rotation). "all" and "ci" include the runbook rows marked
// Default (runbook.go); "runbooks" runs every runbook row and no plain
// scenario, and a list may name runbook rows.
//
//	E2E_SCENARIOS  ci | all | none | runbooks | NAME,NAME… (default ci)
//	E2E_ROTATE     scenarios added to ci by day (default 3)
//	E2E_PARALLEL   boots at once                (default 2)
//	E2E_SMP        CPUs per machine             (default 1)
//	E2E_MEM        MiB per machine              (default 1024)
//	E2E_OUT        artifacts                    (default $TMPDIR/rescue-e2e-out)
//	E2E_CACHE      root and base image cache    (default /var/cache/rescue-e2e)
//	E2E_FLAVORS    other image flavors to boot  (default gpt-xfs-uefi,mbr-lvm-ext4; none)
//	E2E_PATIENCE   stretch of waits and limits  (default from the host's load)
//	E2E_RESCUE     the program under test       (default: rescue built from this tree)
//	E2E_RELEASE    bullseye | bookworm | trixie (default bookworm)
//	E2E_NOBOOT     1: stop each row after the dry run (finding and severity only)
//
// E2E_RESCUE=/bin/true shows that the proof can fail: a program that
// repairs nothing must fail every row.
func TestBootProof(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the boot proof needs root (loop devices, mounts, chroot)")
	}
	if err := boot.Available(); err != nil {
		t.Skip(err)
	}
	for _, tool := range []string{"mmdebstrap", "losetup", "sfdisk", "mkfs.ext4"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: %v", tool, err)
		}
	}
	t0 := time.Now()
	set := envOr("E2E_SCENARIOS", "ci")
	runbookList, plainSet := LookupRunbooks(set)
	list, err := Lookup(plainSet)
	if err != nil {
		t.Fatal(err)
	}
	if set == "ci" {
		day := int(time.Now().UTC().Unix() / 86400)
		var names []string
		for _, sc := range Rotation(day, envInt(t, "E2E_ROTATE", 3)) {
			list = append(list, sc)
			names = append(names, sc.Name)
		}
		set = fmt.Sprintf("ci + day %d's rotation: %s", day, strings.Join(names, ","))
	}
	parallel, smp, mem := envInt(t, "E2E_PARALLEL", 2), envInt(t, "E2E_SMP", 1), envInt(t, "E2E_MEM", 1024)
	out := envOr("E2E_OUT", filepath.Join(os.TempDir(), "rescue-e2e-out"))
	cache := envOr("E2E_CACHE", "/var/cache/rescue-e2e")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(cache, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	// Stop in time to write the table and clean up (loop devices, mounts,
	// qemu): before the test's own deadline, and on an interrupt.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-2*time.Minute))
		defer cancel()
	}

	bin := os.Getenv("E2E_RESCUE")
	if bin != "" && !filepath.IsAbs(bin) && strings.Contains(bin, "/") {
		// go test runs in this package's directory, not where make ran.
		t.Fatalf("E2E_RESCUE=%s: give an absolute path or a name on PATH", bin)
	}
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "rescue")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "rescue/cmd/rescue").CombinedOutput(); err != nil {
			t.Fatalf("building rescue: %v\n%s", err, out)
		}
	}
	// Several machines share the CPUs, and under software emulation each
	// is slower by the ratio of busy threads to real CPUs: the harness's
	// waits and time limits stretch by that ratio (the host's load when
	// the run starts plus the boots' own CPUs), or by E2E_PATIENCE.
	patience := float64(load()+float64(parallel*smp)) / float64(runtime.NumCPU())
	if v := os.Getenv("E2E_PATIENCE"); v != "" {
		if patience, err = strconv.ParseFloat(v, 64); err != nil {
			t.Fatalf("E2E_PATIENCE=%q: %v", v, err)
		}
	}
	patience = max(patience, 1)
	rel := images.Bookworm
	if v := os.Getenv("E2E_RELEASE"); v != "" {
		var ok bool
		if rel, ok = images.LookupRelease(v); !ok {
			t.Fatalf("E2E_RELEASE=%q: want bullseye, bookworm or trixie (11, 12, 13)", v)
		}
	}
	noBoot := os.Getenv("E2E_NOBOOT") == "1"
	if noBoot {
		runbookList = nil // a runbook row is its helper's boot
	}
	env := &Env{
		Release: rel, NoBoot: noBoot,
		Rescue: bin, CacheDir: cache, Out: out, Work: work, Parallel: parallel,
		Boot: boot.Options{CPUs: smp, MemoryMB: mem, Patience: patience,
			Timeout: time.Duration(float64(15*time.Minute) * patience)},
		Log: func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "e2e %s: %s\n", time.Since(t0).Round(time.Second), fmt.Sprintf(format, args...))
		},
	}
	env.logf("%d boot(s) at a time, %d CPU/%d MiB each, patience %.1f", parallel, smp, mem, patience)
	base, err := env.Base(ctx, images.MBRExt4)
	if err != nil {
		t.Fatalf("base image: %v", err)
	}
	// The other flavors are proven by a healthy boot each.
	var others []*images.DebianImage
	for _, f := range strings.Split(envOr("E2E_FLAVORS", string(images.GPTXfsUEFI)+","+string(images.LVMExt4)), ",") {
		if f = strings.TrimSpace(f); f == "" || f == "none" || images.Flavor(f) == images.MBRExt4 {
			continue
		}
		img, err := env.Base(ctx, images.Flavor(f))
		if err != nil {
			t.Errorf("%s base image: %v", f, err)
			continue
		}
		others = append(others, img)
	}
	env.logf("base image %s, kernels %v", base.Path, base.Kernels)
	suite, err := NewSuite(ctx, env, base)
	if err != nil {
		t.Fatal(err)
	}
	table := &Table{Set: set, Rescue: os.Getenv("E2E_RESCUE"), Parallel: parallel, CPUs: smp, MemoryMB: mem}
	report := func(r *Row) {
		env.logf("%-24s %-8s broken=%s repaired=%s (%.0fs)", r.Scenario, r.Status, short(r.Broken), short(r.Repaired), r.Seconds)
	}
	baselines := make([]*Row, 1+len(others))
	var wg sync.WaitGroup
	for i, img := range append([]*images.DebianImage{base}, others...) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			baselines[i] = suite.Baseline(ctx, img)
			report(baselines[i])
		}()
	}
	// The runbook rows (runbook.go) run beside the plain ones; boots
	// share the same slots.
	var plain []string
	for _, sc := range list {
		plain = append(plain, sc.Name)
	}
	var runbookRows []*Row
	wg.Add(1)
	go func() {
		defer wg.Done()
		runbookRows = suite.RunRunbooks(ctx, runbookList, plain, report)
	}()
	rows := suite.RunAll(ctx, list, report)
	wg.Wait()
	rows = append(rows, runbookRows...)
	table.Rows = append(baselines, rows...)
	table.Seconds = time.Since(t0).Seconds()
	writeTable(t, out, table)

	for _, r := range table.Rows {
		t.Run(r.Scenario, func(t *testing.T) {
			if r.Status != "PASS" {
				t.Errorf("%s: %s", r.Status, strings.Join(r.Notes, "; "))
			}
		})
	}
}

func short(r *boot.Result) string {
	if r == nil {
		return "—"
	}
	return r.Short()
}

func writeTable(t *testing.T, out string, table *Table) {
	md, err := os.Create(filepath.Join(out, "table.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	if err := table.WriteMarkdown(md); err != nil {
		t.Fatal(err)
	}
	js, err := os.Create(filepath.Join(out, "table.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer js.Close()
	if err := table.WriteJSON(js); err != nil {
		t.Fatal(err)
	}
}

// load is the host's one-minute load average (0 when unknown).
func load() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envInt(t *testing.T, k string, def int) int {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", k, v)
	}
	return n
}
