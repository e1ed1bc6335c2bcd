package boot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Login is an account the harness logs in with.
type Login struct {
	User, Password string
}

// How a login was made.
const (
	ViaSerial = "serial"
	ViaSSH    = "ssh"
)

// Unreachable is the class of an SSH login that found no SSH server to
// talk to within the time limit (sshd not running, or the network down).
const Unreachable Class = "UNREACHABLE"

// LoginResult is how one login went.
type LoginResult struct {
	User string `json:"user"`
	// Via is ViaSerial (the serial console's getty and login) or ViaSSH.
	Via string `json:"via"`
	// Class is LOGGED_IN when a shell answered the check command;
	// otherwise LOGIN_REFUSED, NO_SHELL, UNREACHABLE (SSH) or TIMEOUT.
	Class Class  `json:"class"`
	Why   string `json:"why,omitempty"`
	// Who, NoFile and LoginUID are what the session answered: `id -un`,
	// `ulimit -n` (which pam_limits sets) and the audit login uid
	// (/proc/self/loginuid, which pam_loginuid sets; 4294967295 when
	// unset). They are empty for the first console login, which answers
	// the state command instead.
	Who      string `json:"who,omitempty"`
	NoFile   string `json:"nofile,omitempty"`
	LoginUID string `json:"loginuid,omitempty"`
}

// Name is "user@serial" or "user@ssh".
func (l LoginResult) Name() string { return l.User + "@" + l.Via }

// checkCommand is what a login after the first one types: who the session
// runs as, its open-files limit and its audit login uid (what two of the
// session's PAM modules set), computed by the shell so that the echo of
// the typed line never matches checkLine.
const checkCommand = `echo "LOGIN=$(id -un) NOFILE=$(ulimit -n) LOGINUID=$(cat /proc/self/loginuid)"ENDLOGIN`

var checkLine = regexp.MustCompile(`LOGIN=([^\s$"]+) NOFILE=([^\s$"]+)(?: LOGINUID=([^\s$"]*))?ENDLOGIN`)

// answered fills in what the session said (a checkLine match).
func (l *LoginResult) answered(m [][]byte) {
	l.Class, l.Who, l.NoFile, l.LoginUID = LoggedIn, string(m[1]), string(m[2]), string(m[3])
}

// sshArgs is the ssh command line of a login: the key only, no
// configuration or known hosts of the helper, no questions. VERBOSE makes
// ssh say how far it got: "Permanently added" (to the empty known hosts)
// once an SSH server answered the key exchange, "Authenticated to" once
// the key was accepted.
func sshArgs(port int, key, user string, timeout time.Duration) []string {
	return []string{"-F", "/dev/null", "-i", key, "-p", strconv.Itoa(port), "-T",
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=VERBOSE",
		"-o", "ConnectTimeout=" + strconv.Itoa(int(timeout.Seconds())),
		user + "@127.0.0.1"}
}

// sshLogin logs in as user over SSH as an operator would: no command, so
// sshd starts the user's login shell (which reads /etc/profile and the
// like) under its PAM session, and the check command is typed into it. It
// tries again while no SSH server answers (the port forward accepts the
// connection, but nothing listens behind it), up to wait; once a server
// answered, the outcome is final.
func sshLogin(ctx context.Context, port int, key, user string, wait time.Duration) LoginResult {
	r := LoginResult{User: user, Via: ViaSSH}
	deadline := time.Now().Add(wait)
	for {
		attempt := min(time.Until(deadline), 60*time.Second)
		actx, cancel := context.WithTimeout(ctx, max(attempt, 20*time.Second))
		cmd := exec.CommandContext(actx, "ssh", sshArgs(port, key, user, 20*time.Second)...)
		cmd.Stdin = strings.NewReader(checkCommand + "\nexit\n")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		timedOut := actx.Err() != nil
		cancel()
		if m := checkLine.FindSubmatch(stdout.Bytes()); m != nil {
			r.answered(m)
			return r
		}
		msg := sshWhy(stderr.Bytes())
		answered := bytes.Contains(stderr.Bytes(), []byte("Permanently added"))
		authenticated := bytes.Contains(stderr.Bytes(), []byte("Authenticated to"))
		var ee *exec.ExitError
		switch {
		case ctx.Err() != nil:
			r.Class, r.Why = Unreachable, ctx.Err().Error()
			return r
		case strings.Contains(msg, "Permission denied"):
			r.Class, r.Why = LoginRefused, msg
			return r
		case authenticated && timedOut:
			r.Class, r.Why = NoShell, "authenticated, but the shell did not answer within "+attempt.Round(time.Second).String()+": "+lastLines(stdout.Bytes(), 2)
			return r
		case authenticated || errors.As(err, &ee) && ee.ExitCode() != 255 && !timedOut:
			// Authenticated, and the session ended without the answer.
			r.Class, r.Why = NoShell, fmt.Sprintf("authenticated, then the session ended (exit %d) without an answer: %s", cmd.ProcessState.ExitCode(), lastLines(append(stdout.Bytes(), []byte(msg)...), 2))
			return r
		case answered:
			// sshd answered and then closed the connection before
			// accepting the key: PAM's account stack refused the user,
			// for one.
			r.Class, r.Why = LoginRefused, "the SSH server closed the connection before accepting the key: "+msg
			return r
		}
		if time.Now().After(deadline) {
			if timedOut {
				msg = "no answer within " + attempt.Round(time.Second).String()
			}
			r.Class, r.Why = Unreachable, fmt.Sprintf("no SSH server answered within %s: %s", wait.Round(time.Second), msg)
			return r
		}
		select {
		case <-ctx.Done():
		case <-time.After(3 * time.Second):
		}
	}
}

// sshWhy is what ssh said on stderr, without its VERBOSE progress lines.
func sshWhy(stderr []byte) string {
	var keep []string
	for _, l := range strings.Split(string(stderr), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "", strings.HasPrefix(l, "Warning: Permanently added"), strings.HasPrefix(l, "Authenticated to"),
			strings.HasPrefix(l, "Transferred:"), strings.HasPrefix(l, "Bytes per second"):
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) > 2 {
		keep = keep[len(keep)-2:]
	}
	return strings.Join(keep, " | ")
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process may take it before qemu binds it: Run then retries.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// fwdFailed says whether qemu refused the port forwarding (the port was
// taken after freePort chose it).
func fwdFailed(transcript []byte) bool {
	return bytes.Contains(transcript, []byte("host forwarding rule"))
}
