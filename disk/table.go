package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"unicode/utf16"

	"rescue/disk/fat"
)

// Table is a partition table.
type Table struct {
	// Kind is "gpt" or "dos", as blkid's PTTYPE.
	Kind string `json:"kind"`
	// ID is the GPT disk GUID or the DOS disk signature, in blkid's
	// PTUUID form (lower case; 8 hex digits for DOS).
	ID         string `json:"id"`
	SectorSize int64  `json:"sector_size"`
	// Partitions in table order; for DOS the primary and extended ones,
	// then the logical ones from the EBR chain, numbered from 5.
	Partitions []Partition `json:"partitions"`
	// Warnings say what was wrong with the table and what was done about
	// it ("the primary GPT header is corrupt; using the backup").
	Warnings []string `json:"warnings,omitempty"`
}

// Partition is one entry of a partition table.
type Partition struct {
	// Number is the partition number as Linux numbers it (vdb5 is 5).
	Number int   `json:"number"`
	Start  int64 `json:"start"` // bytes from the start of the disk
	Size   int64 `json:"size"`  // bytes
	// Type is the GPT type GUID (upper case) or the DOS type byte
	// ("0x83"); TypeName names the common ones (linux, esp, swap, lvm,
	// extended, bios-boot, …).
	Type     string `json:"type"`
	TypeName string `json:"type_name,omitempty"`
	// PartUUID is what blkid calls PARTUUID: the GPT partition GUID (lower
	// case), or SIGNATURE-NN on DOS.
	PartUUID string `json:"partuuid,omitempty"`
	// Name is the GPT partition name (blkid's PARTLABEL).
	Name     string `json:"name,omitempty"`
	Bootable bool   `json:"bootable,omitempty"`
	Logical  bool   `json:"logical,omitempty"`
	// Problem says why the partition cannot be used as it stands (it
	// lies past the end of the disk); "" when it is sound.
	Problem string `json:"problem,omitempty"`
}

// IsExtended reports whether p is a DOS extended partition (a container of
// logical partitions, not a filesystem).
func (p *Partition) IsExtended() bool { return p.TypeName == "extended" }

var gptTypeNames = map[string]string{
	"C12A7328-F81F-11D2-BA4B-00A0C93EC93B": "esp",
	"0FC63DAF-8483-4772-8E79-3D69D8477DE4": "linux",
	"0657FD6D-A4AB-43C4-84E5-0933C84B4F4F": "swap",
	"E6D6D379-F507-44C2-A23C-238F2A3DF928": "lvm",
	"A19D880F-05FC-4D3B-A006-743F0F84911E": "raid",
	"21686148-6449-6E6F-744E-656564454649": "bios-boot",
	"4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709": "linux-root-x86-64",
	"44479540-F297-41B2-9AF7-D131D5F0458A": "linux-root-x86",
	"B921B045-1DF0-41C3-AF44-4C6F280D3FAE": "linux-root-arm64",
	"BC13C2FF-59E6-4262-A352-B275FD6F7172": "linux-extended-boot",
	"933AC7E1-2EB4-4F13-B844-0E14E2AEF915": "linux-home",
	"3B8F8425-20E0-4F3B-907F-1A25A76F98E8": "linux-srv",
	"4D21B016-B534-45C2-A9FB-5C16E091FD2D": "linux-var",
	"8484680C-9521-48C6-9C11-B0720656F69E": "linux-usr-x86-64",
	"CA7D7CCB-63ED-4C53-861C-1742536059CC": "luks",
	"EBD0A0A2-B9E5-4433-87C0-68B6B72699C7": "microsoft-basic-data",
	"E3C9E316-0B5C-4DB8-817D-F92DF00215AE": "microsoft-reserved",
	"6A898CC3-1DD2-11B2-99A6-080020736631": "zfs",
	"9E1A2D38-C612-4316-AA26-8B49521E5A8B": "prep",
}

