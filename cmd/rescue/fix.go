package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"rescue/checks"
	"rescue/checks/all"
	"rescue/facts"
	"rescue/pkgrepo"
	"rescue/repair"
	"rescue/report"
	"rescue/safetext"
)

// fixOptions are the flags of rescue fix.
type fixOptions struct {
	target         targetOptions
	apply          bool
	json           bool
	only           string
	choose         []string
	memory         string
	journalDir     string
	allowChroot    bool
	clearImmutable bool
	// serialConsole is the port --serial-console enables ("" when not
	// asked).
	serialConsole string
	// bootKernel and bootPrevious choose the kernel GRUB boots.
	bootKernel   string
	bootPrevious bool
	// spill is the helper directory --spill moves files into ("" when
	// not asked); it holds the journal.
	spill string
	// Where restores get packages that --packages and the target's
	// caches do not hold.
	mirrors []string
	cache   string
	offline bool
}

func (a *app) fixCommand() *cobra.Command {
	o := &fixOptions{}
	cmd := &cobra.Command{
		Use:   "fix TARGET",
		Short: "Show the repair as a diff, or apply it with --apply",
		Long: `Scan TARGET and plan a repair: for each finding that has fixes, the first
(default) one, or the one --choose names. Fixes are ordered in stages: what
stops booting first, then what stops logging in, then the rest.

Without --apply, print the plan as one unified diff and change nothing:
content changes as hunks, mode changes as "old mode"/"new mode" lines,
symlinks and removals as git shows them.

With --apply, check every file against the state recorded by the scan,
write a journal and full backups (content, mode, owner, xattrs, mtime)
under /var/lib/rescue on the target (or --journal-dir), then apply the
fixes, replacing each file atomically. "rescue undo" takes the repair back.
Afterwards the target is scanned again and what remains is reported.

A file restored from its package (a deleted library, an emptied binary or
PAM file) comes from, in this order: --packages DIR, the target's own
package caches, then the repositories the target is configured with (apt's
sources.list and sources.list.d, yum's, dnf's and zypper's .repo files),
or --mirror URL instead. The exact installed version is taken, for the
target's architecture. A dry run reads repository metadata to say what it
would fetch and from where; --apply downloads into --cache on the helper,
checks the repository's signature with the target's own keys, the
package's digest against that metadata, and every restored file against
the target's package database; the JSON plan lists the checks per file.
--offline uses no network.

` + report.ExitCodesHelp,
		Example: `  rescue fix /mnt/broken                 # the diff; nothing is written
  rescue fix /mnt/broken --apply
  rescue fix /dev/vdb --apply --only fstab,grub --json
  rescue fix /mnt/broken --choose 'fstab/source-unknown:/etc/fstab#/data=2'
  rescue fix /mnt/broken --apply --mirror http://mirror.internal/debian
  rescue fix /dev/vdb --apply --spill /srv/spill   # a full disk: move logs and caches to the helper`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runFix(cmd.Context(), args[0], o)
		},
	}
	o.target.addFlags(cmd)
	o.target.addPackagesFlag(cmd, "restore damaged files from the .rpm/.deb files in `DIR` (repeatable)")
	f := cmd.Flags()
	f.BoolVar(&o.apply, "apply", false, "apply the repair (default: only show it)")
	f.BoolVar(&o.json, "json", false, "print the plan and the outcome of each fix as JSON (schema rescue.fix/v1)")
	f.StringVar(&o.only, "only", "all", "fix only what these checks find: `LIST` of names (and -name to leave one out)")
	f.StringArrayVar(&o.choose, "choose", nil, "use fix `ID=N` (1-based) for finding ID; N=0 leaves the finding alone (repeatable)")
	f.StringVar(&o.memory, "memory", "", "the instance's RAM (`SIZE`, e.g. 2G)")
	f.StringVar(&o.journalDir, "journal-dir", "", "keep the journal and backups in `DIR` on the helper instead of on the target")
	f.BoolVar(&o.allowChroot, "allow-chroot", false, "allow fixes that run the target's own programs in a chroot (initramfs rebuilds)")
	f.BoolVar(&o.clearImmutable, "clear-immutable", false, "lift chattr +i/+a from files the repair must change, and set it again afterwards (a fix that clears it for good says so)")
	f.StringVar(&o.serialConsole, "serial-console", "", "also enable the kernel console, a login prompt and GRUB's menu on the serial `PORT` (ttyS0 when given without a value)")
	f.Lookup("serial-console").NoOptDefVal = "ttyS0"
	f.StringVar(&o.bootKernel, "boot-kernel", "", "also make GRUB boot kernel `VERSION` by default (it must be installed and complete)")
	f.BoolVar(&o.bootPrevious, "boot-previous-kernel", false, "also make GRUB boot the newest complete kernel before the newest installed one")
	f.StringVar(&o.spill, "spill", "", "make room on a full target: move its rotated logs, archived journal files, package caches and core dumps into `DIR` on the helper, which holds the journal (rescue undo --journal-dir DIR puts them back)")
	f.StringArrayVar(&o.mirrors, "mirror", nil, "get the packages restores need from `URL` instead of the target's configured repositories (repeatable): an apt archive root (used with the target's suites), or an rpm-md repository ($releasever, $basearch expanded)")
	f.StringVar(&o.cache, "cache", pkgrepo.DefaultCacheDir, "keep downloaded packages and repository metadata in `DIR` on the helper (never inside the target)")
	f.BoolVar(&o.offline, "offline", false, "use no network: restore only from --packages, the target's own caches and what --cache holds")
	f.BoolVar(&o.target.allowFsck, "allow-fsck", false, "for a DEVICE or IMAGE with --apply: check and repair damaged filesystems (e2fsck -p, xfs_repair) before mounting them; cannot be undone")
	f.BoolVar(&o.target.allowZeroLog, "allow-fsck-zero-log", false, "with --allow-fsck: let xfs_repair -L zero an xfs log that cannot be replayed (loses its last changes)")
	return cmd
}

