package pkgdb

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"golang.org/x/sys/unix"

	"rescue/sysroot"
)

// What verify does, and why it matches rpm -V: every file record of every
// selected package is compared with the file on disk the way rpm 4.14-4.19
// does in rpmfilesVerify (lib/verify.c): the file state recorded at install
// time decides whether the file is checked at all, the type of what is on
// disk narrows the attributes (no digest for a symlink, no link target for
// a regular file), %ghost files are checked for metadata only, and a
// modification-time difference on a path that several packages share is
// not reported. dpkg records only MD5 digests (and conffile hashes), so for
// dpkg the other attributes are unknown ("?" as in dpkg --verify), except
// where statoverride fixes a mode and owner.
//
// Each path is looked at once: one lstat, and for a regular file one read
// that feeds every digest its records need. The disk and the cores are
// scheduled apart. On a freshly attached cloud disk every read waits about
// a millisecond, and the disk serves thousands per second only to a reader
// that keeps many in flight: Readers goroutines look at paths at once,
// directory by directory, in the order of the entries' inodes where the
// directory was listed (the order they lie on disk). Hashing is bounded by
// a semaphore of one per core, so the readers waiting for the disk never
// crowd the cores. A file whose size or type already decides its digest
// is not read.

// VerifyOptions select what Verify checks.
type VerifyOptions struct {
	// Packages are package IDs or names; empty means every package.
	Packages []string
	// Paths, when set, limits the check to the records of these paths
	// (target-absolute; found through symlinked directories too).
	Paths []string
	// Fast compares metadata only: no file is read, so content changes
	// of same-sized files go unseen.
	Fast bool
	// Workers is how many goroutines hash at once; 0 means one per CPU.
	Workers int
	// Readers is how many paths are looked at (and read) at once: the
	// reads kept in flight on the disk; 0 means DefaultReaders.
	Readers int
	// Progress, when set, is called from the readers as paths are done;
	// it must be safe for concurrent use.
	Progress func(Progress)
	// DiskWait, when set, is called from the readers before they read a
	// file that is not in the page cache (or whose caching cannot be
	// told), as often as that happens: the verify is waiting for the disk.
	// It must be safe for concurrent use.
	DiskWait func()
}

// Progress is how far a verify is.
type Progress struct {
	Paths, Total int   // paths done, of Total
	Bytes        int64 // bytes read
}

// DefaultReaders is how many paths verify looks at at once by default: a
// cloud disk's IOPS at its latency need dozens of reads in flight (3,000
// IOPS at 1 ms: at least 3, and its queue serves 32 to 64 best); each
// reader holds one read buffer.
const DefaultReaders = 32

// Result is what verify found for one file record.
type Result struct {
	File File `json:"file"`
	// PackageID is the ID of the package the record belongs to.
	PackageID string `json:"package_id"`
	// Failed are the attributes that differ; Unknown are those the
	// database does not record (dpkg).
	Failed  Attrs `json:"-"`
	Unknown Attrs `json:"-"`
	Missing bool  `json:"missing,omitempty"`
	// ReadFailed and LinkFailed mean the file or link could not be read:
	// its digest or target is unknown ("?").
	ReadFailed bool `json:"read_failed,omitempty"`
	LinkFailed bool `json:"link_failed,omitempty"`
	// ZeroSize is an empty regular file the package shipped with content:
	// the classic result of a crash during an update or a full disk.
	ZeroSize bool `json:"zero_size,omitempty"`
	// Err is the error that made the file unreadable or unlistable, other
	// than its absence.
	Err string `json:"error,omitempty"`

	index int32 // the record's place in its package, for ordering
}

// Config reports whether the file is a configuration file, whose changes
// are normal (but whose absence is not).
func (r Result) Config() bool { return r.File.Flags&Config != 0 }

// Code is the rpm -V attribute string ("S.5....T.") or "missing".
func (r Result) Code() string {
	if r.Missing {
		return "missing"
	}
	var b [9]byte
	for i, a := range attrOrder {
		switch {
		case a.attr == AttrDigest && r.ReadFailed, a.attr == AttrLink && r.LinkFailed:
			b[i] = '?'
		case r.Failed&a.attr != 0:
			b[i] = a.c
		case r.Unknown&a.attr != 0:
			b[i] = '?'
		default:
			b[i] = '.'
		}
	}
	return string(b[:])
}

