package disk

// The ESP is a FAT filesystem. Real helper VMs mount it like any other,
// but a helper kernel without the vfat driver (this project's CI) cannot.
// Then rescue reads the FAT in pure Go (package disk/fat), copies its files into
// a private directory under the state directory, and bind-mounts that
// directory at ROOT/boot/efi: checks and the repair engine see /boot/efi
// like any mount and need not know. A manifest of the copy (every path and
// its SHA-256) is kept in the session record. When a writable session ends
// (rescue umount, or the end of fix --apply), every file and directory
// that differs from the manifest is written back into the FAT in pure Go,
// read back and compared, and fsck.fat -n checks the filesystem when the
// helper has it.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"rescue/disk/fat"
)

// ESPRecord is a FAT filesystem rescue copied out to mount it.
type ESPRecord struct {
	// Dir is the copy, bind-mounted at the target's mount point, inside
	// the private TempDir.
	Dir     string `json:"dir"`
	TempDir string `json:"temp_dir"`
	Volume  string `json:"volume"`
	Disk    string `json:"disk"`
	Offset  int64  `json:"offset"`
	Size    int64  `json:"size"`
	Version string `json:"version"` // FAT12, FAT16, FAT32
	// Manifest maps each path of the FAT ("/EFI/debian/grub.cfg") to the
	// SHA-256 of its content, or to "dir".
	Manifest map[string]string `json:"manifest"`
}

// maxESPCopy bounds what is copied into memory-backed /run.
const maxESPCopy = 1 << 30

// openFAT opens the FAT filesystem of volume v on the open disk f.
func openFAT(f *os.File, v *Volume, writable bool) (*fat.FS, error) {
	var w io.WriterAt
	if writable {
		w = f
	}
	vol, err := fat.Open(f, w, v.Offset, v.Size)
	if err != nil {
		return nil, fmt.Errorf("reading the FAT filesystem on %s: %w", v.Name, err)
	}
	return vol, nil
}

// mountFATCopy copies the FAT filesystem out and bind-mounts the copy.
func mountFATCopy(st *State, diskPath string, v *Volume, target, point string, writable bool, stateDir string) error {
	if st.ESP != nil {
		return fmt.Errorf("%s: only one FAT filesystem can be mounted as a copy", v.Name)
	}
	f, err := os.Open(diskPath)
	if err != nil {
		return err
	}
	defer f.Close()
	vol, err := openFAT(f, v, false)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(stateDir, "esp-")
	if err != nil {
		return err
	}
	tree := filepath.Join(tmp, "tree")
	rec := &ESPRecord{Dir: tree, TempDir: tmp, Volume: v.Name, Disk: diskPath, Offset: v.Offset, Size: v.Size, Version: v.FS.Version,
		Manifest: map[string]string{}}
	var total int64
	if err := copyOutFAT(vol, "/", tree, rec.Manifest, &total, map[uint32]bool{}); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("copying the FAT filesystem %s: %w", v.Name, err)
	}
	// Record before mounting, so that an interrupted run still removes
	// the copy.
	st.ESP = rec
	st.Mounts = append(st.Mounts, MountRecord{Target: target, Point: point, Volume: v.Name + " (copy)", Source: tree,
		FSType: "vfat-copy", Bind: true, TempDir: tmp})
	i := len(st.Mounts) - 1
	if err := st.save(); err != nil {
		return err
	}
	if err := unix.Mount(tree, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting the copy of %s at %s: %w", v.Name, point, err)
	}
	st.Mounts[i].Done = true
	if !writable {
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			st.save()
			return fmt.Errorf("making the copy of %s read-only: %w", v.Name, err)
		}
	}
	return st.save()
}

// maxFATDepth bounds the directories copyOutFAT goes into: an ESP holds
// EFI/<vendor>/..., a few levels.
const maxFATDepth = 64

// fatTree is what copyOutFAT reads of a FAT filesystem (*fat.FS).
type fatTree interface {
	ReadDir(p string) ([]fat.Info, error)
	ReadFile(p string) ([]byte, error)
}

// copyOutFAT copies dir of the FAT into host, recording the manifest.
// entered holds the first clusters of the directories copied so far: a
// damaged (or crafted) FAT can give a directory an entry that points back
// at an ancestor, and following it would recurse until the host path is
// too long.
func copyOutFAT(vol fatTree, dir, host string, manifest map[string]string, total *int64, entered map[uint32]bool) error {
	if strings.Count(dir, "/") > maxFATDepth {
		return fmt.Errorf("%s: directories nested more than %d deep (a damaged FAT)", dir, maxFATDepth)
	}
	if err := os.MkdirAll(host, 0o755); err != nil {
		return err
	}
	manifest[dir] = "dir"
	entries, err := vol.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name
		if name == "." || name == ".." || name == "" || strings.ContainsAny(name, "/\x00") {
			continue
		}
		p := path.Join(dir, name)
		hp := filepath.Join(host, name)
		if e.Dir {
			if e.Cluster == 0 || entered[e.Cluster] {
				return fmt.Errorf("%s is a directory entry that leads back to a directory above it (a damaged FAT: a cycle)", p)
			}
			entered[e.Cluster] = true
			if err := copyOutFAT(vol, p, hp, manifest, total, entered); err != nil {
				return err
			}
			continue
		}
		data, err := vol.ReadFile(p)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		*total += int64(len(data))
		if *total > maxESPCopy {
			return fmt.Errorf("more than %d bytes of files; too large to copy", maxESPCopy)
		}
		if err := os.WriteFile(hp, data, 0o644); err != nil {
			return err
		}
		if !e.MTime.IsZero() {
			os.Chtimes(hp, e.MTime, e.MTime)
		}
		manifest[p] = sha(data)
	}
	return nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ESPChange is one difference between the copy and the FAT.