// parseChoose reads --choose ID=N values into the 0-based map Candidates
// takes (-1: leave the finding alone).
func parseChoose(vals []string) (map[string]int, error) {
	m := map[string]int{}
	for _, v := range vals {
		i := strings.LastIndex(v, "=")
		if i <= 0 {
			return nil, usagef("--choose %q: want FINDING-ID=N", v)
		}
		n, err := strconv.Atoi(v[i+1:])
		if err != nil || n < 0 {
			return nil, usagef("--choose %q: N must be a fix number (1, 2, …) or 0", v)
		}
		m[v[:i]] = n - 1
	}
	return m, nil
}

func (a *app) runFix(ctx context.Context, arg string, o *fixOptions) error {
	list, err := checks.Select(all.Checks(), o.only)
	if err != nil {
		return &usageError{err}
	}
	choose, err := parseChoose(o.choose)
	if err != nil {
		return err
	}
	a.machine = o.json
	if o.spill != "" {
		if o.journalDir != "" && o.journalDir != o.spill {
			return usagef("--spill DIR keeps the journal in DIR: give --journal-dir the same directory, or leave it out")
		}
		o.journalDir = o.spill
	}
	mem, err := parseMemory(o.memory)
	if err != nil {
		return err
	}
	t, err := a.openTarget(ctx, arg, o.target, o.apply)
	if err != nil {
		return err
	}
	defer t.Close()
	if err := pkgrepo.CheckCache(t.root, o.cache); err != nil {
		return &usageError{err}
	}
	// A dry run resolves where packages would come from (repository
	// metadata only); --apply downloads them.
	t.repos = &pkgrepo.Options{Mirrors: o.mirrors, CacheDir: o.cache, Offline: o.offline, Mode: pkgrepo.Resolve}
	if o.apply {
		t.repos.Mode = pkgrepo.Download
	}

	// The machine's facts from its last boot, so that fix judges what
	// scan judged.
	_, machine, err := a.readLastBoot(t, "")
	if err != nil {
		return err
	}
	res, f := a.scanTarget(ctx, t, list, mem, machine)
	if res.Failed() {
		for _, c := range res.Checks {
			if c.Error != "" {
				a.log.Error("check could not run", "check", c.Name, "error", firstLine(c.Error))
			}
		}
	}
	cands, err := checks.Candidates(res.Findings, choose)
	if err != nil {
		return &usageError{err}
	}
	acts, err := fixActions(t, f, o, &cands)
	if err != nil {
		return err
	}
	plan := repair.NewPlan(cands, func(p string) ([]byte, error) { return t.root.ReadFileLimit(p, 1<<30) })
	addRelabel(t, f, plan)

	rep := &report.FixReport{Schema: report.FixSchema, Tool: a.tool(), Target: t.info, OS: f.OS(),
		DryRun: !o.apply, Findings: res.Findings, Actions: acts, Plan: plan}
	if !o.json {
		writeActions(a.stdout, acts)
	}

	if !o.apply {
		rep.ExitCode = report.ExitOK
		rep.FindingsLeft = report.Problems(res.Findings)
		if rep.FindingsLeft > 0 {
			rep.ExitCode = report.ExitFindings
		}
		if res.Failed() {
			// As scan: what a check could not look at may need fixing.
			rep.ExitCode = report.ExitError
		}
		a.exit = rep.ExitCode
		if o.json {
			return rep.WriteJSON(a.stdout)
		}
		if plan.Empty() {
			fmt.Fprintf(a.stderr, "rescue: nothing to fix (%d finding(s), none with a fix)\n", len(res.Findings))
			return nil
		}
		if err := repair.WriteDiff(a.stdout, t.root, plan); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "rescue: this is a dry run; nothing was changed. Apply with: rescue fix %s --apply\n", arg)
		return nil
	}

	result, applyErr := repair.Apply(t.root, plan, repair.Options{
		JournalDir: o.journalDir, AllowExec: o.allowChroot, ClearImmutable: o.clearImmutable, Log: a.log,
	})
	rep.Result = result
	// Scan again with every check, whatever --only chose: what remains
	// on the target is what the closing line and the exit code report.
	t.refreshSpace()
	after, _ := a.scanTarget(ctx, t, all.Checks(), mem, machine)
	rep.Remaining = after.Findings
	failed := notRun(res, after)
	rep.FindingsLeft = report.Problems(after.Findings)
	switch {
	case applyErr != nil:
		rep.Error, rep.ExitCode = applyErr.Error(), report.ExitError
	case failed != "":
		// A check that could not run may have something to repair: the
		// repair cannot be called complete.
		rep.Error, rep.ExitCode = failed, report.ExitError
	case report.Problems(after.Findings) > 0:
		rep.ExitCode = report.ExitFindings
	case result != nil && result.ID != "", fscked(t):
		// A filesystem check that ran before mounting changed the
		// disk as much as a fix does: a runbook must not read "nothing
		// to do".
		rep.ExitCode = report.ExitRepaired
	default:
		rep.ExitCode = report.ExitOK
	}
	a.exit = rep.ExitCode
	if o.json {
		if err := rep.WriteJSON(a.stdout); err != nil {
			return err
		}
		if applyErr != nil {
			a.exit = report.ExitError
			fmt.Fprintf(a.stderr, "rescue: error: %s\n", safetext.Line(applyErr.Error()))
		}
		return nil
	}
	a.writeFixText(arg, plan, result, after.Findings, failed != "")
	if applyErr != nil {
		if result == nil || result.ID == "" {
			return applyErr // refused before the journal: nothing to undo
		}
		return withHint(applyErr, fmt.Sprintf("what was done is journaled: rescue undo %s %s", arg, result.ID))
	}
	if failed != "" {
		return errors.New(failed)
	}
	return nil
}

