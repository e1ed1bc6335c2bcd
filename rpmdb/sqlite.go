package rpmdb

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
)

// A read-only reader of just enough of the SQLite file format
// (https://www.sqlite.org/fileformat2.html) to list the rows of rpm's
// `Packages` table: the schema table on page 1, table b-trees, overflow
// chains and records, with the committed frames of a write-ahead log laid
// over the main file. Opening the database with SQLite itself would write
// to the target (a WAL database gets its -shm index and a checkpoint), so
// rescue reads the bytes instead.

const sqliteMagic = "SQLite format 3\x00"

type sqliteDB struct {
	r        io.ReaderAt
	size     int64
	pageSize int
	usable   int
	nPages   uint32
	wal      map[uint32][]byte // page number -> newest committed frame
	// bufs holds one page buffer per b-tree depth, and one for overflow
	// pages: pages are read as needed rather than the file at once.
	bufs [][]byte
}

// readSQLite returns the header blobs of rpm's Packages table (rowid hnum,
// column blob) from an rpmdb.sqlite file and its -wal file (nil if none).
func readSQLite(r io.ReaderAt, size int64, wal []byte) (blobs []Blob, problems []error, err error) {
	data := make([]byte, 100)
	if size < 100 {
		return nil, nil, fmt.Errorf("%w: not an SQLite database", ErrCorrupt)
	}
	if _, err := r.ReadAt(data, 0); err != nil {
		return nil, nil, fmt.Errorf("reading the database header: %w", err)
	}
	if string(data[:16]) != sqliteMagic {
		return nil, nil, fmt.Errorf("%w: not an SQLite database", ErrCorrupt)
	}
	db := &sqliteDB{r: r, size: size}
	ps := int(binary.BigEndian.Uint16(data[16:]))
	if ps == 1 {
		ps = 65536
	}
	if ps < 512 || ps > 65536 || ps&(ps-1) != 0 {
		return nil, nil, fmt.Errorf("%w: impossible page size %d", ErrCorrupt, ps)
	}
	db.pageSize = ps
	db.usable = ps - int(data[20])
	if db.usable < 480 {
		return nil, nil, fmt.Errorf("%w: %d reserved bytes per page", ErrCorrupt, data[20])
	}
	db.nPages = uint32(size / int64(ps))
	db.bufs = make([][]byte, 23)
	if wal != nil {
		if perr := db.applyWAL(wal); perr != nil {
			problems = append(problems, perr)
		}
	}
	root, err := db.tableRoot("Packages")
	if err != nil {
		return nil, problems, err
	}
	err = db.walkTable(root, 0, func(rowid int64, payload []byte) {
		cols, err := sqliteRecord(payload)
		if err != nil {
			problems = append(problems, fmt.Errorf("package row %d: %w", rowid, err))
			return
		}
		// rpm's table is (hnum INTEGER PRIMARY KEY, blob BLOB): hnum
		// is the rowid, stored as NULL in the record.
		if len(cols) < 2 || cols[1].kind != 'b' {
			problems = append(problems, fmt.Errorf("%w: package row %d has no blob", ErrCorrupt, rowid))
			return
		}
		blobs = append(blobs, Blob{Instance: uint32(rowid), Data: cols[1].data})
	}, &problems)
	return blobs, problems, err
}

// applyWAL reads the write-ahead log and records, for every page, the
// frame of the last committed transaction that wrote it. Frames after the
// last commit, or after the first frame whose salt or checksum is wrong,
// belong to no committed transaction and are ignored, as SQLite's own
// recovery does.
func (db *sqliteDB) applyWAL(wal []byte) error {
	if len(wal) == 0 {
		return nil
	}
	if len(wal) < 32 {
		return fmt.Errorf("%w: write-ahead log of %d bytes ignored", ErrCorrupt, len(wal))
	}
	magic := binary.BigEndian.Uint32(wal)
	if magic&^1 != 0x377f0682 {
		return fmt.Errorf("%w: write-ahead log with bad magic %#x ignored", ErrCorrupt, magic)
	}
	var order binary.ByteOrder = binary.LittleEndian
	if magic&1 == 1 {
		order = binary.BigEndian
	}
	ps := int(binary.BigEndian.Uint32(wal[8:]))
	if ps != db.pageSize {
		return fmt.Errorf("%w: write-ahead log page size %d differs from the database's %d; ignored", ErrCorrupt, ps, db.pageSize)
	}
	salt1, salt2 := binary.BigEndian.Uint32(wal[16:]), binary.BigEndian.Uint32(wal[20:])
	s0, s1 := walChecksum(order, wal[:24], 0, 0)
	if s0 != binary.BigEndian.Uint32(wal[24:]) || s1 != binary.BigEndian.Uint32(wal[28:]) {
		return fmt.Errorf("%w: write-ahead log header checksum mismatch; log ignored", ErrCorrupt)
	}
	pending := map[uint32][]byte{}
	committed := map[uint32][]byte{}
	var size uint32
	for off := 32; off+24+ps <= len(wal); off += 24 + ps {
		fh := wal[off : off+24]
		if binary.BigEndian.Uint32(fh[8:]) != salt1 || binary.BigEndian.Uint32(fh[12:]) != salt2 {
			break
		}
		s0, s1 = walChecksum(order, fh[:8], s0, s1)
		s0, s1 = walChecksum(order, wal[off+24:off+24+ps], s0, s1)
		if s0 != binary.BigEndian.Uint32(fh[16:]) || s1 != binary.BigEndian.Uint32(fh[20:]) {
			break
		}
		pending[binary.BigEndian.Uint32(fh)] = wal[off+24 : off+24+ps]
		if commit := binary.BigEndian.Uint32(fh[4:]); commit != 0 {
			for k, v := range pending {
				committed[k] = v
			}
			clear(pending)
			size = commit
		}
	}
	if size != 0 {
		db.wal = committed
		db.nPages = size
	}
	return nil
}

