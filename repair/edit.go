package repair

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"sync"
	"syscall"

	"github.com/aymanbagabas/go-udiff"
	"golang.org/x/sys/unix"

	"rescue/sysroot"
)

// Edit replaces the bytes [Start, End) of the content an op expects with
// New.
//
// A write to a file that exists carries edits, not the whole new content:
// a check reports one finding per bad line, each with its fix, and a
// 4,000-line fstab or 20,000 unknown sshd keywords would otherwise make as
// many copies of the file (2.7 GB were seen). The planner merges the edits
// of one file and builds its new content once.
type Edit struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	New   []byte `json:"new"`
}

// EditFile plans edits of the file at name, whose content the caller read
// as base. base must be what the file holds now: the edits' offsets are
// offsets into it.
func EditFile(r *sysroot.Root, name string, base []byte, edits []Edit) (Op, error) {
	p, err := resolveFollow(r, name)
	if err != nil {
		return Op{}, err
	}
	st, cur, err := baseOf(r, p)
	if err != nil {
		return Op{}, err
	}
	if st.Type != File {
		return Op{}, fmt.Errorf("%s is a %s, not a regular file", p, st.Type)
	}
	if cur != nil && !bytes.Equal(cur, base) || cur == nil && sum(base) != st.SHA256 {
		return Op{}, fmt.Errorf("%s changed while it was being checked", p)
	}
	edits = slices.Clone(edits)
	slices.SortStableFunc(edits, func(a, b Edit) int { return a.Start - b.Start })
	if err := validEdits(edits, len(base)); err != nil {
		return Op{}, fmt.Errorf("editing %s: %w", p, err)
	}
	return Op{Kind: KindWrite, Path: p, Expect: st, Edits: edits}, nil
}

// validEdits checks that sorted edits lie inside a content of size n and
// do not overlap.
func validEdits(edits []Edit, n int) error {
	end := 0
	for _, e := range edits {
		if e.Start < end || e.End < e.Start || e.End > n {
			return fmt.Errorf("edit [%d,%d) overlaps another or lies outside the %d bytes", e.Start, e.End, n)
		}
		end = e.End
	}
	return nil
}

// applyEdits returns base with sorted, valid edits made.
func applyEdits(base []byte, edits []Edit) ([]byte, error) {
	if err := validEdits(edits, len(base)); err != nil {
		return nil, err
	}
	size := len(base)
	for _, e := range edits {
		size += len(e.New) - (e.End - e.Start)
	}
	out := make([]byte, 0, size)
	last := 0
	for _, e := range edits {
		out = append(out, base[last:e.Start]...)
		out = append(out, e.New...)
		last = e.End
	}
	return append(out, base[last:]...), nil
}

// maxLineDiff is the largest changed part diffEdits splits into line edits.
const maxLineDiff = 256 << 10

// diffEdits returns edits that turn base into data, at line boundaries.
// The common prefix and suffix are found first, so a change of one line
// costs one comparison of the file, not a diff of all of it.
func diffEdits(base, data []byte) []Edit {
	n := min(len(base), len(data))
	p := commonPrefix(base, data)
	if p == len(base) && p == len(data) {
		return []Edit{}
	}
	s := commonSuffix(base[p:], data[p:], n-p)
	// Widen the changed part to whole lines, the same in both: the
	// prefix is common, and so is the suffix up to its first newline.
	start := bytes.LastIndexByte(base[:p], '\n') + 1
	baseEnd, dataEnd := len(base), len(data)
	if i := bytes.IndexByte(base[len(base)-s:], '\n'); i >= 0 {
		baseEnd, dataEnd = len(base)-s+i+1, len(data)-s+i+1
	}
	// A large or binary change (a library restored from its package) is
	// one edit: a line diff of it would be quadratic, and says nothing.
	if baseEnd-start > maxLineDiff || dataEnd-start > maxLineDiff ||
		bytes.IndexByte(base[start:baseEnd], 0) >= 0 || bytes.IndexByte(data[start:dataEnd], 0) >= 0 {
		return []Edit{{Start: start, End: baseEnd, New: bytes.Clone(data[start:dataEnd])}}
	}
	var out []Edit
	for _, e := range udiff.Lines(string(base[start:baseEnd]), string(data[start:dataEnd])) {
		out = append(out, Edit{Start: start + e.Start, End: start + e.End, New: []byte(e.New)})
	}
	return out
}

