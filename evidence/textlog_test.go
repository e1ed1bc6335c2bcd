package evidence

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An EL7 machine's /var/log/messages (traditional timestamps, no year): a
// boot that came up, and the next one whose sshd would not start with
// world-readable keys, and whose root login pam_succeed_if refused.
const messagesEL7 = `Nov 30 21:10:01 web1 systemd: Started Session 12 of user root.
Nov 30 23:59:58 web1 systemd: Stopping OpenSSH server daemon...
Nov 30 23:59:59 web1 rsyslogd: [origin software="rsyslogd" swVersion="8.24.0-57.el7_9.3" x-pid="702" x-info="http://www.rsyslog.com"] exiting on signal 15.
Dec  1 09:00:01 web1 kernel: Initializing cgroup subsys cpuset
Dec  1 09:00:01 web1 kernel: Linux version 3.10.0-1160.el7.x86_64 (mockbuild@kbuilder.bsys.centos.org) (gcc version 4.8.5 20150623 (Red Hat 4.8.5-44) (GCC) ) #1 SMP Mon Oct 19 16:18:59 UTC 2020
Dec  1 09:00:01 web1 kernel: Command line: BOOT_IMAGE=/vmlinuz-3.10.0-1160.el7.x86_64 root=UUID=2c1e0e9b ro crashkernel=auto console=ttyS0,115200n8 net.ifnames=0
Dec  1 09:00:01 web1 kernel: Memory: 1815340k/2097152k available (7788k kernel code, 392k absent, 281420k reserved, 5958k data, 1988k init)
Dec  1 09:00:01 web1 kernel: Memory: 1847948K/2096628K available (12292K kernel code, 2060K rwdata, 3804K rodata, 2404K init, 2292K bss, 248680K reserved, 0K cma-reserved)
Dec  1 09:00:02 web1 kernel: xen_netfront: Initialising Xen virtual ethernet driver
Dec  1 09:00:02 web1 kernel: blkfront: xvda: barrier or flush: disabled; persistent grants: disabled; indirect descriptors: enabled;
Dec  1 09:00:02 web1 kernel: XFS (xvda1): Mounting V5 Filesystem
Dec  1 09:00:03 web1 kernel: XFS (xvda1): Ending clean mount
Dec  1 09:00:05 web1 systemd: Starting OpenSSH server daemon...
Dec  1 09:00:05 web1 sshd[911]: Permissions 0644 for '/etc/ssh/ssh_host_rsa_key' are too open.
Dec  1 09:00:05 web1 systemd: sshd.service: main process exited, code=exited, status=1/FAILURE
Dec  1 09:00:05 web1 systemd: Failed to start OpenSSH server daemon.
Dec  1 09:00:05 web1 systemd: Unit sshd.service entered failed state.
Dec  1 09:00:06 web1 systemd: Started Serial Getty on ttyS0.
Dec  1 09:00:07 web1 kernel: IPv6: ADDRCONF(NETDEV_UP): eth0: link is not ready
Dec  1 09:00:07 web1 dhclient[700]: DHCPACK from 172.31.0.1 (xid=0x1d2c3a4b)
Dec  1 09:00:07 web1 dhclient[700]: bound to 172.31.5.10 -- renewal in 1681 seconds.
`

const secureEL7 = `Dec  1 09:01:10 web1 login: pam_succeed_if(login:auth): requirement "uid >= 1000" not met by user "root"
Dec  1 09:01:12 web1 login: FAILED LOGIN 1 FROM ttyS0 FOR root, Authentication failure
`

const auditEL7 = `type=DAEMON_START msg=audit(1796115601.512:5866): op=start ver=2.8.5 format=raw kernel=3.10.0-1160.el7.x86_64 auid=4294967295 pid=650 uid=0 ses=4294967295 subj=system_u:system_r:auditd_t:s0 res=success
type=AVC msg=audit(1796115605.120:12): avc:  denied  { read } for  pid=911 comm="sshd" name="ssh_host_rsa_key" dev="xvda1" ino=8390 scontext=system_u:system_r:sshd_t:s0-s0:c0.c1023 tcontext=unconfined_u:object_r:user_home_t:s0 tclass=file permissive=0
`

