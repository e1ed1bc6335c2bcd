package repair

import (
	"fmt"
	"io"

	"rescue/sysroot"
)

// KindSpill moves a regular file off the target to make room on a full
// filesystem (rescue fix --spill DIR): like a quarantine, its content,
// mode, owner, xattrs, mtime and inode flags are backed up into the
// journal and synced before the op unlinks it, and undo puts it back.
// What differs is where and why: apply runs a spill only when the journal
// is on the helper (the spill directory), since a copy kept on the full
// filesystem itself would free nothing; and the copy is the operator's
// data, not evidence. Only the spill action plans spills, and only of
// files that can be made again or done without (rotated logs, archived
// journal files, package caches, core dumps).
const KindSpill Kind = "spill"

// Spill plans moving the regular file name (not followed) off the target
// into the journal on the helper.
func Spill(r *sysroot.Root, name string) (Op, error) {
	return planOn(r, name, KindSpill, "only regular files are spilled", File)
}

// spillNeedsHelper is why apply refuses a spill without a journal
// directory on the helper.
const spillNeedsHelper = "it moves files off the target to make room, so its journal must be on the helper: give --spill DIR"

// writeSpillDiff renders a spill as a deletion without the content (logs
// and caches, often large and binary), saying where the file goes.
func writeSpillDiff(out io.Writer, op Op, rel string) {
	fmt.Fprintf(out, "diff --git a/%s b/%s\n", rel, rel)
	fmt.Fprintf(out, "deleted file mode %s\n", gitMode(op.Expect))
	fmt.Fprintf(out, "# spilled: moved to the journal on the helper (%d bytes, sha256 %s); rescue undo puts it back\n", op.Expect.Size, op.Expect.SHA256)
}
