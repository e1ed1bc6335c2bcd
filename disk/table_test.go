package disk

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// mbrDisk builds a disk image in memory with a DOS table of the given
// entries (type, start LBA, sectors).
func mbrDisk(size int, sig uint32, entries ...[3]uint32) []byte {
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b[440:], sig)
	for i, e := range entries {
		o := 446 + 16*i
		b[o+4] = byte(e[0])
		binary.LittleEndian.PutUint32(b[o+8:], e[1])
		binary.LittleEndian.PutUint32(b[o+12:], e[2])
	}
	b[510], b[511] = 0x55, 0xaa
	return b
}

// ebr writes an extended boot record at byte off: a logical partition
// (relative to the EBR) and a link to the next EBR (relative to the
// extended partition).
func ebr(b []byte, off int, logStart, logCount, nextStart, nextCount uint32) {
	s := b[off : off+512]
	s[446+4] = 0x83
	binary.LittleEndian.PutUint32(s[446+8:], logStart)
	binary.LittleEndian.PutUint32(s[446+12:], logCount)
	if nextStart != 0 {
		s[462+4] = 0x05
		binary.LittleEndian.PutUint32(s[462+8:], nextStart)
		binary.LittleEndian.PutUint32(s[462+12:], nextCount)
	}
	s[510], s[511] = 0x55, 0xaa
}

func TestEBRChain(t *testing.T) {
	const sectors = 4096
	b := mbrDisk(sectors*512, 0xcafe0001, [3]uint32{0x83, 2048, 100}, [3]uint32{0x05, 2200, 1800})
	// Two logical partitions: 2201..2300 and 2401..2500.
	ebr(b, 2200*512, 1, 100, 200, 101)
	ebr(b, 2400*512, 1, 100, 0, 0)
	tab, err := ReadTable(bytesReaderAt(b), int64(len(b)))
	require.NoError(t, err)
	require.Empty(t, tab.Warnings)
	require.Equal(t, "dos", tab.Kind)
	require.Equal(t, "cafe0001", tab.ID)
	require.Len(t, tab.Partitions, 4)
	l := tab.Partitions[2:]
	require.Equal(t, 5, l[0].Number)
	require.Equal(t, int64(2201*512), l[0].Start)
	require.Equal(t, 6, l[1].Number)
	require.Equal(t, int64(2401*512), l[1].Start)
	require.Equal(t, "cafe0001-06", l[1].PartUUID)

	// A chain whose last EBR links to itself ends with a warning.
	ebr(b, 2400*512, 1, 100, 200, 101)
	tab, err = ReadTable(bytesReaderAt(b), int64(len(b)))
	require.NoError(t, err)
	require.Len(t, tab.Warnings, 1)
	require.Contains(t, tab.Warnings[0], "loops back")

	// A logical partition outside its extended partition.
	ebr(b, 2400*512, 5000, 100, 0, 0)
	tab, err = ReadTable(bytesReaderAt(b), int64(len(b)))
	require.NoError(t, err)
	require.NotEmpty(t, tab.Partitions[3].Problem)
	require.Contains(t, strings.Join(tab.Warnings, "\n"), "partition 6")
}

func TestMBRRejects(t *testing.T) {
	b := mbrDisk(1<<20, 1, [3]uint32{0x83, 2048, 100})
	b[446] = 0x12 // not a boot indicator
	_, err := ReadTable(bytesReaderAt(b), int64(len(b)))
	require.ErrorIs(t, err, ErrNoTable)
	require.ErrorContains(t, err, "invalid boot indicator")

	b[510] = 0
	_, err = ReadTable(bytesReaderAt(b), int64(len(b)))
	require.ErrorIs(t, err, ErrNoTable)

	_, err = ReadTable(bytesReaderAt(b[:100]), 100)
	require.ErrorIs(t, err, ErrNoTable)

	// A partition past the end of the disk.
	b = mbrDisk(1<<20, 1, [3]uint32{0x83, 2048, 100000})
	tab, err := ReadTable(bytesReaderAt(b), int64(len(b)))
	require.NoError(t, err)
	require.Contains(t, tab.Partitions[0].Problem, "past the end")
}