func writeFile(t *testing.T, root, p, data string, mtime time.Time) {
	t.Helper()
	full := filepath.Join(root, p)
	require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
	require.NoError(t, os.WriteFile(full, []byte(data), 0o600))
	require.NoError(t, os.Chtimes(full, mtime, mtime))
}

func TestTextLogsEL7(t *testing.T) {
	dir := t.TempDir()
	mtime := time.Date(2026, 12, 1, 9, 5, 0, 0, time.UTC)
	writeFile(t, dir, "/var/log/messages", messagesEL7, mtime)
	writeFile(t, dir, "/var/log/secure", secureEL7, mtime)
	writeFile(t, dir, "/var/log/audit/audit.log", auditEL7, mtime)
	got, notes := readTextLogs(openRoot(t, dir), nil)
	assert.Empty(t, notes)
	require.Len(t, got, 2)
	last, prev := got[0], got[1]
	assert.Equal(t, "logs", last.Source)
	// No /etc/localtime: the times are UTC, the year the files'.
	assert.Equal(t, time.Date(2026, 12, 1, 9, 0, 1, 0, time.UTC), last.Start)
	assert.Equal(t, LoginRefused, last.Class)
	// sshd was started but failed: the last stage reached is the
	// network's.
	assert.Equal(t, StageNetwork, last.Reached, "the stages: %v", last.Stages)
	var ev []string
	for _, e := range last.Events {
		ev = append(ev, e.Kind+"|"+e.Subject+"|"+e.Line.Source)
	}
	// Decisive first: the refusal and why, and sshd, which refuses
	// everyone too; then the failed unit.
	assert.Equal(t, []string{
		"sshd-failed|/etc/ssh/ssh_host_rsa_key|/var/log/messages",
		"pam-refusal|pam_succeed_if|/var/log/secure",
		"login-refused|root|/var/log/secure",
		"unit-failed|OpenSSH server daemon|/var/log/messages",
		"selinux-denied|sshd|/var/log/audit/audit.log",
	}, ev)
	// The second Memory: line is the one in the kernel's format of the
	// last ten years (K); the 2.6-era lowercase one is not read.
	assert.Equal(t, int64(2096628)<<10, last.Machine.MemoryBytes)
	assert.Equal(t, "xvda", last.Machine.Disk)
	assert.Equal(t, "xvd", last.Machine.Bus)
	assert.Equal(t, []string{"eth0"}, last.Machine.NICs)

	assert.Equal(t, "previous", prev.Boot)
	assert.Equal(t, Incomplete, prev.Class)
	assert.Equal(t, 3, prev.Lines)
}

// Debian's rsyslog writes RFC 3339 times; auth.log holds the sshd lines.
func TestTextLogsDebianRFC3339(t *testing.T) {
	dir := t.TempDir()
	syslog := strings.Join([]string{
		"2026-12-01T01:54:03.100000+01:00 deb kernel: [    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)",
		"2026-12-01T01:54:03.200000+01:00 deb kernel: [    0.284011] Memory: 985432K/1048040K available (14336K kernel code)",
		"2026-12-01T01:54:05.000000+01:00 deb kernel: [    2.100000] EXT4-fs (vda1): mounted filesystem with ordered data mode. Quota mode: none.",
		"2026-12-01T01:54:06.000000+01:00 deb kernel: [    3.000000] EXT4-fs error (device vda1): ext4_lookup:1855: inode #2: comm systemd: deleted inode referenced: 131",
		"2026-12-01T01:54:06.000000+01:00 deb kernel: [    3.000100] EXT4-fs (vda1): Remounting filesystem read-only",
		"2026-12-01T01:55:00.000000+01:00 deb systemd[1]: Started ssh.service - OpenBSD Secure Shell server.",
		"2026-12-01T01:56:00.000000+01:00 deb rsyslogd: file '/var/log/syslog': write error - No space left on device",
		"",
	}, "\n")
	auth := "2026-12-01T01:57:00.000000+01:00 deb sshd[1001]: User root from 203.0.113.9 not allowed because not listed in AllowUsers\n"
	writeFile(t, dir, "/var/log/syslog", syslog, time.Now())
	writeFile(t, dir, "/var/log/auth.log", auth, time.Now())
	got, notes := readTextLogs(openRoot(t, dir), nil)
	assert.Empty(t, notes)
	require.Len(t, got, 1)
	a := got[0]
	assert.Equal(t, time.Date(2026, 12, 1, 0, 54, 3, 100000000, time.UTC), a.Start)
	assert.Equal(t, Booted, a.Class)
	kinds := map[string]string{}
	for _, e := range a.Events {
		kinds[e.Kind] = e.Subject
		assert.True(t, e.Decisive, "%s is what is wrong with a boot that came up", e.Kind)
	}
	assert.Equal(t, map[string]string{
		KindFSError: "vda1", KindRemountRO: "vda1", KindDiskFull: "", KindSSHDRefused: "root",
	}, kinds)
	// A line's kernel timestamp is its uptime.
	assert.True(t, a.Machine.MemoryFrom.HasUptime)
	assert.Equal(t, 284011*time.Microsecond, a.Machine.MemoryFrom.Uptime)
}

