// Package journal reads systemd journal files (the binary format of
// systemd's docs/JOURNAL_FILE_FORMAT.md) without systemd: regular and
// compact files, DATA objects compressed with xz, lz4 or zstd, and files
// that were never closed cleanly (state online, a stale header, a tail cut
// short by a crash).
//
// A journal on a broken disk is exactly the kind of file that was not
// closed: the machine crashed, froze or was reset. So the reader does not
// trust the header's counters or its entry index. It walks the objects in
// file order from the end of the header, checks every offset, size and
// type before it follows it, and stops at the first object that is not
// whole; entries the index links beyond a damaged stretch are read too.
// Every read is bounded (MaxObject, MaxPayload), so a hostile or garbage
// file costs at most its own size in reads and a fixed amount of memory
// per entry.
//
// Nothing in the package is written against the C implementation; the
// offsets are those the format document gives.
package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"
)

// Limits on what one object may cost. journald itself caps a field at
// 64 KiB of line (LineMax) in practice; binary fields may be larger, and
// are cut at MaxPayload rather than read whole.
const (
	// MaxObject bounds the size of an ENTRY or ENTRY_ARRAY object the
	// reader loads (an entry of 1 MiB has 131,070 fields at the least).
	MaxObject = 1 << 20
	// MaxPayload bounds one field's value, stored or decompressed: a
	// longer field is cut and marked Truncated.
	MaxPayload = 1 << 20
	// maxEntryArrays bounds how many index arrays are followed, and
	// maxIndexed how many entry offsets are taken from them.
	maxEntryArrays = 1 << 16
	maxIndexed     = 1 << 22
	// MaxFields and MaxEntryBytes bound one entry: journald writes a few
	// dozen fields; an entry past either limit keeps what fit.
	MaxFields     = 1024
	MaxEntryBytes = 4 << 20
)

// Object types.
const (
	objUnused = iota
	objData
	objField
	objEntry
	objDataHashTable
	objFieldHashTable
	objEntryArray
	objTag
	objMax
)

// Header flags.
const (
	incompatXZ        = 1 << 0
	incompatLZ4       = 1 << 1
	incompatKeyedHash = 1 << 2
	incompatZSTD      = 1 << 3
	incompatCompact   = 1 << 4
	incompatKnown     = incompatXZ | incompatLZ4 | incompatKeyedHash | incompatZSTD | incompatCompact

	compressedXZ   = 1 << 0
	compressedLZ4  = 1 << 1
	compressedZSTD = 1 << 2
)

// Sizes of the fixed parts of the structures.
const (
	objectHeaderSize = 16
	// minHeaderSize is the header up to tail_entry_monotonic: every
	// journal file has at least that much (n_data and later were added
	// in systemd 187 and after).
	minHeaderSize = 208
	// entryFixed is the ENTRY object up to its items.
	entryFixed = objectHeaderSize + 8*3 + 16 + 8
	// dataFixed is the DATA object up to its payload (regular files);
	// compact files have 8 more bytes (tail entry array offset and count).
	dataFixed        = objectHeaderSize + 8*6
	dataFixedCompact = dataFixed + 8
	entryArrayFixed  = objectHeaderSize + 8
)

// State is the header's state byte: offline (closed cleanly), online
// (open for writing, or the writer died), archived (rotated).
type State uint8

// States.
const (
	Offline  State = 0
	Online   State = 1
	Archived State = 2
)

