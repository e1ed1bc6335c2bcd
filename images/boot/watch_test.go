package boot

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// session drives a Watcher through a scripted console: each step is some
// output at a time; it records what the watcher typed.
type session struct {
	t    *testing.T
	w    *Watcher
	now  time.Duration
	sent []string
	vga  int
	done bool
}

func newSession(t *testing.T) *session {
	return &session{t: t, w: NewWatcher("root", "secret")}
}

// out prints s at the current time, then lets time pass in ticks of 250ms
// for idle, handling the watcher's actions.
func (s *session) out(text string, idle time.Duration) {
	s.act(s.w.Step(s.now, []byte(text)))
	for end := s.now + idle; s.now < end && !s.done; {
		s.now += 250 * time.Millisecond
		s.act(s.w.Step(s.now, nil))
	}
}

func (s *session) act(a Action) {
	if a.Send != "" {
		s.sent = append(s.sent, a.Send)
	}
	if a.ReadVGA {
		s.vga++
	}
	if a.Done {
		s.done = true
	}
}

func (s *session) lastSent() string {
	if len(s.sent) == 0 {
		return ""
	}
	return s.sent[len(s.sent)-1]
}

const bootNoise = "[    0.000000] Linux version 6.1.0-56-amd64\r\n[  OK  ] Started getty@tty1.service\r\n\r\nDebian GNU/Linux 12 rescue-test ttyS0\r\n\r\n"

func TestWatcherLogsIn(t *testing.T) {
	s := newSession(t)
	s.out(bootNoise+"rescue-test login: ", 2*time.Second)
	require.Equal(t, []string{"root\r"}, s.sent, "the user name is typed once the prompt is quiet")
	s.out("root\r\nPassword: ", time.Second)
	require.Equal(t, "secret\r", s.lastSent())
	s.out("\r\nLinux rescue-test 6.1.0-56-amd64\r\nroot@rescue-test:~# ", 2*time.Second)
	require.Equal(t, markerCommand, s.lastSent())
	s.out("echo MARK$((6*7))END\r\n", time.Second)
	assert.Equal(t, markerCommand, s.lastSent(), "the echo of the typed command is not the marker")
	s.out("MARK42END\r\nroot@rescue-test:~# ", time.Second)
	require.Equal(t, stateCommand, s.lastSent())
	s.out("STATE=running RW=yes FAILED= SSH=activeENDSTATE\r\n# ", time.Second)
	require.True(t, s.done)
	r := s.w.Result(s.now)
	assert.Equal(t, LoggedIn, r.Class)
	assert.True(t, r.Healthy())
	assert.Equal(t, "LOGGED_IN", r.Short())
	assert.Contains(t, r.Events, EvShell)
	assert.Less(t, r.Events[EvLoginPrompt], r.Events[EvShell])
}

func TestWatcherDegradedLogin(t *testing.T) {
	s := newSession(t)
	s.out(bootNoise+"rescue-test login: ", 2*time.Second)
	s.out("Password: ", time.Second)
	s.out("root@rescue-test:~# ", time.Second)
	s.out("MARK42END\r\n", time.Second)
	s.out("STATE=degraded RW=no FAILED=systemd-remount-fs.service,ssh.service, SSH=failedENDSTATE", time.Second)
	r := s.w.Result(s.now)
	assert.Equal(t, LoggedIn, r.Class)
	assert.False(t, r.Healthy())
	assert.Equal(t, []string{"systemd-remount-fs.service", "ssh.service"}, r.FailedUnits)
	assert.Equal(t, "LOGGED_IN (/ read-only; degraded: systemd-remount-fs.service,ssh.service; sshd failed)", r.Short())
	assert.Equal(t, "failed", r.SSH)

	// sshd restarting in a loop is not healthy even when nothing is
	// "failed" yet.
	s = newSession(t)
	s.out(bootNoise+"rescue-test login: ", 2*time.Second)
	s.out("Password: ", time.Second)
	s.out("root@rescue-test:~# ", time.Second)
	s.out("MARK42END\r\n", time.Second)
	s.out("STATE=running RW=yes FAILED= SSH=activatingENDSTATE", time.Second)
	r = s.w.Result(s.now)
	assert.False(t, r.Healthy())
	assert.Equal(t, "LOGGED_IN (sshd activating)", r.Short())
}