var dosTypeNames = map[byte]string{
	0x83: "linux", 0x82: "swap", 0x8e: "lvm", 0xef: "esp", 0xfd: "raid",
	0x05: "extended", 0x0f: "extended", 0x85: "extended",
	0x01: "fat12", 0x04: "fat16", 0x06: "fat16", 0x0b: "fat32", 0x0c: "fat32", 0x0e: "fat16",
	0x07: "ntfs", 0xee: "gpt-protective", 0x41: "prep", 0xa5: "freebsd",
}

// ErrNoTable means the disk has no partition table rescue can read: it may
// hold a filesystem as a whole, or nothing.
var ErrNoTable = errors.New("no partition table")

// maxGPTEntryBytes bounds the partition entry array a GPT header may ask
// for: the standard one is 16 KiB; a header that asks for gigabytes is
// corrupt, not a reason to run out of memory.
const maxGPTEntryBytes = 4 << 20

// maxLogical bounds the EBR chain: a loop in a corrupt chain must end.
const maxLogical = 256

// ReadTable reads the partition table of a disk of size bytes. It returns
// ErrNoTable when there is none. A corrupt primary GPT falls back to the
// backup (with a warning); a partition that runs past the end of the disk
// is kept, with its Problem set.
func ReadTable(r io.ReaderAt, size int64) (*Table, error) {
	if size < 512 {
		return nil, fmt.Errorf("the disk is %d bytes long, too short for a partition table: %w", size, ErrNoTable)
	}
	mbr := make([]byte, 512)
	if _, err := r.ReadAt(mbr, 0); err != nil {
		return nil, fmt.Errorf("reading sector 0: %w", err)
	}
	m, mbrErr := parseMBR(mbr)
	protective := m != nil && m.protective
	// GPT: sector size 512, else 4096 (4Kn disks).
	for _, ss := range []int64{512, 4096} {
		if size < 2*ss {
			continue
		}
		// The backup header is looked for when sector 0 says GPT, or when
		// sector 0 is no MBR at all (zeroed): a plain MBR disk may carry a
		// stale backup GPT from an earlier life at its end.
		t, err := readGPT(r, size, ss, protective || m == nil)
		if err == nil {
			if m == nil || !protective {
				t.Warnings = append([]string{"the disk has a GPT but no protective MBR (sector 0 was overwritten?); firmware in BIOS mode may not boot it"}, t.Warnings...)
			}
			return t, nil
		}
		if protective && !errors.Is(err, errNoGPTHeader) {
			return nil, fmt.Errorf("the disk has a GPT, but it cannot be read: %w", err)
		}
	}
	if protective {
		return nil, fmt.Errorf("sector 0 is a protective MBR, but neither the primary nor the backup GPT header can be read")
	}
	if m != nil {
		return m.table(r, size)
	}
	return nil, fmt.Errorf("%v: %w", mbrErr, ErrNoTable)
}

var errNoGPTHeader = errors.New("no GPT header")

// gptHeader is a parsed GPT header.
type gptHeader struct {
	current, alternate   uint64
	firstUsable, lastUse uint64
	diskGUID             string
	entryLBA             uint64
	entries, entrySize   uint32
	entriesCRC           uint32
}