// commonPrefix returns the length of the common prefix of a and b,
// comparing blocks with memcmp before bytes.
func commonPrefix(a, b []byte) int {
	const block = 4096
	n := min(len(a), len(b))
	p := 0
	for p+block <= n && bytes.Equal(a[p:p+block], b[p:p+block]) {
		p += block
	}
	for p < n && a[p] == b[p] {
		p++
	}
	return p
}

// commonSuffix returns the length, at most max, of the common suffix of a
// and b.
func commonSuffix(a, b []byte, max int) int {
	const block = 4096
	s := 0
	for s+block <= max && bytes.Equal(a[len(a)-s-block:len(a)-s], b[len(b)-s-block:len(b)-s]) {
		s += block
	}
	for s < max && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	return s
}

// editSet is the merged edits of one file in a plan, sorted. Fixes come
// in file order mostly, so adding one is an append; checking it is a
// binary search. (Merging by re-sorting everything made 20,000 fixes of
// one file quadratic.)
type editSet struct {
	edits []Edit
}

// editsOf returns the edit set of the write op among ops that op would
// merge into, and that op's index, when both carry edits of the same
// content with the same mode and owner; nil otherwise.
func editsOf(sets map[string]*editSet, ops []Op, op Op) (*editSet, int) {
	if op.Kind != KindWrite || op.Edits == nil || op.Data != nil {
		return nil, -1
	}
	for j, prev := range ops {
		if prev.Path != op.Path || prev.Kind != KindWrite {
			continue
		}
		if prev.Edits == nil || prev.Data != nil || prev.Expect != op.Expect || !ownerModeEqual(prev, op) {
			return nil, -1
		}
		set := sets[op.Path]
		if set == nil {
			set = &editSet{edits: slices.Clone(prev.Edits)}
			sets[op.Path] = set
		}
		return set, j
	}
	return nil, -1
}

// fits reports whether sorted edits can join the set: an edit made
// already is fine; one that overlaps another, or inserts where another
// inserts, conflicts.
func (s *editSet) fits(edits []Edit) bool {
	for _, e := range edits {
		i := sort.Search(len(s.edits), func(i int) bool { return s.edits[i].Start >= e.Start })
		if i < len(s.edits) && sameEdit(s.edits[i], e) {
			continue
		}
		if i > 0 && s.edits[i-1].End > e.Start {
			return false
		}
		if i < len(s.edits) && (s.edits[i].Start < e.End || s.edits[i].Start == e.Start) {
			return false
		}
	}
	return true
}

// add adds edits that fit.
func (s *editSet) add(edits []Edit) {
	for _, e := range edits {
		i := sort.Search(len(s.edits), func(i int) bool { return s.edits[i].Start >= e.Start })
		if i < len(s.edits) && sameEdit(s.edits[i], e) {
			continue
		}
		s.edits = slices.Insert(s.edits, i, e)
	}
}

func sameEdit(a, b Edit) bool {
	return a.Start == b.Start && a.End == b.End && bytes.Equal(a.New, b.New)
}

// size is the length of the content a write op leaves.
func (o Op) size() int64 {
	if o.Data != nil || o.Edits == nil {
		return int64(len(o.Data))
	}
	n := o.Expect.Size
	for _, e := range o.Edits {
		n += int64(len(e.New) - (e.End - e.Start))
	}
	return n
}

// Content returns the new content of a write op: its data, or its edits
// made to the file as it is in r (which must still be as the op expects).
func (o Op) Content(r *sysroot.Root) ([]byte, error) { return o.content(r) }

// content returns the new content of a write op: Data, or the edits made
// to the file as it is in r, which must still be as the op expects.
func (o Op) content(r *sysroot.Root) ([]byte, error) {
	if o.Data != nil || o.Edits == nil {
		return o.Data, nil
	}
	base, err := readAll(r, o.Path)
	if err != nil {
		return nil, err
	}
	return o.materialize(base)
}

// materialize makes the edits to base, which must be the content the op
// expects.
func (o Op) materialize(base []byte) ([]byte, error) {
	if sum(base) != o.Expect.SHA256 {
		return nil, fmt.Errorf("%s changed since the scan (content changed); scan again", o.Path)
	}
	return applyEdits(base, o.Edits)
}

