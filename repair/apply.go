package repair

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"rescue/sysroot"
)

// Options control Apply.
type Options struct {
	// JournalDir is a host directory for journals and backups; "" keeps
	// them in /var/lib/rescue on the target.
	JournalDir string
	// AllowExec lets exec ops run the target's own programs in a chroot.
	AllowExec bool
	// ClearImmutable lets apply lift chattr +i/+a for the change and set
	// it again afterwards.
	ClearImmutable bool
	// BeforeOp, when set, is called before op number n (0-based, counting
	// every op of the plan) changes anything. Tests use it to kill the
	// process at each boundary.
	BeforeOp func(n int)
	Log      *slog.Logger
	Now      func() time.Time
}

// Outcome statuses of an item or op.
const (
	OutcomeApplied = "applied"
	OutcomeRefused = "refused" // not applied: changed since the scan, needs a flag, or immutable
	OutcomeFailed  = "failed"
	OutcomePending = "pending" // not reached because an earlier op failed
)

// ItemResult is what became of one plan item.
type ItemResult struct {
	Finding string `json:"finding"`
	Fix     string `json:"fix"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
}

// Result is the outcome of Apply.
type Result struct {
	ID         string       `json:"id,omitempty"` // empty when nothing was changed
	JournalDir string       `json:"journal_dir,omitempty"`
	Items      []ItemResult `json:"items"`
	// Warnings are changes the repair made that undo cannot take back
	// (what a command run in the chroot changed besides its own files).
	Warnings []string `json:"warnings,omitempty"`
}

// Applied counts the items that were applied.
func (r *Result) Applied() int {
	n := 0
	for _, it := range r.Items {
		if it.Status == OutcomeApplied {
			n++
		}
	}
	return n
}

func mkdirHost(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating journal directory: %w", err)
	}
	return nil
}

// Apply carries out a plan on the target at root. Before the first change
// it checks every op against the state recorded at the scan, checks that
// the target and the journal directory are writable and have room, and
// writes the backups and the journal, synced. Ops then run in plan order;
// the journal records each. On the first failure apply stops: what was done
// stays recorded, and undo takes it back.
func Apply(root *sysroot.Root, plan *Plan, opt Options) (*Result, error) {
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	w := &Writer{root: root}
	res := &Result{}

	// Preflight: decide which items can run, without changing anything.
	// Each path is read (and a file hashed) once here; the records below
	// reuse these states, since nothing has changed in between, and the
	// backups are written from the content read (kept for files up to a
	// bound): the check before each op's write (recheck) makes sure the
	// file is still what was read and backed up.
	var accepted []Item
	seen := map[string]State{}
	kept := &keptContent{m: map[string][]byte{}}
	for _, it := range plan.Items {
		ir := ItemResult{Finding: it.Finding, Fix: it.Fix.Message}
		it, reason := built(w, it)
		if reason == "" {
			reason = preflight(w, it, opt, seen, kept)
		}
		if reason != "" {
			ir.Status, ir.Reason = OutcomeRefused, reason
			log.Warn("not applying fix", "finding", it.Finding, "reason", reason)
		} else {
			ir.Status = OutcomePending
			accepted = append(accepted, it)
		}
		res.Items = append(res.Items, ir)
	}
	if len(accepted) == 0 || countOps(accepted) == 0 {
		for i := range res.Items {
			if res.Items[i].Status == OutcomePending {
				res.Items[i].Status = OutcomeApplied // merged into nothing to do
			}
		}
		return res, nil
	}
	records, err := pathRecords(w, accepted, seen)
	if err != nil {
		return res, err
	}
	if err := checkFilesystems(w, records, accepted, opt.JournalDir); err != nil {
		return res, err
	}
	st, err := openStore(w, opt.JournalDir, true)
	if err != nil {
		return res, withJournalHint(fmt.Errorf("opening the journal: %w; nothing was changed", err))
	}
	defer st.close()
	j := &Journal{Schema: JournalSchema, ID: newID(now()), Target: root.HostPath(), Created: now().UTC(), Status: StatusApplying}
	res.ID, res.JournalDir = j.ID, st.w.root.HostPath()
	for _, it := range accepted {
		ji := JournalItem{Finding: it.Finding, Fix: it.Fix.Message}
		for _, op := range it.Fix.Ops {
			ji.Ops = append(ji.Ops, JournalOp{Kind: op.Kind, Path: op.Path, Summary: op.Summary(), Status: OutcomePending})
		}
		j.Items = append(j.Items, ji)
	}
	if err := writeBackups(w, st, j, records, kept); err != nil {
		return res, fmt.Errorf("writing backups (nothing was changed): %w", err)
	}
	j.Paths = records
	if err := backupRegions(st, j, accepted); err != nil {
		return res, fmt.Errorf("backing up the disk outside its filesystems (nothing was changed): %w", err)
	}
	if err := st.save(j); err != nil {
		return res, fmt.Errorf("writing the journal (nothing was changed): %w", err)
	}
	log.Info("journal written", "id", j.ID, "dir", st.w.root.HostPath())

	// Apply, item by item. Each op first checks that its path is still in
	// the state the backup recorded (or that the ops before it left): a
	// change made after the backup must not be overwritten and lost.
	expect := map[string]State{}
	for _, r := range records {
		expect[r.Path] = r.Before
	}
	n := 0
	var failure error
	acc := 0
	for i := range res.Items {
		if res.Items[i].Status != OutcomePending {
			continue
		}
		it, ji := accepted[acc], &j.Items[acc]
		acc++
		if failure != nil {
			continue
		}
		for k, op := range it.Fix.Ops {
			if opt.BeforeOp != nil {
				opt.BeforeOp(n)
			}
			n++
			err := recheck(w, op, expect)
			if err == nil {
				err = runOp(w, st, j, op, opt, log)
			}
			if err == nil {
				advance(w, op, expect)
			}
			if err != nil {
				ji.Ops[k].Status, ji.Ops[k].Error = OutcomeFailed, err.Error()
				res.Items[i].Status, res.Items[i].Reason = OutcomeFailed, err.Error()
				failure = fmt.Errorf("%s: %w", it.Finding, err)
				break
			}
			ji.Ops[k].Status = OutcomeApplied
			if err := st.save(j); err != nil {
				failure = fmt.Errorf("updating the journal: %w", err)
				break
			}
		}
		if failure == nil {
			res.Items[i].Status = OutcomeApplied
			log.Info("applied", "finding", it.Finding, "fix", it.Fix.Message)
		}
	}
	res.Warnings = j.Unrecorded
	j.Status = StatusApplied
	if failure != nil {
		j.Status, j.Error = StatusFailed, failure.Error()
	}
	if err := st.save(j); err != nil && failure == nil {
		failure = fmt.Errorf("updating the journal: %w", err)
	}
	return res, failure
}

// recheck compares the paths op changes with the states expected of them.
func recheck(w *Writer, op Op, expect map[string]State) error {
	for _, p := range op.Paths() {
		want, ok := expect[p]
		if !ok {
			continue
		}
		cur, err := ReadState(w.root, p)
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", p, err)
		}
		if !want.Equal(cur) {
			return fmt.Errorf("%s changed after it was backed up (%s); it was not overwritten", p, want.Diff(cur))
		}
	}
	return nil
}

// advance records the states op leaves its paths in; a path whose state
// cannot be predicted (an exec op's) is read back.
func advance(w *Writer, op Op, expect map[string]State) {
	for _, p := range op.Paths() {
		before, ok := expect[p]
		if !ok {
			continue
		}
		if after, known := op.after(before); known {
			expect[p] = after
		} else if cur, err := ReadState(w.root, p); err == nil {
			expect[p] = cur
		} else {
			delete(expect, p)
		}
	}
}

func countOps(items []Item) int {
	n := 0
	for _, it := range items {
		n += len(it.Fix.Ops)
	}
	return n
}

// built returns the item with the new content of each write made from its
// edits, when the planner did not (see Plan.build), or why it cannot be.
func built(w *Writer, it Item) (Item, string) {
	cloned := false
	for i, op := range it.Fix.Ops {
		if op.Kind != KindWrite || op.Data != nil || op.Edits == nil {
			continue
		}
		data, err := op.content(w.root)
		if err != nil {
			return it, err.Error()
		}
		if !cloned {
			// The plan's own ops stay as they are.
			it.Fix.Ops, cloned = slices.Clone(it.Fix.Ops), true
		}
		it.Fix.Ops[i].Data = data
	}
	return it, ""
}

// preflight returns why an item cannot be applied, or "". seen holds the
// states already read, and gets the ones it reads.
func preflight(w *Writer, it Item, opt Options, seen map[string]State, kept *keptContent) string {
	state := func(p string) (State, error) {
		if s, ok := seen[p]; ok {
			return s, nil
		}
		s, data, err := readStateKeep(w.root, p, kept.room())
		if err == nil {
			seen[p] = s
			kept.add(p, data)
		}
		return s, err
	}
	for _, op := range it.Fix.Ops {
		if op.Kind == KindFetch {
			return fmt.Sprintf("%s is still to be fetched from %s; rescue fix --apply fetches it first", op.Path, op.Source.From)
		}
		if op.Kind == KindSpill && opt.JournalDir == "" {
			return spillNeedsHelper
		}
		if op.Kind == KindExec && !opt.AllowExec {
			return fmt.Sprintf("it runs the target's own %s in a chroot; allow it with --allow-chroot", path.Base(op.Argv[0]))
		}
		for _, r := range op.Regions {
			d, err := r.digest(r.Disk)
			if err != nil {
				return fmt.Sprintf("cannot read %s: %v", r.Describe(), err)
			}
			if d != r.SHA256 {
				return fmt.Sprintf("%s changed since the scan; scan again", r.Describe())
			}
		}
		paths, expects := op.Paths(), []State{op.Expect}
		if op.Kind == KindExec {
			expects = op.TouchStates
		}
		for i, p := range paths {
			cur, err := state(p)
			if err != nil {
				return fmt.Sprintf("cannot read %s: %v", p, err)
			}
			if !expects[i].Equal(cur) {
				return fmt.Sprintf("%s changed since the scan (%s); scan again", p, expects[i].Diff(cur))
			}
			if op.Kind == KindLink {
				// The file the link will share must still be what
				// the plan saw (or what an earlier op writes).
				if cur, err := state(op.Target); err != nil || (!op.LinkState.Equal(cur) && cur.Type != Absent) {
					return fmt.Sprintf("%s, which %s would link to, changed since the scan; scan again", op.Target, p)
				}
			}
			for _, q := range []string{p, path.Dir(p)} {
				locked, err := w.Locked(q)
				if err != nil {
					return err.Error()
				}
				if locked && !opt.ClearImmutable {
					return fmt.Sprintf("%s is immutable or append-only (chattr +i/+a), so it cannot be changed; lift it for this repair with --clear-immutable", q)
				}
			}
		}
	}
	return ""
}

// pathRecords computes, for every path the accepted items touch, its state
// now (as preflight read it into seen) and the state the plan leaves it in.
func pathRecords(w *Writer, items []Item, seen map[string]State) ([]PathRecord, error) {
	var recs []PathRecord
	index := map[string]int{}
	for _, it := range items {
		for _, op := range it.Fix.Ops {
			for _, p := range op.Paths() {
				i, ok := index[p]
				if !ok {
					before, read := seen[p]
					if !read {
						var err error
						if before, err = ReadState(w.root, p); err != nil {
							return nil, err
						}
					}
					i = len(recs)
					index[p] = i
					recs = append(recs, PathRecord{Path: p, Before: before, After: before, AfterKnown: true})
				}
				r := &recs[i]
				if r.AfterKnown {
					r.After, r.AfterKnown = op.after(r.After)
				}
				if op.Kind == KindQuarantine {
					r.Quarantined = true
				}
				if op.Kind == KindSpill {
					r.Spilled = true
				}
			}
		}
	}
	return recs, nil
}

// writeBackups copies, for every path that exists, its content (files),
// extended attributes, mtime and inode flags into the journal, synced.
func writeBackups(w *Writer, st *store, j *Journal, recs []PathRecord, kept *keptContent) error {
	if err := st.w.Mkdir(path.Join("/", j.ID), 0o700, Owner{UID: os.Getuid(), GID: os.Getgid()}); err != nil {
		return err
	}
	if err := st.w.Mkdir(path.Join("/", j.ID, "backup"), 0o700, Owner{UID: os.Getuid(), GID: os.Getgid()}); err != nil {
		return err
	}
	for i := range recs {
		r := &recs[i]
		if r.Before.Type == Absent {
			continue
		}
		fi, err := w.root.Lstat(r.Path)
		if err != nil {
			return err
		}
		r.Mtime = fi.ModTime().UTC()
		if r.Xattrs, err = w.Xattrs(r.Path); err != nil {
			return err
		}
		if len(r.Xattrs) == 0 {
			r.Xattrs = nil
		}
		if r.Flags, err = w.Flags(r.Path); err != nil {
			return err
		}
		if r.Before.Type != File {
			continue
		}
		// Content kept by preflight is what hashed to r.Before: it is not
		// read or hashed again.
		data := kept.m[r.Path]
		if data == nil {
			if data, err = readAll(w.root, r.Path); err != nil {
				return err
			}
		}
		if kept.m[r.Path] == nil && sum(data) != r.Before.SHA256 {
			return fmt.Errorf("%s changed while it was being backed up", r.Path)
		}
		r.Backup = fmt.Sprintf("%04d-%s", i+1, path.Base(r.Path))
		if err := st.w.WriteFile(path.Join("/", j.ID, "backup", r.Backup), data, Meta{Mode: 0o600, UID: os.Getuid(), GID: os.Getgid()}); err != nil {
			return err
		}
		r.Inode = inode(fi)
		if nlink(fi) > 1 {
			keepLink(w, st, j, r, r.Backup+".link")
		}
	}
	return nil
}

// keptContent holds what preflight read of the files it hashed, up to a
// bound, for their backups.
type keptContent struct {
	m     map[string][]byte
	bytes int64
}

// maxKept bounds the content preflight keeps for backups (one file, and
// all together); a larger file is read again for its backup.
const maxKept = 64 << 20

func (k *keptContent) room() int64 { return maxKept - k.bytes }

func (k *keptContent) add(p string, data []byte) {
	if data != nil {
		k.m[p] = data
		k.bytes += int64(len(data))
	}
}

// readAll reads a whole file of any size (a backed-up initramfs is larger
// than sysroot's limit for configuration files).
func readAll(r *sysroot.Root, name string) ([]byte, error) {
	return r.ReadFileLimit(name, 1<<40)
}

// runOp applies one op.
func runOp(w *Writer, st *store, j *Journal, op Op, opt Options, log *slog.Logger) error {
	log.Debug("op", "summary", op.Summary())
	if op.Kind == KindExec {
		return runExec(w, st, j, op, log)
	}
	if op.Kind == KindUnlock {
		return runUnlock(w, op)
	}
	relock, err := unlock(w, op.Path, opt)
	if err != nil {
		return err
	}
	defer relock()
	switch op.Kind {
	case KindWrite:
		// The file keeps its mode, owner, flags and xattrs: only its
		// metadata is read here, its content was checked by recheck.
		meta := Meta{Mode: 0o644}
		fi, err := w.root.Lstat(op.Path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err == nil && fi.Mode().IsRegular() {
			uid, gid := sysroot.Owner(fi)
			meta.Mode, meta.UID, meta.GID = ModeOf(fi.Mode()), uid, gid
			if meta.Flags, err = w.Flags(op.Path); err != nil {
				return err
			}
			if meta.Xattrs, err = w.Xattrs(op.Path); err != nil {
				return err
			}
		}
		if op.Mode != nil {
			meta.Mode = *op.Mode
		}
		if op.Owner != nil {
			meta.UID, meta.GID = op.Owner.UID, op.Owner.GID
		}
		if len(op.Xattrs) > 0 {
			if meta.Xattrs == nil {
				meta.Xattrs = map[string][]byte{}
			}
			maps.Copy(meta.Xattrs, op.Xattrs)
		}
		meta.Mtime = op.MTime
		return w.WriteFile(op.Path, op.Data, meta)
	case KindChmod:
		return w.Chmod(op.Path, *op.Mode)
	case KindChown:
		return w.Chown(op.Path, op.Owner.UID, op.Owner.GID)
	case KindSymlink:
		if err := w.Symlink(op.Path, op.Target, op.Owner); err != nil {
			return err
		}
		return w.setNodeXattrs(op.Path, op.Xattrs)
	case KindRemove, KindQuarantine, KindSpill:
		// A quarantined (or spilled) file's copy is already in the journal: the backups
		// are written and synced before the first op runs.
		return w.Remove(op.Path)
	case KindMkdir:
		if err := w.Mkdir(op.Path, *op.Mode, *op.Owner); err != nil {
			return err
		}
		return w.setNodeXattrs(op.Path, op.Xattrs)
	case KindLink:
		return w.Link(op.Path, op.Target)
	case KindMknod:
		if err := w.Mknod(op.Path, op.Node, *op.Mode, *op.Owner); err != nil {
			return err
		}
		return w.setNodeXattrs(op.Path, op.Xattrs)
	}
	return fmt.Errorf("unknown op kind %q", op.Kind)
}

// unlock lifts chattr +i/+a from a path and its directory when the user
// allowed it, and returns the function that puts the flags back.
func unlock(w *Writer, p string, opt Options) (func(), error) {
	if !opt.ClearImmutable {
		return func() {}, nil
	}
	type saved struct {
		path  string
		flags uint32
	}
	var restore []saved
	for _, q := range []string{path.Dir(p), p} {
		f, err := w.Flags(q)
		if err != nil {
			return nil, err
		}
		if f&(flagImmutable|flagAppend) == 0 {
			continue
		}
		if err := w.SetFlags(q, f&^(flagImmutable|flagAppend)); err != nil {
			return nil, err
		}
		restore = append(restore, saved{q, f})
	}
	return func() {
		for _, s := range slices.Backward(restore) {
			if _, err := w.root.Lstat(s.path); errors.Is(err, fs.ErrNotExist) {
				continue
			}
			w.SetFlags(s.path, s.flags)
		}
	}, nil
}

// cleanTemps removes temporary files an interrupted write left next to p.
func cleanTemps(w *Writer, p string) {
	dir, base := path.Split(p)
	entries, err := w.root.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + base + ".rescue-"
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			w.Remove(path.Join(dir, e.Name()))
		}
	}
}

// journalHintError carries the advice to move the journal off the target.
type journalHintError struct{ error }

func (e journalHintError) Unwrap() error { return e.error }

// Hint is printed by the CLI after the error.
func (e journalHintError) Hint() string {
	return "keep the journal and backups on the helper with --journal-dir DIR"
}

func withJournalHint(err error) error { return journalHintError{err} }
