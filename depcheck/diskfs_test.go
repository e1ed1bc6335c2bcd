package depcheck

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"runtime"
	"strings"
	"testing"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/gpt"
	"github.com/diskfs/go-diskfs/partition/mbr"
	"github.com/stretchr/testify/require"

	"rescue/disk"
)

// readOurs reads an image's table with rescue's own reader.
func readOurs(t *testing.T, p string) *disk.Table {
	t.Helper()
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	fi, err := f.Stat()
	require.NoError(t, err)
	tab, err := disk.ReadTable(f, fi.Size())
	require.NoError(t, err)
	return tab
}

// go-diskfs reads the four primary MBR entries and nothing more: the
// logical partitions of an extended partition (sfdisk's 5 and 6 here) are
// not listed, so a root on /dev/sda5 would not be found. rescue walks the
// EBR chain (disk/table.go).
func TestDiskfsMBRLogicalPartitions(t *testing.T) {
	need(t, "sfdisk")
	p := sparse(t, "dos.img", 64)
	run(t, "label: dos\nlabel-id: 0xcafe0001\nstart=2048, size=20480, type=83\nstart=22528, size=100000, type=5\n"+
		"start=24576, size=8192, type=83\nstart=34816, size=8192, type=82\n", "sfdisk", "-q", p)

	ours := readOurs(t, p)
	require.Len(t, ours.Partitions, 4, "rescue reads 1, 2 (extended), 5 and 6")
	require.Equal(t, 5, ours.Partitions[2].Number)
	require.Equal(t, int64(24576*512), ours.Partitions[2].Start)

	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	tab, err := mbr.Read(f, 512, 512)
	require.NoError(t, err)
	var starts []uint32
	for _, part := range tab.Partitions {
		if part.Type != mbr.Empty {
			starts = append(starts, part.Start)
		}
	}
	require.Equal(t, []uint32{2048, 22528}, starts,
		"go-diskfs now lists more than the primary entries (logical partitions?): revisit the partition-table line of docs/dependencies.md")
}

// On a real GPT go-diskfs agrees with rescue (and so with sfdisk, which
// disk's own tests compare with): the partitions' places, types, GUIDs and
// names. This is what would make it usable for GPT.
func TestDiskfsGPTAgrees(t *testing.T) {
	need(t, "sfdisk")
	p := sparse(t, "gpt.img", 64)
	run(t, "label: gpt\nstart=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name=bios\n"+
		"start=4096, size=32768, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=\"EFI System\"\n"+
		"start=36864, size=60000, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root\n", "sfdisk", "-q", p)
	ours := readOurs(t, p)
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	tab, err := gpt.Read(f, 512, 512)
	require.NoError(t, err)
	require.Len(t, tab.Partitions, len(ours.Partitions))
	for i, part := range tab.Partitions {
		o := ours.Partitions[i]
		require.Equal(t, o.Start, int64(part.Start)*512)
		require.Equal(t, o.Size, int64(part.Size))
		require.Equal(t, o.Type, strings.ToUpper(string(part.Type)))
		require.Equal(t, o.PartUUID, strings.ToLower(part.GUID))
		require.Equal(t, o.Name, part.Name)
	}
}

// A 4Kn disk (4096-byte sectors) keeps its GPT header at byte 4096. An
// image file has no sector size to ask the kernel for, and go-diskfs
// assumes 512 unless told: it reads the protective MBR as a DOS table
// with one partition of type 0xEE. rescue tries both sector sizes.
func TestDiskfs4KnGPT(t *testing.T) {
	need(t, "sfdisk", "losetup")
	if os.Geteuid() != 0 {
		t.Skip("needs root: the 4Kn table is written through a loop device with 4096-byte sectors")
	}
	p := sparse(t, "4kn.img", 64)
	dev := strings.TrimSpace(run(t, "", "losetup", "--find", "--show", "--sector-size", "4096", p))
	out, err := try("label: gpt\nstart=256, size=4096, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root\n", "sfdisk", "-q", dev)
	run(t, "", "losetup", "-d", dev)
	require.NoError(t, err, "sfdisk on %s: %s", dev, out)
	ours := readOurs(t, p)
	require.Equal(t, "gpt", ours.Kind)
	require.Equal(t, int64(4096), ours.SectorSize)
	require.Len(t, ours.Partitions, 1)

	d, err := diskfs.Open(p, diskfs.WithOpenMode(diskfs.ReadOnly))
	require.NoError(t, err)
	defer d.Close()
	tab, err := d.GetPartitionTable()
	require.NoError(t, err)
	require.Equal(t, "mbr", tab.Type(),
		"go-diskfs now finds the GPT of a 4Kn image without being told the sector size: revisit docs/dependencies.md")
	parts := tab.GetPartitions()
	require.Len(t, parts, 4)
	require.Equal(t, mbr.GPTProtective, tab.(*mbr.Table).Partitions[0].Type)
}