// notRun names the checks that could not run before or after the repair,
// or is "".
func notRun(results ...*checks.Result) string {
	var names []string
	seen := map[string]bool{}
	for _, r := range results {
		for _, c := range r.Checks {
			if c.Error != "" && !seen[c.Name] {
				seen[c.Name] = true
				names = append(names, c.Name+" ("+firstLine(c.Error)+")")
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	return "check(s) could not run, so the repair is not known to be complete: " + strings.Join(names, "; ")
}

// fscked says whether a filesystem check (--allow-fsck) ran on the
// target's disk before it was mounted read-write.
func fscked(t *target) bool {
	for _, fs := range t.filesystems {
		if fs.Fsck != nil {
			return true
		}
	}
	return false
}

// addRelabel schedules an SELinux relabel when the target runs SELinux and
// the plan creates files: a new file has no security.selinux label, and an
// unlabelled file under enforcing SELinux is unreadable to confined
// services. Replaced files keep their labels (the writer copies xattrs).
func addRelabel(t *target, f *facts.Facts, plan *repair.Plan) {
	mode := f.SELinuxMode()
	if mode != "enforcing" && mode != "permissive" {
		return
	}
	creates := false
	for _, op := range plan.Ops() {
		if _, labelled := op.Xattrs["security.selinux"]; labelled {
			continue // restored from a package with the policy's label
		}
		if op.Expect.Type == repair.Absent && (op.Kind == repair.KindWrite || op.Kind == repair.KindSymlink || op.Kind == repair.KindMkdir || op.Kind == repair.KindMknod) && op.Path != "/.autorelabel" {
			creates = true
		}
	}
	if !creates || t.root.Exists("/.autorelabel") {
		return
	}
	op, err := repair.CreateFile(t.root, "/.autorelabel", nil, 0o644, 0, 0)
	if err != nil {
		return
	}
	plan.Items = append(plan.Items, repair.Item{
		Finding: "selinux/relabel", Stage: repair.StageOther,
		Fix: repair.Fix{Message: "Schedule an SELinux relabel at next boot (/.autorelabel) for the files this repair creates", Ops: []repair.Op{op}},
	})
}

func (a *app) writeFixText(arg string, plan *repair.Plan, res *repair.Result, remaining []checks.Finding, failed bool) {
	w := a.stdout
	if res != nil {
		for _, it := range res.Items {
			switch it.Status {
			case repair.OutcomeApplied:
				fmt.Fprintf(w, "applied  %s\n         %s\n", safetext.Line(it.Finding), safetext.Line(it.Fix))
			default:
				fmt.Fprintf(w, "%-8s %s\n         %s\n", it.Status, safetext.Line(it.Finding), safetext.Line(it.Fix))
				if it.Reason != "" {
					fmt.Fprintf(w, "         because: %s\n", safetext.Line(it.Reason))
				}
			}
		}
		for _, s := range plan.Skipped {
			fmt.Fprintf(w, "skipped  %s\n         %s\n         because: %s\n", safetext.Line(s.Finding), safetext.Line(s.Fix), safetext.Line(s.Reason))
		}
		for _, x := range res.Warnings {
			fmt.Fprintf(w, "warning  %s\n", safetext.Line(x))
		}
		if res.ID != "" {
			fmt.Fprintf(w, "\nRepair %s: %d fix(es) applied; journal and backups in %s/%s\n", res.ID, res.Applied(), res.JournalDir, res.ID)
			fmt.Fprintf(w, "Undo with: rescue undo %s %s\n", arg, res.ID)
		} else {
			fmt.Fprintln(w, "\nNothing was changed.")
		}
	}
	if n := report.Problems(remaining); n > 0 {
		fmt.Fprintf(w, "\n%d finding(s) remain:\n", n)
		var shown []checks.Finding
		for _, f := range remaining {
			if f.Severity != checks.Info {
				shown = append(shown, f)
			}
		}
		report.WriteFindings(w, shown, a.style())
	} else if !failed {
		fmt.Fprintln(w, "\nThe target is in order now: a new scan finds nothing to fix.")
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
