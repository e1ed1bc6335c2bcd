//go:build e2e

package evidence_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"rescue/evidence"
	"rescue/images"
	"rescue/images/boot"
	"rescue/images/e2e"
)

// TestRealBoots boots every e2e scenario that fails to boot or log in,
// WITHOUT a snapshot, so that what the machine wrote (its journal) lands
// on the image; then runs `rescue scan IMAGE --console serial.log --json`
// on the stopped image and checks that the last boot is named from the
// logs and linked to the finding that fixes it. It keeps, per scenario in
// LASTBOOT_OUT, the serial log, the scan report and the journal files, and
// writes the table lastboot.md: scenario, the live class, the console's and
// the journal's verdicts, and the linked findings.
//
//	LASTBOOT_OUT        artifacts (default $TMPDIR/rescue-lastboot)
//	LASTBOOT_SCENARIOS  NAME,… (default: every scenario that is not static)
//	E2E_CACHE           the boot proof's cache (default /var/cache/rescue-e2e)
//	E2E_PATIENCE        stretch of the boot's waits (default 2)
func TestRealBoots(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("real boots need root (loop devices, mounts)")
	}
	if err := boot.Available(); err != nil {
		t.Skip(err)
	}
	out := envOr("LASTBOOT_OUT", filepath.Join(os.TempDir(), "rescue-lastboot"))
	cache := envOr("E2E_CACHE", "/var/cache/rescue-e2e")
	patience, _ := strconv.ParseFloat(envOr("E2E_PATIENCE", "2"), 64)
	work := filepath.Join(cache, "work")
	for _, d := range []string{out, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-time.Minute))
		defer cancel()
	}
	t0 := time.Now()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "lastboot %s: %s\n", time.Since(t0).Round(time.Second), fmt.Sprintf(format, args...))
	}
	// LASTBOOT_RELEASE boots another release's images (bullseye: where
	// libnss_files.so.2 deleted refuses every login); Debian 12 by default.
	rel := images.Bookworm
	if s := os.Getenv("LASTBOOT_RELEASE"); s != "" {
		var ok bool
		if rel, ok = images.LookupRelease(s); !ok {
			t.Fatalf("LASTBOOT_RELEASE=%s: no such release", s)
		}
	}
	env := &e2e.Env{Release: rel, CacheDir: cache, Work: work, Out: out, Log: logf,
		Boot: boot.Options{CPUs: 1, MemoryMB: 1024, Patience: patience, Timeout: time.Duration(float64(15*time.Minute) * patience)}}
	base, err := env.Base(ctx, images.MBRExt4)
	if err != nil {
		t.Fatalf("base image: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "rescue")
	if b, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "rescue/cmd/rescue").CombinedOutput(); err != nil {
		t.Fatalf("building rescue: %v\n%s", err, b)
	}
	baseIDs := map[string]bool{}
	if rep, err := scan(ctx, bin, base.Path, ""); err == nil {
		for _, f := range rep.Findings {
			baseIDs[f.ID] = true
		}
	} else {
		t.Fatal(err)
	}

	var list []*e2e.Scenario
	want := os.Getenv("LASTBOOT_SCENARIOS")
	for _, sc := range e2e.Scenarios() {
		if ok, _ := sc.Applies(rel.Suite); !ok || want != "" && !slices.Contains(strings.Split(want, ","), sc.Name) || want == "" && (sc.FullOnly != "" || !sc.SymptomOn(rel)) {
			continue
		}
		list = append(list, sc)
	}
	table := []string{
		"| scenario | live boot | console: last boot | journal: last boot | journal: previous | linked findings | time |",
		"|---|---|---|---|---|---|---|",
	}
	// Two boots at a time; what mounts an image (the fault, the scan,
	// the journal copy) one at a time, as every copy has the base's
	// UUIDs.
	rows := make([]string, len(list))
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, sc := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rows[i] = runScenario(ctx, t, env, base, bin, sc, baseIDs, logf)
			logf("%s", rows[i])
		}()
	}
	wg.Wait()
	table = append(table, rows...)
	_ = os.WriteFile(filepath.Join(out, "lastboot.md"), []byte(strings.Join(table, "\n")+"\n"), 0o644)
	fmt.Fprintln(os.Stderr, strings.Join(table, "\n"))
}

// diskMu serializes what mounts an image.
var diskMu sync.Mutex

type scanReport struct {
	Findings []struct {
		ID string `json:"id"`
	} `json:"findings"`
	LastBoot *evidence.Report `json:"last_boot"`
}

