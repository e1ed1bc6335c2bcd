package repair

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"golang.org/x/sys/unix"

	"rescue/sysroot"
)

// fsUse is what a repair needs of one filesystem.
type fsUse struct {
	where    string // a path on it, for messages
	readOnly bool
	free     int64
	need     int64
}

// roomMargin is kept free on every filesystem a repair writes to: room
// for the journal and for the temporary copy an atomic replace makes.
const roomMargin = 1 << 20

// checkFilesystems fails, before anything is changed, when a filesystem
// the plan writes to is read-only or has too little room: every path the
// accepted items change (a read-only /boot below a writable root is
// found here, not half-way through the repair), and the journal's
// directory, which is not created until this passes. journalDir is the
// host directory for the journal, or "" for /var/lib/rescue on the target.
func checkFilesystems(w *Writer, recs []PathRecord, items []Item, journalDir string) error {
	// A filesystem is known by its device and, since a bind mount of it
	// (a read-only /boot bound from the root's filesystem) has the same
	// device, by whether the mount is read-only.
	type key struct {
		dev uint64
		ro  bool
	}
	uses := map[key]*fsUse{}
	var order []key
	keyOf := func(st unix.Stat_t, sfs unix.Statfs_t) key { return key{st.Dev, sfs.Flags&unix.ST_RDONLY != 0} }
	add := func(st unix.Stat_t, sfs unix.Statfs_t, where string, need int64) {
		k := keyOf(st, sfs)
		u := uses[k]
		if u == nil {
			u = &fsUse{where: where, readOnly: k.ro, free: int64(sfs.Bavail) * sfs.Bsize, need: roomMargin}
			uses[k] = u
			order = append(order, k)
		}
		u.need += need
	}
	writes := map[string]int64{}
	for _, it := range items {
		for _, op := range it.Fix.Ops {
			switch op.Kind {
			case KindWrite:
				writes[op.Path] += op.size()
			case KindExec:
				// The command rewrites its files; their present size is
				// the best guess of the new one.
				for i, t := range op.Touches {
					writes[t] += max(op.TouchStates[i].Size, 1<<20)
				}
			}
		}
	}
	// A path only spilled needs no room where it is: unlinking frees
	// space (that is what a spill on a full filesystem is for).
	kept := map[string]bool{}
	for _, it := range items {
		for _, op := range it.Fix.Ops {
			if op.Kind != KindSpill {
				for _, p := range op.Paths() {
					kept[p] = true
				}
			}
		}
	}
	for _, r := range recs {
		if r.Spilled && !kept[r.Path] {
			continue
		}
		dir, err := existingDir(w.root, path.Dir(r.Path))
		if err != nil {
			return fmt.Errorf("checking the filesystem of %s: %w; nothing was changed", r.Path, err)
		}
		st, sfs, err := statDir(w.root, dir)
		if err != nil {
			return fmt.Errorf("checking the filesystem of %s: %w; nothing was changed", r.Path, err)
		}
		add(st, sfs, r.Path, writes[r.Path])
	}
	var backups int64
	for _, r := range recs {
		if r.Before.Type == File {
			backups += r.Before.Size
		}
	}
	jst, jsfs, where, err := journalFS(w, journalDir)
	if err != nil {
		return withJournalHint(fmt.Errorf("checking the journal directory: %w; nothing was changed", err))
	}
	add(jst, jsfs, where, backups)
	for _, k := range order {
		u := uses[k]
		var err error
		switch {
		case u.readOnly:
			err = fmt.Errorf("%s is on a filesystem mounted read-only; nothing was changed (mount it read-write, with --rw for rescue mount)", u.where)
		case u.free < u.need:
			err = fmt.Errorf("the filesystem of %s has %d bytes free, and this repair needs %d there for backups and new files; nothing was changed (free some space)", u.where, u.free, u.need)
		default:
			continue
		}
		if k == keyOf(jst, jsfs) {
			// The journal is part of the need: moving it off helps.
			return withJournalHint(err)
		}
		return err
	}
	return nil
}

// existingDir returns dir, or its nearest ancestor that exists, resolved
// inside r.
func existingDir(r *sysroot.Root, dir string) (string, error) {
	for {
		p, err := r.Resolve(dir)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) || dir == "/" {
			return "", err
		}
		dir = path.Dir(dir)
	}
}

// statDir stats and statfs's a directory of r through a handle.
func statDir(r *sysroot.Root, dir string) (unix.Stat_t, unix.Statfs_t, error) {
	var st unix.Stat_t
	var sfs unix.Statfs_t
	h, err := r.OpenHandle(dir)
	if err != nil {
		return st, sfs, err
	}
	defer h.Close()
	if err := unix.Fstat(int(h.Fd()), &st); err != nil {
		return st, sfs, err
	}
	if err := unix.Fstatfs(int(h.Fd()), &sfs); err != nil {
		return st, sfs, err
	}
	return st, sfs, nil
}

// journalFS finds the filesystem the journal will be written to, without
// creating its directory: a full or read-only target must be found out
// before anything, the journal's directory included, is made on it.
func journalFS(w *Writer, journalDir string) (unix.Stat_t, unix.Statfs_t, string, error) {
	var st unix.Stat_t
	var sfs unix.Statfs_t
	if journalDir == "" {
		dir, err := existingDir(w.root, DefaultJournalDir)
		if err != nil {
			return st, sfs, "", err
		}
		st, sfs, err = statDir(w.root, dir)
		return st, sfs, DefaultJournalDir, err
	}
	dir, err := filepath.Abs(journalDir)
	if err != nil {
		return st, sfs, "", err
	}
	for {
		if _, err := os.Stat(dir); err == nil || dir == "/" {
			break
		}
		dir = filepath.Dir(dir)
	}
	if err := unix.Stat(dir, &st); err != nil {
		return st, sfs, "", err
	}
	if err := unix.Statfs(dir, &sfs); err != nil {
		return st, sfs, "", err
	}
	return st, sfs, journalDir, nil
}
