package repair

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"rescue/sysroot"
)

// Two ops exist for cleaning up after an intrusion. Neither deletes
// anything for good: both go through the journal like every other op, so
// undo takes them back.
const (
	// KindQuarantine moves a file (or a symlink) out of the target into
	// the repair journal: its content, mode, owner, xattrs, mtime and inode
	// flags are backed up and synced before the op runs, as for every op,
	// and the op then unlinks it. The journal keeps the copy (mode 0600,
	// so it cannot be run from there) under its sha256, and undo puts it
	// back. A Remove would do the same to the disk; Quarantine says what
	// it is for, refuses directories, and the journal marks the copy as
	// evidence to hand on.
	KindQuarantine Kind = "quarantine"
	// KindUnlock clears chattr +i and +a from a path for good (apply needs
	// --clear-immutable, as for any change to a locked path). The flags
	// before are recorded in the journal; undo sets them again.
	KindUnlock Kind = "unlock"
)

// Quarantine plans moving name (not followed: a symlink is moved itself)
// into the repair journal.
func Quarantine(r *sysroot.Root, name string) (Op, error) {
	return planOn(r, name, KindQuarantine, "only files and symlinks are quarantined", File, Symlink)
}

// Unlock plans clearing the immutable and append-only flags of name (a
// regular file or a directory, not followed) for good.
func Unlock(r *sysroot.Root, name string) (Op, error) {
	op, err := planOn(r, name, KindUnlock, "only files and directories carry chattr flags", File, Dir)
	if err != nil {
		return Op{}, err
	}
	if op.Flags, err = r.Flags(op.Path); err != nil {
		return Op{}, err
	}
	return op, nil
}

// planOn plans an op of kind on name itself (its last element not
// followed), which must be one of the types.
func planOn(r *sysroot.Root, name string, kind Kind, why string, types ...Type) (Op, error) {
	p, err := resolveParent(r, name)
	if err != nil {
		return Op{}, err
	}
	st, err := ReadState(r, p)
	if err != nil {
		return Op{}, err
	}
	if !slices.Contains(types, st.Type) {
		return Op{}, fmt.Errorf("%s is %s: %s", p, article(st.Type), why)
	}
	return Op{Kind: kind, Path: p, Expect: st}, nil
}

func article(t Type) string {
	if t == Absent {
		return "absent"
	}
	if t == Other {
		return "a special file"
	}
	return "a " + string(t)
}

// FlagNames renders inode flags the way lsattr shows the ones rescue cares
// about: "+i", "+a", "+i+a", or "" for neither.
func FlagNames(flags uint32) string {
	var s []string
	if flags&flagImmutable != 0 {
		s = append(s, "+i")
	}
	if flags&flagAppend != 0 {
		s = append(s, "+a")
	}
	return strings.Join(s, "")
}

// runUnlock clears the flags for good: unlike unlock(), nothing puts them
// back after the op.
func runUnlock(w *Writer, op Op) error {
	f, err := w.Flags(op.Path)
	if err != nil {
		return err
	}
	if f&(flagImmutable|flagAppend) == 0 {
		return nil
	}
	return w.SetFlags(op.Path, f&^(flagImmutable|flagAppend))
}

// writeQuarantineDiff renders a quarantine as a deletion, with a comment
// saying where the file goes.
func writeQuarantineDiff(out io.Writer, root *sysroot.Root, op Op, rel string) error {
	fmt.Fprintf(out, "diff --git a/%s b/%s\n", rel, rel)
	fmt.Fprintf(out, "deleted file mode %s\n", gitMode(op.Expect))
	switch op.Expect.Type {
	case File:
		fmt.Fprintf(out, "# quarantined: moved into the repair journal (%d bytes, sha256 %s); rescue undo puts it back\n", op.Expect.Size, op.Expect.SHA256)
		old, err := readAll(root, op.Path)
		if err != nil {
			return fmt.Errorf("reading %s for the diff: %w", op.Path, err)
		}
		writeHunks(out, "a/"+rel, "/dev/null", old, nil)
	case Symlink:
		fmt.Fprintf(out, "# quarantined: the symlink is moved into the repair journal; rescue undo puts it back\n")
		writeHunks(out, "a/"+rel, "/dev/null", []byte(op.Expect.Target+"\n"), nil)
	}
	return nil
}

// writeUnlockDiff renders clearing the flags.
func writeUnlockDiff(out io.Writer, op Op, rel string) {
	fmt.Fprintf(out, "diff --git a/%s b/%s\n", rel, rel)
	fmt.Fprintf(out, "# chattr -i -a %s (was %s): cleared for good and recorded; rescue undo sets it again\n", "/"+strings.TrimPrefix(rel, "/"), FlagNames(op.Flags))
}
