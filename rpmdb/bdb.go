package rpmdb

import (
	"encoding/binary"
	"errors"
	"fmt"
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
// not a hash database at all is an error.
func readBDB(data []byte) (blobs []Blob, problems []error, err error) {
	if len(data) < 512 {
		return nil, nil, fmt.Errorf("%w: %d bytes is too short for a Berkeley DB file", ErrCorrupt, len(data))
	}
	var order binary.ByteOrder = binary.LittleEndian
	switch {
	case binary.LittleEndian.Uint32(data[12:]) == bdbHashMagic:
	case binary.BigEndian.Uint32(data[12:]) == bdbHashMagic:
		order = binary.BigEndian
	default:
		return nil, nil, fmt.Errorf("%w: not a Berkeley DB hash file (magic %#x)", ErrCorrupt, binary.LittleEndian.Uint32(data[12:]))
	}
	pageSize := order.Uint32(data[20:])
	if pageSize < 512 || pageSize > 65536 || pageSize&(pageSize-1) != 0 {
		return nil, nil, fmt.Errorf("%w: impossible page size %d", ErrCorrupt, pageSize)
	}
	if data[24] != 0 {
		return nil, nil, fmt.Errorf("%w: encrypted Berkeley DB (algorithm %d)", ErrCorrupt, data[24])
	}
	if data[25] != bdbPageHashMeta {
		return nil, nil, fmt.Errorf("%w: first page is type %d, not hash metadata", ErrCorrupt, data[25])
	}
	lastPage := order.Uint32(data[32:])
	nPages := uint32(len(data) / int(pageSize))
	if lastPage+1 > nPages {
		problems = append(problems, fmt.Errorf("%w: truncated: the metadata names %d pages, the file holds %d", ErrCorrupt, lastPage+1, nPages))
		lastPage = nPages - 1
	}
	ps := int(pageSize)
	page := func(n uint32) []byte { return data[int(n)*ps : int(n+1)*ps] }

	for n := uint32(1); n <= lastPage; n++ {
		p := page(n)
		if t := p[25]; t != bdbPageHash && t != bdbPageHashOld {
			continue
		}
		entries := int(order.Uint16(p[20:]))
		if bdbPageHeader+2*entries > ps {
			problems = append(problems, fmt.Errorf("%w: page %d claims %d entries", ErrCorrupt, n, entries))
			continue
		}
		// Items come in key/data pairs; the index holds their offsets.
		for i := 0; i+1 < entries; i += 2 {
			koff := int(order.Uint16(p[bdbPageHeader+2*i:]))
			doff := int(order.Uint16(p[bdbPageHeader+2*i+2:]))
			if koff >= ps || doff >= ps {
				problems = append(problems, fmt.Errorf("%w: page %d: item offset beyond the page", ErrCorrupt, n))
				break
			}
			var key uint32
			if p[koff] == bdbKeyData && koff+5 <= ps {
				key = order.Uint32(p[koff+1:])
			}
			switch p[doff] {
			case bdbOffPage:
				if doff+12 > ps {
					problems = append(problems, fmt.Errorf("%w: page %d: overflow reference beyond the page", ErrCorrupt, n))
					continue
				}
				first := order.Uint32(p[doff+4:])
				total := order.Uint32(p[doff+8:])
				blob, err := bdbOverflow(data, ps, order, first, total, lastPage)
				if err != nil {
					problems = append(problems, fmt.Errorf("package %d: %w", key, err))
					continue
				}
				blobs = append(blobs, Blob{Instance: key, Data: blob})
			case bdbKeyData:
				// Small items sit on the page; the one at key 0 is rpm's
				// instance counter, not a header. A header small enough
				// to sit here is possible in principle, so take any item
				// that is more than a counter.
				if key == 0 {
					continue
				}
				// The item ends where the item above it on the page
				// begins: items grow down from the end of the page.
				end := bdbItemEnd(p, order, entries, doff, ps)
				if end-doff-1 > 8 {
					blobs = append(blobs, Blob{Instance: key, Data: append([]byte(nil), p[doff+1:end]...)})
				}
			}
		}
	}
	return blobs, problems, nil
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

// bdbOverflow follows a chain of overflow pages and returns its bytes.
func bdbOverflow(data []byte, ps int, order binary.ByteOrder, pgno, total, lastPage uint32) ([]byte, error) {
	if total > maxDataSize {
		return nil, fmt.Errorf("%w: overflow item of %d bytes", ErrCorrupt, total)
	}
	out := make([]byte, 0, total)
	for steps := uint32(0); pgno != 0; steps++ {
		if pgno > lastPage || steps > lastPage {
			return nil, fmt.Errorf("%w: overflow chain reaches page %d (last page %d)", ErrCorrupt, pgno, lastPage)
		}
		p := data[int(pgno)*ps : int(pgno+1)*ps]
		if p[25] != bdbPageOverflow {
			return nil, fmt.Errorf("%w: page %d in an overflow chain is type %d", ErrCorrupt, pgno, p[25])
		}
		// On overflow pages the "high free offset" field holds the
		// number of bytes the page carries.
		n := int(order.Uint16(p[22:]))
		if bdbPageHeader+n > ps {
			return nil, fmt.Errorf("%w: overflow page %d claims %d bytes", ErrCorrupt, pgno, n)
		}
		out = append(out, p[bdbPageHeader:bdbPageHeader+n]...)
		if uint32(len(out)) > total {
			return nil, fmt.Errorf("%w: overflow chain longer than its %d bytes", ErrCorrupt, total)
		}
		pgno = order.Uint32(p[16:])
	}
	if uint32(len(out)) != total {
		return nil, fmt.Errorf("%w: overflow chain holds %d of %d bytes", ErrCorrupt, len(out), total)
	}
	return out, nil
}