func scan(ctx context.Context, bin, img, console string) (*scanReport, error) {
	args := []string{"scan", "--json", img}
	if console != "" {
		args = append(args, "--console", console)
	}
	outb, err := exec.CommandContext(ctx, bin, args...).Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() < 8 {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("rescue %s: %w", strings.Join(args, " "), err)
	}
	var rep scanReport
	if err := json.Unmarshal(outb, &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

func runScenario(ctx context.Context, t *testing.T, env *e2e.Env, base *images.DebianImage, bin string, sc *e2e.Scenario, baseIDs map[string]bool, logf func(string, ...any)) string {
	t0 := time.Now()
	dir := filepath.Join(env.Out, sc.Name)
	fail := func(format string, args ...any) string {
		t.Errorf(sc.Name+": "+format, args...)
		return fmt.Sprintf("| %s | ERROR: %s | | | | | |", sc.Name, fmt.Sprintf(format, args...))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail("%v", err)
	}
	w, err := os.MkdirTemp(env.Work, "lastboot-"+sc.Name+"-")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(w)
	img := filepath.Join(w, "disk.img")
	if b, err := exec.CommandContext(ctx, "cp", "--reflink=auto", "--sparse=always", base.Path, img).CombinedOutput(); err != nil {
		return fail("cp: %v: %s", err, b)
	}
	diskMu.Lock()
	err = mounted(ctx, base, img, w, false, func(root string) error { return sc.Break(root, base) })
	diskMu.Unlock()
	if err != nil {
		return fail("injecting the fault: %v", err)
	}
	o := env.Boot
	o.Image, o.Snapshot, o.SerialLog, o.UEFI = img, false, filepath.Join(dir, "serial.log"), base.UEFI
	// As an operator would: the machine sits in its failed state a while
	// before it is stopped, and what it logged reaches the disk.
	o.Linger = 45 * time.Second
	res, err := boot.Run(ctx, o)
	if err != nil {
		return fail("boot: %v", err)
	}
	logf("%s: booted: %s", sc.Name, res.Short())
	diskMu.Lock()
	defer diskMu.Unlock()
	rep, err := scan(ctx, bin, img, o.SerialLog)
	if err != nil {
		t.Errorf("%s: %v", sc.Name, err)
		return fmt.Sprintf("| %s | %s | ERROR: %v | | | | |", sc.Name, res.Short(), err)
	}
	data, _ := json.MarshalIndent(rep, "", "  ")
	_ = os.WriteFile(filepath.Join(dir, "scan.json"), data, 0o644)
	// Keep the journal files the boot wrote, as a test would read them.
	_ = mounted(ctx, base, img, w, true, func(root string) error {
		m, _ := filepath.Glob(filepath.Join(root, "var/log/journal/*/*.journal*"))
		for _, p := range m {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(dir, "journal"), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "journal", filepath.Base(p)), b, 0o644); err != nil {
				return err
			}
		}
		return nil
	})

	var own []string
	for _, f := range rep.Findings {
		if !baseIDs[f.ID] {
			own = append(own, f.ID)
		}
	}
	lb := rep.LastBoot
	verdict := func(source, which string) string {
		for _, a := range lb.Boots {
			if a.Source == source && a.Boot == which {
				s := string(a.Class)
				if a.Reached != "" {
					s += " (reached " + string(a.Reached) + ")"
				}
				if a.Why != "" {
					s += ": " + a.Why
				}
				return strings.ReplaceAll(s, "|", "/")
			}
		}
		return "—"
	}
	// The done-when of the last boot: a scenario that fails to boot or
	// to log in names the failure from the console and links a decisive
	// event to one of the scenario's own findings.
	var linked []string
	for _, a := range lb.Boots {
		if a.Boot != "last" {
			continue
		}
		for _, e := range a.Events {
			for _, id := range e.Findings {
				if e.Decisive && slices.Contains(own, id) && !slices.Contains(linked, id) {
					linked = append(linked, id)
				}
			}
		}
	}
	failed := !(res.Healthy())
	if c := lb.Boots[0]; c.Source != "console" {
		t.Errorf("%s: no console analysis", sc.Name)
	} else if failed {
		want := evidence.Class(res.Class)
		if want == evidence.GrubPrompt || want == evidence.GrubRescue {
			want = evidence.Silent // GRUB prints to the screen only
		}
		if c.Class != want {
			t.Errorf("%s: the console's last boot is %s; the live boot was %s", sc.Name, c.Class, res.Class)
		}
		if len(linked) == 0 {
			t.Errorf("%s: no decisive event is linked to the scenario's findings %v", sc.Name, own)
		}
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s |", sc.Name, res.Short(), verdict("console", "last"),
		verdict("journal", "last"), verdict("journal", "previous"), strings.Join(linked, "<br>"), time.Since(t0).Round(time.Second))
}

// mounted mounts the image's root (read-only and without replaying the
// ext4 journal when ro) for fn.
func mounted(ctx context.Context, img *images.DebianImage, path, work string, ro bool, fn func(string) error) error {
	loopArgs := []string{"-f", "--show", "--offset", strconv.FormatInt(img.RootOffset, 10), "--sizelimit", strconv.FormatInt(img.RootSize, 10)}
	if ro {
		loopArgs = append(loopArgs, "--read-only")
	}
	b, err := exec.CommandContext(ctx, "losetup", append(loopArgs, path)...).Output()
	if err != nil {
		return fmt.Errorf("losetup: %w", err)
	}
	loop := strings.TrimSpace(string(b))
	defer exec.Command("losetup", "-d", loop).Run()
	dir, err := os.MkdirTemp(work, "mnt-")
	if err != nil {
		return err
	}
	defer os.Remove(dir)
	args := []string{"-t", img.FSType, loop, dir}
	if ro {
		args = append([]string{"-o", "ro,noload"}, args...)
	}
	if b, err := exec.CommandContext(ctx, "mount", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("mount: %v: %s", err, b)
	}
	defer exec.Command("umount", dir).Run()
	return fn(dir)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
