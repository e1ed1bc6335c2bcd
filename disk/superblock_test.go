package disk

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// blkidExport runs blkid -p on a file: the reference the prober must agree
// with.
func blkidExport(t *testing.T, path string) map[string]string {
	t.Helper()
	if _, err := exec.LookPath("blkid"); err != nil {
		t.Skip("blkid is not installed")
	}
	out, _ := exec.Command("blkid", "-p", "-o", "export", path).Output()
	m := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

// mkfsFile makes a sparse file of size MiB and runs the tool on it.
func mkfsFile(t *testing.T, sizeMiB int64, tool string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s is not installed", tool)
	}
	p := filepath.Join(t.TempDir(), "fs.img")
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(sizeMiB<<20))
	f.Close()
	args = append(args, p)
	cmd := exec.Command(tool, args...)
	cmd.Stdin = strings.NewReader("pass")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v: %s", tool, args, out)
	return p
}

func probeFile(t *testing.T, p string) *Superblock {
	t.Helper()
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	fi, err := f.Stat()
	require.NoError(t, err)
	sb, err := ProbeFS(f, fi.Size())
	require.NoError(t, err)
	return sb
}

// agree checks the probe against blkid -p field by field.
func agree(t *testing.T, p string) *Superblock {
	t.Helper()
	want := blkidExport(t, p)
	sb := probeFile(t, p)
	require.NotNil(t, sb, "blkid says %v", want)
	require.Equal(t, want["TYPE"], sb.Type)
	require.Equal(t, want["UUID"], sb.UUID)
	require.Equal(t, want["LABEL"], sb.Label)
	require.Equal(t, want["UUID_SUB"], sb.UUIDSub)
	require.Equal(t, want["USAGE"], sb.Usage)
	if v, ok := want["VERSION"]; ok {
		require.Equal(t, v, sb.Version)
	}
	return sb
}

func TestProbeAgreesWithBlkid(t *testing.T) {
	cases := []struct {
		name string
		size int64
		tool string
		args []string
	}{
		{"ext2", 16, "mkfs.ext2", []string{"-q", "-F", "-L", "e2"}},
		{"ext3", 16, "mkfs.ext3", []string{"-q", "-F", "-L", "e3", "-U", "0e7fcc37-4f2b-4c7e-9a6e-3e0a5a9e7d01"}},
		{"ext4", 32, "mkfs.ext4", []string{"-q", "-F", "-L", "rootfs"}},
		{"ext4-1k-nocsum", 16, "mkfs.ext4", []string{"-q", "-F", "-b", "1024", "-O", "^metadata_csum,^64bit"}},
		{"ext4-long-label", 16, "mkfs.ext4", []string{"-q", "-F", "-L", "sixteen-chars-ab"}},
		{"xfs", 300, "mkfs.xfs", []string{"-q", "-f", "-L", "xroot"}},
		{"xfs-v4", 300, "mkfs.xfs", []string{"-q", "-f", "-m", "crc=0", "-L", "old"}},
		{"btrfs", 130, "mkfs.btrfs", []string{"-q", "-f", "-L", "b"}},
		{"fat32", 64, "mkfs.fat", []string{"-F", "32", "-n", "ESP", "-i", "1A2B3C4D"}},
		{"fat16", 32, "mkfs.fat", []string{"-F", "16", "-n", "BOOT"}},
		{"fat12", 2, "mkfs.fat", []string{"-F", "12"}},
		{"swap", 8, "mkswap", []string{"-L", "sw"}},
		{"swap-nolabel", 8, "mkswap", []string{"-U", "4a3f0c1e-8f5b-4d0e-9b7a-1c2d3e4f5a6b"}},
		{"luks2", 20, "cryptsetup", []string{"luksFormat", "-q", "--type", "luks2", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--label", "c", "--key-file", "-"}},
		{"luks1", 20, "cryptsetup", []string{"luksFormat", "-q", "--type", "luks1", "--pbkdf-force-iterations", "1000", "--key-file", "-"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mkfsFile(t, c.size, c.tool, c.args...)
			sb := agree(t, p)
			if strings.HasPrefix(c.name, "ext") || strings.HasPrefix(c.name, "xfs") {
				require.NotNil(t, sb.State)
				require.True(t, sb.State.Clean(), "a fresh filesystem is clean: %+v", sb.State)
				require.Empty(t, sb.State.LogUnknown)
				require.Greater(t, sb.State.FreeBlocks, uint64(0))
				require.Greater(t, sb.State.Blocks, sb.State.FreeBlocks)
			}
		})
	}
}

func TestProbeNothing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "zero.img")
	require.NoError(t, os.WriteFile(p, make([]byte, 1<<20), 0o644))
	require.Nil(t, probeFile(t, p))
	// Too short for any superblock.
	require.NoError(t, os.WriteFile(p, []byte("x"), 0o644))
	require.Nil(t, probeFile(t, p))
}

