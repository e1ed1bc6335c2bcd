package rpmdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Berkeley DB hash databases (the `Packages` file of rpm before 4.16). The
// layout is libdb's (dbinc/db_page.h): a metadata page, then pages of
// 26-byte header each. Hash pages hold key/data item pairs; a header blob is
// too large to sit on a hash page, so its data item is an H_OFFPAGE
// reference to a chain of overflow pages. The file is in the byte order of
// the machine that wrote it (big-endian on s390x); the blobs inside are
// big-endian whatever the machine.

const (
	bdbHashMagic    = 0x061561
	bdbPageHeader   = 26
	bdbPageHashOld  = 2 // P_HASH_UNSORTED, before libdb 4.6 (CentOS 5)
	bdbPageOverflow = 7
	bdbPageHashMeta = 8
	bdbPageHash     = 13
	bdbKeyData      = 1 // H_KEYDATA
	bdbOffPage      = 3 // H_OFFPAGE
)

// ErrCorrupt is wrapped by errors about damaged database files.
var ErrCorrupt = errors.New("corrupt package database")

// Blob is one header blob read from a database, with its key.
type Blob struct {
	Instance uint32
	Data     []byte
}

// readBDB returns every header blob in a Berkeley DB hash file. A damaged
// page or chain is reported in problems and skipped; only a file that is
// not a hash database at all is an error. The file is read in chunks of
// pages, and overflow chains page by page, rather than whole: a large
// database is mostly overflow pages that are read once more to follow
// their chains.
func readBDB(r io.ReaderAt, size int64) (blobs []Blob, problems []error, err error) {
	meta := make([]byte, 512)
	if size < 512 {
		return nil, nil, fmt.Errorf("%w: %d bytes is too short for a Berkeley DB file", ErrCorrupt, size)
	}
	if _, err := r.ReadAt(meta, 0); err != nil {
		return nil, nil, fmt.Errorf("reading the metadata page: %w", err)
	}
	var order binary.ByteOrder = binary.LittleEndian
	switch {
	case binary.LittleEndian.Uint32(meta[12:]) == bdbHashMagic:
	case binary.BigEndian.Uint32(meta[12:]) == bdbHashMagic:
		order = binary.BigEndian
	default:
		return nil, nil, fmt.Errorf("%w: not a Berkeley DB hash file (magic %#x)", ErrCorrupt, binary.LittleEndian.Uint32(meta[12:]))
	}
	pageSize := order.Uint32(meta[20:])
	if pageSize < 512 || pageSize > 65536 || pageSize&(pageSize-1) != 0 {
		return nil, nil, fmt.Errorf("%w: impossible page size %d", ErrCorrupt, pageSize)
	}
	if meta[24] != 0 {
		return nil, nil, fmt.Errorf("%w: encrypted Berkeley DB (algorithm %d)", ErrCorrupt, meta[24])
	}
	if meta[25] != bdbPageHashMeta {
		return nil, nil, fmt.Errorf("%w: first page is type %d, not hash metadata", ErrCorrupt, meta[25])
	}
	lastPage := order.Uint32(meta[32:])
	nPages := uint32(size / int64(pageSize))
	if lastPage+1 > nPages {
		problems = append(problems, fmt.Errorf("%w: truncated: the metadata names %d pages, the file holds %d", ErrCorrupt, lastPage+1, nPages))
		lastPage = nPages - 1
	}
	ps := int(pageSize)
	const chunkPages = 64
	chunk := make([]byte, chunkPages*ps)
	ov := &bdbReader{r: r, ps: ps, order: order, last: lastPage, buf: make([]byte, ps)}

	for first := uint32(1); first <= lastPage; first += chunkPages {
		n := min(chunkPages, lastPage-first+1)
		buf := chunk[:int(n)*ps]
		if _, err := r.ReadAt(buf, int64(first)*int64(ps)); err != nil {
			problems = append(problems, fmt.Errorf("reading pages %d-%d: %w", first, first+n-1, err))
			continue
		}
		for k := uint32(0); k < n; k++ {
			pn := first + k
			p := buf[int(k)*ps : int(k+1)*ps]
			if t := p[25]; t != bdbPageHash && t != bdbPageHashOld {
				continue
			}
			entries := int(order.Uint16(p[20:]))
			if bdbPageHeader+2*entries > ps {
				problems = append(problems, fmt.Errorf("%w: page %d claims %d entries", ErrCorrupt, pn, entries))
				continue
			}
			// Items come in key/data pairs; the index holds their offsets.
			for i := 0; i+1 < entries; i += 2 {
				koff := int(order.Uint16(p[bdbPageHeader+2*i:]))
				doff := int(order.Uint16(p[bdbPageHeader+2*i+2:]))
				if koff >= ps || doff >= ps {
					problems = append(problems, fmt.Errorf("%w: page %d: item offset beyond the page", ErrCorrupt, pn))
					break
				}
				var key uint32
				if p[koff] == bdbKeyData && koff+5 <= ps {
					key = order.Uint32(p[koff+1:])
				}
				switch p[doff] {
				case bdbOffPage:
					if doff+12 > ps {
						problems = append(problems, fmt.Errorf("%w: page %d: overflow reference beyond the page", ErrCorrupt, pn))
						continue
					}
					blob, err := ov.chain(order.Uint32(p[doff+4:]), order.Uint32(p[doff+8:]))
					if err != nil {
						problems = append(problems, fmt.Errorf("package %d: %w", key, err))
						continue
					}
					blobs = append(blobs, Blob{Instance: key, Data: blob})
				case bdbKeyData:
					// Small items sit on the page; the one at key 0 is
					// rpm's instance counter, not a header. A header
					// small enough to sit here is possible in principle,
					// so take any item that is more than a counter.
					if key == 0 {
						continue
					}
					// The item ends where the item above it on the page
					// begins: items grow down from the end of the page.
					end := bdbItemEnd(p, order, entries, doff, ps)
					if end-doff-1 > 8 {
						blobs = append(blobs, Blob{Instance: key, Data: bytes.Clone(p[doff+1 : end])})
					}
				}
			}
		}
	}
	return blobs, problems, nil
}

