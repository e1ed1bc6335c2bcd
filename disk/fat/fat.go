// Package fat is a FAT12/16/32 reader and writer, enough to copy an ESP out
// and to write changed files back: read directories (long names included)
// and files; write a file (reusing, growing or shrinking its cluster chain),
// make a directory, remove a file or an empty directory; then write every
// FAT copy and the FAT32 FSInfo counts, so that fsck.fat -n finds nothing.
// The disk package mounts an ESP through it, since this kernel cannot mount
// vfat.
//
// go-diskfs (v1.9.4, which reads FAT12 and FAT16 too) is not used: its
// Remove leaves the file's clusters allocated and its writes leave the
// FAT32 FSInfo free count stale, both of which fsck.fat -n reports
// (measured in depcheck/diskfs_test.go; see docs/dependencies.md).
package fat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
)

// FS is an open FAT filesystem.
type FS struct {
	r    io.ReaderAt
	w    io.WriterAt // nil when read-only
	off  int64       // the volume's offset on the device
	size int64
	g    *Geometry
	bits int // 12, 16 or 32

	clusterSize int64
	fatOff      int64 // FAT #1, from the volume start
	fatBytes    int64
	dataOff     int64 // cluster 2
	rootOff     int64 // FAT12/16: the fixed root directory
	rootSlots   int
	maxCluster  uint32 // the highest valid cluster number

	fat      []uint32
	fatDirty bool
	hint     uint32 // where to look for free clusters next
	fsinfo   int64  // FAT32: the FSInfo sector's offset, 0 when none
}

// FAT entry markers.
const (
	fatAttrReadOnly = 0x01
	fatAttrHidden   = 0x02
	fatAttrSystem   = 0x04
	fatAttrVolume   = 0x08
	fatAttrDir      = 0x10
	fatAttrArchive  = 0x20
	fatAttrLFN      = 0x0f
)

// maxFATBytes bounds the FAT table read into memory (a 2 TiB FAT32 with
// 32 KiB clusters needs 256 MiB; an ESP needs a few).
const maxFATBytes = 64 << 20

// Open opens the FAT filesystem in [off, off+size) of the device; w is nil
// for a read-only one.
func Open(r io.ReaderAt, w io.WriterAt, off, size int64) (*FS, error) {
	b := make([]byte, 512)
	if size < 512 {
		return nil, fmt.Errorf("reading the FAT boot sector: %v", nil)
	}
	if _, err := r.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = nil
		} else {
			err = fmt.Errorf("reading byte %d: %w", off, err)
		}
		return nil, fmt.Errorf("reading the FAT boot sector: %v", err)
	}
	if !LooksLikeBoot(b) {
		return nil, errors.New("not a FAT filesystem: the boot sector has no FAT signature")
	}
	g, err := ParseGeometry(b)
	if err != nil {
		return nil, err
	}
	v := &FS{r: r, w: w, off: off, size: size, g: g}
	bps := int64(g.BytesPerSector)
	v.clusterSize = bps * int64(g.SectorsPerCluster)
	v.fatOff = int64(g.Reserved) * bps
	v.fatBytes = int64(g.FATSectors) * bps
	rootSectors := (int64(g.RootEntries)*32 + bps - 1) / bps
	v.rootOff = v.fatOff + int64(g.FATs)*v.fatBytes
	v.rootSlots = int(g.RootEntries)
	v.dataOff = v.rootOff + rootSectors*bps
	v.maxCluster = g.Clusters + 1
	switch {
	case g.FAT32:
		v.bits = 32
		if fi := int64(binary.LittleEndian.Uint16(b[48:])); fi > 0 && fi < int64(g.Reserved) {
			v.fsinfo = fi * bps
		}
	case g.Clusters < 4085:
		v.bits = 12
	default:
		v.bits = 16
	}
	if v.dataOff+int64(g.Clusters)*v.clusterSize > size {
		return nil, fmt.Errorf("the FAT filesystem claims %d clusters, more than its %d bytes hold", g.Clusters, size)
	}
	need := int64(v.maxCluster+1) * int64(v.bits) / 8
	if need > v.fatBytes || v.fatBytes > maxFATBytes {
		return nil, fmt.Errorf("the FAT (%d bytes) cannot hold %d clusters", v.fatBytes, g.Clusters)
	}
	raw := make([]byte, v.fatBytes)
	if _, err := r.ReadAt(raw, off+v.fatOff); err != nil {
		return nil, fmt.Errorf("reading the FAT: %w", err)
	}
	v.fat = make([]uint32, v.maxCluster+1)
	for n := uint32(0); n <= v.maxCluster; n++ {
		switch v.bits {
		case 12:
			o := n + n/2
			x := uint32(binary.LittleEndian.Uint16(raw[o:]))
			if n&1 == 1 {
				x >>= 4
			}
			v.fat[n] = x & 0xfff
		case 16:
			v.fat[n] = uint32(binary.LittleEndian.Uint16(raw[2*n:]))
		default:
			v.fat[n] = binary.LittleEndian.Uint32(raw[4*n:]) & 0x0fffffff
		}
	}
	v.hint = 2
	return v, nil
}

