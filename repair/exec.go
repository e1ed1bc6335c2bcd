package repair

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ExecTimeout bounds a command run in the target's chroot (an initramfs
// rebuild takes a minute or two on a slow helper).
var ExecTimeout = 15 * time.Minute

// runExec runs an exec op: the target's /dev, /proc and /sys are bound to
// the helper's, the command runs chrooted into the target, and the binds are
// detached again whatever happens. Its output goes to the journal. The
// states of the touched paths afterwards become the journal's after-states,
// so undo can tell whether anything changed them later.
func runExec(w *Writer, st *store, j *Journal, op Op, log *slog.Logger) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("running %s in a chroot needs root", op.Argv[0])
	}
	var mounted []string
	defer func() {
		for i := len(mounted) - 1; i >= 0; i-- {
			unix.Unmount(mounted[i], unix.MNT_DETACH)
		}
	}()
	for _, m := range []string{"/dev", "/proc", "/sys"} {
		// The mount point is resolved inside the target: a dev -> /
		// symlink on the disk must not make rescue bind over the
		// helper's own root.
		if err := w.MkdirAll(m); err != nil {
			return err
		}
		p, err := w.Resolve(m)
		if err != nil {
			return err
		}
		host := strings.TrimSuffix(w.Dir(), "/") + p
		if err := unix.Mount(m, host, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("binding %s into the target: %w", m, err)
		}
		mounted = append(mounted, host)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ExecTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, op.Argv[0], op.Argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: w.Dir()}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "HOME=/root"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	log.Info("running in the target's chroot", "argv", op.Argv)
	runErr := cmd.Run()
	logName := fmt.Sprintf("exec-%s.log", path.Base(op.Argv[0]))
	st.w.WriteFile(path.Join("/", j.ID, logName), out.Bytes(), Meta{Mode: 0o600, UID: os.Getuid(), GID: os.Getgid()})
	// Record what the command left, even when it failed: undo compares
	// against it.
	for i := range j.Paths {
		r := &j.Paths[i]
		for _, t := range op.Touches {
			if r.Path == t {
				if s, err := ReadState(w.Root, t); err == nil {
					r.After, r.AfterKnown = s, true
				}
			}
		}
	}
	if runErr != nil {
		tail := out.String()
		if len(tail) > 400 {
			tail = "…" + tail[len(tail)-400:]
		}
		return fmt.Errorf("%s failed: %v: %s", strings.Join(op.Argv, " "), runErr, strings.TrimSpace(tail))
	}
	return nil
}
