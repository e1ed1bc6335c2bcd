package sysroot

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// A freshly attached cloud disk answers each read after a millisecond or
// so, and serves thousands of reads per second only to a reader that keeps
// many in flight. Code that reads one file after another (a check parsing
// its configuration, a package database read file by file) waits that
// millisecond per file. Prefetch lets whoever knows which files will be
// wanted have them read, many at once, into the kernel's caches: the reads
// that follow, one at a time, find them there. Nothing is kept in memory
// here, and nothing that is read differs from what Open would read: the
// same confinement, the same refusal of devices and FIFOs, O_NOATIME.

// PrefetchReaders is how many reads a prefetch keeps in flight: enough to
// reach a cloud disk's IOPS at its latency (3,000 IOPS at 1 ms wants more
// than 3; queues of 32 to 64 are what such disks serve best).
const PrefetchReaders = 32

// prefetchReadMax is the size up to which a file is read by the prefetch
// itself; a larger one is handed to the kernel's read-ahead in one call,
// so that an initramfs of tens of MiB is read with many requests in flight rather
// than one read-ahead window at a time.
const prefetchReadMax = 256 << 10

// Prefetch is a prefetch under way.
type Prefetch struct {
	cancel context.CancelFunc
	done   chan struct{}

	files, dirs atomic.Int64
	bytes       atomic.Int64
	seen        sync.Map // [dev, ino] of what was fetched

	// probed counts the files whose page-cache state was looked at,
	// touched those with pages in the cache, cached those wholly in it
	// (and so not read again).
	probed, touched, cached atomic.Int64
	skippedTrees            atomic.Int64
}

// warmSample is how many files the prefetch must have looked at, nine in
// ten of them with pages in the page cache, before it calls the disk warm
// and leaves trees alone: on a warm disk a tree's walk only repeats, on
// the same cores, the walk of the check that wants it (it doubled the
// system calls of a scan of a host's root). Nine in ten, not all: a scan
// ends its prefetch when its checks are done, so a second scan meets a
// few files the first never fetched. An operator who looked at a file or
// two on a freshly attached disk does not make it warm: a scan's prefetch
// looks at hundreds of files before its first tree.
const warmSample = 16

// warm reports whether the files met so far say the disk is warm.
func (p *Prefetch) warm() bool {
	n := p.probed.Load()
	return n >= warmSample && 10*p.touched.Load() >= 9*n
}

// PrefetchStats counts what a prefetch read.
type PrefetchStats struct {
	Files, Dirs int64 // files read, directories listed
	Bytes       int64 // bytes read or handed to read-ahead
	// Cached counts the files found wholly in the page cache;
	// SkippedTrees the trees left alone because the disk was warm.
	Cached, SkippedTrees int64
}

// Prefetch starts reading what patterns name into the kernel's caches, with
// readers reads in flight (PrefetchReaders when readers <= 0), and returns
// at once. A pattern is a target-absolute path, in one of three forms:
//
//	/etc/fstab              a file is read; a directory is listed and
//	                        each entry's status fetched
//	/etc/pam.d/*            path.Match patterns in any element
//	/lib/modules/*/kernel/...  the whole tree below: every directory
//	                        listed, every entry's status fetched, no
//	                        file read
//
// Patterns are taken in order, trees after everything else. What does not
// exist is skipped; errors are ignored, since the reader that follows will
// meet them and report them.
// Wait waits for the end; Stop cancels what is left.
func (r *Root) Prefetch(ctx context.Context, patterns []string, readers int) *Prefetch {
	if readers <= 0 {
		readers = PrefetchReaders
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &Prefetch{cancel: cancel, done: make(chan struct{})}
	q := &prefetchQueue{}
	q.more = sync.NewCond(&q.mu)
	for _, pat := range patterns {
		// Trees come after the files, so that whether the disk is warm
		// is known before the first tree (see warmSample).
		if strings.HasSuffix(pat, "/...") {
			q.later = append(q.later, prefetchItem{path: pat})
		} else {
			q.items = append(q.items, prefetchItem{path: pat})
		}
	}
	q.pending = len(q.items)
	q.next()
	var wg sync.WaitGroup
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, prefetchReadMax)
			for {
				it, ok := q.pop(ctx)
				if !ok {
					return
				}
				more := r.prefetchOne(ctx, p, it, buf)
				q.done(more)
			}
		}()
	}
	go func() {
		<-ctx.Done()
		q.mu.Lock()
		q.more.Broadcast() // wake the idle readers to see the cancellation
		q.mu.Unlock()
	}()
	go func() {
		wg.Wait()
		close(p.done)
		cancel()
	}()
	return p
}

// Wait waits until everything was fetched (or the prefetch was stopped).
func (p *Prefetch) Wait() PrefetchStats {
	<-p.done
	return p.Stats()
}

// Stop cancels the reads not yet started and waits for those under way.
func (p *Prefetch) Stop() PrefetchStats {
	p.cancel()
	return p.Wait()
}

// Stats counts what was fetched so far.
func (p *Prefetch) Stats() PrefetchStats {
	return PrefetchStats{Files: p.files.Load(), Dirs: p.dirs.Load(), Bytes: p.bytes.Load(),
		Cached: p.cached.Load(), SkippedTrees: p.skippedTrees.Load()}
}