// gptDisk builds a minimal valid GPT in memory.
func gptDisk(sectors int, parts int) []byte {
	b := mbrDisk(sectors*512, 0, [3]uint32{0xee, 1, uint32(sectors - 1)})
	entries := make([]byte, 128*128)
	for i := 0; i < parts; i++ {
		e := entries[i*128:]
		copy(e[0:16], []byte{0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4})
		e[16] = byte(i + 1)
		binary.LittleEndian.PutUint64(e[32:], uint64(2048+i*100))
		binary.LittleEndian.PutUint64(e[40:], uint64(2048+i*100+99))
		copy(e[56:], []byte{'r', 0, 'o', 0, 'o', 0, 't', 0})
	}
	write := func(lba, alt, entryLBA uint64) {
		copy(b[entryLBA*512:], entries)
		h := b[lba*512 : lba*512+512]
		copy(h, "EFI PART")
		binary.LittleEndian.PutUint32(h[8:], 0x10000)
		binary.LittleEndian.PutUint32(h[12:], 92)
		binary.LittleEndian.PutUint64(h[24:], lba)
		binary.LittleEndian.PutUint64(h[32:], alt)
		binary.LittleEndian.PutUint64(h[40:], 34)
		binary.LittleEndian.PutUint64(h[48:], uint64(sectors-34))
		binary.LittleEndian.PutUint64(h[72:], entryLBA)
		binary.LittleEndian.PutUint32(h[80:], 128)
		binary.LittleEndian.PutUint32(h[84:], 128)
		binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(entries))
		binary.LittleEndian.PutUint32(h[16:], 0)
		binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
	}
	last := uint64(sectors - 1)
	write(1, last, 2)
	write(last, 1, last-32)
	return b
}

func TestGPT(t *testing.T) {
	b := gptDisk(8192, 3)
	tab, err := ReadTable(bytesReaderAt(b), int64(len(b)))
	require.NoError(t, err)
	require.Empty(t, tab.Warnings)
	require.Len(t, tab.Partitions, 3)
	require.Equal(t, "linux", tab.Partitions[0].TypeName)
	require.Equal(t, "0FC63DAF-8483-4772-8E79-3D69D8477DE4", tab.Partitions[0].Type)
	require.Equal(t, "root", tab.Partitions[1].Name)
	require.Equal(t, int64(2148*512), tab.Partitions[1].Start)

	// A corrupt entry array in the primary: the backup's is used.
	c := append([]byte(nil), b...)
	c[2*512+200] ^= 1
	tab, err = ReadTable(bytesReaderAt(c), int64(len(c)))
	require.NoError(t, err)
	require.Len(t, tab.Partitions, 3)
	require.Contains(t, tab.Warnings[0], "entries at LBA 2: checksum mismatch")

	// An absurd entry count is refused, not allocated.
	c = append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(c[512+80:], 1<<30)
	h := c[512 : 512+92]
	binary.LittleEndian.PutUint32(h[16:], 0)
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h))
	tab, err = ReadTable(bytesReaderAt(c), int64(len(c)))
	require.NoError(t, err)
	require.Contains(t, tab.Warnings[0], "not a valid entry array")

	// Sector 0 wiped: the GPT is still found, with a warning.
	c = append([]byte(nil), b...)
	clear(c[:512])
	tab, err = ReadTable(bytesReaderAt(c), int64(len(c)))
	require.NoError(t, err)
	require.Len(t, tab.Partitions, 3)
	require.Contains(t, tab.Warnings[0], "no protective MBR")

	// The disk cut short: the backup is gone and partition 3 is past the end.
	c = append([]byte(nil), b[:2200*512]...)
	tab, err = ReadTable(bytesReaderAt(c), int64(len(c)))
	require.NoError(t, err)
	require.Contains(t, tab.Partitions[2].Problem, "past the end of the disk")
}