// The planning cache: checks plan one fix per finding, and a file with
// thousands of findings would be read and hashed once per fix. A file's
// state and content are kept while its inode, size and times stay the same.
// Apply and undo never use it: they read the disk every time.
var planCache struct {
	sync.Mutex
	m     map[string]*cachedBase
	bytes int64
}

const (
	maxCachedFile  = 64 << 20
	maxCachedTotal = 256 << 20
)

type cachedBase struct {
	key  [6]int64 // dev, inode, size, mtime, ctime (s and ns)
	st   State
	data []byte // nil when the file is too large to keep
}

// ReadContent reads a regular file of the target for planning through the
// planning cache: the scan's fact and the planner then share the one read
// and hash that EditFile's state needs, instead of reading the file once
// each. Anything else (a symlink, a file larger than limit or than the
// cache keeps, an error) is read as r.ReadFileLimit reads it, with its
// errors. The cache holds a file only while its inode, size and times stay
// the same, so a changed file is read again.
func ReadContent(r *sysroot.Root, name string, limit int64) ([]byte, error) {
	if fi, err := r.Lstat(name); err == nil && fi.Mode().IsRegular() && fi.Size() <= min(limit, maxCachedFile) {
		if _, data, err := baseOf(r, sysroot.Clean(name)); err == nil && data != nil && int64(len(data)) <= limit {
			return data, nil
		}
	}
	return r.ReadFileLimit(name, limit)
}

// baseOf returns the state of p in r (p resolved, its last element not
// followed) and, for a regular file not too large, its content.
func baseOf(r *sysroot.Root, p string) (State, []byte, error) {
	fi, err := r.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		st, err := ReadState(r, p)
		return st, nil, err
	}
	id := r.HostPath() + "\x00" + p
	key, ok := statKey(fi)
	planCache.Lock()
	c := planCache.m[id]
	planCache.Unlock()
	if ok && c != nil && c.key == key {
		return c.st, c.data, nil
	}
	st, data, err := readBase(r, p, fi)
	if err != nil {
		return State{}, nil, err
	}
	if ok {
		planCache.Lock()
		if planCache.m == nil || planCache.bytes+int64(len(data)) > maxCachedTotal {
			planCache.m, planCache.bytes = map[string]*cachedBase{}, 0
		}
		if old := planCache.m[id]; old != nil {
			planCache.bytes -= int64(len(old.data))
		}
		planCache.m[id] = &cachedBase{key: key, st: st, data: data}
		planCache.bytes += int64(len(data))
		planCache.Unlock()
	}
	return st, data, nil
}

func statKey(fi fs.FileInfo) ([6]int64, bool) {
	switch s := fi.Sys().(type) {
	case *unix.Stat_t:
		return [6]int64{int64(s.Dev), int64(s.Ino), s.Size, s.Mtim.Nano(), s.Ctim.Sec, s.Ctim.Nsec}, true
	case *syscall.Stat_t:
		return [6]int64{int64(s.Dev), int64(s.Ino), s.Size, s.Mtim.Nano(), s.Ctim.Sec, s.Ctim.Nsec}, true
	}
	return [6]int64{}, false
}

// readBase reads a regular file's state and, when it is not too large, its
// content, in one pass.
func readBase(r *sysroot.Root, p string, fi fs.FileInfo) (State, []byte, error) {
	uid, gid := sysroot.Owner(fi)
	st := State{Type: File, Mode: ModeOf(fi.Mode()), UID: uid, GID: gid, Size: fi.Size()}
	f, err := r.Open(p)
	if err != nil {
		return State{}, nil, err
	}
	defer f.Close()
	h := sha256.New()
	var data []byte
	if fi.Size() <= maxCachedFile {
		var b bytes.Buffer
		b.Grow(int(fi.Size()) + 1)
		if _, err := io.Copy(io.MultiWriter(h, &b), io.LimitReader(f, maxCachedFile+1)); err != nil {
			return State{}, nil, fmt.Errorf("reading %s: %w", p, err)
		}
		data = b.Bytes()
		if int64(len(data)) != fi.Size() {
			return State{}, nil, errors.New(p + " changed while it was being read")
		}
	} else if _, err := io.Copy(h, f); err != nil {
		return State{}, nil, fmt.Errorf("reading %s: %w", p, err)
	}
	st.SHA256 = hex.EncodeToString(h.Sum(nil))
	return st, data, nil
}
