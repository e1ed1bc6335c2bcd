// Package spill plans `rescue fix --spill DIR`: make room on a full target
// by moving what can be made again or done without into DIR on the
// helper, through the repair journal, so that `rescue undo` puts every
// file back as it was (content, mode, owner, xattrs, mtime).
//
// Only these are moved, and only regular files with one name (a file with
// other hard links frees nothing):
//
//   - rotated logs under /var/log: NAME.N, NAME.N.gz and other compressed
//     logs (.gz .xz .bz2 .zst), and dated ones (NAME-YYYYMMDD[.gz]);
//   - archived systemd journal files (/var/log/journal/*/NAME@*.journal
//     and journald's .journal~), never the active system.journal or
//     user-UID.journal;
//   - package caches: /var/cache/apt/archives/*.deb, and the files under
//     /var/cache/dnf and /var/cache/yum;
//   - core dumps: /var/lib/systemd/coredump/* and the files under
//     /var/crash.
package spill

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"rescue/bytesize"
	"rescue/facts"
	"rescue/repair"
	"rescue/sysroot"
)

// Finding is the id plan items of the action carry.
const Finding = "action/spill"

// Bounds: a spill is one plan, one journal; these keep both of a size
// the journal and the diff can carry.
const (
	maxFiles   = 50000
	maxEntries = 500000
)

// Kinds of file moved, in the order they are reported.
const (
	RotatedLogs  = "rotated logs"
	JournalFiles = "archived journal files"
	PackageCache = "package caches"
	CoreDumps    = "core dumps"
)

// File is one file to move.
type File struct {
	Path string
	Kind string
	Size int64
}

// Result is the planned change and its account.
type Result struct {
	Fix     repair.Fix
	Files   []File
	Changes []string
	Notes   []string
}

var (
	// rotated: syslog.1, syslog.2.gz, messages-20240101, dpkg.log.3.xz,
	// Xorg.0.log.old, and any compressed log.
	rotatedRE  = regexp.MustCompile(`(\.[0-9]+(\.(gz|xz|bz2|zst|lz4|Z))?|\.(gz|xz|bz2|zst|lz4|Z)|-[0-9]{8}(\.(gz|xz|bz2|zst))?|\.old)$`)
	archivedRE = regexp.MustCompile(`^[^/]+@[^/]*\.journal~?$|^[^/]+\.journal~$`)
)

