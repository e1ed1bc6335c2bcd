// Package journaltest writes small systemd journal files for tests: regular
// or compact, with DATA payloads compressed by xz, lz4 or zstd the way
// journald stores them, and in the states a crash leaves (online, a tail
// the index does not know). The files are checked against the host's
// journalctl in the journal package's tests, so that what the reader is
// tested on is what systemd itself reads.
//
// It is a test writer: every entry gets its own DATA objects (journald
// shares them), and the hash tables are present but empty, so lookups by
// field (journalctl -b, _SYSTEMD_UNIT=) find nothing; listing works.
package journaltest

import (
	"bytes"
	"encoding/binary"
	"hash/fnv"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
)

// Entry is one entry to write.
type Entry struct {
	Realtime  time.Time
	Monotonic time.Duration
	BootID    [16]byte
	// Fields are NAME=value strings.
	Fields []string
}

// Options say how to write.
type Options struct {
	Compact bool
	// Compress is "", "xz", "lz4" or "zstd"; fields of at least
	// CompressMin bytes (default 64) are compressed with it.
	Compress    string
	CompressMin int
	// Online leaves the state byte at online, as a writer that died
	// does.
	Online bool
	// Unindexed is how many of the last entries are written but not
	// linked into the entry array, and not counted in the header (the
	// header and index of a crashed writer lag behind its objects).
	Unindexed int
}

const headerSize = 272

// Write returns a journal file holding the entries.
func Write(opt Options, entries []Entry) []byte {
	if opt.CompressMin == 0 {
		opt.CompressMin = 64
	}
	w := &writer{opt: opt}
	w.buf.Write(make([]byte, headerSize))
	const buckets = 8
	dataHT := w.object(4, 0, make([]byte, buckets*16))
	fieldHT := w.object(5, 0, make([]byte, buckets*16))
	var entryOffs []int64
	nData := 0
	for i, e := range entries {
		var items []int64
		var hashes []uint64
		for _, f := range e.Fields {
			off, h := w.data([]byte(f))
			items = append(items, off)
			hashes = append(hashes, h)
			nData++
		}
		// The entry points at its data; the data's entry_offset at the
		// entry, patched once the entry's offset is known.
		var body bytes.Buffer
		le := binary.LittleEndian
		body.Write(le.AppendUint64(nil, uint64(i+1)))
		body.Write(le.AppendUint64(nil, uint64(e.Realtime.UnixMicro())))
		body.Write(le.AppendUint64(nil, uint64(e.Monotonic.Microseconds())))
		body.Write(e.BootID[:])
		var xor uint64
		for _, h := range hashes {
			xor ^= h
		}
		body.Write(le.AppendUint64(nil, xor))
		for j, off := range items {
			if opt.Compact {
				body.Write(le.AppendUint32(nil, uint32(off)))
			} else {
				body.Write(le.AppendUint64(nil, uint64(off)))
				body.Write(le.AppendUint64(nil, hashes[j]))
			}
		}
		eoff := w.object(3, 0, body.Bytes())
		for _, off := range items {
			w.put64(off+16+24, uint64(eoff)) // data.entry_offset
			w.put64(off+16+40, 1)            // data.n_entries
		}
		entryOffs = append(entryOffs, eoff)
	}
	indexed := entryOffs[:len(entryOffs)-min(opt.Unindexed, len(entryOffs))]
	var arrayOff int64
	if len(indexed) > 0 {
		var body bytes.Buffer
		body.Write(make([]byte, 8)) // next_entry_array_offset
		for _, off := range indexed {
			if opt.Compact {
				body.Write(binary.LittleEndian.AppendUint32(nil, uint32(off)))
			} else {
				body.Write(binary.LittleEndian.AppendUint64(nil, uint64(off)))
			}
		}
		arrayOff = w.object(6, 0, body.Bytes())
	}
	b := w.buf.Bytes()
	le := binary.LittleEndian
	copy(b, "LPKSHHRH")
	incompat := uint32(0)
	if opt.Compact {
		incompat |= 1 << 4
	}
	switch opt.Compress {
	case "xz":
		incompat |= 1 << 0
	case "lz4":
		incompat |= 1 << 1
	case "zstd":
		incompat |= 1 << 3
	}
	le.PutUint32(b[8:], 1<<1) // TAIL_ENTRY_BOOT_ID
	le.PutUint32(b[12:], incompat)
	if opt.Online {
		b[16] = 1
	}
	copy(b[24:], "rescue-test-file")
	copy(b[40:], "rescue-test-mach")
	if n := len(indexed); n > 0 {
		copy(b[56:72], entries[n-1].BootID[:])
	}
	copy(b[72:], "rescue-test-seqn")
	le.PutUint64(b[88:], headerSize)
	le.PutUint64(b[96:], uint64(len(b)-headerSize))
	le.PutUint64(b[104:], uint64(dataHT+16))
	le.PutUint64(b[112:], buckets*16)
	le.PutUint64(b[120:], uint64(fieldHT+16))
	le.PutUint64(b[128:], buckets*16)
	le.PutUint64(b[136:], uint64(w.last))
	le.PutUint64(b[144:], uint64(w.n))
	le.PutUint64(b[152:], uint64(len(indexed)))
	if n := len(indexed); n > 0 {
		le.PutUint64(b[160:], uint64(n))
		le.PutUint64(b[168:], 1)
		le.PutUint64(b[176:], uint64(arrayOff))
		le.PutUint64(b[184:], uint64(entries[0].Realtime.UnixMicro()))
		le.PutUint64(b[192:], uint64(entries[n-1].Realtime.UnixMicro()))
		le.PutUint64(b[200:], uint64(entries[n-1].Monotonic.Microseconds()))
		le.PutUint32(b[256:], uint32(arrayOff))
		le.PutUint32(b[260:], uint32(n))
		le.PutUint64(b[264:], uint64(indexed[n-1]))
	}
	le.PutUint64(b[208:], uint64(nData))
	if len(indexed) > 0 {
		le.PutUint64(b[232:], 1)
	}
	return b
}

