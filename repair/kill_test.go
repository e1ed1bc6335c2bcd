package repair

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"rescue/sysroot"
)

// TestMain doubles as the victim process of TestKillBetweenOps: with
// RESCUE_KILL_AT set, it applies the kill plan to RESCUE_KILL_ROOT and
// SIGKILLs itself before op number RESCUE_KILL_AT.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "fake-rebuild" {
		os.Exit(fakeRebuild())
	}
	if filepath.Base(os.Args[0]) == "fake-grub-install" {
		os.Exit(fakeGrubInstall(os.Args[1:]))
	}
	if at := os.Getenv("RESCUE_KILL_AT"); at != "" {
		os.Exit(killVictim(at, os.Getenv("RESCUE_KILL_ROOT"), os.Getenv("RESCUE_KILL_JOURNAL")))
	}
	os.Exit(m.Run())
}

var killTree = tree{
	"etc/fstab":    "UUID=1 / ext4 defaults 0 1\n",
	"etc/passwd":   "root:x:0:0::/root:/bin/bash\r\n",
	"etc/ssh/":     "",
	"bin":          "->usr/wrong",
	"usr/bin/":     "",
	"etc/profile":  "# sources itself\n. /etc/profile\n",
	"etc/stale":    "x\n",
	"tmp/.x/miner": "\x7fELF stand-in\n",
}

// killPlan is the plan the victim applies: eight ops of every kind.
func killPlan(r *sysroot.Root) (*Plan, error) {
	var ops []Op
	add := func(op Op, err error) error {
		ops = append(ops, op)
		return err
	}
	err := errors.Join(
		add(WriteFile(r, "/etc/fstab", []byte("UUID=2 / ext4 defaults 0 1\n"))),
		add(WriteFile(r, "/etc/passwd", []byte("root:x:0:0::/root:/bin/bash\n"))),
		add(Chmod(r, "/etc/ssh", 0o755)),
		add(MakeSymlink(r, "/bin", "usr/bin")),
		add(WriteFile(r, "/etc/profile", []byte("# sources itself\n# disabled by rescue: . /etc/profile\n"))),
		add(Remove(r, "/etc/stale")),
		add(CreateFile(r, "/.autorelabel", nil, 0o644, 0, 0)),
		add(Quarantine(r, "/tmp/.x/miner")),
	)
	if err != nil {
		return nil, err
	}
	var fixes []Fix
	for i, op := range ops {
		fixes = append(fixes, Fix{Message: fmt.Sprint("fix ", i), Ops: []Op{op}})
	}
	return planOf(fixes...), nil
}

func killVictim(at, dir, journal string) int {
	n, _ := strconv.Atoi(at)
	r, err := sysroot.Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	p, err := killPlan(r)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	_, err = Apply(r, p, Options{JournalDir: journal, BeforeOp: func(i int) {
		if i == n {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	return 0
}

// TestKillBetweenOps kills a real apply process before each op in turn (and
// once not at all), then checks that every file is either old or new, and
// that undo gives back the original tree exactly.
func TestKillBetweenOps(t *testing.T) {
	const nops = 8
	for at := 0; at <= nops; at++ {
		t.Run(fmt.Sprint("before-op-", at), func(t *testing.T) {
			dir := build(t, killTree)
			require.NoError(t, os.Chmod(filepath.Join(dir, "etc/ssh"), 0o777))
			before := snapshot(t, dir)
			journal := t.TempDir()
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "RESCUE_KILL_AT="+strconv.Itoa(at), "RESCUE_KILL_ROOT="+dir, "RESCUE_KILL_JOURNAL="+journal)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if at < nops {
				require.ErrorAs(t, err, &ee, "victim should have been killed: %s", out)
				require.Equal(t, syscall.SIGKILL, ee.Sys().(syscall.WaitStatus).Signal())
			} else {
				require.NoError(t, err, "%s", out)
			}
			// Every path is old or new, never partial.
			for _, name := range []string{"etc/fstab", "etc/passwd", "etc/profile"} {
				b, err := os.ReadFile(filepath.Join(dir, name))
				require.NoError(t, err)
				require.Contains(t, []string{killTree[name], map[string]string{
					"etc/fstab":   "UUID=2 / ext4 defaults 0 1\n",
					"etc/passwd":  "root:x:0:0::/root:/bin/bash\n",
					"etc/profile": "# sources itself\n# disabled by rescue: . /etc/profile\n",
				}[name]}, string(b), name)
			}
			// The quarantined file is there as it was, or gone (its copy
			// is in the journal); undo below brings it back either way.
			if b, err := os.ReadFile(filepath.Join(dir, "tmp/.x/miner")); err == nil {
				require.Equal(t, killTree["tmp/.x/miner"], string(b))
			} else {
				require.True(t, os.IsNotExist(err), "%v", err)
			}
			assertNoTemps(t, dir)

			r := open(t, dir)
			_, err = Undo(r, UndoOptions{JournalDir: journal})
			require.NoError(t, err)
			require.Equal(t, before, snapshot(t, dir))
		})
	}
}
