package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"rescue/report"
	"rescue/session"
)

// app holds what every command shares: the streams, the logger, and the
// exit code the command chose.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	verbose        int
	quiet          bool
	exit           int
	log            *slog.Logger
	// cpuprofile names the file a CPU profile of the command goes to
	// (a hidden flag, for tuning); stopProfile ends it.
	cpuprofile  string
	stopProfile func()
	// machine is set by a command printing JSON: no progress then.
	machine bool
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr}
}

const rootLong = `rescue repairs a Linux system disk that no longer boots or no longer lets
anyone log in. Attach the broken disk to a helper machine, then:

  rescue scan /dev/vdb            find what is wrong
  rescue fix /dev/vdb             show the repair as a diff (changes nothing)
  rescue fix /dev/vdb --apply     repair, with a journal and backups
  rescue undo /dev/vdb            put everything back as it was

TARGET is a directory holding a Linux root (a mounted disk), a block device,
a raw disk image, or disk:ID: the disk whose cloud id (d-bp1…, vol-0…, a GCE
disk name) the hypervisor shows as its serial in /dev/disk/by-id. Scans never
write to the target.

` + report.ExitCodesHelp

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "rescue",
		Short:         "Find and repair what stops a Linux disk from booting or logging in",
		Long:          rootLong,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			a.setupLog()
			return a.startProfile()
		},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &session.UsageError{Err: err} })
	root.PersistentFlags().CountVarP(&a.verbose, "verbose", "v", "log more to stderr (-vv for debug)")
	root.PersistentFlags().BoolVarP(&a.quiet, "quiet", "q", false, "log only errors")
	root.PersistentFlags().StringVar(&a.cpuprofile, "cpuprofile", "", "write a CPU profile of the command to `FILE` (for tuning)")
	root.PersistentFlags().MarkHidden("cpuprofile")
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(
		a.scanCommand(),
		a.fixCommand(),
		a.undoCommand(),
		a.historyCommand(),
		a.resetAccessCommand(),
		a.checksCommand(),
		a.explainCommand(),
		a.genDocsCommand(),
		a.completionCommand(),
	)
	root.AddCommand(a.diskCommands()...)
	root.AddCommand(a.packageCommands()...)
	for _, c := range root.Commands() {
		c.SetFlagErrorFunc(root.FlagErrorFunc())
	}
	registerCompletions(root)
	return root
}

// startProfile starts the CPU profile --cpuprofile asks for; run stops it
// when the command returns, whatever its outcome.
func (a *app) startProfile() error {
	if a.cpuprofile == "" {
		return nil
	}
	f, err := os.Create(a.cpuprofile)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return err
	}
	a.stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
	return nil
}

func (a *app) setupLog() {
	level := slog.LevelWarn
	switch {
	case a.quiet:
		level = slog.LevelError
	case a.verbose == 1:
		level = slog.LevelInfo
	case a.verbose > 1:
		level = slog.LevelDebug
	}
	a.log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
}

// exactArgs is cobra.ExactArgs returning a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d argument(s), got %d", cmd.Name(), n, len(args))
		}
		return nil
	}
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usagef("%s takes %d to %d arguments, got %d", cmd.Name(), lo, hi, len(args))
		}
		return nil
	}
}

// isTerminal reports whether w is a terminal (for colour and progress).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func (a *app) style() report.Style {
	return report.Style{Color: isTerminal(a.stdout) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"}
}

// progressAfter is how long work goes on before progress is shown (tests
// shorten it).
var progressAfter = time.Second

// progress returns a function that shows a one-line status on stderr when
// it is a terminal, and a function that clears it. Nothing is printed when
// stderr is not a terminal or the command prints JSON (a.machine), so logs
// and machine output stay clean; nothing is shown during the first second,
// so quick work does not flicker; and the line is redrawn at most ten
// times a second.
func (a *app) progress() (func(format string, args ...any), func()) {
	if !isTerminal(a.stderr) || a.quiet || a.machine {
		return func(string, ...any) {}, func() {}
	}
	var mu sync.Mutex
	start := time.Now()
	var last time.Time
	shown := false
	return func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			now := time.Now()
			if now.Sub(start) < progressAfter || now.Sub(last) < 100*time.Millisecond {
				return
			}
			last = now
			line := fmt.Sprintf(format, args...)
			if len(line) > 78 {
				line = line[:77] + "…"
			}
			fmt.Fprintf(a.stderr, "\r\x1b[K%s", line)
			shown = true
		}, func() {
			mu.Lock()
			defer mu.Unlock()
			if shown {
				fmt.Fprint(a.stderr, "\r\x1b[K")
			}
		}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