func parseGPTHeader(b []byte, lba uint64) (*gptHeader, error) {
	if !bytes.Equal(b[:8], []byte("EFI PART")) {
		return nil, errNoGPTHeader
	}
	hsize := binary.LittleEndian.Uint32(b[12:])
	if hsize < 92 || int(hsize) > len(b) {
		return nil, fmt.Errorf("GPT header at LBA %d: header size %d is invalid", lba, hsize)
	}
	want := binary.LittleEndian.Uint32(b[16:])
	h := append([]byte(nil), b[:hsize]...)
	binary.LittleEndian.PutUint32(h[16:], 0)
	if got := crc32.ChecksumIEEE(h); got != want {
		return nil, fmt.Errorf("GPT header at LBA %d: checksum mismatch (stored %08x, computed %08x)", lba, want, got)
	}
	g := &gptHeader{
		current:     binary.LittleEndian.Uint64(b[24:]),
		alternate:   binary.LittleEndian.Uint64(b[32:]),
		firstUsable: binary.LittleEndian.Uint64(b[40:]),
		lastUse:     binary.LittleEndian.Uint64(b[48:]),
		diskGUID:    guid(b[56:72]),
		entryLBA:    binary.LittleEndian.Uint64(b[72:]),
		entries:     binary.LittleEndian.Uint32(b[80:]),
		entrySize:   binary.LittleEndian.Uint32(b[84:]),
		entriesCRC:  binary.LittleEndian.Uint32(b[88:]),
	}
	if g.current != lba {
		return nil, fmt.Errorf("GPT header at LBA %d says it is at LBA %d", lba, g.current)
	}
	if g.entrySize < 128 || g.entrySize%8 != 0 || uint64(g.entries)*uint64(g.entrySize) > maxGPTEntryBytes {
		return nil, fmt.Errorf("GPT header at LBA %d: %d entries of %d bytes is not a valid entry array", lba, g.entries, g.entrySize)
	}
	return g, nil
}

// readGPT reads the primary GPT, or the backup when the primary is
// corrupt.
func readGPT(r io.ReaderAt, size, ss int64, tryBackup bool) (*Table, error) {
	lastLBA := uint64(size/ss - 1)
	primary, perr := readGPTAt(r, size, ss, 1)
	if perr == nil {
		return primary, nil
	}
	if errors.Is(perr, errNoGPTHeader) && !tryBackup {
		return nil, perr
	}
	backup, berr := readGPTAt(r, size, ss, lastLBA)
	if berr != nil {
		if errors.Is(perr, errNoGPTHeader) && errors.Is(berr, errNoGPTHeader) {
			return nil, errNoGPTHeader
		}
		return nil, fmt.Errorf("primary GPT: %v; backup GPT: %v", perr, berr)
	}
	backup.Warnings = append(backup.Warnings, fmt.Sprintf("the primary GPT is unreadable (%v); using the backup GPT at the end of the disk (LBA %d). Writing the table again (sgdisk -e, or fdisk's w) would restore the primary", perr, lastLBA))
	return backup, nil
}

func readGPTAt(r io.ReaderAt, size, ss int64, lba uint64) (*Table, error) {
	b := make([]byte, ss)
	if _, err := r.ReadAt(b, int64(lba)*ss); err != nil {
		return nil, fmt.Errorf("reading the GPT header at LBA %d: %w", lba, err)
	}
	h, err := parseGPTHeader(b, lba)
	if err != nil {
		return nil, err
	}
	n := int64(h.entries) * int64(h.entrySize)
	off := int64(h.entryLBA) * ss
	if h.entryLBA > uint64(size/ss) || off+n > size {
		return nil, fmt.Errorf("GPT header at LBA %d: the partition entries (LBA %d, %d bytes) lie past the end of the disk (%d bytes)", lba, h.entryLBA, n, size)
	}
	arr := make([]byte, n)
	if _, err := r.ReadAt(arr, off); err != nil {
		return nil, fmt.Errorf("reading the GPT entries at LBA %d: %w", h.entryLBA, err)
	}
	if got := crc32.ChecksumIEEE(arr); got != h.entriesCRC {
		return nil, fmt.Errorf("GPT entries at LBA %d: checksum mismatch (stored %08x, computed %08x)", h.entryLBA, h.entriesCRC, got)
	}
	t := &Table{Kind: "gpt", ID: strings.ToLower(h.diskGUID), SectorSize: ss}
	for i := 0; i < int(h.entries); i++ {
		e := arr[i*int(h.entrySize) : (i+1)*int(h.entrySize)]
		typ := guid(e[0:16])
		if typ == "00000000-0000-0000-0000-000000000000" {
			continue
		}
		first := binary.LittleEndian.Uint64(e[32:])
		last := binary.LittleEndian.Uint64(e[40:])
		attrs := binary.LittleEndian.Uint64(e[48:])
		p := Partition{
			Number:   i + 1,
			Type:     typ,
			TypeName: gptTypeNames[typ],
			PartUUID: strings.ToLower(guid(e[16:32])),
			Name:     utf16Name(e[56:128]),
			Bootable: attrs&(1<<2) != 0,
		}
		if last < first || first > uint64(size) {
			p.Problem = fmt.Sprintf("the entry is invalid (first LBA %d, last LBA %d)", first, last)
			t.Warnings = append(t.Warnings, fmt.Sprintf("partition %d: %s", p.Number, p.Problem))
			t.Partitions = append(t.Partitions, p)
			continue
		}
		p.Start = int64(first) * ss
		p.Size = int64(last-first+1) * ss
		checkBounds(t, &p, size)
		t.Partitions = append(t.Partitions, p)
	}
	return t, nil
}