func TestParseVGMetadata(t *testing.T) {
	text, err := os.ReadFile("testdata/rhel.vg")
	require.NoError(t, err)
	vg, err := ParseVGMetadata(text)
	require.NoError(t, err)
	require.Equal(t, "rootvg", vg.Name)
	require.Equal(t, int64(7), vg.Seqno)
	require.Equal(t, int64(4<<20), vg.ExtentSize)
	require.Len(t, vg.PVs, 2)
	require.Equal(t, int64(1<<20), vg.PVs[0].PEStart)

	// Two segments that follow each other on one PV are one byte range.
	pv, r, err := vg.LinearRange(vg.LV("rootlv"))
	require.NoError(t, err)
	require.Equal(t, "pv0", pv.Name)
	require.Equal(t, Range{Offset: 1 << 20, Size: 5 * 4 << 20}, r)

	_, _, err = vg.LinearRange(vg.LV("varlv"))
	require.ErrorContains(t, err, "striped over 2 PVs")
	_, _, err = vg.LinearRange(vg.LV("thin"))
	require.ErrorContains(t, err, "of type thin, not linear")
	require.False(t, vg.LV("pool_tdata").Visible())
	require.True(t, vg.LV("thin").Visible())

	require.Equal(t, "/dev/mapper/root--vg-lv--a", MapperName("root-vg", "lv-a"))

	for _, bad := range []string{
		"vg {", "vg { extent_size = }", "vg { x = [1, }", `vg { x = "unterminated }`, "}", "vg { id = \"a\" }",
		"a { extent_size = 8 } b { extent_size = 8 }", "", "vg { extent_size = 8 logical_volumes { lv { segment1 { type = \"striped\" stripes = [ 1, \"pv0\" ] } } } }",
		strings.Repeat("a {", 100) + strings.Repeat("}", 100),
	} {
		_, err := ParseVGMetadata([]byte(bad))
		require.Error(t, err, "%q", bad)
	}
}

func FuzzReadTable(f *testing.F) {
	f.Add(gptDisk(256, 2))
	f.Add(mbrDisk(64*512, 7, [3]uint32{0x83, 1, 10}, [3]uint32{0x05, 12, 40}))
	b := mbrDisk(64*512, 7, [3]uint32{0x05, 8, 50})
	ebr(b, 8*512, 1, 4, 10, 10)
	ebr(b, 18*512, 1, 4, 0, 0)
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := ReadTable(bytesReaderAt(data), int64(len(data)))
		if err == nil {
			for _, p := range tab.Partitions {
				if p.Problem == "" && (p.Start < 0 || p.Start+p.Size > int64(len(data))) {
					t.Fatalf("partition %d (%d+%d) lies outside the %d-byte disk without a problem", p.Number, p.Start, p.Size, len(data))
				}
			}
		}
		ProbeReader("fuzz.img", bytesReaderAt(data), int64(len(data)))
	})
}

func FuzzProbeFS(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sb, err := ProbeFS(bytesReaderAt(data), int64(len(data)))
		if err == nil && sb != nil && sb.Type == "" {
			t.Fatal("a superblock without a type")
		}
		ReadVG(bytesReaderAt(data), int64(len(data)))
	})
}

func FuzzParseVGMetadata(f *testing.F) {
	text, _ := os.ReadFile("testdata/rhel.vg")
	f.Add(text)
	f.Add([]byte(`vg { extent_size = 8192 }`))
	f.Fuzz(func(t *testing.T, data []byte) {
		vg, err := ParseVGMetadata(data)
		if err != nil {
			return
		}
		for i := range vg.LVs {
			if _, r, err := vg.LinearRange(&vg.LVs[i]); err == nil && (r.Size <= 0 || r.Offset < 0) {
				t.Fatalf("LV %s: a linear range %+v", vg.LVs[i].Name, r)
			}
		}
	})
}

