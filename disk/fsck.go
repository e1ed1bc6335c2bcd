package disk

// How a filesystem check fits the mount flow. A scan never writes: every
// filesystem is mounted read-only without replaying its journal, and the
// fsstate check reports what the superblocks say. A writable session
// (fix --apply, mount --rw) decides, before anything is mounted
// read-write, for each filesystem it is about to mount:
//
//   - clean: mount it.
//   - only a journal (ext3/4) or log (xfs, btrfs) to replay: the
//     read-write mount replays it, exactly as the next boot would; a note
//     says so. With AllowFsck, ext is checked with e2fsck -p first, and xfs
//     has its log replayed by a mount and unmount, then xfs_repair.
//   - errors recorded (ext's error state, ext2 not cleanly unmounted, xfs's
//     needsrepair flag): writing to it before a check can make the damage
//     worse, so the session refuses unless AllowFsck; then e2fsck -p or
//     xfs_repair runs on the unmounted volume (through a loop device), the
//     superblock is read again, and the mount goes on only if it is clean.
//   - an xfs log that cannot be replayed (the mount fails): xfs_repair -L
//     would zero it, losing the last metadata changes; it runs only with
//     AllowZeroLog as well.
//
// A check cannot be undone: rescue's journal does not cover it, and the
// fix report says so.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// FsckResult is what a check run before mounting did.
type FsckResult struct {
	Volume   string   `json:"volume"`
	FSType   string   `json:"fstype"`
	Command  []string `json:"command"`
	ExitCode int      `json:"exit_code"`
	// Output is the end of the tool's output.
	Output string `json:"output,omitempty"`
	// Clean says the superblock reads clean afterwards.
	Clean bool `json:"clean"`
}

// replayMount mounts an xfs to replay its log; a variable so that tests
// can make the replay fail as a corrupt log does.
var replayMount = unix.Mount

// FsckTimeout bounds one check.
var FsckTimeout = 30 * time.Minute

// ErrNeedsFsck is returned when a filesystem with recorded errors would be
// mounted read-write without AllowFsck.
var ErrNeedsFsck = errors.New("the filesystem needs a check before it is written to")