// bdbReader follows overflow chains.
type bdbReader struct {
	r     io.ReaderAt
	ps    int
	order binary.ByteOrder
	last  uint32
	buf   []byte
}

// bdbItemEnd finds where the on-page item at off ends: at the nearest item
// offset above it, or the end of the page.
func bdbItemEnd(p []byte, order binary.ByteOrder, entries, off, ps int) int {
	end := ps
	for i := 0; i < entries; i++ {
		o := int(order.Uint16(p[bdbPageHeader+2*i:]))
		if o > off && o < end {
			end = o
		}
	}
	return end
}

// chain follows a chain of overflow pages and returns its bytes.
func (o *bdbReader) chain(pgno, total uint32) ([]byte, error) {
	if total > maxDataSize {
		return nil, fmt.Errorf("%w: overflow item of %d bytes", ErrCorrupt, total)
	}
	out := make([]byte, 0, total)
	for steps := uint32(0); pgno != 0; steps++ {
		if pgno > o.last || steps > o.last {
			return nil, fmt.Errorf("%w: overflow chain reaches page %d (last page %d)", ErrCorrupt, pgno, o.last)
		}
		p := o.buf
		if _, err := o.r.ReadAt(p, int64(pgno)*int64(o.ps)); err != nil {
			return nil, fmt.Errorf("reading page %d: %w", pgno, err)
		}
		if p[25] != bdbPageOverflow {
			return nil, fmt.Errorf("%w: page %d in an overflow chain is type %d", ErrCorrupt, pgno, p[25])
		}
		// On overflow pages the "high free offset" field holds the
		// number of bytes the page carries.
		n := int(o.order.Uint16(p[22:]))
		if bdbPageHeader+n > o.ps {
			return nil, fmt.Errorf("%w: overflow page %d claims %d bytes", ErrCorrupt, pgno, n)
		}
		out = append(out, p[bdbPageHeader:bdbPageHeader+n]...)
		if uint32(len(out)) > total {
			return nil, fmt.Errorf("%w: overflow chain longer than its %d bytes", ErrCorrupt, total)
		}
		pgno = o.order.Uint32(p[16:])
	}
	if uint32(len(out)) != total {
		return nil, fmt.Errorf("%w: overflow chain holds %d of %d bytes", ErrCorrupt, len(out), total)
	}
	return out, nil
}