type ESPChange struct {
	Path string
	Kind string // "mkdir", "write", "remove", "rmdir"
	Data []byte
}

// espChanges compares the copy with its manifest.
func espChanges(rec *ESPRecord) ([]ESPChange, error) {
	var changes []ESPChange
	seen := map[string]bool{}
	err := filepath.WalkDir(rec.Dir, func(hp string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(rec.Dir, hp)
		p := path.Clean("/" + filepath.ToSlash(rel))
		seen[p] = true
		old, had := rec.Manifest[p]
		switch {
		case d.IsDir():
			if !had {
				changes = append(changes, ESPChange{Path: p, Kind: "mkdir"})
			} else if old != "dir" {
				return fmt.Errorf("%s was a file and is now a directory; rescue does not write that back", p)
			}
		case d.Type().IsRegular():
			data, err := os.ReadFile(hp)
			if err != nil {
				return err
			}
			if had && old == "dir" {
				return fmt.Errorf("%s was a directory and is now a file; rescue does not write that back", p)
			}
			if !had || old != sha(data) {
				changes = append(changes, ESPChange{Path: p, Kind: "write", Data: data})
			}
		default:
			return fmt.Errorf("%s is a %s; a FAT filesystem holds only files and directories", p, d.Type())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var gone []string
	for p := range rec.Manifest {
		if !seen[p] {
			gone = append(gone, p)
		}
	}
	// Deepest first, so that a directory is empty when it goes.
	slices.SortFunc(gone, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, p := range gone {
		kind := "remove"
		if rec.Manifest[p] == "dir" {
			kind = "rmdir"
		}
		changes = append(changes, ESPChange{Path: p, Kind: kind})
	}
	return changes, nil
}

// writeBackESP writes every change of the copy into the FAT filesystem,
// verifies what it wrote, and updates the manifest.
func writeBackESP(st *State, log *slog.Logger) error {
	rec := st.ESP
	changes, err := espChanges(rec)
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		return nil
	}
	f, err := os.OpenFile(rec.Disk, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	v := &Volume{Name: rec.Volume, Offset: rec.Offset, Size: rec.Size, FS: &Superblock{Type: "vfat", Version: rec.Version}}
	vol, err := openFAT(f, v, true)
	if err != nil {
		return err
	}
	for _, c := range changes {
		log.Info("writing back to the ESP", "path", c.Path, "change", c.Kind)
		if err := applyFATChange(vol, c); err != nil {
			return fmt.Errorf("%s %s: %w", c.Kind, c.Path, err)
		}
	}
	if err := vol.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	// Read everything back through a fresh reader: what is on the disk is
	// what counts.
	r, err := openFAT(f, v, false)
	if err != nil {
		return err
	}
	for _, c := range changes {
		switch c.Kind {
		case "write":
			got, err := r.ReadFile(c.Path)
			if err != nil || !bytes.Equal(got, c.Data) {
				return fmt.Errorf("%s reads back differently from what was written (%v)", c.Path, err)
			}
			rec.Manifest[c.Path] = sha(c.Data)
		case "mkdir":
			rec.Manifest[c.Path] = "dir"
		default:
			delete(rec.Manifest, c.Path)
		}
	}
	if err := st.save(); err != nil {
		return err
	}
	return FsckFAT(rec.Disk, rec.Offset, rec.Size)
}

func applyFATChange(vol *fat.FS, c ESPChange) error {
	now := time.Now()
	switch c.Kind {
	case "mkdir":
		return vol.Mkdir(c.Path, now)
	case "remove", "rmdir":
		return vol.Remove(c.Path)
	}
	return vol.WriteFile(c.Path, c.Data, now)
}

// ErrFsckFAT is returned when fsck.fat finds the FAT filesystem damaged.
var ErrFsckFAT = errors.New("fsck.fat -n reports problems")

// FsckFAT checks the FAT filesystem in a byte range of a disk with
// fsck.fat -n (which changes nothing), when the helper has it.
func FsckFAT(diskPath string, off, size int64) error {
	tool, err := exec.LookPath("fsck.fat")
	if err != nil {
		return nil
	}
	l, err := AttachLoop(diskPath, off, size, true)
	if err != nil {
		return err
	}
	defer l.Detach()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool, "-n", l.Path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", ErrFsckFAT, strings.TrimSpace(lastLines(string(out), 10)))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