type writer struct {
	opt  Options
	buf  bytes.Buffer
	n    int
	last int64
}

// object appends an object of type typ and returns its offset.
func (w *writer) object(typ, flags byte, body []byte) int64 {
	off := int64(w.buf.Len())
	size := 16 + len(body)
	var h [16]byte
	h[0], h[1] = typ, flags
	binary.LittleEndian.PutUint64(h[8:], uint64(size))
	w.buf.Write(h[:])
	w.buf.Write(body)
	if pad := (8 - size%8) % 8; pad > 0 {
		w.buf.Write(make([]byte, pad))
	}
	w.n++
	w.last = off
	return off
}

func (w *writer) put64(off int64, v uint64) {
	binary.LittleEndian.PutUint64(w.buf.Bytes()[off:], v)
}

// data appends a DATA object and returns its offset and hash.
func (w *writer) data(payload []byte) (int64, uint64) {
	h := fnv.New64a()
	h.Write(payload)
	sum := h.Sum64()
	flags, stored := byte(0), payload
	if w.opt.Compress != "" && len(payload) >= w.opt.CompressMin {
		flags, stored = compress(w.opt.Compress, payload)
	}
	var body bytes.Buffer
	le := binary.LittleEndian
	body.Write(le.AppendUint64(nil, sum))
	body.Write(make([]byte, 8*5)) // next hash, next field, entry offset, entry array, n_entries
	if w.opt.Compact {
		body.Write(make([]byte, 8)) // tail entry array offset and count
	}
	body.Write(stored)
	return w.object(1, flags, body.Bytes()), sum
}

// zstdEncoder is shared: EncodeAll is safe for concurrent use. ZSTD_compress
// records the content size, and journalctl refuses a frame without it: a
// single-segment frame has it.
var zstdEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithSingleSegment(true))

// Compress compresses p as journald stores it with algorithm alg and returns
// the object flag for it.
func compress(alg string, p []byte) (byte, []byte) {
	switch alg {
	case "xz":
		var b bytes.Buffer
		z, err := xz.WriterConfig{CheckSum: xz.None}.NewWriter(&b)
		if err != nil {
			panic(err)
		}
		z.Write(p)
		z.Close()
		return 1 << 0, b.Bytes()
	case "lz4":
		dst := make([]byte, 8+lz4.CompressBlockBound(len(p)))
		binary.LittleEndian.PutUint64(dst, uint64(len(p)))
		var c lz4.Compressor
		n, err := c.CompressBlock(p, dst[8:])
		if err != nil || n == 0 {
			panic("lz4: incompressible test payload")
		}
		return 1 << 1, dst[:8+n]
	case "zstd":
		return 1 << 2, zstdEncoder.EncodeAll(p, nil)
	}
	panic("unknown compression " + alg)
}
