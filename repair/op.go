package repair

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"rescue/sysroot"
)

// Kind names what an op does.
type Kind string

// The kinds of op. Every change rescue makes to a target is one of these.
const (
	KindWrite   Kind = "write"   // replace or create a regular file, atomically
	KindChmod   Kind = "chmod"   // change permission bits
	KindChown   Kind = "chown"   // change owner and group
	KindSymlink Kind = "symlink" // create or replace a symlink
	KindRemove  Kind = "remove"  // remove a file, a symlink or an empty directory
	KindMkdir   Kind = "mkdir"   // create a directory
	KindExec    Kind = "exec"    // run a command of the target's in a chroot
)

// Owner is a numeric uid:gid pair.
type Owner struct {
	UID int `json:"uid"`
	GID int `json:"gid"`
}

// Op is one change to one path of the target. Paths are target-absolute and
// already resolved: an op on /etc/fstab where fstab is a symlink to
// fstab.real names /etc/fstab.real, so the diff shows what really changes.
type Op struct {
	Kind Kind   `json:"kind"`
	Path string `json:"path"`
	// Expect is the state the op was planned against. Apply refuses the op
	// when the path no longer looks like this.
	Expect State `json:"expect"`

	// Data is the new content of a write. A write to a file that exists
	// carries Edits instead, until the planner builds the new content
	// once for all the fixes that edit the file (see Edit).
	Data  []byte `json:"data,omitempty"`
	Edits []Edit `json:"edits,omitempty"`
	// Mode is the new mode of a chmod, and the mode of a file or directory
	// that a write or mkdir creates (nil for a write: keep the old mode,
	// or 0644 for a new file).
	Mode *Mode `json:"mode,omitempty"`
	// Owner is the new owner of a chown, or of what a write or mkdir
	// creates (nil: keep the old owner, or root for a new file).
	Owner *Owner `json:"owner,omitempty"`
	// Target is the target of a symlink.
	Target string `json:"target,omitempty"`
	// MTime, when set, is the modification time a write gives the file
	// (a file restored from a package gets the package's, so rpm -V
	// finds nothing to report); nil means now.
	MTime *time.Time `json:"mtime,omitempty"`

	// Xattrs are extended attributes the op sets on what it writes or
	// creates (a SELinux label, file capabilities); a replaced file keeps
	// its other attributes.
	Xattrs map[string][]byte `json:"xattrs,omitempty"`
	// LinkState is, for a hard link, the state of the file it links to
	// (Target), which apply checks again.
	LinkState *State `json:"link_state,omitempty"`
	// Node is the device a mknod op creates.
	Node *Node `json:"node,omitempty"`
	// Source says where restored content comes from and how it was
	// checked.
	Source *Source `json:"source,omitempty"`

	// Argv is the command an exec op runs inside the target (chroot).
	Argv []string `json:"argv,omitempty"`
	// Touches lists the paths an exec op rewrites; they are backed up before
	// it runs so that undo can put them back.
	Touches []string `json:"touches,omitempty"`
	// TouchStates are the states of Touches when the op was planned.
	TouchStates []State `json:"touch_states,omitempty"`
	// Disk is the target's whole disk on the helper (a device or an
	// image), which DiskArg in Argv stands for.
	Disk string `json:"disk,omitempty"`
	// Regions are the byte ranges of the disk outside its filesystems
	// that an exec op may rewrite (a boot sector): backed up before it
	// runs, written back by undo.
	Regions []Region `json:"regions,omitempty"`

	// Flags are the inode flags an unlock op found at the plan.
	Flags uint32 `json:"flags,omitempty"`
}

// Paths returns every path the op changes.
func (o Op) Paths() []string {
	if o.Kind == KindExec {
		return o.Touches
	}
	return []string{o.Path}
}