// fuzzSeeds are small superblocks of every kind the prober knows, cut out
// of real filesystems kept in testdata when they are there.
func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	ext := make([]byte, 2048)
	binary.LittleEndian.PutUint16(ext[1024+56:], 0xef53)
	seeds = append(seeds, ext)
	xfs := make([]byte, 4096)
	copy(xfs, "XFSB")
	binary.BigEndian.PutUint32(xfs[4:], 4096)
	binary.BigEndian.PutUint64(xfs[8:], 100)
	binary.BigEndian.PutUint16(xfs[102:], 512)
	binary.BigEndian.PutUint32(xfs[84:], 50)
	binary.BigEndian.PutUint32(xfs[88:], 2)
	binary.BigEndian.PutUint64(xfs[48:], 3)
	binary.BigEndian.PutUint32(xfs[96:], 2)
	seeds = append(seeds, xfs)
	swap := make([]byte, 4096)
	copy(swap[4096-10:], "SWAPSPACE2")
	seeds = append(seeds, swap)
	lvm := make([]byte, 8192)
	copy(lvm[512:], "LABELONE")
	copy(lvm[512+24:], "LVM2 001")
	seeds = append(seeds, lvm)
	luks := make([]byte, 1024)
	copy(luks, "LUKS\xba\xbe\x00\x02")
	seeds = append(seeds, luks)
	if entries, err := os.ReadDir("testdata/sb"); err == nil {
		for _, e := range entries {
			if data, err := os.ReadFile("testdata/sb/" + e.Name()); err == nil {
				seeds = append(seeds, data)
			}
		}
	}
	return seeds
}

func TestResolve(t *testing.T) {
	d := &Disk{Table: &Table{Kind: "gpt"}}
	p1 := &Partition{Number: 1, PartUUID: "aaaa-01", Name: "EFI"}
	p2 := &Partition{Number: 2, PartUUID: "aaaa-02"}
	d.Volumes = []*Volume{
		{Name: "/dev/vdb1", Kind: KindPartition, Partition: p1, FS: &Superblock{Type: "vfat", UUID: "12AB-34CD", Label: "ESP"}},
		{Name: "/dev/vdb2", Kind: KindPartition, Partition: p2, FS: &Superblock{Type: "LVM2_member"}},
		{Name: MapperName("vg-root", "lv_root"), Kind: KindLV, VG: "vg-root", LV: "lv_root", FS: &Superblock{Type: "xfs", UUID: "2222", Label: "my root"}},
	}
	for spec, want := range map[string]string{
		"UUID=12ab-34cd": "/dev/vdb1", `UUID="2222"`: "/dev/mapper/vg--root-lv_root", "LABEL=ESP": "/dev/vdb1",
		"PARTUUID=AAAA-02": "/dev/vdb2", "PARTLABEL=EFI": "/dev/vdb1", "/dev/disk/by-uuid/2222": "/dev/mapper/vg--root-lv_root",
		`/dev/disk/by-label/my\x20root`: "/dev/mapper/vg--root-lv_root", "/dev/mapper/vg--root-lv_root": "/dev/mapper/vg--root-lv_root",
		"/dev/vg-root/lv_root": "/dev/mapper/vg--root-lv_root", "/dev/xvda2": "/dev/vdb2",
		"/dev/disk/by-partuuid/aaaa-01": "/dev/vdb1", "/dev/disk/by-partlabel/EFI": "/dev/vdb1", " LABEL=ESP\t": "/dev/vdb1",
		"UUID=9999": "", "LABEL=esp": "", "/dev/sdb": "", "tmpfs": "", "UUID=": "", `UUID=""`: "", "/dev/disk/by-uuid/": "",
	} {
		v, byNumber := d.Resolve(spec)
		got := ""
		if v != nil {
			got = v.Name
		}
		require.Equal(t, want, got, spec)
		require.Equal(t, spec == "/dev/xvda2", byNumber, spec)
	}
}