// TestTextLogsTail: only the end of a huge log is read, from a line start.
func TestTextLogsTail(t *testing.T) {
	dir := t.TempDir()
	filler := strings.Repeat("2026-11-01T00:00:00.000000+00:00 deb CRON[1]: (root) CMD (true)\n", maxTextLog/60)
	writeFile(t, dir, "/var/log/syslog", filler+"2026-12-01T01:54:03.000000+00:00 deb kernel: [    0.000000] Linux version 6.1.0\n", time.Now())
	got, _ := readTextLogs(openRoot(t, dir), nil)
	require.Len(t, got, 2)
	assert.Equal(t, 1, got[0].Lines)
	// The lines before the boot are the end of the one before, as much
	// of it as the bytes read hold.
	assert.Less(t, got[1].Lines, maxTextLog/60)
	assert.Greater(t, got[1].Lines, maxTextLog/80)
}

// The files without a time on each line (dmesg, boot.log) are the last
// boot's; cloud-init.log has its own format.
func TestTextLogsUntimed(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "/var/log/dmesg", "[    0.000000] Linux version 5.14.0-362.8.1.el9_3.x86_64\n[    0.012000] Memory: 3977872K/4193784K available (16384K kernel code)\n[    1.500000] nvme nvme0: pci function 0000:00:04.0\n[    1.600000] nvme0n1: p1 p2\n[    2.100000] XFS (nvme0n1p2): Mounting V5 Filesystem\n", time.Now())
	writeFile(t, dir, "/var/log/boot.log", "[  OK  ] Started Journal Service.\n[FAILED] Failed to start Network Manager Wait Online.\n", time.Now())
	writeFile(t, dir, "/var/log/cloud-init.log", "2026-12-01 01:54:10,118 - util.py[DEBUG]: Cloud-init v. 23.4 running 'init-local' at Tue, 01 Dec 2026 01:54:10 +0000. Up 9.51 seconds.\n2026-12-01 01:54:12,002 - util.py[WARNING]: Failed to run module growpart (Traceback follows)\n", time.Now())
	got, _ := readTextLogs(openRoot(t, dir), nil)
	require.Len(t, got, 1)
	a := got[0]
	assert.Equal(t, time.Date(2026, 12, 1, 1, 54, 10, 0, time.UTC), a.Start)
	assert.Equal(t, int64(4193784)<<10, a.Machine.MemoryBytes)
	assert.Equal(t, "nvme0n1", a.Machine.Disk)
	var kinds []string
	for _, e := range a.Events {
		kinds = append(kinds, e.Kind)
	}
	assert.ElementsMatch(t, []string{KindCloudInitFailed, KindUnitFailed}, kinds)
}

func TestBSDTimeYear(t *testing.T) {
	// A December line in a file last written in January is from the
	// year before.
	jan := time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, 2026, bsdTime("Dec 31 23:59:59", jan, time.UTC).Year())
	assert.Equal(t, 2027, bsdTime("Jan  1 00:00:01", jan, time.UTC).Year())
	ber, err := time.LoadLocation("Europe/Berlin")
	if err == nil {
		assert.Equal(t, 8, bsdTime("Dec  1 09:00:00", jan, ber).Hour())
	}
}