// walChecksum is SQLite's WAL checksum over 32-bit words in the log's
// byte order, continuing from s0, s1.
func walChecksum(order binary.ByteOrder, b []byte, s0, s1 uint32) (uint32, uint32) {
	for i := 0; i+8 <= len(b); i += 8 {
		s0 += order.Uint32(b[i:]) + s1
		s1 += order.Uint32(b[i+4:]) + s0
	}
	return s0, s1
}

// page returns page n (1-based), from the log when it holds the page, else
// read into buffer slot (valid until the slot is used again).
func (db *sqliteDB) page(n uint32, slot int) ([]byte, error) {
	if n == 0 || n > db.nPages {
		return nil, fmt.Errorf("%w: page %d out of range (%d pages)", ErrCorrupt, n, db.nPages)
	}
	if p, ok := db.wal[n]; ok {
		return p, nil
	}
	start := int64(n-1) * int64(db.pageSize)
	if start+int64(db.pageSize) > db.size {
		return nil, fmt.Errorf("%w: page %d lies beyond the end of the file (truncated)", ErrCorrupt, n)
	}
	if db.bufs[slot] == nil {
		db.bufs[slot] = make([]byte, db.pageSize)
	}
	b := db.bufs[slot]
	if _, err := db.r.ReadAt(b, start); err != nil {
		return nil, fmt.Errorf("reading page %d: %w", n, err)
	}
	return b, nil
}

// overflowSlot is the page buffer for overflow chains; b-tree levels use
// the slots below it.
const overflowSlot = 22

// tableRoot finds the root page of a table in the schema table.
func (db *sqliteDB) tableRoot(name string) (uint32, error) {
	var root uint32
	var problems []error
	err := db.walkTable(1, 0, func(_ int64, payload []byte) {
		cols, err := sqliteRecord(payload)
		if err != nil || len(cols) < 4 {
			return
		}
		if cols[0].text() == "table" && strings.EqualFold(cols[1].text(), name) {
			root = uint32(cols[3].int)
		}
	}, &problems)
	if err != nil {
		return 0, err
	}
	if root == 0 {
		if len(problems) > 0 {
			return 0, fmt.Errorf("reading the schema: %w", problems[0])
		}
		return 0, fmt.Errorf("%w: no %s table", ErrCorrupt, name)
	}
	return root, nil
}

// walkTable calls fn for every row of the table b-tree rooted at page n.
// Damaged cells are reported in problems; a damaged interior page loses its
// subtree but not the rest of the table.
func (db *sqliteDB) walkTable(n uint32, depth int, fn func(rowid int64, payload []byte), problems *[]error) error {
	if depth > 20 {
		return fmt.Errorf("%w: b-tree deeper than 20 levels at page %d", ErrCorrupt, n)
	}
	p, err := db.page(n, depth)
	if err != nil {
		return err
	}
	hdr := 0
	if n == 1 {
		hdr = 100
	}
	if len(p) < hdr+12 {
		return fmt.Errorf("%w: page %d too short", ErrCorrupt, n)
	}
	kind := p[hdr]
	cells := int(binary.BigEndian.Uint16(p[hdr+3:]))
	ptrs := hdr + 8
	if kind == 5 {
		ptrs = hdr + 12
	}
	if ptrs+2*cells > db.usable {
		return fmt.Errorf("%w: page %d claims %d cells", ErrCorrupt, n, cells)
	}
	switch kind {
	case 13: // table leaf
		for i := range cells {
			off := int(binary.BigEndian.Uint16(p[ptrs+2*i:]))
			rowid, payload, err := db.leafCell(p, off)
			if err != nil {
				*problems = append(*problems, fmt.Errorf("page %d cell %d: %w", n, i, err))
				continue
			}
			fn(rowid, payload)
		}
	case 5: // table interior
		for i := range cells {
			off := int(binary.BigEndian.Uint16(p[ptrs+2*i:]))
			if off+4 > db.usable {
				*problems = append(*problems, fmt.Errorf("%w: page %d cell %d beyond the page", ErrCorrupt, n, i))
				continue
			}
			if err := db.walkTable(binary.BigEndian.Uint32(p[off:]), depth+1, fn, problems); err != nil {
				*problems = append(*problems, err)
			}
		}
		if err := db.walkTable(binary.BigEndian.Uint32(p[hdr+8:]), depth+1, fn, problems); err != nil {
			*problems = append(*problems, err)
		}
	default:
		return fmt.Errorf("%w: page %d is type %d, not a table b-tree page", ErrCorrupt, n, kind)
	}
	return nil
}

