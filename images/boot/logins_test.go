package boot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rootAnswers walks the session through the first (root) login up to the
// state command's answer.
func rootAnswers(s *session) {
	s.out(bootNoise+"rescue-test login: ", 2*time.Second)
	s.out("root\r\nPassword: ", time.Second)
	s.out("\r\nroot@rescue-test:~# ", time.Second)
	s.out("MARK42END\r\nroot@rescue-test:~# ", time.Second)
	s.out("STATE=running RW=yes FAILED= SSH=activeENDSTATE\r\n# ", time.Second)
}

const relogin = "exit\r\nlogout\r\n\r\nDebian GNU/Linux 12 rescue-test ttyS0\r\n\r\nrescue-test login: "

func TestWatcherFurtherLogins(t *testing.T) {
	s := newSession(t)
	s.w.Extra = []Login{{User: "debian", Password: "pw"}}
	rootAnswers(s)
	require.False(t, s.done, "a further login is due")
	require.Equal(t, "exit\r", s.lastSent(), "the root session is logged out first")
	s.out(relogin, 2*time.Second)
	require.Equal(t, "debian\r", s.lastSent())
	s.out("debian\r\nPassword: ", time.Second)
	require.Equal(t, "pw\r", s.lastSent())
	s.out("\r\nLast login: Sat May  9 07:00:00 UTC 2026 on ttyS0\r\ndebian@rescue-test:~$ ", time.Second)
	require.Equal(t, checkCommand+"\r", s.lastSent(), "pam_lastlog's line is not a login prompt")
	s.out(checkCommand+"\r\n", time.Second)
	require.False(t, s.done, "the echo of the typed command is not the answer")
	s.out("LOGIN=debian NOFILE=1024 LOGINUID=1000ENDLOGIN\r\n$ ", time.Second)
	require.True(t, s.done)
	r := s.w.Result(s.now)
	assert.True(t, r.Healthy(), r.Short())
	require.Len(t, r.Logins, 2)
	assert.Equal(t, LoginResult{User: "root", Via: ViaSerial, Class: LoggedIn}, r.Logins[0])
	assert.Equal(t, LoginResult{User: "debian", Via: ViaSerial, Class: LoggedIn, Who: "debian", NoFile: "1024", LoginUID: "1000"}, r.Logins[1])
	assert.Equal(t, "debian", r.Login("debian@serial").Who)
	assert.Nil(t, r.Login("debian@ssh"))
}

// An ordinary user's session that PAM refuses to open (pam_limits failing
// on a limits.conf "*" line) leaves root's login untouched: the boot is
// LOGGED_IN, but not healthy, and the failed login is named.
func TestWatcherFurtherLoginFails(t *testing.T) {
	s := newSession(t)
	s.w.Extra = []Login{{User: "debian", Password: "pw"}, {User: "other", Password: "x"}}
	rootAnswers(s)
	s.out(relogin, 2*time.Second)
	s.out("debian\r\nPassword: ", time.Second)
	// The failure and getty's new prompt arrive in one read: the prompt
	// still counts for the next login.
	s.out("\r\nCannot open session: Permission denied\r\n\r\nDebian GNU/Linux 12 rescue-test ttyS0\r\n\r\nrescue-test login: ", 2*time.Second)
	require.Equal(t, "other\r", s.lastSent())
	s.out("other\r\n\r\nLogin incorrect\r\nrescue-test login: ", time.Second)
	require.True(t, s.done)
	r := s.w.Result(s.now)
	assert.Equal(t, LoggedIn, r.Class)
	assert.False(t, r.Healthy())
	require.Len(t, r.Logins, 3)
	assert.Equal(t, NoShell, r.Logins[1].Class)
	assert.Contains(t, r.Logins[1].Why, "Cannot open session")
	assert.Equal(t, LoginRefused, r.Logins[2].Class)
	assert.Equal(t, "LOGGED_IN (debian@serial NO_SHELL; other@serial LOGIN_REFUSED)", r.Short())
	assert.Contains(t, r.LoginsFailed(), "debian@serial NO_SHELL")
}

// An emergency message recovered from before the first login must not end
// the further logins when they go back to typing a user name.
func TestWatcherFurtherLoginIgnoresOldFatal(t *testing.T) {
	s := newSession(t)
	s.w.Extra = []Login{{User: "debian", Password: "pw"}}
	s.out("You are in emergency mode. After logging in...\r\n", time.Second)
	rootAnswers(s)
	s.out(relogin, 10*time.Second)
	require.False(t, s.done)
	s.out("debian\r\nPassword: ", 10*time.Second)
	s.out("$ ", time.Second)
	s.out("LOGIN=debian NOFILE=1024ENDLOGIN\r\n$ ", time.Second)
	r := s.w.Result(s.now)
	assert.Equal(t, LoggedIn, r.Class)
	assert.Equal(t, LoggedIn, r.Logins[1].Class)
}