// Summary is a one-line description of the op, for logs and text output.
func (o Op) Summary() string {
	switch o.Kind {
	case KindWrite:
		if o.Expect.Type == Absent {
			return fmt.Sprintf("create %s (%d bytes)", o.Path, o.size())
		}
		return fmt.Sprintf("rewrite %s (%d bytes)", o.Path, o.size())
	case KindChmod:
		return fmt.Sprintf("chmod %s %s", o.Mode, o.Path)
	case KindChown:
		return fmt.Sprintf("chown %d:%d %s", o.Owner.UID, o.Owner.GID, o.Path)
	case KindSymlink:
		return fmt.Sprintf("symlink %s -> %s", o.Path, o.Target)
	case KindRemove:
		return "remove " + o.Path
	case KindMkdir:
		return fmt.Sprintf("mkdir %s %s", o.Mode, o.Path)
	case KindExec:
		s := fmt.Sprintf("run in chroot: %q", o.Argv)
		if o.Disk != "" && strings.Contains(strings.Join(o.Argv, " "), DiskArg) {
			s += fmt.Sprintf(" (%s: %s)", DiskArg, o.Disk)
		}
		for _, r := range o.Regions {
			s += "; back up " + r.Describe()
		}
		return s
	case KindQuarantine:
		if o.Expect.Type == File {
			return fmt.Sprintf("quarantine %s (%d bytes, sha256 %s) into the repair journal", o.Path, o.Expect.Size, o.Expect.SHA256)
		}
		return fmt.Sprintf("quarantine the symlink %s -> %s into the repair journal", o.Path, o.Expect.Target)
	case KindSpill:
		return fmt.Sprintf("spill %s (%d bytes, sha256 %s) to the journal on the helper", o.Path, o.Expect.Size, o.Expect.SHA256)
	case KindUnlock:
		return fmt.Sprintf("chattr -i -a %s (was %s)", o.Path, FlagNames(o.Flags))
	case KindLink:
		return fmt.Sprintf("hard-link %s to %s", o.Path, o.Target)
	case KindFetch:
		return fmt.Sprintf("fetch %s and restore %s", o.Source.From, o.Path)
	case KindMknod:
		return fmt.Sprintf("mknod %s %s %d:%d %s", o.Path, o.Node.Type, o.Node.Major, o.Node.Minor, o.Mode)
	}
	return string(o.Kind) + " " + o.Path
}

// ReadState returns the state of name in r without following its last
// element. A missing path is the Absent state, not an error.
func ReadState(r *sysroot.Root, name string) (State, error) {
	s, _, err := readStateKeep(r, name, 0)
	return s, err
}

// readStateKeep is ReadState that also returns the content of a regular
// file of at most keep bytes (nil for anything else), read in the same
// pass as its hash.
func readStateKeep(r *sysroot.Root, name string, keep int64) (State, []byte, error) {
	fi, err := r.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return State{Type: Absent}, nil, nil
	}
	if err != nil {
		return State{}, nil, err
	}
	uid, gid := sysroot.Owner(fi)
	s := State{Mode: ModeOf(fi.Mode()), UID: uid, GID: gid}
	var data []byte
	switch {
	case fi.Mode().IsRegular():
		s.Type, s.Size = File, fi.Size()
		f, err := r.Open(name)
		if err != nil {
			return State{}, nil, err
		}
		defer f.Close()
		h := sha256.New()
		if fi.Size() > 0 && fi.Size() <= keep {
			var b bytes.Buffer
			b.Grow(int(fi.Size()) + 1)
			if _, err := io.Copy(io.MultiWriter(h, &b), f); err != nil {
				return State{}, nil, fmt.Errorf("reading %s: %w", name, err)
			}
			if int64(b.Len()) == fi.Size() {
				data = b.Bytes()
			}
		} else if _, err := io.Copy(h, f); err != nil {
			return State{}, nil, fmt.Errorf("reading %s: %w", name, err)
		}
		s.SHA256 = hex.EncodeToString(h.Sum(nil))
	case fi.IsDir():
		s.Type = Dir
	case fi.Mode()&fs.ModeSymlink != 0:
		s.Type, s.Mode = Symlink, 0o777
		if s.Target, err = r.Readlink(name); err != nil {
			return State{}, nil, err
		}
	default:
		s.Type = Other
		s.Node, s.Rdev = nodeOf(fi)
	}
	return s, data, nil
}

// resolveFollow resolves name fully inside r. A name that does not exist is
// resolved through its parent directory; a dangling symlink is refused
// because writing through it would create a file somewhere the check never
// looked.
func resolveFollow(r *sysroot.Root, name string) (string, error) {
	p, err := r.Resolve(name)
	if err == nil {
		return p, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if fi, lerr := r.Lstat(name); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return "", fmt.Errorf("%s is a dangling symlink", sysroot.Clean(name))
	}
	return resolveParent(r, name)
}