var attrOrder = []struct {
	attr Attrs
	c    byte
}{
	{AttrSize, 'S'}, {AttrMode, 'M'}, {AttrDigest, '5'}, {AttrRdev, 'D'}, {AttrLink, 'L'},
	{AttrUser, 'U'}, {AttrGroup, 'G'}, {AttrMtime, 'T'}, {AttrCaps, 'P'},
}

// AttrNames lists the failed attributes by name, for JSON.
func (r Result) AttrNames() []string {
	names := map[Attrs]string{AttrSize: "size", AttrMode: "mode", AttrDigest: "digest", AttrRdev: "rdev",
		AttrLink: "link", AttrUser: "user", AttrGroup: "group", AttrMtime: "mtime", AttrCaps: "caps"}
	var out []string
	for _, a := range attrOrder {
		if r.Failed&a.attr != 0 {
			out = append(out, names[a.attr])
		}
	}
	return out
}

// attrChar is the one-letter file kind rpm prints: the first of
// d c s m n g l r a that applies, or a space.
func (r Result) attrChar() byte {
	f := r.File.Flags
	for _, c := range []struct {
		f Flags
		c byte
	}{{Doc, 'd'}, {Config, 'c'}, {Specfile, 's'}, {MissingOK, 'm'}, {NoReplace, 'n'}, {Ghost, 'g'}, {License, 'l'}, {Readme, 'r'}, {Artifact, 'a'}} {
		if f&c.f != 0 {
			return c.c
		}
	}
	return ' '
}

// Line is the result as rpm -V prints it: "S.5....T.  c /etc/fstab",
// "missing   c /etc/pam.d/login", with the file state appended where rpm
// appends it.
func (r Result) Line() string {
	var s string
	if r.Missing {
		s = fmt.Sprintf("missing   %c %s", r.attrChar(), r.File.Path)
		if r.Err != "" {
			s += " (" + r.Err + ")"
		}
	} else {
		s = fmt.Sprintf("%s  %c %s", r.Code(), r.attrChar(), r.File.Path)
	}
	switch r.File.State {
	case StateReplaced, StateNoState:
		s += " (" + r.File.State + ")"
	}
	return s
}

// Report is the outcome of Verify.
type Report struct {
	Kind string `json:"kind"`
	// Results are the records rpm -V would print (and zero-size files),
	// by package name, in each package's file order.
	Results []Result `json:"results"`
	// Packages, Files and Paths count what was checked (Paths counts
	// each path once, Files every record); Bytes counts what was read.
	Packages int   `json:"packages"`
	Files    int   `json:"files"`
	Paths    int   `json:"paths"`
	Bytes    int64 `json:"bytes"`
	// Unknown lists package names that were asked for but not installed.
	Unknown []string `json:"unknown_packages,omitempty"`
}

// task is one path and the records that name it: the run [start, end) of
// the sorted record list. Tasks are many (one per path of the system) and
// kept small.
type task struct {
	path       string
	start, end int32
}

// splitPath cuts a path after its last slash: "/usr/bin/", "ls".
func splitPath(p string) (dir, base string) {
	i := strings.LastIndexByte(p, '/')
	return p[:i+1], p[i+1:]
}

func (t task) dir() string  { d, _ := splitPath(t.path); return d }
func (t task) base() string { _, b := splitPath(t.path); return b }

// dirGroups cuts the sorted tasks into runs of one directory each.
func dirGroups(tasks []task) [][]task {
	var groups [][]task
	for i := 0; i < len(tasks); {
		j := i + 1
		for j < len(tasks) && tasks[j].dir() == tasks[i].dir() {
			j++
		}
		groups = append(groups, tasks[i:j])
		i = j
	}
	return groups
}

