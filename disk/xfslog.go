package disk

import (
	"encoding/binary"
	"fmt"
)

// XFS log constants (xfs_log_format.h).
const (
	xlogHeaderMagic     = 0xfeedbabe
	xlogUnmountTrans    = 0x20
	xlogHeaderCycleSize = 32 * 1024
	bbSize              = 512
	// xlogMaxSearch bounds the backward search for the last record
	// header: a log record is at most 256 KiB plus its headers.
	xlogMaxSearch = 2048
)

// xfsLogDirty tells from the internal log whether an xfs filesystem was
// unmounted cleanly, the way the kernel decides at mount time
// (xlog_find_head, then xlog_check_unmount_rec): it finds the head of the
// log (where the cycle number written into every 512-byte block drops),
// the last record header before it, and checks that this record is a lone
// unmount record that ends exactly at the head. Anything else means the
// log holds transactions that recovery would replay.
//
// why is set when the log could not be examined (an external log, a log
// that cannot be read); dirty is then false.
func xfsLogDirty(p *prober, sb []byte) (dirty bool, why string) {
	be := binary.BigEndian
	logStart := be.Uint64(sb[48:])
	if logStart == 0 {
		return false, "the log is on an external device"
	}
	bsize := int64(be.Uint32(sb[4:]))
	agblocks := uint64(be.Uint32(sb[84:]))
	agblklog := uint(sb[124])
	agno, agbno := logStart>>agblklog, logStart&(1<<agblklog-1)
	logOff := int64(agno*agblocks+agbno) * bsize
	n := int64(be.Uint32(sb[96:])) * bsize / bbSize
	if n < 2 || logOff <= 0 || logOff+n*bbSize > p.size {
		return false, fmt.Sprintf("the log (block %d, %d basic blocks) lies outside the filesystem", logStart, n)
	}
	l := &xlog{p: p, off: logOff, n: n}
	c0, ok0 := l.cycle(0)
	clast, ok1 := l.cycle(n - 1)
	if !ok0 || !ok1 {
		return false, "the log cannot be read"
	}
	head := n
	if c0 != clast {
		// Blocks [0, head) carry cycle c0; [head, n) the cycle before.
		lo, hi := int64(0), n-1
		for lo+1 < hi {
			mid := (lo + hi) / 2
			c, ok := l.cycle(mid)
			if !ok {
				return false, "the log cannot be read"
			}
			if c == c0 {
				lo = mid
			} else {
				hi = mid
			}
		}
		head = hi
	}
	// The last record header before the head, wrapping to the end of the
	// log.
	for i := int64(1); i <= xlogMaxSearch && i <= n; i++ {
		blk := ((head-i)%n + n) % n
		b := l.bb(blk)
		if b == nil {
			return false, "the log cannot be read"
		}
		if be.Uint32(b) != xlogHeaderMagic {
			continue
		}
		version := be.Uint32(b[8:])
		hlen := int64(be.Uint32(b[12:]))
		numOps := be.Uint32(b[40:])
		hblks := int64(1)
		if version&2 != 0 {
			if size := int64(be.Uint32(b[320:])); size > xlogHeaderCycleSize {
				hblks = (size + xlogHeaderCycleSize - 1) / xlogHeaderCycleSize
			}
		}
		after := (blk + hblks + (hlen+bbSize-1)/bbSize) % n
		if after != head%n || numOps != 1 {
			return true, ""
		}
		data := l.bb((blk + hblks) % n)
		if data == nil {
			return false, "the log cannot be read"
		}
		return data[9]&xlogUnmountTrans == 0, ""
	}
	return true, ""
}

type xlog struct {
	p   *prober
	off int64
	n   int64
}

func (l *xlog) bb(i int64) []byte { return l.p.read(l.off+i*bbSize, bbSize) }

// cycle is the cycle number of a basic block: the first word of a data
// block, the second of a record header.
func (l *xlog) cycle(i int64) (uint32, bool) {
	b := l.bb(i)
	if b == nil {
		return 0, false
	}
	if binary.BigEndian.Uint32(b) == xlogHeaderMagic {
		return binary.BigEndian.Uint32(b[4:]), true
	}
	return binary.BigEndian.Uint32(b), true
}
