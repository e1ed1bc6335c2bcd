package repair

import (
	"fmt"
	"io/fs"
	"maps"
	"slices"

	"golang.org/x/sys/unix"

	"rescue/sysroot"
)

// The ops that bring back what a package installs besides regular files,
// symlinks and directories: hard links and device nodes (and FIFOs).
const (
	KindLink  Kind = "link"  // create a hard link to another file of the target
	KindMknod Kind = "mknod" // create a device node or a FIFO
	// KindFetch stands, in a dry run, for restoring a path from a
	// package that is still to be downloaded: the plan says from where,
	// and fix --apply fetches it and plans the real ops. Apply never
	// runs it.
	KindFetch Kind = "fetch"
)

// Fetch plans restoring name from a package still to be downloaded.
func Fetch(r *sysroot.Root, name string, src *Source) (Op, error) {
	p, err := resolveParent(r, name)
	if err != nil {
		return Op{}, err
	}
	st, err := ReadState(r, p)
	if err != nil {
		return Op{}, err
	}
	s := *src
	s.Fetch = true
	return Op{Kind: KindFetch, Path: p, Expect: st, Source: &s}, nil
}

// Source says where the content of an op comes from and which checks it
// passed: a file restored from a package names the package, its version,
// the package file or URL, and every verification made on the way (the
// repository signature, the repository's digest of the package, the
// database's digest of the file).
type Source struct {
	Package string   `json:"package"`
	Version string   `json:"version"`
	Arch    string   `json:"arch,omitempty"`
	From    string   `json:"from"` // a host path, "target:/var/cache/…", or a URL
	Checks  []string `json:"checks"`
	// Fetch is set when the package still has to be downloaded: a dry
	// run resolves where it would come from, and apply fetches it.
	Fetch bool `json:"fetch,omitempty"`
}

// Link plans making name a hard link to existing, a regular file of the
// target that is expected to look as it does now. Both paths are resolved
// inside r; the last element of name is not followed.
func Link(r *sysroot.Root, name, existing string) (Op, error) {
	p, err := resolveParent(r, name)
	if err != nil {
		return Op{}, err
	}
	src, err := resolveParent(r, existing)
	if err != nil {
		return Op{}, err
	}
	st, err := ReadState(r, p)
	if err != nil {
		return Op{}, err
	}
	if st.Type != Absent && st.Type != File {
		return Op{}, fmt.Errorf("%s is a %s; a hard link replaces only a regular file", p, st.Type)
	}
	srcSt, err := ReadState(r, src)
	if err != nil {
		return Op{}, err
	}
	if srcSt.Type != File {
		return Op{}, fmt.Errorf("cannot hard-link %s to %s: %s is %s", p, src, src, srcSt.Describe())
	}
	return Op{Kind: KindLink, Path: p, Expect: st, Target: src, LinkState: &srcSt}, nil
}

// Mknod plans creating a device node or FIFO at name: typ is
// fs.ModeDevice (block), fs.ModeDevice|fs.ModeCharDevice (character) or
// fs.ModeNamedPipe. Only an absent path is replaced: whatever is there
// may be in use.
func Mknod(r *sysroot.Root, name string, typ fs.FileMode, mode Mode, major, minor uint32, uid, gid int) (Op, error) {
	p, err := resolveParent(r, name)
	if err != nil {
		return Op{}, err
	}
	st, err := ReadState(r, p)
	if err != nil {
		return Op{}, err
	}
	if st.Type != Absent {
		return Op{}, fmt.Errorf("%s exists (%s); a device node is created only where nothing is", p, st.Describe())
	}
	if _, err := nodeType(typ); err != nil {
		return Op{}, err
	}
	return Op{Kind: KindMknod, Path: p, Expect: st, Mode: &mode, Owner: &Owner{UID: uid, GID: gid},
		Node: &Node{Type: nodeName(typ), Major: major, Minor: minor}}, nil
}

// Node is the device of a mknod op.
type Node struct {
	Type  string `json:"type"` // "char", "block" or "fifo"
	Major uint32 `json:"major,omitempty"`
	Minor uint32 `json:"minor,omitempty"`
}