func (v *FS) eoc() uint32 {
	switch v.bits {
	case 12:
		return 0xfff
	case 16:
		return 0xffff
	}
	return 0x0fffffff
}

func (v *FS) isEOC(x uint32) bool {
	switch v.bits {
	case 12:
		return x >= 0xff8
	case 16:
		return x >= 0xfff8
	}
	return x >= 0x0ffffff8
}

func (v *FS) clusterOff(c uint32) int64 {
	return v.dataOff + int64(c-2)*v.clusterSize
}

// chain follows a cluster chain, refusing loops and bad links.
func (v *FS) chain(start uint32) ([]uint32, error) {
	var out []uint32
	seen := map[uint32]bool{}
	for c := start; ; {
		if c < 2 || c > v.maxCluster {
			return nil, fmt.Errorf("cluster chain from %d links to invalid cluster %d", start, c)
		}
		if seen[c] {
			return nil, fmt.Errorf("cluster chain from %d loops at cluster %d", start, c)
		}
		seen[c] = true
		out = append(out, c)
		next := v.fat[c]
		if v.isEOC(next) {
			return out, nil
		}
		c = next
	}
}

func (v *FS) readAt(b []byte, off int64) error {
	if off < 0 || off+int64(len(b)) > v.size {
		return fmt.Errorf("read at %d past the end of the FAT filesystem", off)
	}
	_, err := v.r.ReadAt(b, v.off+off)
	return err
}

func (v *FS) writeAt(b []byte, off int64) error {
	if v.w == nil {
		return errors.New("the FAT filesystem is open read-only")
	}
	if off < 0 || off+int64(len(b)) > v.size {
		return fmt.Errorf("write at %d past the end of the FAT filesystem", off)
	}
	_, err := v.w.WriteAt(b, v.off+off)
	return err
}

// fatDir is a directory: the fixed FAT12/16 root (cluster 0) or a chain.
type fatDir struct {
	cluster uint32
	chain   []uint32
}

func (v *FS) slots(d *fatDir) int {
	if d.cluster == 0 && v.bits != 32 {
		return v.rootSlots
	}
	return len(d.chain) * int(v.clusterSize/32)
}

func (v *FS) slotOff(d *fatDir, i int) int64 {
	if d.cluster == 0 && v.bits != 32 {
		return v.rootOff + int64(i)*32
	}
	per := int(v.clusterSize / 32)
	return v.clusterOff(d.chain[i/per]) + int64(i%per)*32
}

func (v *FS) rootDir() (*fatDir, error) {
	if v.bits != 32 {
		return &fatDir{}, nil
	}
	ch, err := v.chain(v.g.RootCluster)
	if err != nil {
		return nil, fmt.Errorf("root directory: %w", err)
	}
	return &fatDir{cluster: v.g.RootCluster, chain: ch}, nil
}

