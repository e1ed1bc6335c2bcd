package repair

import (
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
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
	Log   *slog.Logger
	Now   func() time.Time
}

// PathOutcome says what undo did with one path.
type PathOutcome struct {
	Path   string `json:"path"`
	Action string `json:"action"` // restored, removed, unchanged
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
	w := &Writer{Root: root}
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
	var changed []string
	for _, rec := range slices.Backward(j.Paths) {
		cleanTemps(w, rec.Path)
		cur, err := ReadState(w.Root, rec.Path)
		if err != nil {
			return nil, err
		}
		relocked, err := flagsBack(w, rec)
		if err != nil {
			return nil, err
		}
		switch {
		case cur.Equal(rec.Before) && !relocked:
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
	if len(changed) > 0 {
		return nil, fmt.Errorf("%w: %v; nothing was restored (use --force to restore anyway and lose those changes)", ErrChangedSinceRepair, changed)
	}
	for _, s := range steps {
		if s.skip {
			res.Paths = append(res.Paths, PathOutcome{Path: s.rec.Path, Action: "unchanged"})
			continue
		}
		action, err := restore(w, st, j, s.rec)
		if err != nil {
			return res, fmt.Errorf("restoring %s: %w", s.rec.Path, err)
		}
		log.Info("restored", "path", s.rec.Path, "action", action)
		res.Paths = append(res.Paths, PathOutcome{Path: s.rec.Path, Action: action})
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

// restore puts one path back as its record says.
func restore(w *Writer, st *store, j *Journal, rec PathRecord) (string, error) {
	relock, err := unlock(w, rec.Path, Options{ClearImmutable: true})
	if err != nil {
		return "", err
	}
	defer relock()
	b := rec.Before
	cur, err := ReadState(w.Root, rec.Path)
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
		data, err := st.w.ReadFileLimit(path.Join("/", j.ID, "backup", rec.Backup), 1<<40)
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
		if err := w.Chown(rec.Path, b.UID, b.GID); err != nil {
			return "", err
		}
		if err := w.Chmod(rec.Path, b.Mode); err != nil {
			return "", err
		}
		if len(rec.Xattrs) > 0 {
			if err := w.SetXattrs(rec.Path, rec.Xattrs); err != nil {
				return "", err
			}
		}
		if err := w.SetMtime(rec.Path, rec.Mtime); err != nil {
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
	got, err := ReadState(w.Root, rec.Path)
	if err != nil {
		return "", err
	}
	if !got.Equal(b) {
		return "", fmt.Errorf("after restoring: %s", b.Diff(got))
	}
	return action, nil
}