// asFileDB returns db's own records, or copies another DB implementation's
// into one (tests of other packages may give their own).
func asFileDB(db DB) *fileDB {
	if d, ok := db.(*fileDB); ok {
		return d
	}
	d := newFileDB(nil, db.Kind())
	for _, p := range db.Packages() {
		if p.ID == "" {
			p.ID = p.Name // a hand-made Package may leave the ID out
		}
		if _, dup := d.byID[p.ID]; dup {
			continue
		}
		d.add(p, fileList(db.Files(p.ID)))
	}
	return d
}

// Verify compares the files of the selected packages with the disk.
func Verify(ctx context.Context, root *sysroot.Root, db DB, opt VerifyOptions) (*Report, error) {
	d := asFileDB(db)
	rep := &Report{Kind: db.Kind()}
	selected := make([]bool, len(d.pkgs))
	if len(opt.Packages) == 0 {
		for i := range selected {
			selected[i] = true
		}
	} else {
		for _, name := range opt.Packages {
			idx := d.indexes(name)
			if len(idx) == 0 {
				for i, p := range d.pkgs {
					if p.Name+":"+p.Arch == name {
						idx = append(idx, i)
					}
				}
			}
			if len(idx) == 0 {
				rep.Unknown = append(rep.Unknown, name)
			}
			for _, i := range idx {
				selected[i] = true
			}
		}
	}
	var refs []ref
	if len(opt.Paths) > 0 {
		seen := map[ref]bool{}
		for _, p := range opt.Paths {
			for _, r := range d.ownerRefs(p) {
				if selected[r.pkg] && !seen[r] {
					seen[r] = true
					refs = append(refs, r)
				}
			}
		}
	} else {
		n := 0
		for i, s := range d.srcs {
			if selected[i] {
				n += s.n()
			}
		}
		refs = make([]ref, 0, n)
		for i, s := range d.srcs {
			if selected[i] {
				for j := range s.n() {
					refs = append(refs, ref{int32(i), int32(j)})
				}
			}
		}
	}
	for _, sel := range selected {
		if sel {
			rep.Packages++
		}
	}
	rep.Files = len(refs)

	// Sorting the records by directory, then name, puts the records of
	// one path side by side and keeps a directory's entries together: a
	// worker opens each directory once, and lists it when it expects many
	// entries in it.
	// Each record's path is decoded once (an rpm path is put together
	// from the header's directory and base name), not at every
	// comparison of the sort.
	type keyed struct {
		dir, base string
		ref
	}
	keys := make([]keyed, len(refs))
	for i, r := range refs {
		p := d.srcs[r.pkg].path(int(r.file))
		dir, base := splitPath(p)
		keys[i] = keyed{dir, base, r}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := &keys[i], &keys[j]
		if a.dir != b.dir {
			return a.dir < b.dir
		}
		if a.base != b.base {
			return a.base < b.base
		}
		if a.pkg != b.pkg {
			return a.pkg < b.pkg
		}
		return a.file < b.file
	})
	tasks := make([]task, 0, len(refs))
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j].dir == keys[i].dir && keys[j].base == keys[i].base {
			j++
		}
		tasks = append(tasks, task{path: keys[i].dir + keys[i].base, start: int32(i), end: int32(j)})
		i = j
	}
	for i := range keys {
		refs[i] = keys[i].ref
	}
	keys = nil
	rep.Paths = len(tasks)
	groups := dirGroups(tasks)

	v := &verifier{ctx: ctx, root: root, db: d, ids: LoadIDs(root), kind: db.Kind(), fast: opt.Fast, diskWait: opt.DiskWait}
	hashers := opt.Workers
	if hashers <= 0 {
		hashers = runtime.GOMAXPROCS(0)
	}
	v.hashing = make(chan struct{}, hashers)
	readers := opt.Readers
	if readers <= 0 {
		readers = DefaultReaders
	}
	// No more readers than paths: a scan's checks verify a few paths at a
	// time, hundreds of times, and each reader costs a goroutine and a
	// mapped read buffer.
	readers = max(1, min(readers, len(tasks)))
	var (
		done, bytes atomic.Int64
		wg          sync.WaitGroup
		mu          sync.Mutex
		found       []Result
	)
	batches := make(chan batch, 2*readers)
	// Directories are opened and listed ahead of the readers, a few at
	// once (a listing waits for the disk too), and handed over in
	// batches, so that one large directory is read by many readers.
	go func() {
		defer close(batches)
		var next atomic.Int64
		var dwg sync.WaitGroup
		for range min(len(groups), max(2, readers/4)) {
			dwg.Add(1)
			go func() {
				defer dwg.Done()
				for ctx.Err() == nil {
					g := int(next.Add(1)) - 1
					if g >= len(groups) {
						return
					}
					v.openGroup(ctx, groups[g], batches)
				}
			}()
		}
		dwg.Wait()
	}()
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wk := newWorker(v)
			defer wk.reader.close()
			var local []Result
			for b := range batches {
				if ctx.Err() != nil {
					b.dir.release()
					continue // drain, so the directory stage can end
				}
				for _, t := range b.tasks {
					files := wk.records(d, refs[t.start:t.end])
					if files == nil {
						continue // nothing on disk to look at
					}
					pr := wk.probe(b.dir, t, files)
					bytes.Add(pr.read)
					for i := range files {
						r := wk.refs[i]
						if res := v.evaluate(&files[i], d.pkgs[r.pkg].ID, pr); res != nil {
							res.index = r.file
							local = append(local, *res)
						}
					}
				}
				b.dir.release()
				n := done.Add(int64(len(b.tasks)))
				if opt.Progress != nil {
					opt.Progress(Progress{Paths: int(n), Total: len(tasks), Bytes: bytes.Load()})
				}
			}
			mu.Lock()
			found = append(found, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep.Bytes = bytes.Load()
	// Report by package name, then in each package's file order.
	order := map[string]int{}
	for i, id := range sortedIDs(d.pkgs) {
		order[id] = i
	}
	sort.Slice(found, func(i, j int) bool {
		a, b := found[i], found[j]
		if order[a.PackageID] != order[b.PackageID] {
			return order[a.PackageID] < order[b.PackageID]
		}
		return a.index < b.index
	})
	rep.Results = found
	return rep, nil
}

