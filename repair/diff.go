package repair

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/aymanbagabas/go-udiff"

	"rescue/safetext"
	"rescue/sysroot"
)

// maxDiffText is the largest file shown as text hunks; larger ones, and
// binary ones, are summarised by size and digest.
const maxDiffText = 1 << 20

// WriteDiff renders a plan as one git-style unified diff, reading the
// current content of each file from root. Content changes are hunks;
// metadata changes are "old mode"/"new mode" (and "old owner"/"new owner")
// lines; symlinks and removals are shown as git shows them. Each fix is
// introduced by a comment line naming its stage and finding, which patch(1)
// and git apply skip.
func WriteDiff(out io.Writer, root *sysroot.Root, plan *Plan) error {
	for _, it := range plan.Items {
		fmt.Fprintf(out, "# [%s] %s: %s\n", it.Stage, safetext.Line(it.Finding), safetext.Line(it.Fix.Message))
		if len(it.Fix.Ops) == 0 && len(it.MergedInto) > 0 {
			fmt.Fprintf(out, "# (included in the change for %s)\n", safetext.Line(strings.Join(it.MergedInto, ", ")))
		}
		for _, op := range it.Fix.Ops {
			if err := writeOpDiff(out, root, op); err != nil {
				return err
			}
		}
	}
	for _, s := range plan.Skipped {
		fmt.Fprintf(out, "# skipped %s: %s (%s)\n", safetext.Line(s.Finding), safetext.Line(s.Fix), safetext.Line(s.Reason))
	}
	return nil
}

// gitMode renders a state's type and mode the way git does ("100644").
func gitMode(s State) string {
	switch s.Type {
	case Dir:
		return fmt.Sprintf("04%04o", uint32(s.Mode))
	case Symlink:
		return "120000"
	}
	return fmt.Sprintf("10%04o", uint32(s.Mode))
}