func TestWatcherLateBootMessagesAfterPrompt(t *testing.T) {
	s := newSession(t)
	// Boot messages keep coming after the prompt: the user name is typed
	// anyway after a few seconds.
	s.out(bootNoise+"rescue-test login: ", 0)
	for i := 0; i < 30 && len(s.sent) == 0; i++ {
		s.out("[  OK  ] Reached target multi-user.target.\r\n", 250*time.Millisecond)
	}
	assert.Equal(t, []string{"root\r"}, s.sent)
	assert.LessOrEqual(t, s.now, 6*time.Second)
}

func TestWatcherRefusals(t *testing.T) {
	cases := []struct {
		name      string
		afterUser string
		afterPass string
		class     Class
		why       string
	}{
		{"pam_unix missing", "root\r\n\r\nLogin incorrect\r\nrescue-test login: ", "", LoginRefused, "before the password"},
		{"login binary empty", "root\r\n\r\nDebian GNU/Linux 12 rescue-test ttyS0\r\n\r\nrescue-test login: ", "", LoginRefused, "came back"},
		{"wrong password", "root\r\nPassword: ", "\r\nLogin incorrect\r\nrescue-test login: ", LoginRefused, "Login incorrect"},
		{"shell cannot run", "root\r\nPassword: ", "\r\nCannot execute /bin/bash: Exec format error\r\n\r\nrescue-test login: ", NoShell, "Exec format error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSession(t)
			s.out(bootNoise+"rescue-test login: ", 2*time.Second)
			s.out(c.afterUser, time.Second)
			if c.afterPass != "" {
				require.Equal(t, "secret\r", s.lastSent())
				s.out(c.afterPass, time.Second)
			}
			require.True(t, s.done)
			r := s.w.Result(s.now)
			assert.Equal(t, c.class, r.Class)
			assert.Contains(t, r.Why, c.why)
		})
	}
}

func TestWatcherShellNeverAnswers(t *testing.T) {
	s := newSession(t)
	s.out(bootNoise+"rescue-test login: ", 2*time.Second)
	s.out("root\r\nPassword: ", time.Second)
	s.out("\r\n", 16*time.Second)
	require.Equal(t, markerCommand, s.lastSent(), "the marker is typed even without a prompt")
	s.out("", 50*time.Second)
	require.True(t, s.done)
	assert.Equal(t, NoShell, s.w.Result(s.now).Class)
}

func TestWatcherFatal(t *testing.T) {
	cases := []struct {
		name, text string
		class      Class
		why        string
	}{
		{"panic", "[   15.1] Run /sbin/init as init process\r\n[   15.2] Kernel panic - not syncing: No working init found.  Try passing init= option to kernel.\r\n", KernelPanic, "No working init found"},
		{"freeze", "[   16.0] systemd[1]: Failed to load SELinux policy.\r\n[   16.0] systemd[1]: Freezing execution.\r\n", SystemdFreeze, "Failed to load SELinux policy"},
		{"emergency", "[FAILED] Failed to mount data.mount - /data.\r\n[DEPEND] Dependency failed for local-fs.target - Local File Systems.\r\nYou are in emergency mode. After logging in, type \"journalctl -xb\"\r\nGive root password for maintenance\r\n(or press Control-D to continue): ", Emergency, "Dependency failed for local-fs.target"},
		{"initramfs", "Gave up waiting for root file system device.\r\nALERT!  UUID=deadbeef does not exist.  Dropping to a shell!\r\n(initramfs) ", InitramfsShell, "ALERT!  UUID=deadbeef does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSession(t)
			s.out(c.text, 10*time.Second)
			require.True(t, s.done)
			r := s.w.Result(s.now)
			assert.Equal(t, c.class, r.Class)
			assert.Contains(t, r.Why, c.why)
			assert.Empty(t, s.sent, "nothing is typed into a failed boot")
		})
	}
}