// records decodes the records of one path into the worker's scratch
// slice, leaving out those not installed by design; nil when none is left.
func (w *worker) records(d *fileDB, refs []ref) []File {
	w.files, w.refs = w.files[:0], w.refs[:0]
	for _, r := range refs {
		// Decode into the scratch slice itself: a local File would
		// escape through the interface call, one allocation per record.
		w.files = append(w.files, File{})
		f := &w.files[len(w.files)-1]
		d.srcs[r.pkg].file(int(r.file), f)
		if !active(*f) {
			w.files = w.files[:len(w.files)-1]
			continue
		}
		w.refs = append(w.refs, r)
	}
	if len(w.files) == 0 {
		return nil
	}
	return w.files
}

type verifier struct {
	ctx  context.Context
	root *sysroot.Root
	db   *fileDB
	ids  *IDs
	kind string
	fast bool
	// hashing holds a token per goroutine hashing: one per core.
	hashing chan struct{}
	// diskWait is VerifyOptions.DiskWait.
	diskWait func()
}

// probe is what is on disk at one path.
type probe struct {
	err     error // lstat error
	st      unix.Stat_t
	link    string
	linkErr error
	// digests are the hex digests computed, by algorithm.
	algos   [2]string
	digests [2][128]byte
	dlen    [2]int
	readErr error
	// sizeDiffers: the file was not read, its size said the digest
	// differs.
	sizeDiffers bool
	size        int64 // bytes read, when the file was read
	read        int64
	acl         bool
	caps        []byte
	capsErr     error
	// dirStat is the stat of what a symlink points to, when a record
	// expects a directory there.
	dirStat *unix.Stat_t
}

// openDir is a directory whose entries are being verified: opened once,
// shared by the readers of its batches, closed by the last.
type openDir struct {
	dir *sysroot.Dir
	// err is why the directory could not be opened: every entry in it
	// is missing for the same reason.
	err error
	// present lists the directory's entries when it was listed (nil
	// otherwise), so that an absent entry costs no system call.
	present map[string]bool
	refs    atomic.Int32
}

func (o *openDir) release() {
	if o.refs.Add(-1) == 0 && o.dir != nil {
		o.dir.Close()
	}
}