func TestProbeGarbageSuperblocks(t *testing.T) {
	ext := mkfsFile(t, 16, "mkfs.ext4", "-q", "-F")
	data, err := os.ReadFile(ext)
	require.NoError(t, err)
	// A flipped byte in a checksummed ext4 superblock.
	bad := append([]byte(nil), data...)
	bad[1024+120] ^= 0xff
	_, err = ProbeFS(bytesReaderAt(bad), int64(len(bad)))
	require.ErrorContains(t, err, "checksum mismatch")
	// A block size no ext filesystem has.
	bad = append([]byte(nil), data...)
	bad[1024+24] = 40
	_, err = ProbeFS(bytesReaderAt(bad), int64(len(bad)))
	require.ErrorContains(t, err, "block size")

	xfs := make([]byte, 4096)
	copy(xfs, "XFSB")
	_, err = ProbeFS(bytesReaderAt(xfs), int64(len(xfs)))
	require.ErrorContains(t, err, "xfs superblock at byte 0 is corrupt")
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func TestExtState(t *testing.T) {
	if _, err := exec.LookPath("debugfs"); err != nil {
		t.Skip("debugfs is not installed")
	}
	p := mkfsFile(t, 16, "mkfs.ext4", "-q", "-F")
	require.True(t, probeFile(t, p).State.Clean())

	out, err := exec.Command("debugfs", "-w", "-R", "feature needs_recovery", p).CombinedOutput()
	require.NoError(t, err, "%s", out)
	st := probeFile(t, p).State
	require.True(t, st.NeedsRecovery)
	require.False(t, st.Errors)

	out, err = exec.Command("debugfs", "-w", "-R", "ssv state 2", p).CombinedOutput()
	require.NoError(t, err, "%s", out)
	st = probeFile(t, p).State
	require.True(t, st.Errors)

	// e2fsck agrees that it has work to do, and afterwards the state is clean.
	exec.Command("debugfs", "-w", "-R", "feature ^needs_recovery", p).Run()
	err = exec.Command("e2fsck", "-p", p).Run()
	var ee *exec.ExitError
	if err != nil {
		require.ErrorAs(t, err, &ee)
		require.Less(t, ee.ExitCode(), 4, "e2fsck -p repaired it")
	}
	require.True(t, probeFile(t, p).State.Clean())

	// ext2 that was not unmounted: the valid bit is clear.
	p = mkfsFile(t, 8, "mkfs.ext2", "-q", "-F")
	out, err = exec.Command("debugfs", "-w", "-R", "ssv state 0", p).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.True(t, probeFile(t, p).State.NotClean)
}

// TestXFSDirtyLog makes an xfs log dirty the way a crash does (a forced
// shutdown after writes, so no unmount record is written) and checks that
// the prober sees it, agreeing with xfs_repair -n.
func TestXFSDirtyLog(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts an xfs filesystem")
	}
	if _, err := exec.LookPath("xfs_io"); err != nil {
		t.Skip("xfs_io is not installed")
	}
	p := mkfsFile(t, 300, "mkfs.xfs", "-q", "-f")
	require.False(t, probeFile(t, p).State.NeedsRecovery)

	mountRW := func() (string, func()) {
		l, err := AttachLoop(p, 0, 0, false)
		require.NoError(t, err)
		mnt := t.TempDir()
		require.NoError(t, unix.Mount(l.Path, mnt, "xfs", 0, ""))
		l.Release()
		return mnt, func() { require.NoError(t, unix.Unmount(mnt, 0)) }
	}
	// A clean unmount after writes leaves a clean log.
	mnt, umount := mountRW()
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "a"), []byte("x"), 0o644))
	umount()
	require.False(t, probeFile(t, p).State.NeedsRecovery, "clean after umount")
	require.NotContains(t, xfsRepairN(t, p), "log which", "xfs_repair -n finds the log clean too")

	mnt, umount = mountRW()
	for i := 0; i < 20; i++ {
		require.NoError(t, os.WriteFile(filepath.Join(mnt, "f"+string(rune('a'+i))), []byte("data"), 0o644))
	}
	out, err := exec.Command("xfs_io", "-x", "-c", "shutdown -f", mnt).CombinedOutput()
	require.NoError(t, err, "%s", out)
	umount()
	require.True(t, probeFile(t, p).State.NeedsRecovery, "dirty after a forced shutdown")
	require.Contains(t, xfsRepairN(t, p), "log which", "xfs_repair -n also complains about the log")

	// Mounting replays the log; unmounting leaves it clean again.
	_, umount = mountRW()
	umount()
	require.False(t, probeFile(t, p).State.NeedsRecovery, "clean after log replay")
}

func xfsRepairN(t *testing.T, p string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "xfs_repair", "-n", "-f", p).CombinedOutput()
	return string(out)
}
