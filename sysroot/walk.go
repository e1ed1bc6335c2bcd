package sysroot

import (
	"errors"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

func sortEntries(e []fs.DirEntry) {
	slices.SortFunc(e, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
}

// WalkReaders is how many directories WalkParallel lists at once by
// default: more than the cores, since on a cold disk each listing and
// each entry's status waits for a read.
var WalkReaders = max(16, runtime.GOMAXPROCS(0))

// SkipDir, returned by a WalkFunc for a directory, skips that directory.
var SkipDir = fs.SkipDir

// WalkFunc is called for every entry under the walked directory. The path is
// target-absolute; info comes from Lstat, so symlinks are reported, not
// followed, and the walk never leaves the tree it started in.
type WalkFunc func(name string, info fs.FileInfo, err error) error

// Walk walks the tree at name in lexical order without following symlinks.
// The start itself is resolved (a /bin -> usr/bin link is walked as usr/bin).
//
// Below the start, the walk goes from directory handle to directory handle:
// every entry is examined with fstatat relative to its directory's open
// handle, and a subdirectory is opened by its single name component with
// O_NOFOLLOW. No path is resolved from the root again, which keeps a walk of
// a whole distribution (100,000 files) to a fraction of a second per
// 10,000 entries, and a name read from a directory can never lead outside
// the tree.
func (r *Root) Walk(name string, fn WalkFunc) error {
	start, err := r.Resolve(name)
	if err != nil {
		return fn(Clean(name), nil, err)
	}
	fi, err := r.Lstat(start)
	if err != nil {
		return fn(start, nil, err)
	}
	fd, openErr := -1, error(nil)
	if fi.IsDir() {
		fd, openErr = r.openWalkDir(start)
		if fd >= 0 {
			defer unix.Close(fd)
		}
	}
	err = r.walk(fd, openErr, start, fi, fn)
	if errors.Is(err, fs.SkipDir) || errors.Is(err, fs.SkipAll) {
		return nil
	}
	return err
}

// openWalkDir opens the start of a walk readable, resolved in the root.
func (r *Root) openWalkDir(start string) (int, error) {
	h, err := r.OpenHandle(start)
	if err != nil {
		return -1, err
	}
	defer h.Close()
	fd, err := openatNoAtime(int(h.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return -1, err
	}
	return fd, nil
}

// openSubdir opens entry e of the directory dfd readable, by its single
// name and never following a link, so that a walk cannot leave its tree.
func openSubdir(dfd int, e string) (int, error) {
	fd, err := openatNoAtime(dfd, e, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC)
	if err != nil {
		return -1, err
	}
	return fd, nil
}

// walk visits name; fd is its readable descriptor when it is a directory
// (-1, with openErr saying why, when it could not be opened).
func (r *Root) walk(fd int, openErr error, name string, fi fs.FileInfo, fn WalkFunc) error {
	if err := fn(name, fi, nil); err != nil || !fi.IsDir() {
		return err
	}
	names, err := listDir(fd, openErr)
	if err != nil {
		if err := fn(name, fi, wrap("readdir", name, err)); err != nil && !errors.Is(err, fs.SkipDir) {
			return err
		}
		return nil
	}
	for _, e := range names {
		child := path.Join(name, e)
		var st unix.Stat_t
		if err := unix.Fstatat(fd, e, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if err := fn(child, nil, wrap("lstat", child, err)); err != nil && !errors.Is(err, fs.SkipDir) {
				return err
			}
			continue
		}
		cfi := newInfo(e, &st)
		ch, chErr := -1, error(nil)
		if cfi.IsDir() {
			ch, chErr = openSubdir(fd, e)
		}
		err := r.walk(ch, chErr, child, cfi, fn)
		if ch >= 0 {
			unix.Close(ch)
		}
		if err != nil {
			if errors.Is(err, fs.SkipDir) {
				if cfi.IsDir() {
					continue
				}
				return nil // SkipDir on a file skips the rest of its directory
			}
			return err
		}
	}
	return nil
}

// WalkParallel walks the tree at name like Walk, but lists and examines
// directories on workers goroutines at once (WalkReaders when workers <=
// 0): a walk of /usr is bound by one fstatat per entry, which spreads over
// cores when the disk is cached, and waits for the disk when it is not,
// where many directories in flight at once are what makes it fast. fn is called concurrently and in no particular order, so it must be
// safe for concurrent use and callers that report must sort. SkipDir from fn
// for a directory skips it (for a file, the rest of its directory); any
// other error stops the walk and is returned.
func (r *Root) WalkParallel(name string, workers int, fn WalkFunc) error {
	start, err := r.Resolve(name)
	if err != nil {
		return fn(Clean(name), nil, err)
	}
	fi, err := r.Lstat(start)
	if err != nil {
		return fn(start, nil, err)
	}
	if err := fn(start, fi, nil); err != nil || !fi.IsDir() {
		if errors.Is(err, fs.SkipDir) || errors.Is(err, fs.SkipAll) {
			return nil
		}
		return err
	}
	if workers <= 0 {
		workers = WalkReaders
	}
	first := dirJob{name: start, fi: fi}
	first.fd, first.openErr = r.openWalkDir(start)
	var (
		mu      sync.Mutex
		more    = sync.NewCond(&mu)
		queue   = []dirJob{first}
		pending = 1 // directories queued or being listed
		failed  error
		wg      sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				for len(queue) == 0 && pending > 0 && failed == nil {
					more.Wait()
				}
				if failed != nil || pending == 0 {
					mu.Unlock()
					return
				}
				j := queue[len(queue)-1]
				queue = queue[:len(queue)-1]
				mu.Unlock()

				subdirs, err := r.listJob(j, fn)
				mu.Lock()
				if err != nil && failed == nil {
					failed = err
				}
				queue = append(queue, subdirs...)
				pending += len(subdirs) - 1
				more.Broadcast()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, j := range queue { // left by a failed walk
		if j.fd >= 0 {
			unix.Close(j.fd)
		}
	}
	if errors.Is(failed, fs.SkipAll) {
		return nil
	}
	return failed
}

// dirJob is a directory WalkParallel has yet to list.
//
// The walk holds directories as bare descriptors, opened readable once by
// their single name: a walk of /usr lists thousands of directories, and
// an *os.File each (two, when an O_PATH handle is reopened to read it)
// cost a third of the walk's system calls on a cached disk.
type dirJob struct {
	fd      int // readable directory descriptor; -1 when it could not be opened
	openErr error
	name    string
	fi      fs.FileInfo
}

// listJob lists one directory for WalkParallel: fn is called for each
// entry, and the subdirectories to descend into are returned, opened.
func (r *Root) listJob(j dirJob, fn WalkFunc) ([]dirJob, error) {
	if j.fd >= 0 {
		defer unix.Close(j.fd)
	}
	names, err := listDir(j.fd, j.openErr)
	if err != nil {
		if err := fn(j.name, j.fi, wrap("readdir", j.name, err)); err != nil && !errors.Is(err, fs.SkipDir) {
			return nil, err
		}
		return nil, nil
	}
	var subdirs []dirJob
	for _, e := range names {
		child := path.Join(j.name, e)
		var st unix.Stat_t
		if err := unix.Fstatat(j.fd, e, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if err := fn(child, nil, wrap("lstat", child, err)); err != nil && !errors.Is(err, fs.SkipDir) {
				return subdirs, err
			}
			continue
		}
		cfi := newInfo(e, &st)
		if err := fn(child, cfi, nil); err != nil {
			if !errors.Is(err, fs.SkipDir) {
				return subdirs, err
			}
			if cfi.IsDir() {
				continue
			}
			return subdirs, nil // SkipDir on a file skips the rest of its directory
		}
		if !cfi.IsDir() {
			continue
		}
		sub := dirJob{name: child, fi: cfi}
		sub.fd, sub.openErr = openSubdir(j.fd, e)
		subdirs = append(subdirs, sub)
	}
	return subdirs, nil
}

// direntBufs are getdents buffers, reused: a walk lists thousands of
// directories.
var direntBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// listDir lists the directory open at fd, sorted, without "." and "..";
// openErr says why there is no fd (-1).
func listDir(fd int, openErr error) ([]string, error) {
	if fd < 0 {
		if openErr == nil {
			openErr = errors.New("no directory handle")
		}
		return nil, openErr
	}
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	buf := *bp
	var names []string
	for {
		n, err := unix.ReadDirent(fd, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	slices.Sort(names)
	return names, nil
}

// FS returns the root as an fs.FS for code that wants one (fs.WalkDir,
// fs.Glob). Names are unrooted, as fs.FS requires.
func (r *Root) FS() fs.FS { return rootFS{r} }

type rootFS struct{ r *Root }

func (f rootFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	return f.r.Open(name)
}

func (f rootFS) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: fs.ErrInvalid}
	}
	return f.r.ReadFile(name)
}

func (f rootFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	return f.r.ReadDir(name)
}

// Glob returns the target-absolute names matching pattern (path.Match
// syntax, a target-absolute pattern), sorted. Symlinks in the directory part
// are followed inside the root.
func (r *Root) Glob(pattern string) ([]string, error) {
	m, err := fs.Glob(r.FS(), strings.TrimPrefix(Clean(pattern), "/"))
	if err != nil {
		return nil, err
	}
	for i := range m {
		m[i] = "/" + m[i]
	}
	return m, nil
}
