package evidence

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/parse/journal/journaltest"
	"rescue/sysroot"
)

var (
	bootA = [16]byte{0xaa, 1}
	bootB = [16]byte{0xbb, 2}
	bootC = [16]byte{0xcc, 3}
)

// kernel, unit and msg make journal entries as journald writes them.
func kernel(boot [16]byte, t time.Time, up time.Duration, msg string) journaltest.Entry {
	return journaltest.Entry{Realtime: t.Add(up), Monotonic: up, BootID: boot,
		Fields: []string{"_TRANSPORT=kernel", "SYSLOG_IDENTIFIER=kernel", "PRIORITY=6", "MESSAGE=" + msg}}
}

func unit(boot [16]byte, t time.Time, up time.Duration, u, msg string) journaltest.Entry {
	return journaltest.Entry{Realtime: t.Add(up), Monotonic: up, BootID: boot,
		Fields: []string{"_TRANSPORT=journal", "SYSLOG_IDENTIFIER=systemd", "_SYSTEMD_UNIT=init.scope", "UNIT=" + u, "PRIORITY=3", "MESSAGE=" + msg}}
}

func msg(boot [16]byte, t time.Time, up time.Duration, ident, m string) journaltest.Entry {
	return journaltest.Entry{Realtime: t.Add(up), Monotonic: up, BootID: boot,
		Fields: []string{"_TRANSPORT=syslog", "SYSLOG_IDENTIFIER=" + ident, "PRIORITY=5", "MESSAGE=" + m}}
}

// healthyBoot is a boot that came up and was shut down cleanly.
func healthyBoot(boot [16]byte, t time.Time) []journaltest.Entry {
	return []journaltest.Entry{
		kernel(boot, t, 0, "Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)"),
		kernel(boot, t, 10*time.Millisecond, "Memory: 3977872K/4193784K available (14336K kernel code)"),
		kernel(boot, t, time.Second, "virtio_net virtio0 ens3: renamed from eth0"),
		kernel(boot, t, 2*time.Second, "EXT4-fs (vda1): mounted filesystem with ordered data mode. Quota mode: none."),
		unit(boot, t, 3*time.Second, "ssh.service", "Started ssh.service - OpenBSD Secure Shell server."),
		unit(boot, t, 3*time.Second, "serial-getty@ttyS0.service", "Started serial-getty@ttyS0.service - Serial Getty on ttyS0."),
		unit(boot, t, time.Hour, "", "Reached target shutdown.target - System Shutdown."),
		msg(boot, t, time.Hour+time.Second, "systemd-journald", "Journal stopped"),
	}
}

// emergencyBoot is the next boot, on a machine with less memory, failing
// on a missing data disk.
func emergencyBoot(boot [16]byte, t time.Time) []journaltest.Entry {
	return []journaltest.Entry{
		kernel(boot, t, 0, "Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)"),
		kernel(boot, t, 10*time.Millisecond, "Memory: 985432K/1048040K available (14336K kernel code)"),
		kernel(boot, t, time.Second, "EXT4-fs (nvme0n1p1): mounted filesystem with ordered data mode. Quota mode: none."),
		unit(boot, t, 91*time.Second, "dev-disk-by\\x2duuid-deadbeef.device", "Timed out waiting for device dev-disk-by\\x2duuid-deadbeef.device - /dev/disk/by-uuid/deadbeef."),
		unit(boot, t, 91*time.Second, "data.mount", "Dependency failed for data.mount - /data."),
		unit(boot, t, 91*time.Second, "local-fs.target", "Dependency failed for local-fs.target - Local File Systems."),
		unit(boot, t, 91*time.Second, "emergency.service", "Started emergency.service - Emergency Shell."),
		unit(boot, t, 91*time.Second, "emergency.target", "Reached target emergency.target - Emergency Mode."),
	}
}

func writeJournal(t *testing.T, root, name string, o journaltest.Options, es []journaltest.Entry) {
	t.Helper()
	dir := filepath.Join(root, "var/log/journal/0123456789abcdef0123456789abcdef")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), journaltest.Write(o, es), 0o640))
}