func nodeName(typ fs.FileMode) string {
	switch {
	case typ&fs.ModeCharDevice != 0:
		return "char"
	case typ&fs.ModeDevice != 0:
		return "block"
	case typ&fs.ModeNamedPipe != 0:
		return "fifo"
	}
	return ""
}

// nodeType is the S_IF* bits of a node type name or fs.FileMode.
func nodeType(typ fs.FileMode) (uint32, error) {
	switch nodeName(typ) {
	case "char":
		return unix.S_IFCHR, nil
	case "block":
		return unix.S_IFBLK, nil
	case "fifo":
		return unix.S_IFIFO, nil
	}
	return 0, fmt.Errorf("mknod: %v is not a device or FIFO type", typ)
}

func (n *Node) mode() fs.FileMode {
	switch n.Type {
	case "char":
		return fs.ModeDevice | fs.ModeCharDevice
	case "block":
		return fs.ModeDevice
	}
	return fs.ModeNamedPipe
}

// Link atomically makes name a hard link to existing (a temporary link,
// renamed over name).
func (w *Writer) Link(name, existing string) error {
	sd, sbase, err := w.dir(existing)
	if err != nil {
		return err
	}
	defer sd.Close()
	d, base, err := w.dir(name)
	if err != nil {
		return err
	}
	defer d.Close()
	tmp := tempName(base)
	if err := unix.Linkat(sd.Fd(), sbase, d.Fd(), tmp, 0); err != nil {
		return fmt.Errorf("linking %s to %s: %w", name, existing, err)
	}
	if err := unix.Renameat(d.Fd(), tmp, d.Fd(), base); err != nil {
		unix.Unlinkat(d.Fd(), tmp, 0)
		return fmt.Errorf("replacing %s: %w", name, err)
	}
	return syncDir(d, name)
}

// Mknod creates the node name with mode and owner (nothing may be there).
func (w *Writer) Mknod(name string, n *Node, mode Mode, owner Owner) error {
	typ, err := nodeType(n.mode())
	if err != nil {
		return err
	}
	d, base, err := w.dir(name)
	if err != nil {
		return err
	}
	defer d.Close()
	tmp := tempName(base)
	if err := unix.Mknodat(d.Fd(), tmp, typ|0o600, int(unix.Mkdev(n.Major, n.Minor))); err != nil {
		return fmt.Errorf("creating %s: %w", name, err)
	}
	fail := func(err error) error {
		unix.Unlinkat(d.Fd(), tmp, 0)
		return err
	}
	if err := unix.Fchownat(d.Fd(), tmp, owner.UID, owner.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fail(fmt.Errorf("setting owner of %s: %w", name, err))
	}
	if err := unix.Fchmodat(d.Fd(), tmp, uint32(mode), 0); err != nil {
		return fail(fmt.Errorf("setting mode of %s: %w", name, err))
	}
	if err := unix.Renameat2(d.Fd(), tmp, d.Fd(), base, unix.RENAME_NOREPLACE); err != nil {
		return fail(fmt.Errorf("creating %s: %w", name, err))
	}
	return syncDir(d, name)
}

// setNodeXattrs sets extended attributes (a SELinux label, file
// capabilities) on what an op created. The attributes go on the node
// itself: a symlink's own label, not its target's.
func (w *Writer) setNodeXattrs(name string, attrs map[string][]byte) error {
	if len(attrs) == 0 {
		return nil
	}
	d, base, err := w.dir(name)
	if err != nil {
		return err
	}
	defer d.Close()
	// The directory was opened inside the root; its /proc/self/fd link
	// reaches it, and the l* call does not follow base.
	p := procPath(d.Fd()) + "/" + base
	for _, k := range sortedKeys(attrs) {
		if err := unix.Lsetxattr(p, k, attrs[k], 0); err != nil {
			return fmt.Errorf("setting %s on %s: %w", k, name, err)
		}
	}
	return nil
}

func sortedKeys(m map[string][]byte) []string { return slices.Sorted(maps.Keys(m)) }