// first reports whether fi (an inode) is met for the first time: /lib and
// /usr/lib are one directory on a merged-/usr system, and patterns naming
// both fetch it once.
func (p *Prefetch) first(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*unix.Stat_t)
	if !ok {
		return true
	}
	_, seen := p.seen.LoadOrStore([2]uint64{st.Dev, st.Ino}, true)
	return !seen
}

// prefetchItem is a pattern to expand, or (literal) a name found by one.
type prefetchItem struct {
	path    string
	literal bool
}

// prefetchQueue is the work list: patterns, and the names globs expand to.
type prefetchQueue struct {
	mu      sync.Mutex
	more    *sync.Cond
	items   []prefetchItem
	pending int            // queued or being fetched
	later   []prefetchItem // the trees, queued once the rest is done
}

// next queues the trees when nothing else is left.
func (q *prefetchQueue) next() {
	if q.pending == 0 && len(q.later) > 0 {
		q.items, q.pending, q.later = q.later, len(q.later), nil
	}
}

func (q *prefetchQueue) pop(ctx context.Context) (prefetchItem, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && q.pending > 0 && ctx.Err() == nil {
		q.more.Wait()
	}
	if len(q.items) == 0 || ctx.Err() != nil {
		return prefetchItem{}, false
	}
	it := q.items[0]
	q.items = q.items[1:]
	return it, true
}

func (q *prefetchQueue) done(more []prefetchItem) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(q.items, more...)
	q.pending += len(more) - 1
	q.next()
	q.more.Broadcast()
}

// prefetchOne fetches one item and returns the names a glob expanded to.
func (r *Root) prefetchOne(ctx context.Context, p *Prefetch, it prefetchItem, buf []byte) []prefetchItem {
	name := it.path
	if !it.literal {
		if tree, ok := strings.CutSuffix(name, "/..."); ok {
			if hasMeta(tree) {
				return expand(r, tree, "/...")
			}
			if fi, err := r.Stat(tree); err == nil && fi.IsDir() && p.first(fi) {
				if p.warm() {
					p.skippedTrees.Add(1)
					return nil
				}
				r.prefetchTree(ctx, p, tree)
			}
			return nil
		}
		if hasMeta(name) {
			return expand(r, name, "")
		}
	}
	fi, err := r.Stat(name)
	if err != nil || !p.first(fi) {
		return nil
	}
	switch {
	case fi.IsDir():
		r.prefetchDir(p, name)
	case fi.Mode().IsRegular():
		r.prefetchFile(p, name, buf)
	}
	return nil
}

// expand turns a glob into the items it matches; suffix "/..." keeps them
// trees.
func expand(r *Root, pattern, suffix string) []prefetchItem {
	m, err := r.Glob(pattern)
	if err != nil {
		return nil
	}
	out := make([]prefetchItem, 0, len(m))
	for _, n := range m {
		if suffix != "" {
			// A tree's name is expanded only once: the walk takes
			// it literally.
			out = append(out, prefetchItem{path: n + suffix})
			continue
		}
		out = append(out, prefetchItem{path: n, literal: true})
	}
	return out
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// prefetchFile reads a small file whole, and hands a larger one to the
// kernel's read-ahead in one call.
func (r *Root) prefetchFile(p *Prefetch, name string, buf []byte) {
	f, err := r.Open(name)
	if err != nil {
		return
	}
	defer f.Close()
	fd := int(f.Fd())
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return
	}
	p.files.Add(1)
	r.files.Add(1)
	if cached, pages, ok := Cached(fd, st.Size); ok {
		p.probed.Add(1)
		if cached > 0 {
			// Read before: a program of which only the headers were
			// read is cached in part, and as warm as the rest.
			p.touched.Add(1)
		}
		if cached == pages {
			p.cached.Add(1)
			return // nothing to fetch
		}
	}
	if st.Size > int64(len(buf)) {
		// Read-ahead is asynchronous: the kernel queues the whole
		// file's reads and the call returns.
		if unix.Fadvise(fd, 0, st.Size, unix.FADV_WILLNEED) == nil {
			p.bytes.Add(st.Size)
			r.bytes.Add(st.Size)
		}
		return
	}
	for off := int64(0); off < st.Size; {
		n, err := unix.Pread(fd, buf, off)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n <= 0 {
			break
		}
		off += int64(n)
		p.bytes.Add(int64(n))
		r.bytes.Add(int64(n))
	}
}

// prefetchDir lists a directory and fetches the status of each entry.
func (r *Root) prefetchDir(p *Prefetch, name string) {
	d, err := r.OpenDir(name)
	if err != nil {
		return
	}
	defer d.Close()
	entries, err := d.Entries()
	if err != nil {
		return
	}
	p.dirs.Add(1)
	var st unix.Stat_t
	for _, e := range entries {
		d.Lstat(e.Name, &st)
	}
}

// prefetchTree walks a tree, listing every directory and fetching every
// entry's status, with the walk's own readers.
func (r *Root) prefetchTree(ctx context.Context, p *Prefetch, name string) {
	r.WalkParallel(name, PrefetchReaders/4, func(_ string, fi fs.FileInfo, err error) error {
		if ctx.Err() != nil {
			return fs.SkipAll
		}
		if err == nil && fi.IsDir() {
			p.dirs.Add(1)
		}
		return nil
	})
}