func (v *FS) readDirBytes(d *fatDir) ([]byte, error) {
	if d.cluster == 0 && v.bits != 32 {
		b := make([]byte, v.rootSlots*32)
		return b, v.readAt(b, v.rootOff)
	}
	b := make([]byte, int64(len(d.chain))*v.clusterSize)
	for i, c := range d.chain {
		if err := v.readAt(b[int64(i)*v.clusterSize:int64(i+1)*v.clusterSize], v.clusterOff(c)); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// fatEntry is one file or directory in a directory.
type fatEntry struct {
	name     string
	short    [11]byte
	attr     byte
	cluster  uint32
	size     uint32
	mtime    time.Time
	slot     int // the short entry's slot
	lfnStart int // the first slot of its long name (== slot when none)
}

func (e *fatEntry) isDir() bool { return e.attr&fatAttrDir != 0 }

// entries lists a directory, without ".", ".." and the volume label.
func (v *FS) entries(d *fatDir) ([]fatEntry, error) {
	raw, err := v.readDirBytes(d)
	if err != nil {
		return nil, err
	}
	var out []fatEntry
	var lfn []uint16
	lfnStart, lfnSum, lfnNext := -1, byte(0), 0
	for i := 0; i*32+32 <= len(raw); i++ {
		e := raw[i*32 : i*32+32]
		if e[0] == 0 {
			break
		}
		if e[0] == 0xe5 {
			lfnStart = -1
			continue
		}
		if e[11]&0x3f == fatAttrLFN {
			ord := int(e[0] & 0x1f)
			if e[0]&0x40 != 0 {
				lfnStart, lfnSum, lfnNext = i, e[13], ord
				lfn = make([]uint16, 13*ord)
			}
			if lfnStart < 0 || ord != lfnNext || ord == 0 || e[13] != lfnSum {
				lfnStart = -1
				continue
			}
			chars := make([]uint16, 0, 13)
			for _, o := range []int{1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30} {
				chars = append(chars, binary.LittleEndian.Uint16(e[o:]))
			}
			copy(lfn[(ord-1)*13:], chars)
			lfnNext--
			continue
		}
		if e[11]&fatAttrVolume != 0 {
			lfnStart = -1
			continue
		}
		fe := fatEntry{attr: e[11], slot: i, lfnStart: i,
			cluster: uint32(binary.LittleEndian.Uint16(e[20:]))<<16 | uint32(binary.LittleEndian.Uint16(e[26:])),
			size:    binary.LittleEndian.Uint32(e[28:]),
			mtime:   dosTime(binary.LittleEndian.Uint16(e[24:]), binary.LittleEndian.Uint16(e[22:]))}
		if v.bits != 32 {
			fe.cluster &= 0xffff
		}
		copy(fe.short[:], e[:11])
		if lfnStart >= 0 && lfnNext == 0 && lfnSum == shortChecksum(fe.short) {
			n := len(lfn)
			for j, c := range lfn {
				if c == 0 {
					n = j
					break
				}
			}
			fe.name = string(utf16.Decode(lfn[:n]))
			fe.lfnStart = lfnStart
		} else {
			fe.name = shortName(fe.short, e[12])
		}
		lfnStart = -1
		if fe.name == "." || fe.name == ".." {
			continue
		}
		out = append(out, fe)
	}
	return out, nil
}

// shortName renders an 8.3 name, lower-casing the parts Windows NT marks
// as lower case.
func shortName(s [11]byte, ntres byte) string {
	base := strings.TrimRight(string(s[:8]), " ")
	ext := strings.TrimRight(string(s[8:]), " ")
	if base != "" && base[0] == 0x05 {
		base = "\xe5" + base[1:]
	}
	if ntres&0x08 != 0 {
		base = strings.ToLower(base)
	}
	if ntres&0x10 != 0 {
		ext = strings.ToLower(ext)
	}
	if ext == "" {
		return base
	}
	return base + "." + ext
}

func shortChecksum(s [11]byte) byte {
	var sum byte
	for _, c := range s {
		sum = (sum&1)<<7 + sum>>1 + c
	}
	return sum
}

func dosTime(date, tm uint16) time.Time {
	if date == 0 {
		return time.Time{}
	}
	return time.Date(1980+int(date>>9), time.Month(date>>5&0xf), int(date&0x1f),
		int(tm>>11), int(tm>>5&0x3f), int(tm&0x1f)*2, 0, time.Local)
}

func toDOSTime(t time.Time) (date, tm uint16) {
	if t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.Local)
	}
	date = uint16((t.Year()-1980)<<9 | int(t.Month())<<5 | t.Day())
	tm = uint16(t.Hour()<<11 | t.Minute()<<5 | t.Second()/2)
	return
}

