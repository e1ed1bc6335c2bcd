package repair

import (
	"io/fs"
	"path"
	"syscall"

	"golang.org/x/sys/unix"
)

// keepLink makes, for a file with other hard-linked names, a link to its
// inode in the journal's backup directory, so that undo can put the inode
// itself back: replacing the file gives its path a new inode, and a copy
// of the backup would leave the other names apart. It is best effort: a
// journal on another filesystem (--journal-dir) cannot link, and undo then
// restores a copy.
func keepLink(w *Writer, st *store, j *Journal, rec *PathRecord, name string) {
	src, base, err := w.dir(rec.Path)
	if err != nil {
		return
	}
	defer src.Close()
	dst, dbase, err := st.w.dir(path.Join("/", j.ID, "backup", name))
	if err != nil {
		return
	}
	defer dst.Close()
	if err := unix.Linkat(src.Fd(), base, dst.Fd(), dbase, 0); err == nil {
		rec.Link = name
	}
}

// relink renames the journal's link to the original inode back over the
// path, when it still holds the content the record says. It reports
// whether it did.
func relink(w *Writer, st *store, j *Journal, rec PathRecord, cur State) bool {
	p := path.Join("/", j.ID, "backup", rec.Link)
	kept, err := ReadState(st.w.root, p)
	if err != nil || kept.Type != File || kept.SHA256 != rec.Before.SHA256 {
		return false
	}
	if cur.Type == Dir {
		if err := w.Remove(rec.Path); err != nil {
			return false
		}
	}
	src, sbase, err := st.w.dir(p)
	if err != nil {
		return false
	}
	defer src.Close()
	dst, dbase, err := w.dir(rec.Path)
	if err != nil {
		return false
	}
	defer dst.Close()
	if err := unix.Renameat(src.Fd(), sbase, dst.Fd(), dbase); err != nil {
		return false
	}
	syncDir(dst, rec.Path)
	// The inode is the original; its metadata may have been changed
	// through another name since: set it as recorded.
	return setMeta(w, rec) == nil
}

// nlink is the number of names of the file fi describes.
func nlink(fi fs.FileInfo) uint64 {
	switch s := fi.Sys().(type) {
	case *unix.Stat_t:
		return uint64(s.Nlink)
	case *syscall.Stat_t:
		return uint64(s.Nlink)
	}
	return 1
}

// inode is the inode number of the file fi describes.
func inode(fi fs.FileInfo) uint64 {
	switch s := fi.Sys().(type) {
	case *unix.Stat_t:
		return s.Ino
	case *syscall.Stat_t:
		return s.Ino
	}
	return 0
}

// sameInode reports whether p in w is still the inode rec recorded.
func sameInode(w *Writer, rec PathRecord) bool {
	fi, err := w.root.Lstat(rec.Path)
	return err == nil && rec.Inode != 0 && inode(fi) == rec.Inode
}
