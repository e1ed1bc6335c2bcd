package main

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"rescue/pkgdb"
	"rescue/report"
	"rescue/safetext"
	"rescue/session"
)

// packageCommands is verify.
func (a *app) packageCommands() []*cobra.Command { return []*cobra.Command{a.verifyCommand()} }

// verifyOptions are the flags of rescue verify.
type verifyOptions struct {
	target  targetOptions
	json    bool
	fast    bool
	workers int
	readers int
	procs   int
}

const verifyLong = `Compare the files of TARGET's installed packages with what its package
database (rpm or dpkg) records, without running the target's rpm or dpkg, and
print what differs in rpm -V's notation:

  S.5....T.    /usr/bin/login          size, digest and time differ
  missing   c /etc/pam.d/login         a configuration file is gone

The letters are S size, M mode (type, permissions, ACL), 5 digest, D device
number, L symlink target, U user, G group, T modification time, P file
capabilities; "." is unchanged and "?" unknown (dpkg records only digests,
and statoverride modes and owners). The letter before the path marks
configuration (c), documentation (d) and %ghost (g) files. An empty file the
package shipped with content is marked "(zero size)": the usual trace of a
crash or a full disk during an update.

Configuration files are listed apart: a changed one is normal, a missing one
is not. For rpm the result is what rpm -Va --nodeps --noscripts prints on
the same tree; for dpkg, what dpkg --verify and debsums --all report, plus
missing directories and symlinks. PKG limits the check to those packages.
With --fast only metadata is compared: no file is read.

Digests run on every core and each file is read once. Nothing is written to
TARGET; the database is read as bytes, never opened with rpm or SQLite.

Exit codes:
  0   nothing differs, or only configuration files were changed
  4   files differ, or a configuration file is missing
  8   operational error (no package database, unreadable target)
  16  usage error`

func (a *app) verifyCommand() *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify TARGET [PKG...]",
		Short: "Check installed package files against the package database (rpm -Va, debsums)",
		Long:  verifyLong,
		Example: `  rescue verify /mnt/broken
  rescue verify /dev/vdb util-linux pam
  rescue verify /mnt/broken --json > verify.json
  rescue verify /mnt/broken --fast`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return usagef("verify takes a TARGET and optional package names")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runVerify(cmd.Context(), args[0], args[1:], o)
		},
	}
	o.target.addFlags(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print the result as JSON (schema "+report.VerifySchema+") on stdout")
	f.BoolVar(&o.fast, "fast", false, "compare metadata only (size, mode, owner, time, link), reading no file")
	f.IntVar(&o.workers, "workers", 0, "hash on `N` cores at once (default: every core)")
	f.MarkHidden("workers")
	f.IntVar(&o.readers, "readers", 0, fmt.Sprintf("keep `N` reads in flight on the disk (default %d)", pkgdb.DefaultReaders))
	f.MarkHidden("readers")
	f.IntVar(&o.procs, "procs", 0, "once verify waits for the disk, let the Go scheduler run `N` goroutines at once (default: 4 per core)")
	f.MarkHidden("procs")
	return cmd
}

func (a *app) runVerify(ctx context.Context, arg string, pkgs []string, o *verifyOptions) error {
	// The garbage collector runs as usual: turning it off saved no
	// measurable CPU time and let the peak memory grow with every byte
	// ever allocated, with the size of the system (make bench prints the
	// peak memory of each verify).
	start := time.Now()
	// Verify keeps dozens of reads in flight and hashes on every core.
	// With the Go scheduler's default of one running goroutine per core,
	// a reader whose read has completed waits for a hasher to yield
	// before it can ask for the next one, and the disk's queue drains
	// meanwhile. On 2 busy cores, a cold verify of the Debian 12 boot root
	// had its goroutines runnable a median 7 ms before they ran with 2
	// slots, 1 ms with 8 (runtime/metrics, /sched/latencies). With more slots
	// than cores the kernel runs a reader as soon as its read completes
	// (a reader needs little CPU); the hashing stays at one goroutine per
	// core (workers). The slots are raised only once verify has to wait
	// for the disk: on a tree the page cache holds, nobody waits, and the
	// extra slots only cost (8000 cached files: 0.39 s against 0.34 s
	// with the slots left at 2).
	if o.workers <= 0 {
		o.workers = runtime.GOMAXPROCS(0)
	}
	procs := o.procs
	if procs <= 0 {
		procs = 4 * runtime.GOMAXPROCS(0)
	}
	own := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(own)
	diskWait := sync.OnceFunc(func() { runtime.GOMAXPROCS(procs) })
	t, err := session.OpenForVerify(ctx, arg, o.target.open(a, false))
	if err != nil {
		return err
	}
	defer a.closeTarget(t)
	db, err := pkgdb.Open(t.Root)
	a.log.Info("package database read", "seconds", time.Since(start).Seconds())
	if err == nil && db == nil {
		return withHint(fmt.Errorf("%s has no package database rescue can read", t.Root.HostPath()),
			"rescue looks for rpm's database in /usr/lib/sysimage/rpm, /var/lib/rpm and /usr/share/rpm, and for /var/lib/dpkg/status")
	}
	if err != nil {
		return fmt.Errorf("reading the package database: %w", err)
	}
	var problems []string
	for _, p := range pkgdb.Problems(db) {
		problems = append(problems, p.Error())
		if !o.json && !a.quiet {
			fmt.Fprintf(a.stderr, "rescue: warning: package database damaged, this part skipped: %s\n", safetext.Line(p.Error()))
		}
	}

	a.machine = o.json
	show, done := a.progress()
	began := time.Now()
	progress := func(p pkgdb.Progress) {
		rate := float64(p.Bytes) / max(time.Since(began).Seconds(), 1e-3)
		show("verifying: %d/%d paths, %s read, %s/s", p.Paths, p.Total, session.HumanBytes(p.Bytes), session.HumanBytes(int64(rate)))
	}
	rep, err := pkgdb.Verify(ctx, t.Root, db, pkgdb.VerifyOptions{Packages: pkgs, Fast: o.fast, Workers: o.workers, Readers: o.readers, Progress: progress, DiskWait: diskWait})
	done()
	if err != nil {
		return err
	}
	a.log.Info("verified", "seconds", time.Since(start).Seconds())
	if len(rep.Unknown) > 0 && len(rep.Unknown) == len(pkgs) {
		return &session.UsageError{Err: fmt.Errorf("no installed package is named %s", strings.Join(rep.Unknown, ", "))}
	}
	elapsed := time.Since(start)

	sum := report.SummarizeVerify(rep)
	a.exit = sum.ExitCode()
	if o.json {
		return report.NewVerify(a.tool(), t.Info, db, rep, o.fast, problems, elapsed.Seconds()).WriteJSON(a.stdout)
	}
	report.WriteVerifyText(a.stdout, rep)
	for _, u := range rep.Unknown {
		fmt.Fprintf(a.stderr, "rescue: warning: package %s is not installed\n", safetext.Line(u))
	}
	if !a.quiet {
		fmt.Fprintf(a.stderr, "rescue: %s\n", report.VerifyClosing(db, rep, elapsed.Seconds(), o.fast))
	}
	return nil
}