// Plan finds the files to move on the target at root and plans their
// spill. fss are the target's filesystems (to say how much each one
// gets back); nil when rescue was given a directory.
func Plan(root *sysroot.Root, fss []facts.Filesystem) (*Result, error) {
	r := &Result{}
	seen := 0
	add := func(p string, fi fs.FileInfo, kind string) {
		if len(r.Files) >= maxFiles || !fi.Mode().IsRegular() || fi.Size() == 0 {
			return
		}
		if links(fi) > 1 {
			return // another name keeps the blocks
		}
		r.Files = append(r.Files, File{Path: p, Kind: kind, Size: fi.Size()})
	}
	walk := func(dir string, fn func(p string, fi fs.FileInfo) error) {
		if !root.Exists(dir) {
			return
		}
		_ = root.Walk(dir, func(p string, fi fs.FileInfo, err error) error {
			seen++
			if seen > maxEntries {
				return fs.SkipAll
			}
			if err != nil || fi == nil {
				return nil
			}
			return fn(p, fi)
		})
	}
	walk("/var/log", func(p string, fi fs.FileInfo) error {
		if fi.IsDir() {
			if p == "/var/log/journal" {
				return sysroot.SkipDir
			}
			return nil
		}
		if rotatedRE.MatchString(path.Base(p)) {
			add(p, fi, RotatedLogs)
		}
		return nil
	})
	walk("/var/log/journal", func(p string, fi fs.FileInfo) error {
		// Only /var/log/journal/MACHINE-ID/FILE.
		if fi.IsDir() {
			if strings.Count(strings.TrimPrefix(p, "/var/log/journal"), "/") > 1 {
				return sysroot.SkipDir
			}
			return nil
		}
		if strings.Count(strings.TrimPrefix(p, "/var/log/journal/"), "/") == 1 && archivedRE.MatchString(path.Base(p)) {
			add(p, fi, JournalFiles)
		}
		return nil
	})
	walk("/var/cache/apt/archives", func(p string, fi fs.FileInfo) error {
		if fi.IsDir() && p != "/var/cache/apt/archives" {
			return sysroot.SkipDir // partial/: a download apt may be resuming
		}
		if strings.HasSuffix(p, ".deb") {
			add(p, fi, PackageCache)
		}
		return nil
	})
	for _, d := range []string{"/var/cache/dnf", "/var/cache/yum"} {
		walk(d, func(p string, fi fs.FileInfo) error {
			add(p, fi, PackageCache)
			return nil
		})
	}
	walk("/var/lib/systemd/coredump", func(p string, fi fs.FileInfo) error {
		if fi.IsDir() && p != "/var/lib/systemd/coredump" {
			return sysroot.SkipDir
		}
		add(p, fi, CoreDumps)
		return nil
	})
	walk("/var/crash", func(p string, fi fs.FileInfo) error {
		add(p, fi, CoreDumps)
		return nil
	})
	if len(r.Files) >= maxFiles {
		r.Notes = append(r.Notes, fmt.Sprintf("only the first %d files are moved in one repair; run rescue fix --spill again for the rest", maxFiles))
	}
	// Files that are immutable or append-only are left where they are: the
	// spill is room to be had without questions.
	var keep []File
	locked := 0
	for _, f := range r.Files {
		if fl, err := root.Flags(f.Path); err == nil && fl&(flagImmutable|flagAppend) != 0 {
			locked++
			continue
		}
		keep = append(keep, f)
	}
	r.Files = keep
	if locked > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d files are immutable or append-only (chattr +i/+a) and stay", locked))
	}
	if len(r.Files) == 0 {
		r.Notes = append(r.Notes, "nothing to move: no rotated logs, archived journal files, package caches or core dumps")
		return r, nil
	}
	var ops []repair.Op
	var planned []File
	var total int64
	byKind := map[string][2]int64{}
	gone := 0
	for _, f := range r.Files {
		op, err := repair.Spill(root, f.Path)
		if err != nil {
			gone++ // removed or replaced since the walk
			continue
		}
		ops = append(ops, op)
		planned = append(planned, f)
		total += f.Size
		k := byKind[f.Kind]
		byKind[f.Kind] = [2]int64{k[0] + 1, k[1] + f.Size}
	}
	r.Files = planned
	if gone > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d files changed while they were read and are left alone", gone))
	}
	if len(ops) == 0 {
		return r, nil
	}
	var parts []string
	for _, k := range []string{RotatedLogs, JournalFiles, PackageCache, CoreDumps} {
		if v, ok := byKind[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %d (%s)", k, v[0], Size(v[1])))
		}
	}
	msg := fmt.Sprintf("Move %d files (%s) to the spill directory on the helper: %s", len(r.Files), Size(total), strings.Join(parts, ", "))
	b := repair.NewFix(msg)
	for _, op := range ops {
		b.Add(op, nil)
	}
	fix, err := b.Build()
	if err != nil {
		return nil, err
	}
	r.Fix = fix
	r.Changes = append(r.Changes, strings.ToLower(msg[:1])+msg[1:])
	for _, m := range perFilesystem(r.Files, fss) {
		r.Changes = append(r.Changes, m)
	}
	r.Notes = append(r.Notes, "nothing else is moved; rescue undo puts every file back as it was")
	return r, nil
}

// perFilesystem says how much each filesystem gets back.
func perFilesystem(files []File, fss []facts.Filesystem) []string {
	var mounts []string
	byMount := map[string]*facts.Filesystem{}
	for i := range fss {
		if m := fss[i].MountPoint; m != "" {
			mounts = append(mounts, m)
			byMount[m] = &fss[i]
		}
	}
	if len(mounts) == 0 {
		return nil
	}
	// The longest mount point that holds a path is its filesystem.
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	freed := map[string]int64{}
	for _, f := range files {
		for _, m := range mounts {
			if m == "/" || f.Path == m || strings.HasPrefix(f.Path, m+"/") {
				freed[m] += f.Size
				break
			}
		}
	}
	var out []string
	for _, m := range mounts {
		if n := freed[m]; n > 0 {
			fs := byMount[m]
			out = append(out, fmt.Sprintf("%s (%s) gets %s back: %s available now, about %s after", m, fs.Device, Size(n), Size(int64(fs.AvailBytes)), Size(int64(fs.AvailBytes)+n)))
		}
	}
	return out
}

// links is a file's hard link count (sysroot's infos carry a
// *unix.Stat_t, the os package's a *syscall.Stat_t).
func links(fi fs.FileInfo) uint64 {
	switch st := fi.Sys().(type) {
	case *unix.Stat_t:
		return uint64(st.Nlink)
	case *syscall.Stat_t:
		return uint64(st.Nlink)
	}
	return 1
}

// Size renders bytes for people, as findings do.
func Size(n int64) string { return bytesize.Format(n, bytesize.Tenths) }

// The inode flags chattr +i and +a set (FS_IMMUTABLE_FL, FS_APPEND_FL).
const (
	flagImmutable = 0x10
	flagAppend    = 0x20
)
