package rpmdb

import (
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"io"
)

// NDB, rpm's own "new database" (`Packages.db`, SUSE since 15): a 32-byte
// header ("RpmP"), slot pages of 16-byte slots ("Slot", package index,
// block offset, block count), and blobs in 16-byte blocks, each framed by a
// head ("BlbS", index, time stamp, length) and a tail (Adler-32 of head,
// blob and padding, length, "BlbE"). Everything is little-endian
// (lib/backend/ndb/rpmpkg.c).

const (
	ndbMagic      = 'R' | 'p'<<8 | 'm'<<16 | 'P'<<24
	ndbSlotMagic  = 'S' | 'l'<<8 | 'o'<<16 | 't'<<24
	ndbBlobMagic  = 'B' | 'l'<<8 | 'b'<<16 | 'S'<<24
	ndbTailMagic  = 'B' | 'l'<<8 | 'b'<<16 | 'E'<<24
	ndbPage       = 4096
	ndbBlock      = 16
	ndbHead       = 16
	ndbTail       = 12
	ndbMaxPages   = 2048 // rpm never grows the slot area near this
	ndbFirstSlots = 2    // the file header takes the first two slots
)

// readNDB returns every header blob of an NDB Packages.db. A damaged slot
// or blob is reported in problems and skipped. The slot pages are read
// first, then each blob on its own.
func readNDB(r io.ReaderAt, size int64) (blobs []Blob, problems []error, err error) {
	le := binary.LittleEndian
	hdr := make([]byte, 32)
	if size < 32 {
		return nil, nil, fmt.Errorf("%w: not an NDB Packages.db", ErrCorrupt)
	}
	if _, err := r.ReadAt(hdr, 0); err != nil {
		return nil, nil, fmt.Errorf("reading the NDB header: %w", err)
	}
	if le.Uint32(hdr) != ndbMagic {
		return nil, nil, fmt.Errorf("%w: not an NDB Packages.db", ErrCorrupt)
	}
	if v := le.Uint32(hdr[4:]); v != 0 {
		return nil, nil, fmt.Errorf("%w: NDB version %d, only 0 is known", ErrCorrupt, v)
	}
	npages := le.Uint32(hdr[12:])
	if npages == 0 || npages > ndbMaxPages {
		return nil, nil, fmt.Errorf("%w: NDB with %d slot pages", ErrCorrupt, npages)
	}
	if int64(npages)*ndbPage > size {
		return nil, nil, fmt.Errorf("%w: truncated: %d slot pages need %d bytes, the file has %d", ErrCorrupt, npages, npages*ndbPage, size)
	}
	slots := make([]byte, int(npages)*ndbPage)
	if _, err := r.ReadAt(slots, 0); err != nil {
		return nil, nil, fmt.Errorf("reading the NDB slots: %w", err)
	}
	minBlk := npages * ndbPage / ndbBlock
	fileBlks := uint64(size / ndbBlock)
	for s := uint32(ndbFirstSlots); s < npages*ndbPage/16; s++ {
		slot := slots[s*16 : s*16+16]
		if le.Uint32(slot) != ndbSlotMagic {
			problems = append(problems, fmt.Errorf("%w: slot %d has no slot magic", ErrCorrupt, s))
			continue
		}
		pkg, off, cnt := le.Uint32(slot[4:]), le.Uint32(slot[8:]), le.Uint32(slot[12:])
		if off == 0 {
			continue // free slot
		}
		if pkg == 0 || cnt == 0 || off < minBlk || uint64(off)+uint64(cnt) > fileBlks || uint64(cnt)*ndbBlock > maxDataSize {
			problems = append(problems, fmt.Errorf("%w: slot %d (package %d) points at blocks %d+%d of %d", ErrCorrupt, s, pkg, off, cnt, fileBlks))
			continue
		}
		blk := make([]byte, uint64(cnt)*ndbBlock)
		if _, err := r.ReadAt(blk, int64(off)*ndbBlock); err != nil {
			problems = append(problems, fmt.Errorf("package %d: reading its blob: %w", pkg, err))
			continue
		}
		if len(blk) < ndbHead+ndbTail || le.Uint32(blk) != ndbBlobMagic || le.Uint32(blk[4:]) != pkg {
			problems = append(problems, fmt.Errorf("%w: package %d: bad blob head", ErrCorrupt, pkg))
			continue
		}
		n := le.Uint32(blk[12:])
		if (uint64(ndbHead)+uint64(n)+ndbTail+ndbBlock-1)/ndbBlock != uint64(cnt) {
			problems = append(problems, fmt.Errorf("%w: package %d: blob of %d bytes in %d blocks", ErrCorrupt, pkg, n, cnt))
			continue
		}
		tail := blk[len(blk)-ndbTail:]
		if le.Uint32(tail[4:]) != n || le.Uint32(tail[8:]) != ndbTailMagic {
			problems = append(problems, fmt.Errorf("%w: package %d: bad blob tail", ErrCorrupt, pkg))
			continue
		}
		if sum := adler32.Checksum(blk[:len(blk)-ndbTail]); sum != le.Uint32(tail) {
			problems = append(problems, fmt.Errorf("%w: package %d: checksum mismatch (%08x, want %08x)", ErrCorrupt, pkg, sum, le.Uint32(tail)))
			continue
		}
		blobs = append(blobs, Blob{Instance: pkg, Data: blk[ndbHead : ndbHead+n]})
	}
	return blobs, problems, nil
}