func (s State) String() string {
	switch s {
	case Offline:
		return "offline"
	case Online:
		return "online"
	case Archived:
		return "archived"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ID128 is a 128-bit id (file, machine, boot): journalctl prints it as 32
// hex digits.
type ID128 [16]byte

func (id ID128) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether the id is all zeroes.
func (id ID128) IsZero() bool { return id == ID128{} }

// Header is the part of the file header the reader uses.
type Header struct {
	Compatible, Incompatible uint32
	State                    State
	FileID, MachineID        ID128
	TailEntryBootID          ID128
	SeqnumID                 ID128
	HeaderSize, ArenaSize    uint64
	EntryArrayOffset         uint64
	NObjects, NEntries       uint64
	HeadEntrySeqnum          uint64
	TailEntrySeqnum          uint64
	HeadEntryRealtime        uint64
	TailEntryRealtime        uint64
}

// Compact reports whether the file uses the compact format (systemd 252+).
func (h *Header) Compact() bool { return h.Incompatible&incompatCompact != 0 }

// Field is one FIELD=value of an entry.
type Field struct {
	Name  string
	Value []byte
	// Truncated is set when the value was longer than MaxPayload.
	Truncated bool
}

// Entry is one journal entry.
type Entry struct {
	// Offset is where the ENTRY object starts in the file.
	Offset    int64
	Seqnum    uint64
	Realtime  time.Time
	Monotonic time.Duration
	BootID    ID128
	Fields    []Field
}

// Value returns the first value of the named field, or "".
func (e *Entry) Value(name string) string {
	for _, f := range e.Fields {
		if f.Name == name {
			return string(f.Value)
		}
	}
	return ""
}

// File is an open journal file.
type File struct {
	Header Header
	r      io.ReaderAt
	size   int64
	// scan is a read-ahead window for the walk in file order; data a
	// second one for the DATA objects entries point back to.
	scan, data window
	// cache keeps decoded DATA payloads by offset: most fields
	// (_BOOT_ID=, _HOSTNAME=, _SYSTEMD_UNIT=) are shared by many entries.
	cache      map[int64]cached
	cacheBytes int
	z          decoders
}

type cached struct {
	name      string
	value     []byte
	truncated bool
}

// ErrNotJournal is returned by Open for a file that is not a journal.
var ErrNotJournal = errors.New("not a systemd journal file (no LPKSHHRH signature)")

// Open reads the header of the journal file r of size bytes.
func Open(r io.ReaderAt, size int64) (*File, error) {
	if size < minHeaderSize {
		if size >= 8 {
			var sig [8]byte
			if _, err := r.ReadAt(sig[:], 0); err == nil && string(sig[:]) != "LPKSHHRH" {
				return nil, ErrNotJournal
			}
		}
		return nil, fmt.Errorf("journal file of %d bytes: shorter than a header (%d)", size, minHeaderSize)
	}
	var b [minHeaderSize]byte
	if _, err := r.ReadAt(b[:], 0); err != nil {
		return nil, fmt.Errorf("reading the journal header: %w", err)
	}
	if string(b[:8]) != "LPKSHHRH" {
		return nil, ErrNotJournal
	}
	le := binary.LittleEndian
	f := &File{r: r, size: size, cache: map[int64]cached{}}
	h := &f.Header
	h.Compatible = le.Uint32(b[8:])
	h.Incompatible = le.Uint32(b[12:])
	h.State = State(b[16])
	copy(h.FileID[:], b[24:40])
	copy(h.MachineID[:], b[40:56])
	copy(h.TailEntryBootID[:], b[56:72])
	copy(h.SeqnumID[:], b[72:88])
	h.HeaderSize = le.Uint64(b[88:])
	h.ArenaSize = le.Uint64(b[96:])
	h.NObjects = le.Uint64(b[144:])
	h.NEntries = le.Uint64(b[152:])
	h.TailEntrySeqnum = le.Uint64(b[160:])
	h.HeadEntrySeqnum = le.Uint64(b[168:])
	h.EntryArrayOffset = le.Uint64(b[176:])
	h.HeadEntryRealtime = le.Uint64(b[184:])
	h.TailEntryRealtime = le.Uint64(b[192:])
	if unknown := h.Incompatible &^ incompatKnown; unknown != 0 {
		return nil, fmt.Errorf("journal file uses features this reader does not know (incompatible flags %#x)", unknown)
	}
	if h.HeaderSize < minHeaderSize || h.HeaderSize%8 != 0 || h.HeaderSize > uint64(size) || h.HeaderSize > 1<<16 {
		return nil, fmt.Errorf("journal header size %d is not valid for a file of %d bytes", h.HeaderSize, size)
	}
	return f, nil
}

// Stats says how a walk went.
type Stats struct {
	// Entries is how many entries were read.
	Entries int
	// End is the offset where the walk in file order stopped.
	End int64
	// Damage says why the walk stopped before the end of the used part
	// of the file ("" when it reached it); Skipped counts entries or
	// fields left out because they were not whole.
	Damage  string
	Skipped int
	// Indexed counts the entries found only through the index, past the
	// damage.
	Indexed int
}

// errStop ends a walk early without an error.
var errStop = errors.New("stop")

// Stop, returned by the function given to Entries, ends the walk early.
var Stop = errStop

// Entries calls fn for each entry, in file order (which is sequence number
// order). It returns an error only when fn does; damage in the file ends
// the walk and is described in the Stats.
func (f *File) Entries(fn func(*Entry) error) (Stats, error) { return f.walk(true, fn) }

// Heads is Entries without the fields: the sequence numbers, times and
// boot ids alone, which cost a read of the ENTRY objects only. It finds
// which boots a file holds.
func (f *File) Heads(fn func(*Entry) error) (Stats, error) { return f.walk(false, fn) }

func (f *File) walk(fields bool, fn func(*Entry) error) (Stats, error) {
	st := Stats{}
	seen := map[int64]bool{}
	off := int64(f.Header.HeaderSize)
	end := f.size
	usedEnd := int64(-1)
	if a := f.Header.ArenaSize; a <= uint64(f.size) && f.Header.HeaderSize+a <= uint64(f.size) {
		usedEnd = int64(f.Header.HeaderSize + a)
	}
	for off+objectHeaderSize <= end {
		typ, flags, size, err := f.objectHeader(&f.scan, off)
		if err != nil {
			st.Damage = err.Error()
			break
		}
		_ = flags
		if typ == objUnused && size == 0 {
			// Space allocated but never written: the end of what a
			// writer that died had written (or of a clean file).
			if usedEnd >= 0 && off < usedEnd && f.Header.State == Offline {
				st.Damage = fmt.Sprintf("empty object at %d inside the used part of a closed file", off)
			}
			break
		}
		if typ == objUnused || typ >= objMax || size < objectHeaderSize || size > uint64(end-off) {
			st.Damage = fmt.Sprintf("object at %d: type %d, size %d: not a whole object", off, typ, size)
			break
		}
		if typ == objEntry {
			e, err := f.entry(off, size, fields)
			if err != nil {
				st.Skipped++
			} else {
				seen[off] = true
				st.Entries++
				if err := fn(e); err != nil {
					st.End = off
					if err == errStop {
						return st, nil
					}
					return st, err
				}
			}
		}
		off += int64(align8(size))
	}
	st.End = off
	if st.Damage == "" && usedEnd > off && f.Header.State == Offline {
		st.Damage = fmt.Sprintf("the walk ended at %d, before the used part of the file ends at %d", off, usedEnd)
	}
	// Past damage, the index may still link entries that were written
	// after it: read those too.
	if st.Damage != "" {
		for _, eoff := range f.indexed(off) {
			if seen[eoff] {
				continue
			}
			typ, _, size, err := f.objectHeader(&f.data, eoff)
			if err != nil || typ != objEntry {
				st.Skipped++
				continue
			}
			e, err := f.entry(eoff, size, fields)
			if err != nil {
				st.Skipped++
				continue
			}
			seen[eoff] = true
			st.Entries++
			st.Indexed++
			if err := fn(e); err != nil {
				if err == errStop {
					return st, nil
				}
				return st, err
			}
		}
	}
	return st, nil
}

// indexed returns the entry offsets the global entry array chain lists at
// or after from, in order.
func (f *File) indexed(from int64) []int64 {
	var out []int64
	off := int64(f.Header.EntryArrayOffset)
	last := int64(0)
	for i := 0; i < maxEntryArrays && off > last && off%8 == 0 && len(out) < maxIndexed; i++ {
		typ, _, size, err := f.objectHeader(&f.data, off)
		if err != nil || typ != objEntryArray || size < entryArrayFixed || size > MaxObject {
			break
		}
		b, err := f.data.get(f, off, int64(size))
		if err != nil {
			break
		}
		next := int64(binary.LittleEndian.Uint64(b[objectHeaderSize:]))
		items := b[entryArrayFixed:]
		if f.Header.Compact() {
			for j := 0; j+4 <= len(items); j += 4 {
				if o := int64(binary.LittleEndian.Uint32(items[j:])); o >= from {
					out = append(out, o)
				} else if o == 0 {
					break
				}
			}
		} else {
			for j := 0; j+8 <= len(items); j += 8 {
				if o := int64(binary.LittleEndian.Uint64(items[j:])); o >= from {
					out = append(out, o)
				} else if o == 0 {
					break
				}
			}
		}
		last, off = off, next
	}
	return out
}

func align8(n uint64) uint64 { return (n + 7) &^ 7 }

// objectHeader reads the type, flags and size of the object at off.
func (f *File) objectHeader(w *window, off int64) (typ, flags uint8, size uint64, err error) {
	if off < int64(f.Header.HeaderSize) || off%8 != 0 || off+objectHeaderSize > f.size {
		return 0, 0, 0, fmt.Errorf("object offset %d outside the file or not aligned", off)
	}
	b, err := w.get(f, off, objectHeaderSize)
	if err != nil {
		return 0, 0, 0, err
	}
	return b[0], b[1], binary.LittleEndian.Uint64(b[8:]), nil
}

// entry decodes the ENTRY object at off of the given size.
func (f *File) entry(off int64, size uint64, fields bool) (*Entry, error) {
	if size < entryFixed || size > MaxObject || int64(size) > f.size-off {
		return nil, fmt.Errorf("entry at %d: size %d", off, size)
	}
	b, err := f.scan.get(f, off, int64(size))
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	e := &Entry{Offset: off, Seqnum: le.Uint64(b[16:])}
	rt := le.Uint64(b[24:])
	if rt > 0 && rt < 1<<62 {
		e.Realtime = time.UnixMicro(int64(rt)).UTC()
	}
	if mono := le.Uint64(b[32:]); mono < 1<<62/1000 {
		e.Monotonic = time.Duration(mono) * time.Microsecond
	}
	copy(e.BootID[:], b[40:56])
	if !fields {
		return e, nil
	}
	// Copy the items out of the read-ahead window, which a later read
	// may refill.
	items := append([]byte(nil), b[entryFixed:]...)
	step := 16
	if f.Header.Compact() {
		step = 4
	}
	total := 0
	for i := 0; i+step <= len(items) && len(e.Fields) < MaxFields; i += step {
		var doff int64
		if step == 4 {
			doff = int64(le.Uint32(items[i:]))
		} else {
			doff = int64(le.Uint64(items[i:]))
		}
		if doff == 0 {
			continue
		}
		fd, err := f.field(doff)
		if err != nil {
			// One damaged field does not cost the entry: keep
			// what can be read.
			continue
		}
		if total += len(fd.Name) + len(fd.Value); total > MaxEntryBytes {
			break
		}
		e.Fields = append(e.Fields, fd)
	}
	if len(e.Fields) == 0 {
		return nil, fmt.Errorf("entry at %d: no readable field", off)
	}
	return e, nil
}

// field reads the DATA object at off as NAME=value.
func (f *File) field(off int64) (Field, error) {
	if c, ok := f.cache[off]; ok {
		return Field{Name: c.name, Value: c.value, Truncated: c.truncated}, nil
	}
	typ, flags, size, err := f.objectHeader(&f.data, off)
	if err != nil {
		return Field{}, err
	}
	fixed := uint64(dataFixed)
	if f.Header.Compact() {
		fixed = dataFixedCompact
	}
	if typ != objData || size < fixed || size > uint64(f.size-off) {
		return Field{}, fmt.Errorf("data at %d: type %d, size %d", off, typ, size)
	}
	n := size - fixed
	truncated := false
	compressed := flags&(compressedXZ|compressedLZ4|compressedZSTD) != 0
	if n > MaxPayload {
		if compressed {
			return Field{}, fmt.Errorf("data at %d: %d compressed bytes", off, n)
		}
		n, truncated = MaxPayload, true
	}
	raw, err := f.data.get(f, off+int64(fixed), int64(n))
	if err != nil {
		return Field{}, err
	}
	var payload []byte
	switch {
	case flags&compressedZSTD != 0:
		payload, truncated, err = f.z.zstd(raw)
	case flags&compressedXZ != 0:
		payload, truncated, err = f.z.xz(raw)
	case flags&compressedLZ4 != 0:
		payload, truncated, err = f.z.lz4(raw)
	default:
		payload = append([]byte(nil), raw...)
	}
	if err != nil {
		return Field{}, fmt.Errorf("data at %d: %w", off, err)
	}
	name, value, ok := bytes.Cut(payload, []byte("="))
	if !ok || len(name) == 0 {
		return Field{}, fmt.Errorf("data at %d: no FIELD= prefix", off)
	}
	fd := Field{Name: string(name), Value: value, Truncated: truncated}
	if f.cacheBytes > 32<<20 {
		clear(f.cache)
		f.cacheBytes = 0
	}
	f.cache[off] = cached{name: fd.Name, value: fd.Value, truncated: truncated}
	f.cacheBytes += len(payload) + 64
	return fd, nil
}

// window is a read-ahead buffer over the file: the walk reads many small
// objects in order, and a read per object would cost a system call each.
type window struct {
	off int64
	buf []byte
}

const windowSize = 1 << 20

// get returns n bytes at off, from the window or after refilling it. The
// slice is valid until the next get on the same window.
func (w *window) get(f *File, off, n int64) ([]byte, error) {
	if n < 0 || off < 0 || n > f.size-off {
		return nil, fmt.Errorf("read of %d bytes at %d beyond the end of the file (%d bytes)", n, off, f.size)
	}
	if off >= w.off && off+n <= w.off+int64(len(w.buf)) {
		return w.buf[off-w.off : off-w.off+n], nil
	}
	size := max(n, windowSize)
	size = min(size, f.size-off)
	if int64(cap(w.buf)) < size {
		w.buf = make([]byte, size)
	}
	w.buf = w.buf[:size]
	got, err := f.r.ReadAt(w.buf, off)
	if int64(got) < n {
		w.buf = w.buf[:0]
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading %d bytes at %d: %w", n, off, err)
	}
	w.off, w.buf = off, w.buf[:got]
	return w.buf[:n], nil
}
