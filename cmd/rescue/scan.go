package main

import (
	"context"

	"github.com/spf13/cobra"

	"rescue/bytesize"
	"rescue/checks"
	"rescue/checks/all"
	"rescue/pkgrepo"
	"rescue/report"
	"rescue/session"
)

// scanOptions are the flags and argument of rescue scan, and what they
// parse to.
type scanOptions struct {
	arg     string
	target  targetOptions
	json    bool
	checks  string
	memory  string
	console string

	list []*checks.Check // --checks
	mem  int64           // --memory
}

func (a *app) scanCommand() *cobra.Command { return newScanCmd(a, a.runScan) }

// newScanCmd makes rescue scan: it parses the flags into scanOptions and
// hands them to runF (tests pass their own to see what was parsed).
func newScanCmd(a *app, runF func(context.Context, *scanOptions) error) *cobra.Command {
	o := &scanOptions{}
	cmd := &cobra.Command{
		Use:   "scan TARGET",
		Short: "Find what stops the target from booting or letting anyone log in",
		Long: `Run every check on TARGET and report the findings, most severe first:
critical (will not boot), error (boots, but no one can log in), warning,
info. Each finding names the file and line, says what is wrong and what it
breaks, and whether rescue can fix it. The scan writes nothing to TARGET.

The LAST BOOT section says how far the machine's last boot got and why it
stopped, from the target's own logs (the systemd journal and the text logs
in /var/log, read without running anything of the target's) and from a
serial console capture given with --console, and links each decisive line
to the findings that explain it. The RAM, disk bus and NIC names the last
boot's kernel log shows are what the checks judge the machine by, unless
--memory is given.

` + report.ExitCodesHelp,
		Example: `  rescue scan /mnt/broken
  rescue scan /dev/vdb --json > report.json
  rescue scan disk:d-bp1abcdef0123456789 --json    # the disk with that cloud id
  rescue scan /mnt/broken --checks all,-selinux
  aliyun ecs GetInstanceConsoleOutput --InstanceId i-bp1… > console.json
  rescue scan /dev/vdb --console console.json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.arg = args[0]
			var err error
			if o.list, err = checks.Select(all.Checks(), o.checks); err != nil {
				return &session.UsageError{Err: err}
			}
			if o.mem, err = parseMemory(o.memory); err != nil {
				return err
			}
			return runF(cmd.Context(), o)
		},
	}
	o.target.addFlags(cmd)
	o.target.addPackagesFlag(cmd, "offer fixes that restore damaged files from the .rpm/.deb files in `DIR`, as fix would apply them (repeatable)")
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print the report as JSON (schema rescue.report/v1) on stdout; logs stay on stderr")
	f.StringVar(&o.checks, "checks", "all", "checks to run: `LIST` of names, all, and -name to leave one out")
	f.StringVar(&o.memory, "memory", "", "the instance's RAM (`SIZE`, e.g. 2G), for checks that compare against it (default: from the last boot's kernel log)")
	f.StringVar(&o.console, "console", "", "read the instance's serial console capture from `FILE` (what the aliyun, aws or gcloud CLI prints; base64 or text)")
	return cmd
}

func parseMemory(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := bytesize.Parse(s)
	if err != nil {
		return 0, usagef("--memory: %v", err)
	}
	return n, nil
}

func (a *app) runScan(ctx context.Context, o *scanOptions) error {
	a.machine = o.json
	t, err := a.openTarget(ctx, o.arg, o.target, false)
	if err != nil {
		return err
	}
	defer a.closeTarget(t)
	lb, machine, err := t.LastBoot(o.console)
	if err != nil {
		return err
	}
	// A scan downloads nothing: restores only name the repositories that
	// rescue fix would get the package from.
	res, f := t.Scan(ctx, o.list, session.ScanOptions{Memory: o.mem, Machine: machine,
		Repos: &pkgrepo.Options{Mode: pkgrepo.Describe}, Progress: a.progress})
	r := t.ScanReport(a.tool(), f, res, lb)
	if o.json {
		if err := r.WriteJSON(a.stdout); err != nil {
			return err
		}
	} else {
		r.WriteText(a.stdout, a.style())
	}
	a.exit = r.ExitCode()
	return nil
}

func (a *app) tool() report.Tool { return report.Tool{Name: "rescue", Version: version} }