// checkBounds marks a partition that runs past the end of the disk.
func checkBounds(t *Table, p *Partition, size int64) {
	if p.Start >= size {
		p.Problem = fmt.Sprintf("it starts at byte %d, past the end of the disk (%d bytes): the image is truncated or the table is wrong", p.Start, size)
	} else if p.Start+p.Size > size {
		p.Problem = fmt.Sprintf("it ends at byte %d, past the end of the disk (%d bytes): the image is truncated or the table is wrong", p.Start+p.Size, size)
	}
	if p.Problem != "" {
		t.Warnings = append(t.Warnings, fmt.Sprintf("partition %d: %s", p.Number, p.Problem))
	}
}

// guid formats a GPT GUID (mixed endian) in upper case.
func guid(b []byte) string {
	return fmt.Sprintf("%08X-%04X-%04X-%X-%X",
		binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]), binary.LittleEndian.Uint16(b[6:8]),
		b[8:10], b[10:16])
}

func utf16Name(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// mbr is a parsed master boot record.
type mbr struct {
	signature  uint32
	entries    [4]mbrEntry
	protective bool
}

type mbrEntry struct {
	status byte
	typ    byte
	start  uint32 // LBA
	count  uint32 // sectors
}

func parseMBREntries(b []byte) [4]mbrEntry {
	var es [4]mbrEntry
	for i := range es {
		e := b[446+16*i:]
		es[i] = mbrEntry{status: e[0], typ: e[4], start: binary.LittleEndian.Uint32(e[8:]), count: binary.LittleEndian.Uint32(e[12:])}
	}
	return es
}

// parseMBR reads sector 0 as a DOS partition table. Like blkid, it takes
// a sector with the 55AA signature but the look of a FAT or NTFS boot
// sector (a whole-disk filesystem) for no table, and refuses entries with
// invalid boot indicators.
func parseMBR(b []byte) (*mbr, error) {
	if b[510] != 0x55 || b[511] != 0xaa {
		return nil, errors.New("sector 0 has no MBR signature")
	}
	m := &mbr{signature: binary.LittleEndian.Uint32(b[440:]), entries: parseMBREntries(b)}
	for _, e := range m.entries {
		if e.typ == 0xee {
			m.protective = true
		}
	}
	if m.protective {
		return m, nil
	}
	if fat.LooksLikeBoot(b) || bytes.Equal(b[3:11], []byte("NTFS    ")) {
		return nil, errors.New("sector 0 is a filesystem boot sector, not a partition table")
	}
	for i, e := range m.entries {
		if e.status != 0 && e.status != 0x80 {
			return nil, fmt.Errorf("MBR entry %d has an invalid boot indicator 0x%02x: not a partition table", i+1, e.status)
		}
	}
	return m, nil
}

func (m *mbr) table(r io.ReaderAt, size int64) (*Table, error) {
	const ss = 512
	t := &Table{Kind: "dos", ID: fmt.Sprintf("%08x", m.signature), SectorSize: ss}
	var ext *Partition
	for i, e := range m.entries {
		if e.typ == 0 || e.count == 0 {
			continue
		}
		p := Partition{Number: i + 1, Start: int64(e.start) * ss, Size: int64(e.count) * ss,
			Type: fmt.Sprintf("0x%x", e.typ), TypeName: dosTypeNames[e.typ], Bootable: e.status == 0x80,
			PartUUID: fmt.Sprintf("%08x-%02x", m.signature, i+1)}
		checkBounds(t, &p, size)
		t.Partitions = append(t.Partitions, p)
		if p.IsExtended() {
			if ext != nil {
				t.Warnings = append(t.Warnings, fmt.Sprintf("partition %d is a second extended partition; only the first is followed", p.Number))
				continue
			}
			ext = &t.Partitions[len(t.Partitions)-1]
		}
	}
	if ext != nil && ext.Problem == "" {
		logical, warns := readEBRChain(r, size, ext.Start, ext.Size, m.signature)
		t.Partitions = append(t.Partitions, logical...)
		t.Warnings = append(t.Warnings, warns...)
	}
	return t, nil
}

// readEBRChain follows the extended boot records. Each EBR's first entry
// is a logical partition, relative to that EBR; its second entry links to
// the next EBR, relative to the start of the extended partition.
func readEBRChain(r io.ReaderAt, size, extStart, extSize int64, sig uint32) ([]Partition, []string) {
	const ss = 512
	var out []Partition
	var warns []string
	seen := map[int64]bool{}
	ebr := extStart
	num := 5
	b := make([]byte, ss)
	for {
		if seen[ebr] {
			warns = append(warns, fmt.Sprintf("the chain of logical partitions loops back to byte %d; stopped there", ebr))
			break
		}
		if len(out) >= maxLogical {
			warns = append(warns, fmt.Sprintf("more than %d logical partitions; the chain is corrupt; stopped there", maxLogical))
			break
		}
		seen[ebr] = true
		if ebr+ss > size {
			warns = append(warns, fmt.Sprintf("the extended boot record at byte %d lies past the end of the disk", ebr))
			break
		}
		if _, err := r.ReadAt(b, ebr); err != nil {
			warns = append(warns, fmt.Sprintf("reading the extended boot record at byte %d: %v", ebr, err))
			break
		}
		if b[510] != 0x55 || b[511] != 0xaa {
			if ebr != extStart {
				warns = append(warns, fmt.Sprintf("the extended boot record at byte %d has no signature; the logical partitions after it are lost", ebr))
			} else if !allZero(b) {
				warns = append(warns, "the extended partition's first boot record has no signature; no logical partitions read")
			}
			break
		}
		es := parseMBREntries(b)
		if e := es[0]; e.typ != 0 && e.count != 0 {
			p := Partition{Number: num, Start: ebr + int64(e.start)*ss, Size: int64(e.count) * ss,
				Type: fmt.Sprintf("0x%x", e.typ), TypeName: dosTypeNames[e.typ], Bootable: e.status == 0x80,
				Logical: true, PartUUID: fmt.Sprintf("%08x-%02x", sig, num)}
			t := &Table{}
			checkBounds(t, &p, size)
			if p.Problem == "" && (p.Start < extStart || p.Start+p.Size > extStart+extSize) {
				p.Problem = fmt.Sprintf("it lies outside its extended partition (bytes %d-%d)", extStart, extStart+extSize)
				t.Warnings = append(t.Warnings, fmt.Sprintf("partition %d: %s", p.Number, p.Problem))
			}
			warns = append(warns, t.Warnings...)
			out = append(out, p)
			num++
		}
		next := es[1]
		if next.typ == 0 || next.start == 0 {
			break
		}
		ebr = extStart + int64(next.start)*ss
	}
	return out, warns
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
