// Command rescue finds what stops a Linux system disk from booting or from
// letting anyone log in, shows the repair as a diff, applies it in stages
// that can be undone, and undoes it on request.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"rescue/report"
	"rescue/safetext"
	"rescue/session"
)

// version is set by the build (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line and returns the exit code. Errors are
// printed as "rescue: error: …" with an optional "rescue: hint: …".
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	cmd := app.rootCommand()
	cmd.SetArgs(args)
	ran, err := cmd.ExecuteContextC(ctx)
	if app.stopProfile != nil {
		app.stopProfile()
	}
	if err == nil {
		return app.exit
	}
	var ue *session.UsageError
	code := report.ExitError
	if errors.As(err, &ue) || unknownCommand(ran, err) {
		code = report.ExitUsage
	}
	fmt.Fprintf(stderr, "rescue: error: %s\n", safetext.Line(err.Error()))
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		fmt.Fprintf(stderr, "rescue: hint: %s\n", safetext.Line(h.Hint()))
	}
	if code == report.ExitUsage {
		fmt.Fprintf(stderr, "rescue: hint: %s --help shows the usage\n", ran.CommandPath())
	}
	return code
}

// unknownCommand says whether err is cobra's refusal of a subcommand name
// it does not know: a mistake on the command line, like a bad flag. Cobra
// makes it a plain error while finding the command, before any hook of
// ours runs, so it is recognised by its text.
func unknownCommand(ran *cobra.Command, err error) bool {
	return ran != nil && !ran.HasParent() && strings.HasPrefix(err.Error(), "unknown command ")
}

// usagef makes a usage error (exit 16).
func usagef(format string, args ...any) error { return session.Usagef(format, args...) }

// withHint attaches a hint printed after the error.
func withHint(err error, hint string) error { return session.WithHint(err, hint) }