func TestWatcherGrubOnVGA(t *testing.T) {
	s := newSession(t)
	s.out("", 21*time.Second)
	require.Equal(t, 1, s.vga, "a silent serial console makes the watcher look at the screen")
	require.False(t, s.done)
	screen := make([]string, 25)
	screen[0] = "                             GNU GRUB  version 2.06-13+deb12u1"
	screen[2] = "   Minimal BASH-like line editing is supported."
	screen[4] = "grub>"
	s.act(s.w.VGA(screen))
	require.True(t, s.done)
	r := s.w.Result(s.now)
	assert.Equal(t, GrubPrompt, r.Class)
	assert.Contains(t, strings.Join(r.VGA, "\n"), "GNU GRUB")
}

func TestWatcherTimeout(t *testing.T) {
	s := newSession(t)
	s.out("[    2.0] random: crng init done\r\n", 60*time.Second)
	r := s.w.Result(s.now)
	assert.Equal(t, Timeout, r.Class)
	assert.Contains(t, r.Why, "crng init done")
	assert.Equal(t, 0, s.vga, "the screen is read only while the serial console is silent")
}

func TestDecodeVGA(t *testing.T) {
	raw := make([]byte, 4000)
	for i := 0; i < len(raw); i += 2 {
		raw[i], raw[i+1] = ' ', 0x07
	}
	for i, c := range []byte("grub> \xc4x") {
		raw[160*3+2*i] = c
	}
	lines := DecodeVGA(raw)
	require.Len(t, lines, 25)
	assert.Equal(t, "grub>  x", lines[3])
	assert.Equal(t, "", lines[0])
}

func TestArgs(t *testing.T) {
	o := Options{Image: "/x/disk.img", Snapshot: true, UEFI: true}
	a := strings.Join(o.Args("/tmp/m"), " ")
	for _, want := range []string{"-machine pc,accel=tcg", "-serial stdio", "-nic none", "-no-reboot",
		"file=/x/disk.img,format=raw,if=virtio,snapshot=on", "-monitor unix:/tmp/m,server=on,wait=off",
		"-bios /usr/share/ovmf/OVMF.fd", "-m 1024", "-smp 1"} {
		assert.Contains(t, a, want)
	}
}

func TestWatcherIdle(t *testing.T) {
	s := newSession(t)
	s.w.Idle = 30 * time.Second
	s.out("[    2.0] Run /init as init process\r\n", 20*time.Second)
	require.False(t, s.done, "20s of silence is not yet a hang")
	for i := 0; i < 10; i++ {
		s.out("[  OK  ] still starting\r\n", 20*time.Second)
	}
	require.False(t, s.done, "a slow boot that keeps printing is given time")
	s.out("", 31*time.Second)
	require.True(t, s.done)
	r := s.w.Result(s.now)
	assert.Equal(t, Timeout, r.Class)
	assert.Contains(t, r.Why, "no console output for 30s")
}

func TestWatcherNoSerialGetty(t *testing.T) {
	s := newSession(t)
	s.out("[ TIME ] Timed out waiting for device \x1b[0;1;39mdev-ttyS0.device - /dev/ttyS0.\r\n[DEPEND] Dependency failed for seri…rvice - Serial Getty on ttyS0.\r\n", time.Second)
	require.True(t, s.done, "no getty on the console: no need to wait for the time limit")
	r := s.w.Result(s.now)
	assert.Equal(t, Timeout, r.Class)
	assert.Contains(t, r.Why, "Timed out waiting for device")
}