// batch is a run of tasks of one directory, the share a reader takes.
type batch struct {
	dir   *openDir
	tasks []task
}

// batchSize is how many paths of one directory a reader takes at a time:
// small enough that a directory of thousands of files is spread over all
// readers, large enough that the hand-over costs nothing.
const batchSize = 16

// listThreshold is how many entries of one directory make listing it
// cheaper than looking each one up: packages list many files (ghosts,
// excluded languages) that are legitimately absent.
const listThreshold = 8

// openGroup opens the directory of a group of tasks through sysroot (which
// confines the lookup), lists it when the group is large, orders the
// tasks by inode, and sends them on in batches.
func (v *verifier) openGroup(ctx context.Context, g []task, out chan<- batch) {
	o := &openDir{}
	o.dir, o.err = v.root.OpenDir(g[0].dir())
	if o.err == nil && len(g) >= listThreshold {
		if entries, err := o.dir.Entries(); err == nil {
			o.present = make(map[string]bool, len(entries))
			ino := make(map[string]uint64, len(entries))
			for _, e := range entries {
				o.present[e.Name] = true
				ino[e.Name] = e.Ino
			}
			// Inodes are allocated near their directory and, on ext4
			// and xfs, data near its inode: visiting entries by inode
			// number walks the disk forward instead of by name.
			sort.SliceStable(g, func(i, j int) bool { return ino[g[i].base()] < ino[g[j].base()] })
		}
	}
	n := (len(g) + batchSize - 1) / batchSize
	o.refs.Store(int32(n))
	for i := 0; i < len(g); i += batchSize {
		select {
		case out <- batch{dir: o, tasks: g[i:min(i+batchSize, len(g))]}:
		case <-ctx.Done():
			for ; i < len(g); i += batchSize {
				o.release()
			}
			return
		}
	}
}

type worker struct {
	v      *verifier
	reader *onceReader
	xbuf   []byte
	lbuf   []byte // for link targets
	pr     probe  // reused for every path
	files  []File // the records of the current path
	refs   []ref  // and where they come from
}

func newWorker(v *verifier) *worker {
	r := newOnceReader(readSize)
	r.waits = v.diskWait
	return &worker{v: v, reader: r, xbuf: make([]byte, 1024), lbuf: make([]byte, unix.PathMax)}
}

// readSize is the size of each read: large, so that a file of a few
// hundred KiB is one system call and a cold disk is asked for large runs.
const readSize = 256 << 10

// active reports whether a record is verified at all.
func active(f File) bool {
	return f.State != StateNotInstalled && f.State != StateNetShared
}

func (w *worker) probe(o *openDir, t task, files []File) *probe {
	pr := &w.pr
	*pr = probe{}
	if o.err != nil {
		pr.err = o.err
		return pr
	}
	base := t.base()
	if base == "" {
		base = "." // the root directory itself
	}
	if o.present != nil && base != "." && !o.present[base] {
		pr.err = unix.ENOENT
		return pr
	}
	// Which attributes do the records ask for?
	var algos [2]string
	nalgo := 0
	var needLink, needCaps, needACL, needDir bool
	for i := range files {
		f := &files[i]
		want := w.v.wanted(*f)
		if want&AttrDigest != 0 && f.DigestAlgo != "" && !w.v.fast && nalgo < len(algos) && f.DigestAlgo != algos[0] {
			algos[nalgo] = f.DigestAlgo
			nalgo++
		}
		needLink = needLink || want&AttrLink != 0
		needCaps = needCaps || (want&AttrCaps != 0 && w.v.kind == "rpm")
		needACL = needACL || (want&AttrMode != 0 && w.v.kind == "rpm")
		needDir = needDir || f.Mode.IsDir()
	}
	d := o.dir
	if err := d.Lstat(base, &pr.st); err != nil {
		pr.err = err
		return pr
	}
	switch pr.st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		// A symlink has no mode of its own to verify, hence no ACL.
		if needLink {
			pr.link, pr.linkErr = d.Readlink(base, w.lbuf)
		}
		if needDir {
			if fi, err := w.v.root.Stat(t.path); err == nil && fi.IsDir() {
				if s, ok := fi.Sys().(*unix.Stat_t); ok {
					st := *s
					pr.dirStat = &st
				}
			}
		}
	case unix.S_IFREG:
		if nalgo > 0 && sizeDecides(files, pr.st.Size) {
			// Content of another size has another digest: the file
			// is not read, and the digest is reported as differing.
			pr.sizeDiffers = true
			nalgo = 0
		}
		if nalgo > 0 || needCaps || needACL {
			w.read(pr, d, base, algos[:nalgo], needCaps, needACL)
		}
	default:
		// Directories, device nodes, FIFOs and sockets are not opened
		// (opening a device can have effects): their ACL is read
		// without following or opening them.
		if needACL {
			acl, _ := d.Xattr(base, "system.posix_acl_access", w.xbuf)
			pr.acl = aclExtended(acl)
		}
	}
	return pr
}