func TestWatcherNoPromptAfterLogout(t *testing.T) {
	s := newSession(t)
	s.w.Extra = []Login{{User: "debian", Password: "pw"}}
	rootAnswers(s)
	s.out("exit\r\n", 21*time.Second)
	assert.Equal(t, "\r", s.lastSent(), "Enter asks for the prompt again")
	s.out("", 40*time.Second)
	require.True(t, s.done)
	r := s.w.Result(s.now)
	assert.Equal(t, LoggedIn, r.Class)
	assert.Equal(t, Timeout, r.Logins[1].Class)

	// The time limit in the middle of a further login.
	s = newSession(t)
	s.w.Extra = []Login{{User: "debian", Password: "pw"}}
	rootAnswers(s)
	s.out(relogin, 2*time.Second)
	s.out("debian\r\nPassword: ", time.Second)
	r = s.w.Result(s.now)
	assert.Equal(t, LoggedIn, r.Class)
	assert.Equal(t, NoShell, r.Logins[1].Class)
}

func TestNICArgs(t *testing.T) {
	o := Options{Image: "/x/disk.img", fwdPort: 40022}
	a := strings.Join(o.Args(""), " ")
	assert.Contains(t, a, "-nic user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22")
	assert.NotContains(t, a, "-nic none")
}

// fakeSSH puts an ssh on PATH that runs script (sh) with the arguments.
func fakeSSH(t *testing.T, script string) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ssh"), []byte("#!/bin/sh\n"+script), 0o755))
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
}

func TestSSHLogin(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, script string
		class        Class
		why          string
	}{
		{"answers", `cat >/dev/null; echo "Authenticated to 127.0.0.1" >&2; echo LOGIN=debian NOFILE=1024 LOGINUID=1000ENDLOGIN`, LoggedIn, ""},
		{"key refused", `echo "debian@127.0.0.1: Permission denied (publickey)." >&2; exit 255`, LoginRefused, "Permission denied"},
		{"session closed", `echo "Authenticated to 127.0.0.1 ([127.0.0.1]:2222) using \"publickey\"." >&2; echo "Connection to 127.0.0.1 closed by remote host." >&2; exit 255`, NoShell, "closed by remote host"},
		{"no server", `echo "kex_exchange_identification: read: Connection reset by peer" >&2; exit 255`, Unreachable, "Connection reset"},
		// Measured with pam_unix.so deleted: sshd answers, then closes the
		// connection when PAM's account stack fails.
		{"refused by the server", `echo "Warning: Permanently added '[127.0.0.1]:42883' (ED25519) to the list of known hosts." >&2; echo "Connection closed by 127.0.0.1 port 42883" >&2; exit 255`, LoginRefused, "closed the connection before accepting the key: Connection closed by 127.0.0.1 port 42883"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fakeSSH(t, c.script)
			r := sshLogin(ctx, 2222, "/key", "debian", time.Second)
			assert.Equal(t, c.class, r.Class, r.Why)
			assert.Contains(t, r.Why, c.why)
			assert.Equal(t, "debian@ssh", r.Name())
			if c.class == LoggedIn {
				assert.Equal(t, "1024", r.NoFile)
				assert.Equal(t, "1000", r.LoginUID)
			}
		})
	}
	// sshd comes up late: the login is tried again.
	marker := filepath.Join(t.TempDir(), "tried")
	fakeSSH(t, `if [ -e `+marker+` ]; then echo LOGIN=root NOFILE=1024ENDLOGIN; exit 0; fi
touch `+marker+`; echo "ssh: connect to host 127.0.0.1 port 2222: Connection refused" >&2; exit 255`)
	r := sshLogin(ctx, 2222, "/key", "root", time.Minute)
	assert.Equal(t, LoggedIn, r.Class, r.Why)
}

func TestSSHArgs(t *testing.T) {
	a := strings.Join(sshArgs(2222, "/k", "debian", 20*time.Second), " ")
	for _, want := range []string{"-F /dev/null", "-i /k", "-p 2222", "-o BatchMode=yes", "-o IdentitiesOnly=yes", "debian@127.0.0.1"} {
		assert.Contains(t, a, want)
	}
}
