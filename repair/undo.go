package repair

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	"rescue/sysroot"
)

// UndoOptions control Undo.
type UndoOptions struct {
	JournalDir string // as for Apply
	ID         string // the repair to undo; "" for the newest one not undone
	// Force restores paths that changed after the repair too, and
	// discards those changes.
	Force bool
	// Disk is the disk the target was opened from now (a device or an
	// image), where the journal's disk regions are written back; "" uses
	// the disk the journal recorded.
	Disk string
	Log  *slog.Logger
	Now  func() time.Time
}

// PathOutcome says what undo did with one path.
type PathOutcome struct {
	Path   string `json:"path"`
	Action string `json:"action"` // restored, removed, unchanged, failed
	Error  string `json:"error,omitempty"`
}

// UndoResult is the outcome of Undo.
type UndoResult struct {
	ID    string        `json:"id"`
	Paths []PathOutcome `json:"paths"`
}

// ErrChangedSinceRepair is returned (wrapped) when undo finds a path that
// changed after the repair and Force is not set.
var ErrChangedSinceRepair = errors.New("changed since the repair")

// Undo restores every path a repair touched to its state before the repair:
// content byte for byte, mode, owner, extended attributes, mtime and inode
// flags. It first checks every path; when one changed after the repair it
// refuses (unless Force) and changes nothing. It also works on the journal
// of an apply that was killed part-way: paths still in their old state are
// left alone.
func Undo(root *sysroot.Root, opt UndoOptions) (*UndoResult, error) {
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	w := &Writer{root: root}
	st, err := openStore(w, opt.JournalDir, false)
	if err != nil {
		return nil, fmt.Errorf("no repairs recorded for this target: %w", err)
	}
	defer st.close()
	var j *Journal
	if opt.ID != "" {
		if j, err = st.load(opt.ID); err != nil {
			return nil, err
		}
		if j.Status == StatusUndone {
			return nil, fmt.Errorf("repair %s was already undone", j.ID)
		}
	} else {
		all, err := st.list()
		if err != nil {
			return nil, err
		}
		for _, c := range all {
			if c.Status != StatusUndone {
				j = c
				break
			}
		}
		if j == nil {
			return nil, errors.New("no repair to undo")
		}
	}
	res := &UndoResult{ID: j.ID}

	// Decide for every path before touching any.
	type step struct {
		rec  PathRecord
		skip bool
	}
	var steps []step
	var changed, failed []string
	fail := func(p string, err error) {
		log.Warn("not restored", "path", p, "error", err)
		failed = append(failed, fmt.Sprintf("%s: %v", p, err))
		res.Paths = append(res.Paths, PathOutcome{Path: p, Action: "failed", Error: err.Error()})
	}
	for _, rec := range slices.Backward(j.Paths) {
		cleanTemps(w, rec.Path)
		cur, err := ReadState(w.root, rec.Path)
		if err != nil {
			// One path that cannot be read must not keep the others
			// from being restored.
			fail(rec.Path, err)
			continue
		}
		relocked, err := flagsBack(w, rec)
		if err != nil {
			fail(rec.Path, err)
			continue
		}
		switch {
		case cur.Equal(rec.Before) && !relocked && !touchedSame(w, rec):
			steps = append(steps, step{rec, true})
		case rec.AfterKnown && cur.Equal(rec.After), opt.Force:
			steps = append(steps, step{rec, false})
		default:
			want := "the repair's result"
			if rec.AfterKnown {
				want = rec.After.Describe()
			}
			changed = append(changed, fmt.Sprintf("%s (expected %s, found %s)", rec.Path, want, cur.Describe()))
		}
	}
	regions, sameRegions, regionsChanged := undoRegions(j, opt.Disk, opt.Force)
	changed = append(changed, regionsChanged...)
	if len(changed) > 0 {
		return nil, fmt.Errorf("%w: %v; nothing was restored (use --force to restore anyway and lose those changes)", ErrChangedSinceRepair, changed)
	}
	// Spilled files go back last and the largest first. They are
	// independent of each other and of the rest (regular files the repair
	// only removed), so the order is free; this one suits a filesystem
	// that has less room now than the spill freed (the machine wrote logs
	// since): the other paths, small, are restored before the room runs
	// out, and what does not fit is the smallest files, each left whole in
	// the journal and named, as a file too large for the room left fails
	// before it writes anything (CreateFile).
	slices.SortStableFunc(steps, func(a, b step) int {
		switch {
		case a.rec.Spilled != b.rec.Spilled:
			if a.rec.Spilled {
				return 1
			}
			return -1
		case a.rec.Spilled:
			return cmp.Compare(b.rec.Before.Size, a.rec.Before.Size)
		}
		return 0
	})
	for _, s := range steps {
		if s.skip {
			res.Paths = append(res.Paths, PathOutcome{Path: s.rec.Path, Action: "unchanged"})
			continue
		}
		action, err := restore(w, st, j, s.rec)
		if err != nil {
			if s.rec.Spilled {
				// Nothing is lost: the file is whole in the journal,
				// and undo again puts it back once there is room.
				err = fmt.Errorf("%w; it stays in the journal, %s", err, path.Join(st.w.root.HostPath(), j.ID, "backup", s.rec.Backup))
			}
			fail(s.rec.Path, err)
			continue
		}
		log.Info("restored", "path", s.rec.Path, "action", action)
		res.Paths = append(res.Paths, PathOutcome{Path: s.rec.Path, Action: action})
	}
	for _, rec := range sameRegions {
		res.Paths = append(res.Paths, PathOutcome{Path: rec.Describe(), Action: "unchanged"})
	}
	for _, rec := range regions {
		if err := restoreRegion(st, j, rec); err != nil {
			fail(rec.Describe(), err)
			continue
		}
		log.Info("restored", "region", rec.Describe())
		res.Paths = append(res.Paths, PathOutcome{Path: rec.Describe(), Action: "restored"})
	}
	if len(failed) > 0 {
		// The journal stays as it is: once the cause is mended, undo
		// again restores the rest (what was restored is unchanged then).
		return res, fmt.Errorf("%d path(s) could not be restored, the others were: %s", len(failed), strings.Join(failed, "; "))
	}
	t := now().UTC()
	j.Status, j.Undone = StatusUndone, &t
	if err := st.save(j); err != nil {
		return res, fmt.Errorf("updating the journal: %w", err)
	}
	return res, nil
}