// lookup walks a slash-separated path from the root, comparing names
// without regard to case as FAT does. It returns the directory holding the
// last element and its entry (nil entry for the root itself).
func (v *FS) lookup(p string) (*fatDir, *fatEntry, error) {
	dir, err := v.rootDir()
	if err != nil {
		return nil, nil, err
	}
	parts := splitFATPath(p)
	if len(parts) == 0 {
		return dir, nil, nil
	}
	for i, part := range parts {
		list, err := v.entries(dir)
		if err != nil {
			return nil, nil, err
		}
		var found *fatEntry
		for j := range list {
			if strings.EqualFold(list[j].name, part) || strings.EqualFold(shortName(list[j].short, 0), part) {
				found = &list[j]
				break
			}
		}
		if found == nil {
			return dir, nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		}
		if i == len(parts)-1 {
			return dir, found, nil
		}
		if !found.isDir() {
			return nil, nil, &fs.PathError{Op: "open", Path: p, Err: errors.New("not a directory")}
		}
		sub, err := v.subdir(found)
		if err != nil {
			return nil, nil, err
		}
		dir = sub
	}
	return nil, nil, fs.ErrNotExist
}

func (v *FS) subdir(e *fatEntry) (*fatDir, error) {
	if e.cluster == 0 {
		// ".." of a first-level directory points at the root this way.
		return v.rootDir()
	}
	ch, err := v.chain(e.cluster)
	if err != nil {
		return nil, fmt.Errorf("directory %s: %w", e.name, err)
	}
	return &fatDir{cluster: e.cluster, chain: ch}, nil
}