func writeOpDiff(out io.Writer, root *sysroot.Root, op Op) error {
	// Paths, symlink targets and content all come from the disk: each
	// goes through safetext.Line, so that no name or line can break the
	// diff's structure or reach the terminal raw.
	rel := safetext.Line(strings.TrimPrefix(op.Path, "/"))
	if rel == "" {
		rel = "."
	}
	header := func() { fmt.Fprintf(out, "diff --git a/%s b/%s\n", rel, rel) }
	switch op.Kind {
	case KindWrite:
		var old []byte
		if op.Expect.Type == File {
			var err error
			if old, err = readAll(root, op.Path); err != nil {
				return fmt.Errorf("reading %s for the diff: %w", op.Path, err)
			}
		}
		if op.Data == nil && op.Edits != nil {
			data, err := op.materialize(old)
			if err != nil {
				fmt.Fprintf(out, "# %s\n", safetext.Line(err.Error()))
				return nil
			}
			op.Data = data
		}
		after, _ := op.after(op.Expect)
		header()
		oldLabel, newLabel := "a/"+rel, "b/"+rel
		if op.Expect.Type == Absent {
			fmt.Fprintf(out, "new file mode %s\n", gitMode(after))
			oldLabel = "/dev/null"
		} else {
			if op.Expect.Mode != after.Mode {
				fmt.Fprintf(out, "old mode %s\nnew mode %s\n", gitMode(op.Expect), gitMode(after))
			}
			if op.Expect.UID != after.UID || op.Expect.GID != after.GID {
				fmt.Fprintf(out, "old owner %d:%d\nnew owner %d:%d\n", op.Expect.UID, op.Expect.GID, after.UID, after.GID)
			}
		}
		if op.Edits != nil && isText(old) && isText(op.Data) {
			// The edits are the change: no need to diff the file again
			// (a diff of a 20,000-line change is quadratic).
			writeEditHunks(out, oldLabel, newLabel, old, op.Edits)
			break
		}
		writeHunks(out, oldLabel, newLabel, old, op.Data)
	case KindChmod:
		after, _ := op.after(op.Expect)
		header()
		fmt.Fprintf(out, "old mode %s\nnew mode %s\n", gitMode(op.Expect), gitMode(after))
	case KindChown:
		header()
		fmt.Fprintf(out, "old owner %d:%d\nnew owner %d:%d\n", op.Expect.UID, op.Expect.GID, op.Owner.UID, op.Owner.GID)
	case KindSymlink:
		header()
		switch op.Expect.Type {
		case Absent:
			fmt.Fprintf(out, "new file mode 120000\n")
			writeHunks(out, "/dev/null", "b/"+rel, nil, []byte(safetext.Line(op.Target)+"\n"))
		case Symlink:
			writeHunks(out, "a/"+rel, "b/"+rel, []byte(safetext.Line(op.Expect.Target)+"\n"), []byte(safetext.Line(op.Target)+"\n"))
		default:
			fmt.Fprintf(out, "old mode %s\nnew mode 120000\n", gitMode(op.Expect))
			fmt.Fprintf(out, "# replaces a %s with a symlink to %s\n", op.Expect.Type, safetext.Line(op.Target))
		}
	case KindRemove:
		header()
		fmt.Fprintf(out, "deleted file mode %s\n", gitMode(op.Expect))
		switch op.Expect.Type {
		case File:
			old, err := readAll(root, op.Path)
			if err != nil {
				return fmt.Errorf("reading %s for the diff: %w", op.Path, err)
			}
			writeHunks(out, "a/"+rel, "/dev/null", old, nil)
		case Symlink:
			writeHunks(out, "a/"+rel, "/dev/null", []byte(safetext.Line(op.Expect.Target)+"\n"), nil)
		}
	case KindQuarantine:
		return writeQuarantineDiff(out, root, op, rel)
	case KindSpill:
		writeSpillDiff(out, op, rel)
	case KindUnlock:
		writeUnlockDiff(out, op, rel)
	case KindMkdir:
		header()
		fmt.Fprintf(out, "new file mode %s\n# new directory, owner %d:%d\n", gitMode(State{Type: Dir, Mode: *op.Mode}), op.Owner.UID, op.Owner.GID)
	case KindLink:
		header()
		if op.Expect.Type == Absent {
			fmt.Fprintf(out, "new file mode %s\n", gitMode(*op.LinkState))
		} else {
			fmt.Fprintf(out, "# replaces %s\n", op.Expect.Describe())
		}
		fmt.Fprintf(out, "# hard link to %s (%s)\n", op.Target, op.LinkState.Describe())
	case KindMknod:
		header()
		fmt.Fprintf(out, "# new %s node %d:%d, mode %s, owner %d:%d\n", op.Node.Type, op.Node.Major, op.Node.Minor, op.Mode, op.Owner.UID, op.Owner.GID)
	case KindFetch:
		header()
		fmt.Fprintf(out, "# restore from %s %s, fetched from %s by --apply\n", op.Source.Package, op.Source.Version, op.Source.From)
		for _, c := range op.Source.Checks {
			fmt.Fprintf(out, "#   %s\n", c)
		}
	case KindExec:
		fmt.Fprintf(out, "# run in the target's chroot: %s\n", safetext.Line(strings.Join(op.Argv, " ")))
		if op.Disk != "" && strings.Contains(strings.Join(op.Argv, " "), DiskArg) {
			fmt.Fprintf(out, "#   %s is the target's disk %s (a loop device over it when it is an image)\n", DiskArg, safetext.Line(op.Disk))
		}
		for _, r := range op.Regions {
			fmt.Fprintf(out, "#   may rewrite %s, outside the filesystems (backed up first; undo writes it back)\n", safetext.Line(r.Describe()))
		}
		for _, t := range op.Touches {
			fmt.Fprintf(out, "#   rewrites %s (backed up first)\n", safetext.Line(t))
		}
	}
	return nil
}

// writeHunks writes ---/+++ and the hunks of a text change, or a one-line
// summary for binary or very large content.
func writeHunks(out io.Writer, oldLabel, newLabel string, old, new []byte) {
	if isText(old) && isText(new) {
		d := udiff.Unified(oldLabel, newLabel, string(old), string(new))
		writeLines(out, d)
		return
	}
	fmt.Fprintf(out, "Binary files %s and %s differ\n", oldLabel, newLabel)
	fmt.Fprintf(out, "# %d bytes (sha256 %.12s) -> %d bytes (sha256 %.12s)\n", len(old), sum(old), len(new), sum(new))
}

// writeEditHunks writes ---/+++ and the hunks of edits made to old.
func writeEditHunks(out io.Writer, oldLabel, newLabel string, old []byte, edits []Edit) {
	ue := make([]udiff.Edit, len(edits))
	for i, e := range edits {
		ue[i] = udiff.Edit{Start: e.Start, End: e.End, New: string(e.New)}
	}
	d, err := udiff.ToUnified(oldLabel, newLabel, string(old), ue, udiff.DefaultContextLines)
	if err != nil {
		fmt.Fprintf(out, "# the change cannot be shown as hunks: %v\n", err)
		return
	}
	writeLines(out, d)
}

// writeLines writes a diff's lines, each through safetext.Line: a line of
// a file may hold terminal escapes or a carriage return.
func writeLines(out io.Writer, d string) {
	for len(d) > 0 {
		line, rest, _ := strings.Cut(d, "\n")
		io.WriteString(out, safetext.Line(line))
		io.WriteString(out, "\n")
		d = rest
	}
}

func isText(b []byte) bool {
	return len(b) <= maxDiffText && utf8.Valid(b) && !bytes.ContainsRune(b, 0)
}