func (s *Session) prepareWritable(ctx context.Context, plan []planned) error {
	for _, pm := range plan {
		v := pm.volume
		if v.FS == nil || v.FS.State.Clean() {
			continue
		}
		st := v.FS.State
		damaged := st.Errors || st.NotClean
		if !s.opt.AllowFsck {
			if damaged {
				what := "errors recorded in its superblock"
				if st.LastError != "" {
					what += " (last: " + st.LastError + ")"
				}
				if st.NotClean {
					what = "not been unmounted cleanly and has no journal"
				}
				return fmt.Errorf("%s (%s) has %s: %w; check it first with --allow-fsck (%s, which cannot be undone)",
					v.Name, pm.point, what, ErrNeedsFsck, fsckTool(v.FS.Type))
			}
			s.Notes = append(s.Notes, fmt.Sprintf("%s (%s) was not unmounted cleanly; mounting it read-write replays its %s, as the next boot would", v.Name, pm.point, journalWord(v.FS.Type)))
			continue
		}
		res, err := s.fsck(ctx, v)
		if res != nil {
			s.Fscks = append(s.Fscks, *res)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func journalWord(fstype string) string {
	switch fstype {
	case "xfs", "btrfs":
		return "log"
	}
	return "journal"
}

func fsckTool(fstype string) string {
	switch fstype {
	case "xfs":
		return "xfs_repair"
	case "btrfs":
		return "btrfs check"
	}
	return "e2fsck -p"
}

// fsck checks and repairs one unmounted volume, then reads its superblock
// again.
func (s *Session) fsck(ctx context.Context, v *Volume) (*FsckResult, error) {
	log := s.opt.log()
	res := &FsckResult{Volume: v.Name, FSType: v.FS.Type}
	l := &Loop{Path: v.Device}
	if v.Device == "" {
		var err error
		if l, err = AttachLoop(s.Disk.Path, v.Offset, v.Size, false); err != nil {
			return nil, err
		}
		defer l.Detach()
	}
	var err error
	switch v.FS.Type {
	case "ext2", "ext3", "ext4":
		res.Command = []string{"e2fsck", "-p", l.Path}
		res.ExitCode, res.Output, err = runTool(ctx, res.Command)
		// 0: clean; 1: errors corrected; 2: corrected, reboot (irrelevant
		// for an unmounted filesystem); 4 and up: errors left or failure.
		if err == nil && res.ExitCode >= 4 {
			err = fmt.Errorf("e2fsck -p could not repair %s (exit %d: %s); run e2fsck -f on it by hand", v.Name, res.ExitCode, firstLine(res.Output))
		}
	case "xfs":
		err = s.xfsRepair(ctx, v, l, res)
	case "btrfs":
		// A btrfs log tree is replayed by the read-write mount; btrfs check
		// --repair is not safe to run unattended.
		s.Notes = append(s.Notes, fmt.Sprintf("%s: btrfs is not checked by rescue; its log is replayed by the read-write mount", v.Name))
		return nil, nil
	default:
		return nil, nil
	}
	log.Warn("checked a filesystem before mounting it read-write (cannot be undone)", "volume", v.Name, "command", strings.Join(res.Command, " "), "exit", res.ExitCode)
	if err != nil {
		return res, err
	}
	sb, perr := reprobe(s.Disk.Path, v)
	if perr != nil {
		return res, perr
	}
	v.FS = sb
	res.Clean = sb.State.Clean()
	if !res.Clean && (sb.State.Errors || sb.State.NotClean) {
		return res, fmt.Errorf("%s still has errors after %s; repair it by hand", v.Name, strings.Join(res.Command[:len(res.Command)-1], " "))
	}
	return res, nil
}

// xfsRepair replays a dirty log by mounting and unmounting (the only way
// xfs_repair accepts), zeroes it only when allowed, then runs xfs_repair.
func (s *Session) xfsRepair(ctx context.Context, v *Volume, l *Loop, res *FsckResult) error {
	if v.FS.State.NeedsRecovery {
		dir, err := os.MkdirTemp(s.opt.stateDir(), "replay-")
		if err != nil {
			return err
		}
		defer os.Remove(dir)
		merr := replayMount(l.Path, dir, "xfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "nouuid")
		if merr == nil {
			if err := unmountRetry(dir, s.opt.log()); err != nil {
				return err
			}
		} else if !s.opt.AllowZeroLog {
			return fmt.Errorf("the xfs log of %s cannot be replayed (mount: %v); xfs_repair -L would zero it and lose the last metadata changes: allow that with --allow-fsck-zero-log", v.Name, merr)
		} else {
			res.Command = []string{"xfs_repair", "-L", l.Path}
			code, out, err := runTool(ctx, res.Command)
			res.ExitCode, res.Output = code, out
			if err != nil || code != 0 {
				return fmt.Errorf("xfs_repair -L failed on %s (exit %d: %s %v)", v.Name, code, firstLine(out), err)
			}
		}
	}
	if res.Command == nil {
		res.Command = []string{"xfs_repair", l.Path}
		code, out, err := runTool(ctx, res.Command)
		res.ExitCode, res.Output = code, out
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("xfs_repair failed on %s (exit %d: %s)", v.Name, code, firstLine(out))
		}
	}
	return nil
}

// runTool runs one of the helper's tools; a nonzero exit is a result, not
// an error.
func runTool(ctx context.Context, argv []string) (int, string, error) {
	if _, err := exec.LookPath(argv[0]); err != nil {
		return 0, "", fmt.Errorf("%s is not installed on the helper", argv[0])
	}
	ctx, cancel := context.WithTimeout(ctx, FsckTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), lastLines(out.String(), 20), nil
	}
	return 0, lastLines(out.String(), 20), err
}

func reprobe(diskPath string, v *Volume) (*Superblock, error) {
	if v.Device != "" {
		if sb := probeDevice(v.Device); sb != nil {
			return sb, nil
		}
		return nil, fmt.Errorf("%s: no filesystem after the check", v.Name)
	}
	f, err := os.Open(diskPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sb, err := ProbeFS(io.NewSectionReader(f, v.Offset, v.Size), v.Size)
	if err != nil {
		return nil, err
	}
	if sb == nil {
		return nil, fmt.Errorf("%s: no filesystem after the check", v.Name)
	}
	return sb, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	l, _, _ := strings.Cut(s, "\n")
	return l
}