func splitFATPath(p string) []string {
	var out []string
	for _, s := range strings.Split(path.Clean("/"+p), "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Info is what ReadDir returns for an entry.
type Info struct {
	Name    string
	Dir     bool
	Size    int64
	MTime   time.Time
	Cluster uint32 // first cluster: a subdirectory's identity
}

// ReadDir lists the directory at p.
func (v *FS) ReadDir(p string) ([]Info, error) {
	_, e, err := v.lookup(p)
	if err != nil {
		return nil, err
	}
	var dir *fatDir
	if e == nil {
		dir, err = v.rootDir()
	} else if !e.isDir() {
		return nil, fmt.Errorf("%s is not a directory", p)
	} else {
		dir, err = v.subdir(e)
	}
	if err != nil {
		return nil, err
	}
	list, err := v.entries(dir)
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(list))
	for _, x := range list {
		out = append(out, Info{Name: x.name, Dir: x.isDir(), Size: int64(x.size), MTime: x.mtime, Cluster: x.cluster})
	}
	return out, nil
}

// ReadFile reads the file at p.
func (v *FS) ReadFile(p string) ([]byte, error) {
	_, e, err := v.lookup(p)
	if err != nil {
		return nil, err
	}
	if e == nil || e.isDir() {
		return nil, fmt.Errorf("%s is a directory", p)
	}
	if e.size == 0 {
		return []byte{}, nil
	}
	ch, err := v.chain(e.cluster)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if int64(len(ch))*v.clusterSize < int64(e.size) {
		return nil, fmt.Errorf("%s: %d bytes do not fit in its %d clusters", p, e.size, len(ch))
	}
	b := make([]byte, int64(len(ch))*v.clusterSize)
	for i, c := range ch {
		if err := v.readAt(b[int64(i)*v.clusterSize:int64(i+1)*v.clusterSize], v.clusterOff(c)); err != nil {
			return nil, err
		}
	}
	return b[:e.size], nil
}

// alloc takes n free clusters and links them into a chain after prev
// (0: a new chain). It returns the clusters.
func (v *FS) alloc(n int, prev uint32) ([]uint32, error) {
	var got []uint32
	c := v.hint
	for scanned := uint32(0); len(got) < n && scanned <= v.maxCluster; scanned++ {
		if c < 2 || c > v.maxCluster {
			c = 2
		}
		if v.fat[c] == 0 {
			got = append(got, c)
		}
		c++
	}
	if len(got) < n {
		return nil, errors.New("the FAT filesystem is full")
	}
	for i, x := range got {
		if i+1 < len(got) {
			v.fat[x] = got[i+1]
		} else {
			v.fat[x] = v.eoc()
		}
	}
	if prev != 0 {
		v.fat[prev] = got[0]
	}
	v.hint = got[len(got)-1] + 1
	v.fatDirty = true
	return got, nil
}

func (v *FS) free(ch []uint32) {
	for _, c := range ch {
		v.fat[c] = 0
	}
	if len(ch) > 0 {
		v.fatDirty = true
	}
}

// WriteFile writes data as the file p, creating it or replacing its
// content; its directory must exist.
func (v *FS) WriteFile(p string, data []byte, mtime time.Time) error {
	parts := splitFATPath(p)
	if len(parts) == 0 {
		return errors.New("cannot write the root directory")
	}
	parent, err := v.dirAt(path.Dir("/" + strings.Join(parts, "/")))
	if err != nil {
		return err
	}
	_, e, err := v.lookup(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	need := int((int64(len(data)) + v.clusterSize - 1) / v.clusterSize)
	var ch []uint32
	if e != nil {
		if e.isDir() {
			return fmt.Errorf("%s is a directory", p)
		}
		if e.cluster != 0 {
			if ch, err = v.chain(e.cluster); err != nil {
				return err
			}
		}
	}
	switch {
	case need < len(ch):
		v.free(ch[need:])
		ch = ch[:need]
		if need > 0 {
			v.fat[ch[need-1]] = v.eoc()
		}
	case need > len(ch):
		var prev uint32
		if len(ch) > 0 {
			prev = ch[len(ch)-1]
		}
		more, err := v.alloc(need-len(ch), prev)
		if err != nil {
			return err
		}
		ch = append(ch, more...)
	}
	for i, c := range ch {
		buf := make([]byte, v.clusterSize)
		copy(buf, data[min(int64(len(data)), int64(i)*v.clusterSize):])
		if err := v.writeAt(buf, v.clusterOff(c)); err != nil {
			return err
		}
	}
	first := uint32(0)
	if len(ch) > 0 {
		first = ch[0]
	}
	if e != nil {
		return v.updateEntry(parent, e, first, uint32(len(data)), mtime)
	}
	return v.addEntry(parent, parts[len(parts)-1], fatAttrArchive, first, uint32(len(data)), mtime)
}

// dirAt returns the directory at p.
func (v *FS) dirAt(p string) (*fatDir, error) {
	_, e, err := v.lookup(p)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return v.rootDir()
	}
	if !e.isDir() {
		return nil, fmt.Errorf("%s is not a directory", p)
	}
	return v.subdir(e)
}

func (v *FS) updateEntry(d *fatDir, e *fatEntry, cluster, size uint32, mtime time.Time) error {
	off := v.slotOff(d, e.slot)
	b := make([]byte, 32)
	if err := v.readAt(b, off); err != nil {
		return err
	}
	binary.LittleEndian.PutUint16(b[20:], uint16(cluster>>16))
	binary.LittleEndian.PutUint16(b[26:], uint16(cluster))
	binary.LittleEndian.PutUint32(b[28:], size)
	date, tm := toDOSTime(mtime)
	binary.LittleEndian.PutUint16(b[22:], tm)
	binary.LittleEndian.PutUint16(b[24:], date)
	binary.LittleEndian.PutUint16(b[18:], date)
	b[11] |= fatAttrArchive
	return v.writeAt(b, off)
}

// Mkdir makes the directory p; its parent must exist.
func (v *FS) Mkdir(p string, mtime time.Time) error {
	parts := splitFATPath(p)
	if len(parts) == 0 {
		return errors.New("the root directory exists")
	}
	if _, e, err := v.lookup(p); err == nil && e != nil {
		return &fs.PathError{Op: "mkdir", Path: p, Err: fs.ErrExist}
	}
	parentPath := path.Dir("/" + strings.Join(parts, "/"))
	parent, err := v.dirAt(parentPath)
	if err != nil {
		return err
	}
	ch, err := v.alloc(1, 0)
	if err != nil {
		return err
	}
	buf := make([]byte, v.clusterSize)
	date, tm := toDOSTime(mtime)
	dot := func(b []byte, name string, cluster uint32) {
		copy(b[:11], fmt.Sprintf("%-11s", name))
		b[11] = fatAttrDir
		binary.LittleEndian.PutUint16(b[20:], uint16(cluster>>16))
		binary.LittleEndian.PutUint16(b[26:], uint16(cluster))
		binary.LittleEndian.PutUint16(b[22:], tm)
		binary.LittleEndian.PutUint16(b[24:], date)
		binary.LittleEndian.PutUint16(b[16:], date)
		binary.LittleEndian.PutUint16(b[14:], tm)
	}
	parentCluster := parent.cluster
	if v.bits == 32 && parentCluster == v.g.RootCluster {
		parentCluster = 0 // ".." of a first-level directory is 0
	}
	dot(buf[0:32], ".", ch[0])
	dot(buf[32:64], "..", parentCluster)
	if err := v.writeAt(buf, v.clusterOff(ch[0])); err != nil {
		return err
	}
	return v.addEntry(parent, parts[len(parts)-1], fatAttrDir, ch[0], 0, mtime)
}

// Remove removes the file or empty directory p.
func (v *FS) Remove(p string) error {
	d, e, err := v.lookup(p)
	if err != nil {
		return err
	}
	if e == nil {
		return errors.New("cannot remove the root directory")
	}
	if e.isDir() {
		sub, err := v.subdir(e)
		if err != nil {
			return err
		}
		list, err := v.entries(sub)
		if err != nil {
			return err
		}
		if len(list) > 0 {
			return fmt.Errorf("%s is not empty", p)
		}
	}
	if e.cluster != 0 {
		ch, err := v.chain(e.cluster)
		if err != nil {
			return err
		}
		v.free(ch)
	}
	for i := e.lfnStart; i <= e.slot; i++ {
		if err := v.writeAt([]byte{0xe5}, v.slotOff(d, i)); err != nil {
			return err
		}
	}
	return nil
}

// addEntry writes a long name (unless the name is a plain upper-case 8.3
// name) and a short entry into free slots of d, growing d when it is full.
func (v *FS) addEntry(d *fatDir, name string, attr byte, cluster, size uint32, mtime time.Time) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\:*?\"<>|\x00") || len(name) > 255 {
		return fmt.Errorf("%q is not a valid FAT file name", name)
	}
	list, err := v.entries(d)
	if err != nil {
		return err
	}
	short, exact := v.makeShort(name, list)
	var lfn [][]byte
	if !exact {
		lfn = lfnEntries(name, shortChecksum(short))
	}
	n := len(lfn) + 1
	start, err := v.freeSlots(d, n)
	if err != nil {
		return err
	}
	for i, e := range lfn {
		if err := v.writeAt(e, v.slotOff(d, start+i)); err != nil {
			return err
		}
	}
	b := make([]byte, 32)
	copy(b, short[:])
	b[11] = attr
	date, tm := toDOSTime(mtime)
	binary.LittleEndian.PutUint16(b[14:], tm)
	binary.LittleEndian.PutUint16(b[16:], date)
	binary.LittleEndian.PutUint16(b[18:], date)
	binary.LittleEndian.PutUint16(b[20:], uint16(cluster>>16))
	binary.LittleEndian.PutUint16(b[22:], tm)
	binary.LittleEndian.PutUint16(b[24:], date)
	binary.LittleEndian.PutUint16(b[26:], uint16(cluster))
	binary.LittleEndian.PutUint32(b[28:], size)
	return v.writeAt(b, v.slotOff(d, start+len(lfn)))
}

