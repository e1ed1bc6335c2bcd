package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"time"

	"rescue/disk/fat"
)

// Superblock is what the first blocks of a volume say it holds, in the
// terms blkid uses: Type is blkid's TYPE (ext4, xfs, vfat, swap,
// LVM2_member, crypto_LUKS, …).
type Superblock struct {
	Type  string `json:"type"`
	Usage string `json:"usage"` // filesystem, other (swap), raid (LVM, md), crypto
	UUID  string `json:"uuid,omitempty"`
	// UUIDSub is the btrfs device UUID (blkid's UUID_SUB).
	UUIDSub string `json:"uuid_sub,omitempty"`
	Label   string `json:"label,omitempty"`
	Version string `json:"version,omitempty"`
	// BlockSize and Size are the filesystem's block size and the size it
	// claims, in bytes (0 when the format does not say).
	BlockSize int64 `json:"block_size,omitempty"`
	Size      int64 `json:"size,omitempty"`
	// State is what the superblock says about the filesystem's health
	// (ext2/3/4, xfs, btrfs); nil for the others.
	State *FSState `json:"state,omitempty"`
}

// FSState is the health a superblock records.
type FSState struct {
	// Errors: the kernel found corruption and marked the filesystem
	// (ext: the error state or a nonzero error count).
	Errors     bool   `json:"errors,omitempty"`
	ErrorCount uint32 `json:"error_count,omitempty"`
	// LastError names the kernel function and time of the last recorded
	// error (ext4).
	LastError string `json:"last_error,omitempty"`
	// NeedsRecovery: the journal (ext3/4) or the log (xfs, btrfs log
	// tree) holds changes that were not written back: the filesystem was
	// not unmounted cleanly.
	NeedsRecovery bool `json:"needs_recovery,omitempty"`
	// NotClean: a filesystem without a journal (ext2) was not unmounted
	// cleanly.
	NotClean bool `json:"not_clean,omitempty"`
	// LogUnknown: the xfs log could not be examined (an external log, or
	// one rescue cannot read); NeedsRecovery is then only a guess.
	LogUnknown string `json:"log_unknown,omitempty"`
	// Counts from the superblock (may lag behind a mounted filesystem).
	Blocks     uint64 `json:"blocks,omitempty"`
	FreeBlocks uint64 `json:"free_blocks,omitempty"`
	Inodes     uint64 `json:"inodes,omitempty"`
	FreeInodes uint64 `json:"free_inodes,omitempty"`
	// MountCount and MaxMountCount (ext): a check is forced at boot when
	// the count reaches the maximum (a slow boot, not a failure).
	MountCount    int `json:"mount_count,omitempty"`
	MaxMountCount int `json:"max_mount_count,omitempty"`
}

// Clean reports whether nothing in the state asks for a check.
func (s *FSState) Clean() bool {
	return s == nil || (!s.Errors && !s.NeedsRecovery && !s.NotClean)
}

// ProbeFS reads the superblock of the volume r of size bytes. It returns
// (nil, nil) when no known signature is there, and an error when a
// signature is there but the superblock around it is not valid (say which
// and why), or when reading fails for another reason than the volume being
// short.
func ProbeFS(r io.ReaderAt, size int64) (*Superblock, error) {
	p := &prober{r: r, size: size}
	for _, f := range []func(*prober) (*Superblock, error){
		probeLUKS, probeLVM, probeMD, probeXFS, probeExt, probeBtrfs, probeSquashfs, probeSwap, probeVFAT,
	} {
		sb, err := f(p)
		if err != nil || sb != nil {
			return sb, err
		}
	}
	return nil, p.err
}

// prober reads blocks of a volume; a read past the end is "no signature".
type prober struct {
	r    io.ReaderAt
	size int64
	err  error // the first I/O error other than a short volume
}

func (p *prober) read(off, n int64) []byte {
	if off < 0 || n <= 0 || off+n > p.size {
		return nil
	}
	b := make([]byte, n)
	if _, err := p.r.ReadAt(b, off); err != nil {
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && p.err == nil {
			p.err = fmt.Errorf("reading byte %d: %w", off, err)
		}
		return nil
	}
	return b
}