// resolveParent resolves the directory of name inside r and keeps its last
// element as it is: the op acts on that element itself, even a symlink.
func resolveParent(r *sysroot.Root, name string) (string, error) {
	c := sysroot.Clean(name)
	if c == "/" {
		return c, nil
	}
	dir, base := path.Split(c)
	d, err := r.Resolve(dir)
	if err != nil {
		return "", err
	}
	return path.Join(d, base), nil
}

// WriteFile plans replacing (or creating) name with data. The file keeps its
// mode, owner and extended attributes. A file that exists is planned as
// edits of its current content (see Edit), so that the op does not hold a
// copy of data.
func WriteFile(r *sysroot.Root, name string, data []byte) (Op, error) {
	p, err := resolveFollow(r, name)
	if err != nil {
		return Op{}, err
	}
	st, base, err := baseOf(r, p)
	if err != nil {
		return Op{}, err
	}
	switch {
	case st.Type == File && base != nil:
		return Op{Kind: KindWrite, Path: p, Expect: st, Edits: diffEdits(base, data)}, nil
	case st.Type != File && st.Type != Absent:
		return Op{}, fmt.Errorf("%s is a %s, not a regular file", p, st.Type)
	}
	if data == nil {
		data = []byte{}
	}
	return Op{Kind: KindWrite, Path: p, Expect: st, Data: data}, nil
}

// CreateFile plans writing name with data, mode and owner, whether or not it
// exists (a file restored from a package gets the package's mode and owner).
func CreateFile(r *sysroot.Root, name string, data []byte, mode Mode, uid, gid int) (Op, error) {
	op, err := WriteFile(r, name, data)
	if err != nil {
		return Op{}, err
	}
	op.Mode = &mode
	op.Owner = &Owner{UID: uid, GID: gid}
	return op, nil
}

// Chmod plans changing the mode of name (following symlinks inside r).
func Chmod(r *sysroot.Root, name string, mode Mode) (Op, error) {
	p, st, err := metadataTarget(r, name)
	if err != nil {
		return Op{}, err
	}
	return Op{Kind: KindChmod, Path: p, Expect: st, Mode: &mode}, nil
}

// Chown plans changing the owner of name (following symlinks inside r).
func Chown(r *sysroot.Root, name string, uid, gid int) (Op, error) {
	p, st, err := metadataTarget(r, name)
	if err != nil {
		return Op{}, err
	}
	return Op{Kind: KindChown, Path: p, Expect: st, Owner: &Owner{UID: uid, GID: gid}}, nil
}

// metadataTarget resolves name for a chmod or chown, which only files and
// directories get: a FIFO, device or socket where a check expects a file
// (/etc/shadow as a FIFO on a hostile disk) is not what the check meant to
// change, and chmod on a device node can open it to everyone.
func metadataTarget(r *sysroot.Root, name string) (string, State, error) {
	p, err := r.Resolve(name)
	if err != nil {
		return "", State{}, err
	}
	st, err := ReadState(r, p)
	if err != nil {
		return "", State{}, err
	}
	if st.Type != File && st.Type != Dir {
		return "", State{}, fmt.Errorf("%s is a %s, not a file or directory; rescue changes the mode or owner of files and directories only", p, st.Describe())
	}
	return p, st, nil
}

// MakeSymlink plans making name a symlink to target, replacing a symlink,
// file or empty directory that is there.
func MakeSymlink(r *sysroot.Root, name, target string) (Op, error) {
	p, err := resolveParent(r, name)
	if err != nil {
		return Op{}, err
	}
	st, err := ReadState(r, p)
	if err != nil {
		return Op{}, err
	}
	return Op{Kind: KindSymlink, Path: p, Expect: st, Target: target}, nil
}