// flagsBack reports whether a path that is still there lost chattr +i or +a
// that it had before the repair (an unlock op cleared them): undo must set
// them again even though the path looks unchanged.
func flagsBack(w *Writer, rec PathRecord) (bool, error) {
	want := rec.Flags & (flagImmutable | flagAppend)
	if want == 0 || rec.Before.Type == Absent {
		return false, nil
	}
	cur, err := w.Flags(rec.Path)
	if err != nil {
		return false, err
	}
	return cur&(flagImmutable|flagAppend) != want, nil
}

// restore puts one path back as its record says. Where the path still
// holds the very object the repair changed (a chmod, a chown), it is
// restored in place, so that every other name of a hard-linked file is
// restored with it; a file the repair replaced gets its original inode back
// when the journal kept a link to it, and a copy of the backup otherwise.
func restore(w *Writer, st *store, j *Journal, rec PathRecord) (string, error) {
	relock, err := unlock(w, rec.Path, Options{ClearImmutable: true})
	if err != nil {
		return "", err
	}
	defer relock()
	b := rec.Before
	cur, err := ReadState(w.root, rec.Path)
	if err != nil {
		return "", err
	}
	action := "restored"
	switch b.Type {
	case Absent:
		if err := w.Remove(rec.Path); err != nil {
			return "", err
		}
		return "removed", nil
	case File:
		switch {
		case cur.Type == File && cur.SHA256 == b.SHA256 && (rec.Link == "" || sameInode(w, rec)):
			if err := setMeta(w, rec); err != nil {
				return "", err
			}
		case rec.Link != "" && !sameInode(w, rec) && relink(w, st, j, rec, cur):
		case cur.Type == Absent:
			// The repair removed the file (a spill, a quarantine):
			// it is made again from the backup without a temporary
			// name, streamed and verified before it gets its name
			// (CreateFile says what that does for the room on a full
			// filesystem and for a crash).
			if err := createFromBackup(w, st, j, rec); err != nil {
				return "", err
			}
		default:
			data, err := st.w.root.ReadFileLimit(path.Join("/", j.ID, "backup", rec.Backup), 1<<40)
			if err != nil {
				return "", fmt.Errorf("reading backup: %w", err)
			}
			if sum(data) != b.SHA256 {
				return "", fmt.Errorf("backup %s does not match the recorded sha256", rec.Backup)
			}
			if cur.Type == Dir {
				if err := w.Remove(rec.Path); err != nil {
					return "", err
				}
			}
			mtime := rec.Mtime
			if err := w.WriteFile(rec.Path, data, Meta{Mode: b.Mode, UID: b.UID, GID: b.GID, Xattrs: rec.Xattrs, Mtime: &mtime}); err != nil {
				return "", err
			}
		}
		if rec.Link != "" {
			// The journal's link to the original inode, when it was
			// not needed: the file has its own names only again.
			st.w.Remove(path.Join("/", j.ID, "backup", rec.Link))
		}
	case Symlink:
		if err := w.Symlink(rec.Path, b.Target, &Owner{UID: b.UID, GID: b.GID}); err != nil {
			return "", err
		}
	case Dir:
		if cur.Type != Dir {
			if cur.Type != Absent {
				if err := w.Remove(rec.Path); err != nil {
					return "", err
				}
			}
			if err := w.Mkdir(rec.Path, b.Mode, Owner{UID: b.UID, GID: b.GID}); err != nil {
				return "", err
			}
		}
		if err := setMeta(w, rec); err != nil {
			return "", err
		}
	case Other:
		if cur.Type != Other || cur.Node != b.Node || cur.Rdev != b.Rdev {
			if cur.Type != Absent {
				if err := w.Remove(rec.Path); err != nil {
					return "", err
				}
			}
			if err := w.Mknod(rec.Path, nodeOfState(b), b.Mode, Owner{UID: b.UID, GID: b.GID}); err != nil {
				return "", err
			}
		}
		if err := setMeta(w, rec); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("cannot restore a %s", b.Type)
	}
	if rec.Flags != 0 {
		if err := w.SetFlags(rec.Path, rec.Flags); err != nil {
			return "", err
		}
	}
	got, err := ReadState(w.root, rec.Path)
	if err != nil {
		return "", err
	}
	if !got.Equal(b) {
		return "", fmt.Errorf("after restoring: %s", b.Diff(got))
	}
	return action, nil
}

