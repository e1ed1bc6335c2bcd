package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestScripts runs the CLI end to end: testdata/script/*.txtar drive rescue
// through scan, fix (diff), fix --apply, a clean rescan, undo, and compare
// whole trees (content, modes, owners, symlinks) with snapshots.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"rescue":   cmdRescue,
			"exitcode": cmdExitcode,
			"snapshot": cmdSnapshot,
			"chmod":    cmdChmod,
			"cmpmode":  cmdCmpmode,
			"schema":   cmdSchema,
		},
		Setup: func(env *testscript.Env) error {
			repo, err := filepath.Abs(filepath.Join("..", ".."))
			env.Setenv("REPO", repo)
			return err
		},
		Condition: func(cond string) (bool, error) {
			if cond == "root" {
				return os.Geteuid() == 0, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// TestMain lets the test binary act as the rescue command inside scripts.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"rescue-cli": func() {
			// As main: SIGTERM cancels the context (the hostile corpus
			// checks that a scan stops promptly).
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			stop()
			os.Exit(code)
		},
	})
}

// cmdRescue runs the CLI as a process in the script's directory. Its exit
// code is kept for exitcode; a non-zero code fails the script unless the
// command is negated.
func cmdRescue(ts *testscript.TestScript, neg bool, args []string) {
	err := ts.Exec("rescue-cli", args...)
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("running rescue: %v", err)
	}
	ts.Setenv("RESCUE_EXIT", strconv.Itoa(code))
	if (code != 0) != neg {
		ts.Fatalf("rescue %s: exit code %d", strings.Join(args, " "), code)
	}
}

// cmdExitcode asserts the exit code of the last rescue command.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: exitcode N")
	}
	if got := ts.Getenv("RESCUE_EXIT"); (got == args[0]) == neg {
		ts.Fatalf("exit code %s, want %s", got, args[0])
	}
}

// cmdSnapshot writes a description of every path under DIR (type, mode,
// owner, sha256 or symlink target) to FILE, for cmp. The journal directory
// is left out: it is rescue's own record, not the target's state.
func cmdSnapshot(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: snapshot DIR FILE")
	}
	dir := ts.MkAbs(args[0])
	var lines []string
	err := filepath.Walk(dir, func(p string, fi fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "var/lib/rescue" {
			return filepath.SkipDir
		}
		st := fi.Sys().(*syscall.Stat_t)
		line := fmt.Sprintf("%s %v %d:%d", rel, fi.Mode(), st.Uid, st.Gid)
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			line += " -> " + l
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		lines = append(lines, line)
		return nil
	})
	ts.Check(err)
	sort.Strings(lines)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(strings.Join(lines, "\n")+"\n"), 0o644))
}

func cmdChmod(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: chmod MODE PATH")
	}
	m, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	mode := fs.FileMode(m & 0o777)
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	ts.Check(os.Chmod(ts.MkAbs(args[1]), mode))
}

// cmdCmpmode asserts the permission bits of PATH (octal, as chmod takes).
func cmdCmpmode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: cmpmode PATH MODE")
	}
	var st syscall.Stat_t
	ts.Check(syscall.Lstat(ts.MkAbs(args[0]), &st))
	got := fmt.Sprintf("%04o", st.Mode&0o7777)
	if (got == args[1]) == neg {
		ts.Fatalf("%s has mode %s, want %s", args[0], got, args[1])
	}
}
