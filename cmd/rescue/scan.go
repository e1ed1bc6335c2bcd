package main

import (
	"context"

	"github.com/spf13/cobra"

	"rescue/checks"
	"rescue/checks/all"
	"rescue/facts"
	"rescue/pkgrepo"
	"rescue/report"
)

// scanOptions are the flags of rescue scan.
type scanOptions struct {
	target targetOptions
	json   bool
	checks string
	memory string
}

func (a *app) scanCommand() *cobra.Command {
	o := &scanOptions{}
	cmd := &cobra.Command{
		Use:   "scan TARGET",
		Short: "Find what stops the target from booting or letting anyone log in",
		Long: `Run every check on TARGET and report the findings, most severe first:
critical (will not boot), error (boots, but no one can log in), warning,
info. Each finding names the file and line, says what is wrong and what it
breaks, and whether rescue can fix it. The scan writes nothing to TARGET.

` + report.ExitCodesHelp,
		Example: `  rescue scan /mnt/broken
  rescue scan /dev/vdb --json > report.json
  rescue scan /mnt/broken --checks all,-selinux`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runScan(cmd.Context(), args[0], o)
		},
	}
	o.target.addFlags(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print the report as JSON (schema rescue.report/v1) on stdout; logs stay on stderr")
	f.StringVar(&o.checks, "checks", "all", "checks to run: `LIST` of names, all, and -name to leave one out")
	f.StringVar(&o.memory, "memory", "", "the instance's RAM (`SIZE`, e.g. 2G), for checks that compare against it")
	return cmd
}

func parseMemory(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := facts.ParseSize(s)
	if err != nil {
		return 0, usagef("--memory: %v", err)
	}
	return n, nil
}

func (a *app) runScan(ctx context.Context, arg string, o *scanOptions) error {
	list, err := checks.Select(all.Checks(), o.checks)
	if err != nil {
		return &usageError{err}
	}
	mem, err := parseMemory(o.memory)
	if err != nil {
		return err
	}
	a.machine = o.json
	t, err := a.openTarget(ctx, arg, o.target, false)
	if err != nil {
		return err
	}
	defer t.Close()
	// A scan downloads nothing: restores only name the repositories that
	// rescue fix would get the package from.
	t.repos = &pkgrepo.Options{Mode: pkgrepo.Describe}
	res, f := a.scanTarget(ctx, t, list, mem)
	r := report.New(a.tool(), t.info, f.OS(), t.devices, res)
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