// sizeDecides reports whether the size on disk alone says that every
// record asking for a digest differs: each knows its size, and none has
// this one.
func sizeDecides(files []File, size int64) bool {
	for i := range files {
		f := &files[i]
		if f.DigestAlgo == "" || f.Digest == "" {
			continue
		}
		if f.Size < 0 || f.Size == size {
			return false
		}
	}
	return true
}

// read opens the regular file without following a symlink swapped in
// since the lstat, and reads it once, feeding every digest asked for. An
// empty file is not read: the digests of nothing are known.
func (w *worker) read(pr *probe, d *sysroot.Dir, base string, algos []string, needCaps, needACL bool) {
	hashes := make([]hash.Hash, 0, len(algos))
	for _, a := range algos {
		hashes = append(hashes, NewHash(a))
	}
	defer func() {
		if pr.readErr != nil || len(hashes) == 0 {
			return
		}
		pr.size = pr.read
		var sum [64]byte
		for i, h := range hashes {
			d := h.Sum(sum[:0])
			pr.algos[i] = algos[i]
			pr.dlen[i] = hex.Encode(pr.digests[i][:], d)
		}
	}()
	if pr.st.Size == 0 && !needCaps && !needACL {
		return
	}
	fd, err := d.OpenFile(base)
	if err != nil {
		pr.readErr = err
		return
	}
	defer unix.Close(fd)
	if needCaps || needACL {
		// One listxattr tells whether there is anything to fetch: most
		// files carry no capability and no ACL (but may carry an
		// SELinux label).
		names, err := w.flistxattr(fd)
		if err != nil {
			pr.capsErr = err
		} else {
			if needCaps {
				pr.caps = []byte{}
				if bytesContains(names, "security.capability") {
					pr.caps, pr.capsErr = fgetxattr(fd, "security.capability")
				}
			}
			if needACL && bytesContains(names, "system.posix_acl_access") {
				acl, _ := fgetxattr(fd, "system.posix_acl_access")
				pr.acl = aclExtended(acl)
			}
		}
	}
	if len(algos) == 0 || pr.st.Size == 0 {
		return
	}
	// The readers are many, to keep the disk busy; hashing is CPU work,
	// one per core.
	pr.read, pr.readErr = w.reader.each(w.v.ctx, fd, pr.st.Size, func(b []byte) {
		w.v.hashing <- struct{}{}
		for _, h := range hashes {
			h.Write(b)
		}
		<-w.v.hashing
	})
}

// digestIs compares the digest computed for algo with want.
func (pr *probe) digestIs(algo, want string) bool {
	for i, a := range pr.algos {
		if a == algo && a != "" {
			return string(pr.digests[i][:pr.dlen[i]]) == want
		}
	}
	return false
}

// bytesContains reports whether a NUL-separated listxattr result holds
// name.
func bytesContains(list []byte, name string) bool {
	for len(list) > 0 {
		i := 0
		for i < len(list) && list[i] != 0 {
			i++
		}
		if string(list[:i]) == name {
			return true
		}
		if i == len(list) {
			break
		}
		list = list[i+1:]
	}
	return false
}