// A GPT header is trusted for the size of its entry array: a 1 MiB image
// whose (checksummed) header claims 2^21 entries of 128 bytes makes
// go-diskfs allocate 256 MiB before it reads a byte of them (a claim of
// 2^32-1 entries asks for 512 GiB). rescue refuses arrays over 4 MiB
// (disk/table.go maxGPTEntryBytes) and keeps going with the backup.
func TestDiskfsGPTEntryArrayClaim(t *testing.T) {
	need(t, "sfdisk")
	p := sparse(t, "claim.img", 1)
	run(t, "label: gpt\nstart=40, size=100, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n", "sfdisk", "-q", p)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	h := b[512 : 512+92]
	binary.LittleEndian.PutUint32(h[80:], 1<<21)
	binary.LittleEndian.PutUint32(h[16:], 0)
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h))
	require.NoError(t, os.WriteFile(p, b, 0o644))

	ours := readOurs(t, p)
	require.Len(t, ours.Partitions, 1, "rescue falls back to the backup GPT")
	require.Contains(t, strings.Join(ours.Warnings, "\n"), "not a valid entry array")

	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = gpt.Read(f, 512, 512)
	runtime.ReadMemStats(&after)
	t.Logf("go-diskfs: %v; allocated %d MiB for a 1 MiB image", err, (after.TotalAlloc-before.TotalAlloc)>>20)
	require.GreaterOrEqual(t, after.TotalAlloc-before.TotalAlloc, uint64(256<<20),
		"go-diskfs no longer allocates what a GPT header claims: revisit docs/dependencies.md")
}

// fatWithFiles makes a FAT filesystem with mkfs.fat and puts files in it
// with mtools, like disk/fat_test.go.
func fatWithFiles(t *testing.T, mib int64, args ...string) string {
	t.Helper()
	need(t, "mkfs.fat", "fsck.fat", "mcopy")
	p := sparse(t, "fat.img", mib)
	run(t, "", "mkfs.fat", append(args, p)...)
	src := t.TempDir()
	require.NoError(t, os.MkdirAll(src+"/EFI/debian", 0o755))
	require.NoError(t, os.WriteFile(src+"/EFI/debian/grubx64.efi", []byte(strings.Repeat("grub", 50000)), 0o644))
	require.NoError(t, os.WriteFile(src+"/EFI/debian/grub.cfg", []byte("search --fs-uuid 1234\n"), 0o644))
	run(t, "", "mcopy", "-s", "-i", p, src+"/EFI", "::/")
	run(t, "", "fsck.fat", "-n", p)
	return p
}

// fsckFAT runs fsck.fat -n and returns its output and whether it found the
// filesystem clean.
func fsckFAT(t *testing.T, p string) (string, bool) {
	t.Helper()
	out, err := try("", "fsck.fat", "-n", p)
	return out, err == nil
}

func openFAT(t *testing.T, p string) filesystem.FileSystem {
	t.Helper()
	d, err := diskfs.Open(p, diskfs.WithOpenMode(diskfs.ReadWrite))
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	fs, err := d.GetFilesystem(0)
	require.NoError(t, err)
	return fs
}

// go-diskfs's Remove takes the directory entry away but leaves the file's
// clusters allocated in the FAT: fsck.fat -n finds them lost. On FAT16 and
// FAT32 alike (the FAT code is shared since v1.9). rescue's Remove
// (disk/fat) frees the chain; disk/fat/fat_test.go checks fsck.fat is clean.
func TestDiskfsFATRemoveLeaksClusters(t *testing.T) {
	for _, c := range []struct {
		name string
		mib  int64
		args []string
	}{
		{"fat16", 40, []string{"-F", "16"}},
		{"fat32", 64, []string{"-F", "32", "-s", "1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := fatWithFiles(t, c.mib, c.args...)
			fs := openFAT(t, p)
			require.NoError(t, fs.Remove("/EFI/debian/grubx64.efi"))
			out, clean := fsckFAT(t, p)
			t.Logf("fsck.fat -n after go-diskfs Remove:\n%s", out)
			require.False(t, clean, "fsck.fat -n is clean after go-diskfs's Remove: revisit the FAT line of docs/dependencies.md")
			require.Contains(t, out, "Reclaimed", "the lost clusters fsck.fat reports")
		})
	}
}

// Every go-diskfs write leaves the FAT32 FSInfo sector's free-cluster
// count as mkfs.fat wrote it: after writing a 200 kB file, fsck.fat -n
// reports the count wrong. rescue keeps it (disk/fat FS.Flush).
func TestDiskfsFAT32FSInfoCount(t *testing.T) {
	p := fatWithFiles(t, 64, "-F", "32", "-s", "1")
	fs := openFAT(t, p)
	f, err := fs.OpenFile("/EFI/debian/new.efi", os.O_CREATE|os.O_RDWR)
	require.NoError(t, err)
	_, err = f.Write([]byte(strings.Repeat("x", 200000)))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	out, clean := fsckFAT(t, p)
	t.Logf("fsck.fat -n after a go-diskfs write:\n%s", out)
	require.False(t, clean, "fsck.fat -n is clean after a go-diskfs write: revisit the FAT line of docs/dependencies.md")
	require.Contains(t, out, "Free cluster summary wrong")
}
