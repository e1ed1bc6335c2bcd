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
	"rescue/pkgrepo"
	"rescue/repair"
	"rescue/report"
	"rescue/safetext"
	"rescue/session"
)

// fixOptions are the flags and argument of rescue fix, and what they
// parse to.
type fixOptions struct {
	arg            string
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
	// reinstallBootloader: --reinstall-bootloader.
	reinstallBootloader bool
	// Where restores get packages that --packages and the target's
	// caches do not hold.
	mirrors []string
	cache   string
	offline bool

	list   []*checks.Check // --only
	chosen map[string]int  // --choose
	mem    int64           // --memory
}

func (a *app) fixCommand() *cobra.Command { return newFixCmd(a, a.runFix) }

// newFixCmd makes rescue fix: it parses the flags into fixOptions and
// hands them to runF (tests pass their own to see what was parsed).
func newFixCmd(a *app, runF func(context.Context, *fixOptions) error) *cobra.Command {
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
  rescue fix /dev/vdb --apply --spill /srv/spill   # a full disk: move logs and caches to the helper
  rescue fix /dev/vdb --apply --allow-chroot --reinstall-bootloader   # GRUB again, by the target's grub-install`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.arg = args[0]
			if err := o.parse(); err != nil {
				return err
			}
			return runF(cmd.Context(), o)
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
	f.BoolVar(&o.reinstallBootloader, "reinstall-bootloader", false, "also reinstall GRUB on the target's disk with the target's own grub-install, in a chroot (needs --allow-chroot to apply): BIOS boot code and core image (the sectors it rewrites are backed up for undo), or the ESP's loaders")
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

// parse checks the flags and reads what they name, before anything is
// opened.
func (o *fixOptions) parse() error {
	var err error
	if o.list, err = checks.Select(all.Checks(), o.only); err != nil {
		return &session.UsageError{Err: err}
	}
	if o.chosen, err = parseChoose(o.choose); err != nil {
		return err
	}
	if o.spill != "" {
		if o.journalDir != "" && o.journalDir != o.spill {
			return usagef("--spill DIR keeps the journal in DIR: give --journal-dir the same directory, or leave it out")
		}
		o.journalDir = o.spill
	}
	o.mem, err = parseMemory(o.memory)
	return err
}

func (a *app) runFix(ctx context.Context, o *fixOptions) error {
	a.machine = o.json
	t, err := a.openTarget(ctx, o.arg, o.target, o.apply)
	if err != nil {
		return err
	}
	defer a.closeTarget(t)
	r, err := t.PlanFix(ctx, session.FixOptions{
		Tool: a.tool(), Checks: o.list, Choose: o.chosen, Memory: o.mem, Apply: o.apply, Progress: a.progress,
		Repos: pkgrepo.Options{Mirrors: o.mirrors, CacheDir: o.cache, Offline: o.offline},
		Actions: session.ActionOptions{BootKernel: o.bootKernel, BootPrevious: o.bootPrevious,
			SerialConsole: o.serialConsole, Spill: o.spill,
			ReinstallBootloader: o.reinstallBootloader, AllowChroot: o.allowChroot},
	})
	if err != nil {
		return err
	}
	if !o.json {
		report.WriteActions(a.stdout, r.Actions)
	}

	if !o.apply {
		rep := r.DryRun()
		a.exit = rep.ExitCode
		if o.json {
			return rep.WriteJSON(a.stdout)
		}
		if r.Plan.Empty() {
			fmt.Fprintf(a.stderr, "rescue: nothing to fix (%d finding(s), none with a fix)\n", len(r.Scan.Findings))
			return nil
		}
		if err := repair.WriteDiff(a.stdout, t.Root, r.Plan); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "rescue: this is a dry run; nothing was changed. Apply with: rescue fix %s --apply\n", o.arg)
		return nil
	}

	out := r.ApplyFix(ctx, session.ApplyOptions{JournalDir: o.journalDir, AllowExec: o.allowChroot, ClearImmutable: o.clearImmutable})
	a.exit = r.Report.ExitCode
	if o.json {
		if err := r.Report.WriteJSON(a.stdout); err != nil {
			return err
		}
		if out.Err != nil {
			a.exit = report.ExitError
			fmt.Fprintf(a.stderr, "rescue: error: %s\n", safetext.Line(out.Err.Error()))
		}
		return nil
	}
	report.WriteFixText(a.stdout, o.arg, r.Plan, out.Result, out.Remaining, out.NotRun != "", a.style())
	if out.Err != nil {
		if out.Result == nil || out.Result.ID == "" {
			return out.Err // refused before the journal: nothing to undo
		}
		return withHint(out.Err, fmt.Sprintf("what was done is journaled: rescue undo %s %s", o.arg, out.Result.ID))
	}
	if out.NotRun != "" {
		return errors.New(out.NotRun)
	}
	return nil
}