func (w *worker) flistxattr(fd int) ([]byte, error) {
	n, err := unix.Flistxattr(fd, w.xbuf)
	if errors.Is(err, unix.ERANGE) {
		if n, err = unix.Flistxattr(fd, nil); err == nil {
			w.xbuf = make([]byte, n+256)
			n, err = unix.Flistxattr(fd, w.xbuf)
		}
	}
	if errors.Is(err, unix.ENOTSUP) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return w.xbuf[:n], nil
}

func fgetxattr(fd int, name string) ([]byte, error) {
	buf := make([]byte, 256)
	n, err := unix.Fgetxattr(fd, name, buf)
	if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOTSUP) {
		return []byte{}, nil
	}
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// aclExtended reports whether a system.posix_acl_access value has entries
// that the mode bits cannot express (named users or groups, a mask), which
// rpm reports as a mode difference since it cannot have set them.
func aclExtended(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	const entry = 8
	for off := 4; off+entry <= len(b); off += entry {
		switch tag := uint16(b[off]) | uint16(b[off+1])<<8; tag {
		case 0x01, 0x04, 0x20: // user_obj, group_obj, other
		default:
			return true
		}
	}
	return false
}

// wanted is the set of attributes a record asks to verify, before the type
// of what is on disk narrows it.
func (v *verifier) wanted(f File) Attrs {
	want := AttrAll &^ f.NoVerify
	switch f.State {
	case StateReplaced:
		return 0
	case StateWrongColor:
		want &^= AttrDigest | AttrSize | AttrMtime | AttrRdev
	}
	if v.fast {
		want &^= AttrDigest
	}
	return want
}