// createFromBackup makes the absent file of rec from its backup in the
// journal, checked against the recorded sha256 before it gets its name.
func createFromBackup(w *Writer, st *store, j *Journal, rec PathRecord) error {
	b := rec.Before
	src, err := st.w.root.Open(path.Join("/", j.ID, "backup", rec.Backup))
	if err != nil {
		return fmt.Errorf("reading backup: %w", err)
	}
	defer src.Close()
	h := sha256.New()
	mtime := rec.Mtime
	return w.CreateFile(rec.Path, io.TeeReader(src, h), b.Size, Meta{Mode: b.Mode, UID: b.UID, GID: b.GID, Xattrs: rec.Xattrs, Mtime: &mtime}, func() error {
		if got := hex.EncodeToString(h.Sum(nil)); got != b.SHA256 {
			return fmt.Errorf("backup %s does not match the recorded sha256 (%s, want %s)", rec.Backup, got, b.SHA256)
		}
		return nil
	})
}

// setMeta restores owner, mode, extended attributes and mtime of the object
// at the path, in place.
func setMeta(w *Writer, rec PathRecord) error {
	b := rec.Before
	// Owner before mode: chown clears setuid and setgid bits.
	if err := w.Chown(rec.Path, b.UID, b.GID); err != nil {
		return err
	}
	if err := w.Chmod(rec.Path, b.Mode); err != nil {
		return err
	}
	if len(rec.Xattrs) > 0 {
		if err := w.SetXattrs(rec.Path, rec.Xattrs); err != nil {
			return err
		}
	}
	return w.SetMtime(rec.Path, rec.Mtime)
}

// touchedSame reports whether a file holds its old content and metadata
// but not its old mtime: a command run in the chroot (grub-install copying
// its modules again) rewrote it with the same bytes. Undo puts the mtime
// back as well.
func touchedSame(w *Writer, rec PathRecord) bool {
	if rec.Before.Type != File || rec.Mtime.IsZero() {
		return false
	}
	fi, err := w.root.Lstat(rec.Path)
	return err == nil && !fi.ModTime().Equal(rec.Mtime)
}