// leafCell decodes a table leaf cell: payload length, rowid, payload (its
// tail on overflow pages).
func (db *sqliteDB) leafCell(p []byte, off int) (int64, []byte, error) {
	if off >= db.usable {
		return 0, nil, fmt.Errorf("%w: cell offset %d beyond the page", ErrCorrupt, off)
	}
	plen, n := sqliteVarint(p[off:db.usable])
	if n == 0 {
		return 0, nil, fmt.Errorf("%w: bad payload length", ErrCorrupt)
	}
	off += n
	rowid, n := sqliteVarint(p[off:db.usable])
	if n == 0 {
		return 0, nil, fmt.Errorf("%w: bad rowid", ErrCorrupt)
	}
	off += n
	if plen < 0 || plen > maxDataSize {
		return 0, nil, fmt.Errorf("%w: payload of %d bytes", ErrCorrupt, plen)
	}
	u := int64(db.usable)
	x := u - 35
	local := plen
	if plen > x {
		m := ((u-12)*32/255 - 23)
		k := m + (plen-m)%(u-4)
		local = m
		if k <= x {
			local = k
		}
	}
	if int64(off)+local > u {
		return 0, nil, fmt.Errorf("%w: payload runs past the page", ErrCorrupt)
	}
	out := make([]byte, 0, plen)
	out = append(out, p[off:off+int(local)]...)
	if local == plen {
		return rowid, out, nil
	}
	if off+int(local)+4 > db.usable {
		return 0, nil, fmt.Errorf("%w: overflow pointer runs past the page", ErrCorrupt)
	}
	next := binary.BigEndian.Uint32(p[off+int(local):])
	for steps := uint32(0); int64(len(out)) < plen; steps++ {
		if next == 0 || steps > db.nPages {
			return 0, nil, fmt.Errorf("%w: overflow chain ends after %d of %d bytes", ErrCorrupt, len(out), plen)
		}
		op, err := db.page(next, overflowSlot)
		if err != nil {
			return 0, nil, err
		}
		take := min(plen-int64(len(out)), u-4)
		out = append(out, op[4:4+take]...)
		next = binary.BigEndian.Uint32(op)
	}
	return rowid, out, nil
}

// sqliteVarint decodes SQLite's big-endian varint (1-9 bytes); n is 0 when
// b is too short.
func sqliteVarint(b []byte) (v int64, n int) {
	var u uint64
	for i := 0; i < 9; i++ {
		if i >= len(b) {
			return 0, 0
		}
		if i == 8 {
			u = u<<8 | uint64(b[i])
			return int64(u), 9
		}
		u = u<<7 | uint64(b[i]&0x7f)
		if b[i]&0x80 == 0 {
			return int64(u), i + 1
		}
	}
	return int64(u), 9
}

type sqliteValue struct {
	kind byte // 'n' null, 'i' integer, 'f' float, 'b' blob, 't' text
	int  int64
	data []byte
}

func (v sqliteValue) text() string {
	if v.kind == 't' {
		return string(v.data)
	}
	return ""
}

// sqliteRecord decodes a record: a header of serial types, then values.
func sqliteRecord(p []byte) ([]sqliteValue, error) {
	hlen, n := sqliteVarint(p)
	if n == 0 || hlen < int64(n) || hlen > int64(len(p)) {
		return nil, fmt.Errorf("%w: bad record header", ErrCorrupt)
	}
	var out []sqliteValue
	body := int(hlen)
	for h := n; h < int(hlen); {
		st, m := sqliteVarint(p[h:hlen])
		if m == 0 {
			return nil, fmt.Errorf("%w: bad serial type", ErrCorrupt)
		}
		h += m
		var size int
		v := sqliteValue{kind: 'i'}
		switch {
		case st == 0:
			v.kind = 'n'
		case st >= 1 && st <= 6:
			size = []int{0, 1, 2, 3, 4, 6, 8}[st]
		case st == 7:
			v.kind, size = 'f', 8
		case st == 8, st == 9:
			v.int = st - 8
		case st >= 12:
			size = int((st - 12) / 2)
			v.kind = 'b'
			if st%2 == 1 {
				v.kind = 't'
			}
		default:
			return nil, fmt.Errorf("%w: reserved serial type %d", ErrCorrupt, st)
		}
		if size < 0 || body+size > len(p) {
			return nil, fmt.Errorf("%w: record value runs past the payload", ErrCorrupt)
		}
		b := p[body : body+size]
		body += size
		switch v.kind {
		case 'i':
			if size > 0 {
				x := int64(int8(b[0]))
				for _, c := range b[1:] {
					x = x<<8 | int64(c)
				}
				v.int = x
			}
		case 'b', 't':
			v.data = b
		}
		out = append(out, v)
	}
	return out, nil
}