// freeSlots finds n consecutive free slots (deleted, or past the end
// marker), growing a cluster-chained directory when there are none.
func (v *FS) freeSlots(d *fatDir, n int) (int, error) {
	raw, err := v.readDirBytes(d)
	if err != nil {
		return 0, err
	}
	total := v.slots(d)
	run := 0
	for i := 0; i < total; i++ {
		c := raw[i*32]
		if c == 0 {
			// The end marker: every slot from here on is free.
			if i+n <= total {
				return i, nil
			}
			break
		}
		if c == 0xe5 {
			run++
			if run == n {
				return i - n + 1, nil
			}
			continue
		}
		run = 0
	}
	if d.cluster == 0 && v.bits != 32 {
		return 0, errors.New("the root directory is full")
	}
	more, err := v.alloc(1, d.chain[len(d.chain)-1])
	if err != nil {
		return 0, err
	}
	if err := v.writeAt(make([]byte, v.clusterSize), v.clusterOff(more[0])); err != nil {
		return 0, err
	}
	d.chain = append(d.chain, more[0])
	return v.freeSlots(d, n)
}

// makeShort makes the 8.3 name of a new entry: the name itself when it is
// a valid upper-case 8.3 name (exact), else BASE~N.EXT, unique in the
// directory.
func (v *FS) makeShort(name string, list []fatEntry) ([11]byte, bool) {
	clean := func(s string) string {
		var b strings.Builder
		for _, r := range strings.ToUpper(s) {
			switch {
			case r == ' ' || r == '.':
			case r > 0x7f || strings.ContainsRune("+,;=[]", r):
				b.WriteByte('_')
			default:
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		base, ext = name[:i], name[i+1:]
	}
	cb, ce := clean(base), clean(ext)
	var s [11]byte
	if cb == base && ce == ext && len(cb) > 0 && len(cb) <= 8 && len(ce) <= 3 && !strings.Contains(base, ".") {
		copy(s[:], fmt.Sprintf("%-8s%-3s", cb, ce))
		if !v.shortTaken(s, list) {
			return s, true
		}
	}
	if cb == "" {
		cb = "FILE"
	}
	if len(ce) > 3 {
		ce = ce[:3]
	}
	for i := 1; i < 1000000; i++ {
		tail := fmt.Sprintf("~%d", i)
		b := cb
		if len(b) > 8-len(tail) {
			b = b[:8-len(tail)]
		}
		copy(s[:], fmt.Sprintf("%-8s%-3s", b+tail, ce))
		if !v.shortTaken(s, list) {
			return s, false
		}
	}
	return s, false
}

func (v *FS) shortTaken(s [11]byte, list []fatEntry) bool {
	return slices.ContainsFunc(list, func(e fatEntry) bool { return e.short == s })
}

// lfnEntries encodes a long name as LFN entries, last part first as they
// are stored.
func lfnEntries(name string, sum byte) [][]byte {
	u := utf16.Encode([]rune(name))
	parts := (len(u) + 12) / 13
	padded := make([]uint16, parts*13)
	for i := range padded {
		switch {
		case i < len(u):
			padded[i] = u[i]
		case i == len(u):
			padded[i] = 0
		default:
			padded[i] = 0xffff
		}
	}
	var out [][]byte
	for ord := parts; ord >= 1; ord-- {
		e := make([]byte, 32)
		e[0] = byte(ord)
		if ord == parts {
			e[0] |= 0x40
		}
		e[11] = fatAttrLFN
		e[13] = sum
		chars := padded[(ord-1)*13 : ord*13]
		for j, o := range []int{1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30} {
			binary.LittleEndian.PutUint16(e[o:], chars[j])
		}
		out = append(out, e)
	}
	return out
}

// Flush writes the FAT to every copy and updates the FAT32 FSInfo.
func (v *FS) Flush() error {
	if !v.fatDirty {
		return nil
	}
	raw := make([]byte, v.fatBytes)
	if err := v.readAt(raw, v.fatOff); err != nil {
		return err
	}
	for n := uint32(0); n <= v.maxCluster; n++ {
		x := v.fat[n]
		switch v.bits {
		case 12:
			o := n + n/2
			cur := binary.LittleEndian.Uint16(raw[o:])
			if n&1 == 1 {
				cur = cur&0x000f | uint16(x&0xfff)<<4
			} else {
				cur = cur&0xf000 | uint16(x&0xfff)
			}
			binary.LittleEndian.PutUint16(raw[o:], cur)
		case 16:
			binary.LittleEndian.PutUint16(raw[2*n:], uint16(x))
		default:
			// The top four bits are reserved and kept.
			cur := binary.LittleEndian.Uint32(raw[4*n:])
			binary.LittleEndian.PutUint32(raw[4*n:], cur&0xf0000000|x&0x0fffffff)
		}
	}
	for i := int64(0); i < int64(v.g.FATs); i++ {
		if err := v.writeAt(raw, v.fatOff+i*v.fatBytes); err != nil {
			return err
		}
	}
	if v.fsinfo > 0 {
		b := make([]byte, 512)
		if err := v.readAt(b, v.fsinfo); err != nil {
			return err
		}
		if bytes.Equal(b[0:4], []byte("RRaA")) && bytes.Equal(b[484:488], []byte("rrAa")) {
			free, next := uint32(0), uint32(0xffffffff)
			for c := uint32(2); c <= v.maxCluster; c++ {
				if v.fat[c] == 0 {
					free++
					if next == 0xffffffff {
						next = c
					}
				}
			}
			binary.LittleEndian.PutUint32(b[488:], free)
			binary.LittleEndian.PutUint32(b[492:], next)
			if err := v.writeAt(b, v.fsinfo); err != nil {
				return err
			}
		}
	}
	v.fatDirty = false
	return nil
}