func openRoot(t *testing.T, dir string) *sysroot.Root {
	t.Helper()
	r, err := sysroot.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

// TestJournalLastTwoBoots: three boots across a rotated file and the live
// one; the last (in a file journald did not close) went to emergency mode,
// the one before shut down cleanly. The oldest is not read.
func TestJournalLastTwoBoots(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	t1 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	t2 := time.Date(2026, 12, 1, 1, 54, 0, 0, time.UTC)
	rotated := append(healthyBoot(bootA, t0), healthyBoot(bootB, t1)[:4]...)
	live := append(healthyBoot(bootB, t1)[4:], emergencyBoot(bootC, t2)...)
	writeJournal(t, dir, "system@0005f1e2d3c4b5a6-0000000000000001.journal", journaltest.Options{Compact: true, Compress: "zstd"}, rotated)
	writeJournal(t, dir, "system.journal", journaltest.Options{Compact: true, Compress: "zstd", Online: true, Unindexed: 3}, live)
	// A user journal is not the boot's story.
	writeJournal(t, dir, "user-1000.journal", journaltest.Options{}, []journaltest.Entry{msg(bootC, t2, 200*time.Second, "bash", "You are in emergency mode")})

	got, notes := readJournal(openRoot(t, dir))
	assert.Empty(t, notes)
	require.Len(t, got, 2)
	last, prev := got[0], got[1]

	assert.Equal(t, "last", last.Boot)
	assert.Equal(t, bootIDString(bootC), last.BootID)
	assert.Equal(t, Emergency, last.Class)
	assert.Equal(t, StageKernel, last.Reached)
	assert.Equal(t, t2, last.Start)
	assert.Equal(t, "", last.Ended)
	assert.Equal(t, []string{"/var/log/journal/0123456789abcdef0123456789abcdef/system.journal"}, last.Files)
	require.Len(t, last.Damage, 1)
	assert.Contains(t, last.Damage[0], "not closed")
	var kinds []string
	for _, e := range last.Events {
		if e.Decisive {
			kinds = append(kinds, e.Kind+" "+e.Subject)
		}
	}
	assert.Equal(t, []string{
		"device-timeout dev-disk-by\\x2duuid-deadbeef.device - /dev/disk/by-uuid/deadbeef",
		"dependency-failed data.mount", "dependency-failed local-fs.target", "emergency-mode ",
	}, kinds)
	assert.Equal(t, int64(1048040)<<10, last.Machine.MemoryBytes)
	assert.Equal(t, "nvme0n1", last.Machine.Disk)
	assert.Equal(t, "nvme", last.Machine.Bus)

	assert.Equal(t, "previous", prev.Boot)
	assert.Equal(t, bootIDString(bootB), prev.BootID)
	assert.Equal(t, Booted, prev.Class)
	assert.Equal(t, StageSSHD, prev.Reached)
	assert.Equal(t, "shutdown", prev.Ended)
	assert.Len(t, prev.Files, 2)
	assert.Equal(t, []string{"ens3"}, prev.Machine.NICs)
	assert.Equal(t, 8, prev.Lines)
}

func bootIDString(b [16]byte) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 32)
	for i, c := range b {
		out[2*i], out[2*i+1] = hex[c>>4], hex[c&15]
	}
	return string(out)
}

// TestJournalSetAside: a file journald renamed to .journal~ (found dirty
// at its next start) is read, and said to be so.
func TestJournalSetAside(t *testing.T) {
	dir := t.TempDir()
	t2 := time.Date(2026, 12, 1, 1, 54, 0, 0, time.UTC)
	es := emergencyBoot(bootC, t2)
	writeJournal(t, dir, "system@0005f1e2d3c4b5a6-0000000000000001.journal~", journaltest.Options{Online: true, Compress: "xz"}, es)
	got, _ := readJournal(openRoot(t, dir))
	require.Len(t, got, 1)
	assert.Equal(t, Emergency, got[0].Class)
	require.Len(t, got[0].Damage, 1)
	assert.Contains(t, got[0].Damage[0], "set aside by journald")
}

// TestJournalNotAJournal: garbage under /var/log/journal is a note, not a
// failure.
func TestJournalNotAJournal(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "var/log/journal/0123456789abcdef0123456789abcdef")
	require.NoError(t, os.MkdirAll(p, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(p, "system.journal"), []byte("not a journal at all, but long enough to be read as one if nothing checked it"), 0o640))
	got, notes := readJournal(openRoot(t, dir))
	assert.Empty(t, got)
	require.Len(t, notes, 1)
	assert.Contains(t, notes[0], "not a systemd journal")
}
