package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"rescue/disk"
	"rescue/report"
	"rescue/session"
)

// diskCommands are probe, mount and umount.
func (a *app) diskCommands() []*cobra.Command {
	return []*cobra.Command{a.probeCommand(), a.mountCommand(), a.umountCommand()}
}

type probeOptions struct {
	json          bool
	rootPartition string
}

func (a *app) probeCommand() *cobra.Command {
	o := &probeOptions{}
	cmd := &cobra.Command{
		Use:   "probe DEVICE|IMAGE",
		Short: "Show a disk's partitions, filesystems and which one is the root",
		Long: `Read the partition table (GPT, or MBR with its logical partitions) and
every filesystem's superblock (ext2/3/4, xfs, btrfs, vfat, swap, LVM2 and
its logical volumes, LUKS), all without the helper's kernel, and say which
filesystem holds the root: the one with /etc/os-release and an /etc/fstab
whose / names it. Each filesystem's state (errors, a journal or log to
replay) and a UUID shared with one of the helper's own filesystems are
shown too. Nothing is written; looking inside filesystems mounts them
read-only for a moment, which needs root.`,
		Example: `  rescue probe /dev/vdb
  rescue probe disk.img --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runProbe(cmd.Context(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print the result as JSON (schema rescue.probe/v1)")
	f.StringVar(&o.rootPartition, "root-partition", "", "the `PARTITION` that holds the root, when rescue cannot tell")
	return cmd
}

func (a *app) runProbe(ctx context.Context, path string, o *probeOptions) error {
	path, err := session.ResolveTarget(path)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(path); err != nil {
		return err
	} else if fi.IsDir() {
		return usagef("%s is a directory; rescue probe takes a device or an image file", path)
	}
	d, err := disk.Probe(path)
	if err != nil && d == nil {
		return err
	}
	res := &report.Probe{Schema: report.ProbeSchema, Disk: d}
	if err != nil {
		res.RootError = err.Error()
	} else if os.Geteuid() != 0 {
		res.RootError = "looking inside the filesystems to find the root needs root"
	} else {
		disk.MarkHostDuplicates(d, a.log)
		opt := disk.MountOptions{StateDir: session.StateDir(), Root: o.rootPartition, Log: a.log}
		disk.SweepStale(opt.StateDir, a.log)
		root, cands, rerr := disk.ChooseRoot(ctx, d, opt)
		res.Candidates = cands
		if rerr != nil {
			res.RootError = rerr.Error()
		} else {
			res.Root = root.Name
		}
	}
	if o.json {
		if werr := report.WriteValue(a.stdout, res); werr != nil {
			return werr
		}
		// The same exit code as the text: a table that cannot be read
		// is an error, in JSON too.
		return err
	}
	report.WriteProbe(a.stdout, res)
	if err != nil {
		return err
	}
	return nil
}

type mountOptions struct {
	rw            bool
	rootPartition string
	allowFsck     bool
	allowZeroLog  bool
}

const defaultMountDir = "/mnt/rescue"

func (a *app) mountCommand() *cobra.Command {
	o := &mountOptions{}
	cmd := &cobra.Command{
		Use:   "mount DEVICE|IMAGE [DIR]",
		Short: "Mount the target's root, /boot, /boot/efi, /usr and /var at DIR",
		Long: `Find the root filesystem on DEVICE or IMAGE, mount it at DIR (default
` + defaultMountDir + `), then mount the target's own /boot, /boot/efi, /usr and /var
inside it as its fstab says, resolving UUID=, LABEL= and PARTUUID= against
the disk. Partitions and linear LVM volumes are reached through loop
devices, so the helper needs no partition nodes and no device-mapper.

Read-only by default, so that nothing is written, not even a journal
replay (ext4 ro,noload; xfs ro,norecovery,nouuid). With --rw the
filesystems are mounted read-write; a filesystem with recorded errors is
then refused unless --allow-fsck checks it first. An ESP the helper's
kernel cannot mount is shown as a copy and written back by umount.

What was mounted is recorded in /run/rescue; "rescue umount DIR" undoes
exactly that, also after a crash.`,
		Example: `  rescue mount /dev/vdb
  rescue mount disk.img /mnt/broken --rw
  rescue mount /dev/nvme1n1 --root-partition 3`,
		Args: rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := defaultMountDir
			if len(args) == 2 {
				dir = args[1]
			}
			return a.runMount(cmd.Context(), args[0], dir, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.rw, "rw", false, "mount read-write (for repairs by hand)")
	f.StringVar(&o.rootPartition, "root-partition", "", "the `PARTITION` holding the root (a number, name, UUID, label or VG/LV), when rescue cannot tell")
	f.BoolVar(&o.allowFsck, "allow-fsck", false, "with --rw: check and repair damaged filesystems (e2fsck -p, xfs_repair) before mounting; cannot be undone")
	f.BoolVar(&o.allowZeroLog, "allow-fsck-zero-log", false, "with --allow-fsck: let xfs_repair -L zero an xfs log that cannot be replayed")
	return cmd
}

func (a *app) runMount(ctx context.Context, path, dir string, o *mountOptions) error {
	if o.allowFsck && !o.rw {
		return usagef("--allow-fsck needs --rw (a read-only mount writes nothing and needs no check)")
	}
	if o.allowZeroLog && !o.allowFsck {
		return usagef("--allow-fsck-zero-log needs --allow-fsck")
	}
	path, err := session.ResolveTarget(path)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(path); err != nil {
		return err
	} else if fi.IsDir() {
		return usagef("%s is a directory; rescue mount takes a device or an image file", path)
	}
	if os.Geteuid() != 0 {
		return errors.New("mounting needs root")
	}
	d, err := disk.Probe(path)
	if err != nil {
		return err
	}
	for _, w := range d.Warnings {
		a.log.Warn(w, "disk", path)
	}
	s, err := disk.Mount(ctx, d, dir, disk.MountOptions{Writable: o.rw, Root: o.rootPartition, StateDir: session.StateDir(),
		AllowFsck: o.allowFsck, AllowZeroLog: o.allowZeroLog, Log: a.log})
	if s != nil {
		session.LogFscks(a.log, s)
	}
	if err != nil {
		return session.DiskHint(err, path)
	}
	report.WriteMount(a.stdout, path, o.rw, s)
	return nil
}

func (a *app) umountCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "umount DIR",
		Short: "Undo what rescue mount did at DIR",
		Long: `Unmount, innermost first, exactly what "rescue mount" recorded for DIR in
/run/rescue, and detach its loop devices. If the ESP was mounted as a copy
read-write, the changed files are first written back into the FAT
filesystem and checked. Works after a crash too: the record is written
before anything is mounted. DIR may also be the device or image that was
mounted.`,
		Example: `  rescue umount /mnt/rescue
  rescue umount /dev/vdb`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runUmount(args[0])
		},
	}
}

func (a *app) runUmount(arg string) error {
	dir := arg
	if abs, err := filepath.Abs(arg); err == nil {
		dir = abs
	}
	if _, err := disk.LoadState(session.StateDir(), dir); errors.Is(err, os.ErrNotExist) {
		// Perhaps the device or image itself was named.
		list, _ := disk.Sessions(session.StateDir())
		var match []*disk.State
		for _, st := range list {
			if st.Disk == arg || st.Disk == dir {
				match = append(match, st)
			}
		}
		switch len(match) {
		case 0:
			return withHint(err, "rescue umount takes the directory given to rescue mount")
		case 1:
			dir = match[0].Dir
		default:
			return fmt.Errorf("%s is mounted by rescue at %d places; name the directory", arg, len(match))
		}
	}
	if err := disk.Unmount(session.StateDir(), dir, a.log); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Unmounted %s.\n", dir)
	return nil
}
