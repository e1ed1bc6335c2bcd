package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"rescue/images"
)

// mountRoot attaches the root filesystem of an image through a loop device
// at its offset (this kernel reads no partition tables) and mounts it at a
// new directory under work. The returned function unmounts and detaches
// exactly what was attached.
func mountRoot(ctx context.Context, img *images.DebianImage, path, work string) (string, func() error, error) {
	out, err := exec.CommandContext(ctx, "losetup", "-f", "--show",
		"--offset", strconv.FormatInt(img.RootOffset, 10),
		"--sizelimit", strconv.FormatInt(img.RootSize, 10), path).Output()
	if err != nil {
		return "", nil, fmt.Errorf("losetup %s: %w", path, exitText(err))
	}
	loop := strings.TrimSpace(string(out))
	dir, err := os.MkdirTemp(work, "mnt-")
	if err != nil {
		_ = exec.Command("losetup", "-d", loop).Run()
		return "", nil, err
	}
	if out, err := exec.CommandContext(ctx, "mount", "-t", img.FSType, loop, dir).CombinedOutput(); err != nil {
		_ = exec.Command("losetup", "-d", loop).Run()
		os.Remove(dir)
		return "", nil, fmt.Errorf("mount %s: %w: %s", loop, err, out)
	}
	done := false
	return dir, func() error {
		if done {
			return nil
		}
		done = true
		var errs []string
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Sprintf("umount %s: %v: %s", dir, err, out))
		}
		if out, err := exec.Command("losetup", "-d", loop).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Sprintf("losetup -d %s: %v: %s", loop, err, out))
		}
		os.Remove(dir)
		if len(errs) > 0 {
			return fmt.Errorf("%s", strings.Join(errs, "; "))
		}
		return nil
	}, nil
}

func exitText(err error) error {
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
	}
	return err
}

// copySparse copies an image keeping its holes (a reflink where the
// filesystem has them), so a scenario's copy costs what its data costs.
func copySparse(ctx context.Context, src, dst string) error {
	if out, err := exec.CommandContext(ctx, "cp", "--reflink=auto", "--sparse=always", src, dst).CombinedOutput(); err != nil {
		return fmt.Errorf("cp %s: %w: %s", src, err, out)
	}
	return nil
}

// entry is what the manifest records of one path.
type entry struct {
	Type  fs.FileMode
	Mode  fs.FileMode
	UID   uint32
	GID   uint32
	Size  int64
	Mtime time.Time
	Link  string
	Hash  string // sha256 of the content, for the paths asked for
}

// manifest is the state of every path under a root.
type manifest map[string]entry

// journalDir is where rescue keeps its journal and backups on the target:
// it is expected to appear with a repair and to stay after an undo.
const journalDir = "/var/lib/rescue"

// takeManifest records every path under root; the content of the paths in
// hash (target-absolute) is hashed too.
func takeManifest(root string, hash map[string]bool) (manifest, error) {
	m := manifest{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := "/" + filepath.ToSlash(strings.TrimPrefix(strings.TrimPrefix(p, root), "/"))
		if rel == journalDir && d.IsDir() {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		e := entry{Type: fi.Mode().Type(), Mode: fi.Mode().Perm() | fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky),
			UID: st.Uid, GID: st.Gid, Size: fi.Size(), Mtime: fi.ModTime()}
		if e.Type&fs.ModeSymlink != 0 {
			e.Link, _ = os.Readlink(p)
		}
		if hash[rel] && fi.Mode().IsRegular() {
			if e.Hash, err = fileHash(p); err != nil {
				return err
			}
		}
		m[rel] = e
		return nil
	})
	return m, err
}

func fileHash(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// diffManifests lists how after differs from before: every path's type,
// mode, owner and symlink target, regular files' size and mtime, and the
// content of the hashed paths. Directory sizes and times are left out: a
// directory's entries are compared path by path.
func diffManifests(before, after manifest) []string {
	var d []string
	for p, b := range before {
		a, ok := after[p]
		if !ok {
			d = append(d, "missing "+p)
			continue
		}
		var what []string
		if a.Type != b.Type {
			what = append(what, fmt.Sprintf("type %v->%v", b.Type, a.Type))
		}
		if a.Mode != b.Mode {
			what = append(what, fmt.Sprintf("mode %o->%o", b.Mode, a.Mode))
		}
		if a.UID != b.UID || a.GID != b.GID {
			what = append(what, fmt.Sprintf("owner %d:%d->%d:%d", b.UID, b.GID, a.UID, a.GID))
		}
		if a.Link != b.Link {
			what = append(what, fmt.Sprintf("link %q->%q", b.Link, a.Link))
		}
		if b.Type.IsRegular() && a.Type.IsRegular() {
			if a.Size != b.Size {
				what = append(what, fmt.Sprintf("size %d->%d", b.Size, a.Size))
			}
			if !a.Mtime.Equal(b.Mtime) {
				what = append(what, "mtime")
			}
			if b.Hash != "" && a.Hash != b.Hash {
				what = append(what, "content")
			}
		}
		if len(what) > 0 {
			d = append(d, p+": "+strings.Join(what, ", "))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			d = append(d, "added "+p)
		}
	}
	sort.Strings(d)
	return d
}