func (v *verifier) evaluate(fp *File, pkgID string, pr *probe) *Result {
	f := *fp
	var res Result
	res.PackageID = pkgID
	if v.kind == "dpkg" {
		res.Unknown = f.NoVerify
		if v.fast {
			res.Unknown |= AttrDigest
		}
	}
	if pr.err != nil {
		if f.Flags&(MissingOK|Ghost) != 0 {
			return nil
		}
		res.Missing = true
		res.File = f
		if !errors.Is(pr.err, fs.ErrNotExist) && !errors.Is(pr.err, unix.ENOENT) && !errors.Is(pr.err, unix.ENOTDIR) {
			res.Err = errText(pr.err)
		}
		out := res
		return &out
	}
	flags := v.wanted(f)
	st := pr.st
	fileType := st.Mode & unix.S_IFMT
	uid, uidOK := v.ids.UID(f.User)
	gid, gidOK := v.ids.GID(f.Group)
	if !uidOK {
		uid = 0 // rpm's fallback when the name is unknown (running as root)
	}
	if !gidOK {
		gid = 0
	}
	// A directory replaced by a symlink to a directory, by a legitimate
	// owner, is verified as the directory it points to.
	if f.Mode.IsDir() && fileType == unix.S_IFLNK && pr.dirStat != nil {
		if (v.kind == "rpm" && !uidOK) || (st.Uid != 0 && int(st.Uid) != uid) {
			res.Failed |= AttrUser
		} else {
			st = *pr.dirStat
			fileType = st.Mode & unix.S_IFMT
		}
	}
	if fileType == unix.S_IFLNK {
		flags &^= AttrMode
	} else {
		flags &^= AttrLink
	}
	if fileType != unix.S_IFREG {
		flags &^= AttrDigest | AttrSize | AttrMtime | AttrCaps
	}
	if f.Flags&Ghost != 0 {
		flags &^= AttrDigest | AttrSize | AttrMtime | AttrLink
	}
	size := st.Size
	if flags&AttrDigest != 0 {
		switch {
		case f.Digest == "":
			res.Failed |= AttrDigest
		case pr.sizeDiffers:
			res.Failed |= AttrDigest
		case pr.readErr != nil:
			res.Failed |= AttrDigest
			res.ReadFailed = true
			res.Err = errText(pr.readErr)
		default:
			size = pr.size
			if !pr.digestIs(f.DigestAlgo, f.Digest) {
				res.Failed |= AttrDigest
			}
		}
	}
	if flags&AttrLink != 0 {
		if pr.linkErr != nil {
			res.Failed |= AttrLink
			res.LinkFailed = true
		} else if pr.link != f.LinkTarget {
			res.Failed |= AttrLink
		}
	}
	if flags&AttrSize != 0 && f.Size >= 0 && size != f.Size {
		res.Failed |= AttrSize
	}
	if flags&AttrMode != 0 && f.Mode != 0 {
		if v.kind == "dpkg" {
			// statoverride gives permission bits only.
			if st.Mode&0o7777 != statMode(f.Mode)&0o7777 {
				res.Failed |= AttrMode
			}
		} else {
			meta, disk := uint16(statMode(f.Mode)), uint16(st.Mode)
			if f.Flags&Ghost != 0 {
				meta &^= 0xf000
				disk &^= 0xf000
			}
			if meta != disk || pr.acl {
				res.Failed |= AttrMode
			}
		}
	}
	if flags&AttrRdev != 0 && v.kind == "rpm" {
		wantChr, wantBlk := f.Mode&fs.ModeCharDevice != 0, f.Mode&fs.ModeDevice != 0 && f.Mode&fs.ModeCharDevice == 0
		isChr, isBlk := fileType == unix.S_IFCHR, fileType == unix.S_IFBLK
		if wantChr != isChr || wantBlk != isBlk {
			res.Failed |= AttrRdev
		} else if (wantChr || wantBlk) && uint16(st.Rdev&0xffff) != uint16(f.Rdev&0xffff) {
			res.Failed |= AttrRdev
		}
	}
	if flags&AttrCaps != 0 && v.kind == "rpm" {
		if pr.capsErr != nil || !capsEqual(orEmptyCaps(f.Caps), pr.caps) {
			res.Failed |= AttrCaps
		}
	}
	if flags&AttrMtime != 0 && v.kind == "rpm" && st.Mtim.Sec != f.MTime {
		res.Failed |= AttrMtime
	}
	if flags&AttrUser != 0 && (v.kind == "rpm" || f.User != "") && int(st.Uid) != uid {
		res.Failed |= AttrUser
	}
	if flags&AttrGroup != 0 && (v.kind == "rpm" || f.Group != "") && int(st.Gid) != gid {
		res.Failed |= AttrGroup
	}
	// rpm does not report a time difference on a path several packages
	// share: whichever was installed last set it.
	if res.Failed&AttrMtime != 0 && len(v.db.exactOwners(f.Path)) > 1 {
		res.Failed &^= AttrMtime
	}
	// debsums does not report a changed file that another package also
	// lists: the other package may legitimately have replaced it.
	if v.kind == "dpkg" && res.Failed&AttrDigest != 0 && len(v.db.exactOwners(f.Path)) > 1 {
		res.Failed &^= AttrDigest
	}
	if fileType == unix.S_IFREG && st.Size == 0 && f.Flags&Ghost == 0 {
		if empty, known := f.ExpectEmpty(); known && !empty {
			res.ZeroSize = true
		}
	}
	if res.Failed == 0 && !res.ReadFailed && !res.LinkFailed && !res.ZeroSize && f.State != StateReplaced && f.State != StateNoState {
		return nil
	}
	res.File = f
	out := res
	return &out
}

func orEmptyCaps(s string) string {
	if s == "" {
		return "="
	}
	return s
}

// statMode turns an fs.FileMode back into st_mode bits.
func statMode(m fs.FileMode) uint32 {
	s := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		s |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		s |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		s |= unix.S_ISVTX
	}
	switch {
	case m&fs.ModeDir != 0:
		s |= unix.S_IFDIR
	case m&fs.ModeSymlink != 0:
		s |= unix.S_IFLNK
	case m&fs.ModeNamedPipe != 0:
		s |= unix.S_IFIFO
	case m&fs.ModeSocket != 0:
		s |= unix.S_IFSOCK
	case m&fs.ModeCharDevice != 0:
		s |= unix.S_IFCHR
	case m&fs.ModeDevice != 0:
		s |= unix.S_IFBLK
	default:
		s |= unix.S_IFREG
	}
	return s
}

// errText is an errno's message as C's strerror writes it, which is what
// rpm appends to a "missing" line.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	s := err.Error()
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return strings.TrimSpace(string(r))
}