// cstr returns b up to the first NUL, with trailing spaces kept (blkid
// keeps them for most formats; callers trim where blkid does).
func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func uuidString(b []byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cLinux is the kernel's crc32c_le(~0, b): Castagnoli without the
// final inversion.
func crc32cLinux(b []byte) uint32 { return ^crc32.Checksum(b, castagnoli) }

// ext2/3/4 feature bits.
const (
	extCompatHasJournal   = 0x4
	extIncompatFiletype   = 0x2
	extIncompatRecover    = 0x4
	extIncompatJournalDev = 0x8
	extIncompatMetaBG     = 0x10
	extIncompat64Bit      = 0x80
	extROCompatSparse     = 0x1
	extROCompatLargeFile  = 0x2
	extROCompatBtreeDir   = 0x4
	extROCompatMetaCsum   = 0x400

	ext2IncompatSupp = extIncompatFiletype | extIncompatMetaBG
	ext3IncompatSupp = extIncompatFiletype | extIncompatRecover | extIncompatMetaBG
	ext2ROCompatSupp = extROCompatSparse | extROCompatLargeFile | extROCompatBtreeDir
)

func probeExt(p *prober) (*Superblock, error) {
	b := p.read(1024, 1024)
	if b == nil || binary.LittleEndian.Uint16(b[56:]) != 0xef53 {
		return nil, nil
	}
	le := binary.LittleEndian
	logBlock := le.Uint32(b[24:])
	if logBlock > 6 {
		return nil, fmt.Errorf("ext superblock at byte 1024 is corrupt: block size 2^(10+%d)", logBlock)
	}
	compat, incompat, rocompat := le.Uint32(b[92:]), le.Uint32(b[96:]), le.Uint32(b[100:])
	if rocompat&extROCompatMetaCsum != 0 {
		if got, want := crc32cLinux(b[:0x3fc]), le.Uint32(b[0x3fc:]); got != want {
			return nil, fmt.Errorf("ext4 superblock at byte 1024 is corrupt: checksum mismatch (stored %08x, computed %08x)", want, got)
		}
	}
	sb := &Superblock{Usage: "filesystem", UUID: uuidString(b[104:120]), Label: cstr(b[120:136]), BlockSize: 1024 << logBlock}
	switch {
	case incompat&extIncompatJournalDev != 0:
		sb.Type, sb.Usage = "jbd", "other"
	case compat&extCompatHasJournal == 0 && incompat&^ext2IncompatSupp == 0 && rocompat&^ext2ROCompatSupp == 0:
		sb.Type = "ext2"
	case compat&extCompatHasJournal != 0 && incompat&^ext3IncompatSupp == 0 && rocompat&^ext2ROCompatSupp == 0:
		sb.Type = "ext3"
	default:
		sb.Type = "ext4"
	}
	if v := le.Uint32(b[76:]); v > 0 {
		sb.Version = fmt.Sprintf("1.%d", le.Uint16(b[62:]))
	} else {
		sb.Version = "1.0"
	}
	blocks := uint64(le.Uint32(b[4:]))
	free := uint64(le.Uint32(b[12:]))
	if incompat&extIncompat64Bit != 0 {
		blocks |= uint64(le.Uint32(b[0x150:])) << 32
		free |= uint64(le.Uint32(b[0x158:])) << 32
	}
	sb.Size = int64(blocks) * sb.BlockSize
	state := le.Uint16(b[58:])
	st := &FSState{
		ErrorCount:    le.Uint32(b[0x194:]),
		NeedsRecovery: incompat&extIncompatRecover != 0,
		Blocks:        blocks, FreeBlocks: free,
		Inodes: uint64(le.Uint32(b[0:])), FreeInodes: uint64(le.Uint32(b[16:])),
		MountCount: int(le.Uint16(b[52:])), MaxMountCount: int(int16(le.Uint16(b[54:]))),
	}
	st.Errors = state&2 != 0 || st.ErrorCount > 0
	st.NotClean = compat&extCompatHasJournal == 0 && state&1 == 0
	if t := le.Uint32(b[0x1cc:]); t != 0 {
		st.LastError = fmt.Sprintf("%s (line %d) at %s", cstr(b[0x1e0:0x200]), le.Uint32(b[0x1d4:]), time.Unix(int64(t), 0).UTC().Format(time.RFC3339))
	}
	if sb.Type != "jbd" {
		sb.State = st
	}
	return sb, nil
}

func probeXFS(p *prober) (*Superblock, error) {
	b := p.read(0, 512)
	if b == nil || !bytes.Equal(b[:4], []byte("XFSB")) {
		return nil, nil
	}
	be := binary.BigEndian
	bsize := be.Uint32(b[4:])
	sect := be.Uint16(b[102:])
	agblocks, agcount := be.Uint32(b[84:]), be.Uint32(b[88:])
	if bsize < 512 || bsize > 65536 || bsize&(bsize-1) != 0 || sect < 512 || sect > 32768 || sect&(sect-1) != 0 ||
		agcount == 0 || agblocks == 0 || b[124] > 31 || be.Uint64(b[8:]) == 0 {
		return nil, fmt.Errorf("xfs superblock at byte 0 is corrupt: block size %d, sector size %d, %d allocation groups of %d blocks", bsize, sect, agcount, agblocks)
	}
	if b[126] != 0 {
		return nil, errors.New("xfs superblock at byte 0 says mkfs.xfs never finished (sb_inprogress)")
	}
	version := be.Uint16(b[100:]) & 0xf
	if version == 5 {
		// The v5 superblock carries a CRC32c of its sector with the CRC
		// field zeroed.
		if full := withZeroCRC(p.read(0, int64(sect)), 224); full != nil {
			if got, want := crc32.Checksum(full, castagnoli), binary.LittleEndian.Uint32(b[224:]); got != want {
				return nil, fmt.Errorf("xfs superblock at byte 0 is corrupt: checksum mismatch (stored %08x, computed %08x)", want, got)
			}
		}
	}
	sb := &Superblock{Type: "xfs", Usage: "filesystem", UUID: uuidString(b[32:48]), Label: cstr(b[108:120]),
		BlockSize: int64(bsize), Size: int64(be.Uint64(b[8:])) * int64(bsize)}
	st := &FSState{
		Blocks: be.Uint64(b[8:]), FreeBlocks: be.Uint64(b[144:]),
		Inodes: be.Uint64(b[128:]), FreeInodes: be.Uint64(b[136:]),
	}
	// needsrepair (xfsprogs 5.11): xfs_repair was interrupted, or an
	// administrator asked for a repair; the kernel refuses to mount.
	if version == 5 && be.Uint32(b[216:])&(1<<4) != 0 {
		st.Errors = true
		st.LastError = "the needsrepair flag is set"
	}
	dirty, why := xfsLogDirty(p, b)
	st.NeedsRecovery, st.LogUnknown = dirty, why
	sb.State = st
	return sb, nil
}

func withZeroCRC(b []byte, at int) []byte {
	if b == nil || len(b) < at+4 {
		return nil
	}
	c := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(c[at:], 0)
	return c
}

func probeBtrfs(p *prober) (*Superblock, error) {
	b := p.read(0x10000, 4096)
	if b == nil || !bytes.Equal(b[64:72], []byte("_BHRfS_M")) {
		return nil, nil
	}
	le := binary.LittleEndian
	if le.Uint16(b[196:]) == 0 { // crc32c
		if got, want := crc32.Checksum(b[32:], castagnoli), le.Uint32(b[0:]); got != want {
			return nil, fmt.Errorf("btrfs superblock at byte 65536 is corrupt: checksum mismatch (stored %08x, computed %08x)", want, got)
		}
	}
	sb := &Superblock{Type: "btrfs", Usage: "filesystem", UUID: uuidString(b[32:48]), UUIDSub: uuidString(b[267:283]),
		Label: cstr(b[299 : 299+256]), BlockSize: int64(le.Uint32(b[144:])), Size: int64(le.Uint64(b[112:]))}
	// A log tree holds fsync'ed data not yet committed: the filesystem
	// was not unmounted cleanly and the next rw mount replays it.
	sb.State = &FSState{NeedsRecovery: le.Uint64(b[96:]) != 0}
	return sb, nil
}

func probeSwap(p *prober) (*Superblock, error) {
	for _, page := range []int64{4096, 8192, 16384, 65536} {
		sig := p.read(page-10, 10)
		if sig == nil {
			continue
		}
		switch {
		case bytes.Equal(sig, []byte("SWAPSPACE2")):
			h := p.read(1024, 1024)
			if h == nil {
				continue
			}
			sb := &Superblock{Type: "swap", Usage: "other", Version: "1", Label: cstr(h[28:44]), BlockSize: page}
			if !allZero(h[12:28]) {
				sb.UUID = uuidString(h[12:28])
			}
			if lastPage := binary.LittleEndian.Uint32(h[4:]); lastPage > 0 {
				sb.Size = int64(lastPage+1) * page
			}
			return sb, nil
		case bytes.Equal(sig, []byte("SWAP-SPACE")):
			return &Superblock{Type: "swap", Usage: "other", Version: "0", BlockSize: page}, nil
		case bytes.HasPrefix(sig, []byte("S1SUSPEND")) || bytes.HasPrefix(sig, []byte("S2SUSPEND")) ||
			bytes.HasPrefix(sig, []byte("ULSUSPEND")) || bytes.Equal(sig, []byte("LINHIB0001")):
			h := p.read(1024, 1024)
			sb := &Superblock{Type: "swsuspend", Usage: "other", BlockSize: page}
			if h != nil && !allZero(h[12:28]) {
				sb.UUID, sb.Label = uuidString(h[12:28]), cstr(h[28:44])
			}
			return sb, nil
		}
	}
	return nil, nil
}

// probeLVM finds an LVM2 physical volume label in the first four sectors.
func probeLVM(p *prober) (*Superblock, error) {
	for s := int64(0); s < 4; s++ {
		b := p.read(s*512, 512)
		if b == nil || !bytes.Equal(b[:8], []byte("LABELONE")) || !bytes.Equal(b[24:32], []byte("LVM2 001")) {
			continue
		}
		if binary.LittleEndian.Uint64(b[8:]) != uint64(s) {
			continue
		}
		off := binary.LittleEndian.Uint32(b[20:])
		if off < 32 || off+32 > 512 {
			return nil, fmt.Errorf("LVM2 label in sector %d is corrupt: header offset %d", s, off)
		}
		if got, want := lvmCRC(b[20:]), binary.LittleEndian.Uint32(b[16:]); got != want {
			return nil, fmt.Errorf("LVM2 label in sector %d is corrupt: checksum mismatch (stored %08x, computed %08x)", s, want, got)
		}
		return &Superblock{Type: "LVM2_member", Usage: "raid", Version: "LVM2 001", UUID: lvmUUID(b[off : off+32])}, nil
	}
	return nil, nil
}

// lvmUUID formats a 32-character LVM id as LVM prints it (6-4-4-4-4-4-6).
func lvmUUID(b []byte) string {
	s := string(b)
	if len(s) != 32 {
		return s
	}
	return strings.Join([]string{s[0:6], s[6:10], s[10:14], s[14:18], s[18:22], s[22:26], s[26:32]}, "-")
}

// lvmCRC is LVM's calc_crc with its initial value: the CRC-32 polynomial,
// seeded with 0xf597a6cf and without the final inversion.
func lvmCRC(b []byte) uint32 {
	return ^crc32.Update(^uint32(0xf597a6cf), crc32.IEEETable, b)
}

func probeLUKS(p *prober) (*Superblock, error) {
	b := p.read(0, 512)
	if b == nil || !bytes.Equal(b[:6], []byte("LUKS\xba\xbe")) {
		return nil, nil
	}
	v := binary.BigEndian.Uint16(b[6:])
	sb := &Superblock{Type: "crypto_LUKS", Usage: "crypto", Version: fmt.Sprint(v), UUID: cstr(b[168:208])}
	if v == 2 {
		sb.Label = cstr(b[24:72])
	} else if v != 1 {
		return nil, fmt.Errorf("LUKS header at byte 0 has unknown version %d", v)
	}
	return sb, nil
}

// probeMD finds a Linux md RAID superblock of version 1.1 (at 0) or 1.2
// (at 4 KiB): the volume is one member of an array, not a filesystem.
func probeMD(p *prober) (*Superblock, error) {
	for _, off := range []int64{0, 4096} {
		b := p.read(off, 256)
		if b == nil || binary.LittleEndian.Uint32(b) != 0xa92b4efc || binary.LittleEndian.Uint32(b[4:]) != 1 {
			continue
		}
		return &Superblock{Type: "linux_raid_member", Usage: "raid", Version: map[int64]string{0: "1.1", 4096: "1.2"}[off],
			UUID: uuidString(b[16:32]), Label: cstr(b[32:64])}, nil
	}
	return nil, nil
}

func probeSquashfs(p *prober) (*Superblock, error) {
	b := p.read(0, 96)
	if b == nil || !bytes.Equal(b[:4], []byte("hsqs")) {
		return nil, nil
	}
	return &Superblock{Type: "squashfs", Usage: "filesystem", Version: fmt.Sprintf("%d.%d", binary.LittleEndian.Uint16(b[28:]), binary.LittleEndian.Uint16(b[30:])),
		Size: int64(binary.LittleEndian.Uint64(b[40:]))}, nil
}

func probeVFAT(p *prober) (*Superblock, error) {
	b := p.read(0, 512)
	if b == nil || !fat.LooksLikeBoot(b) {
		return nil, nil
	}
	g, err := fat.ParseGeometry(b)
	if err != nil {
		return nil, err
	}
	sb := &Superblock{Type: "vfat", Usage: "filesystem", Version: g.Version(), BlockSize: int64(g.BytesPerSector) * int64(g.SectorsPerCluster),
		Size: int64(g.TotalSectors) * int64(g.BytesPerSector)}
	serial, label := b[39:43], b[43:54]
	if g.FAT32 {
		serial, label = b[67:71], b[71:82]
	}
	sb.UUID = fmt.Sprintf("%02X%02X-%02X%02X", serial[3], serial[2], serial[1], serial[0])
	sb.Label = strings.TrimRight(cstr(label), " ")
	// The volume label entry in the root directory wins over the boot
	// sector's copy, as in blkid (Windows and mlabel update only it).
	if l, ok := fatRootLabel(g, p); ok {
		sb.Label = l
	}
	if sb.Label == "NO NAME" {
		sb.Label = ""
	}
	return sb, nil
}

// rootLabel reads the volume label entry of the root directory (the first
// cluster of it on FAT32).
func fatRootLabel(g *fat.Geometry, p *prober) (string, bool) {
	bps := int64(g.BytesPerSector)
	var off, n int64
	if g.FAT32 {
		if g.RootCluster < 2 || g.RootCluster-2 >= g.Clusters {
			return "", false
		}
		data := int64(g.Reserved) + int64(g.FATs)*int64(g.FATSectors)
		off = (data + int64(g.RootCluster-2)*int64(g.SectorsPerCluster)) * bps
		n = int64(g.SectorsPerCluster) * bps
	} else {
		off = (int64(g.Reserved) + int64(g.FATs)*int64(g.FATSectors)) * bps
		n = int64(g.RootEntries) * 32
	}
	d := p.read(off, n)
	for i := 0; i+32 <= len(d); i += 32 {
		e := d[i : i+32]
		if e[0] == 0 {
			break
		}
		if e[0] == 0xe5 || e[11] == 0x0f || e[11]&0x08 == 0 || e[11]&0x10 != 0 {
			continue
		}
		return strings.TrimRight(string(e[:11]), " "), true
	}
	return "", false
}