// Remove plans removing name itself (a symlink is removed, not followed).
func Remove(r *sysroot.Root, name string) (Op, error) {
	p, err := resolveParent(r, name)
	if err != nil {
		return Op{}, err
	}
	st, err := ReadState(r, p)
	if err != nil {
		return Op{}, err
	}
	if st.Type == Dir {
		entries, err := r.ReadDir(p)
		if err != nil {
			return Op{}, err
		}
		if len(entries) > 0 {
			return Op{}, fmt.Errorf("%s is a directory that is not empty", p)
		}
	}
	return Op{Kind: KindRemove, Path: p, Expect: st}, nil
}

// Mkdir plans creating the directory name with mode, owned by root.
func Mkdir(r *sysroot.Root, name string, mode Mode) (Op, error) {
	p, err := resolveFollow(r, name)
	if err != nil {
		return Op{}, err
	}
	st, err := ReadState(r, p)
	if err != nil {
		return Op{}, err
	}
	return Op{Kind: KindMkdir, Path: p, Expect: st, Mode: &mode, Owner: &Owner{}}, nil
}

// Exec plans running argv inside the target (chroot, with /dev, /proc and
// /sys bound). touches are the files the command rewrites: they are backed
// up first and restored by undo. Apply refuses exec ops unless the user
// allowed running the target's own programs.
func Exec(r *sysroot.Root, argv []string, touches ...string) (Op, error) {
	op := Op{Kind: KindExec, Argv: argv}
	for _, t := range touches {
		p, err := resolveFollow(r, t)
		if err != nil {
			return Op{}, err
		}
		st, err := ReadState(r, p)
		if err != nil {
			return Op{}, err
		}
		if st.Type != File && st.Type != Absent {
			return Op{}, fmt.Errorf("%s is a %s; exec ops back up regular files only", p, st.Type)
		}
		op.Touches = append(op.Touches, p)
		op.TouchStates = append(op.TouchStates, st)
	}
	return op, nil
}

// after predicts the state of the op's path once it has run on before.
// ok is false when it cannot be predicted (exec).
func (o Op) after(before State) (State, bool) {
	s := before
	switch o.Kind {
	case KindWrite:
		if o.Data == nil && o.Edits != nil {
			return State{}, false // not built yet
		}
		s.Type, s.Size, s.SHA256, s.Target = File, int64(len(o.Data)), sum(o.Data), ""
		if before.Type != File {
			s.Mode, s.UID, s.GID = 0o644, 0, 0
		}
		if o.Mode != nil {
			s.Mode = *o.Mode
		}
		if o.Owner != nil {
			s.UID, s.GID = o.Owner.UID, o.Owner.GID
		}
	case KindChmod:
		s.Mode = *o.Mode
	case KindChown:
		s.UID, s.GID = o.Owner.UID, o.Owner.GID
	case KindSymlink:
		s = State{Type: Symlink, Mode: 0o777, Target: o.Target}
	case KindRemove, KindQuarantine, KindSpill:
		s = State{Type: Absent}
	case KindUnlock:
		// Flags are not part of a state: the path looks the same.
	case KindMkdir:
		s = State{Type: Dir, Mode: *o.Mode, UID: o.Owner.UID, GID: o.Owner.GID}
	case KindLink:
		s = *o.LinkState
	case KindMknod:
		s = State{Type: Other, Mode: *o.Mode, UID: o.Owner.UID, GID: o.Owner.GID}
		if o.Node != nil {
			s.Node = o.Node.Type
			if s.Node == "char" || s.Node == "block" {
				s.Rdev = unix.Mkdev(o.Node.Major, o.Node.Minor)
			}
		}
	default:
		return State{}, false
	}
	return s, true
}

// maxJSONData is the largest new content a JSON report carries inline; a
// restored library is described by its size and digest instead.
const maxJSONData = 64 << 10

// MarshalJSON writes an op, with its new content inline only when small.
func (o Op) MarshalJSON() ([]byte, error) {
	type plain Op
	out := struct {
		plain
		DataSize   *int   `json:"data_size,omitempty"`
		DataSHA256 string `json:"data_sha256,omitempty"`
	}{plain: plain(o)}
	if o.Kind == KindWrite {
		n := int(o.size())
		out.DataSize = &n
		if o.Data != nil || o.Edits == nil {
			// Built content: the edits it came from add nothing.
			out.DataSHA256, out.Edits = sum(o.Data), nil
			if n > maxJSONData {
				out.Data = nil
			}
		}
	}
	return json.Marshal(out)
}
