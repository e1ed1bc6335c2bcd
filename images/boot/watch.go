package boot

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"

	"rescue/evidence"
)

// Class is how a boot ended, as seen from the serial console (and the VGA
// text screen for what GRUB prints only there). The classes, and the
// console lines that decide them, are the product's (package evidence):
// rescue scan --console reads a capture after the fact with the same
// patterns this watcher applies live.
type Class = evidence.Class

// The outcomes of a boot, from best to worst along the boot sequence (see
// evidence.Class).
const (
	LoggedIn       = evidence.LoggedIn
	LoginRefused   = evidence.LoginRefused
	NoShell        = evidence.NoShell
	Emergency      = evidence.Emergency
	InitramfsShell = evidence.InitramfsShell
	KernelPanic    = evidence.KernelPanic
	SystemdFreeze  = evidence.SystemdFreeze
	GrubPrompt     = evidence.GrubPrompt
	GrubRescue     = evidence.GrubRescue
	NoBootable     = evidence.NoBootable
	Timeout        = evidence.Timeout
)

// Event names recorded in Result.Events, in the order they can happen.
const (
	EvFirstOutput  = "first_output"
	EvLoginPrompt  = "login_prompt"
	EvUserSent     = "user_sent"
	EvPasswordSent = "password_sent"
	EvCommandSent  = "command_sent"
	EvShell        = "shell"
	EvState        = "state"
	EvFatal        = "fatal"
)

// Result is what a boot showed.
type Result struct {
	Class Class `json:"class"`
	// Why is the line or the reason behind the class.
	Why string `json:"why,omitempty"`
	// State is `systemctl is-system-running` after login (running,
	// degraded, …); empty when not logged in or it did not answer.
	State string `json:"state,omitempty"`
	// RootWritable says whether / could be written after login; nil when
	// unknown.
	RootWritable *bool `json:"root_writable,omitempty"`
	// FailedUnits are the units systemd lists as failed after login.
	FailedUnits []string `json:"failed_units,omitempty"`
	// SSH is `systemctl is-active ssh.service` after login (active,
	// failed, activating while it restarts in a loop, …).
	SSH string `json:"ssh,omitempty"`
	// Logins are the logins tried, in order: the first console login
	// (whose outcome is Class), then the further console logins and the
	// SSH logins the options asked for.
	Logins []LoginResult `json:"logins,omitempty"`
	// Events are the seconds since start at which each step happened.
	Events map[string]float64 `json:"events,omitempty"`
	// VGA holds the last non-empty lines of the VGA text screen, read
	// when the serial console was not enough to classify the boot.
	VGA []string `json:"vga,omitempty"`
	// Seconds is the wall time of the boot; CPUSeconds the processor time
	// qemu used (user and system), which does not depend on how busy the
	// host was and so measures what a boot costs.
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
	// SerialLog is the path of the serial console transcript.
	SerialLog string `json:"serial_log,omitempty"`
}

// Short is the class plus what qualifies a login: "LOGGED_IN (ro,
// degraded: ssh.service)".
func (r *Result) Short() string {
	if r == nil {
		return ""
	}
	s := string(r.Class)
	if r.Class != LoggedIn {
		return s
	}
	var q []string
	if r.RootWritable != nil && !*r.RootWritable {
		q = append(q, "/ read-only")
	}
	if r.State != "" && r.State != "running" {
		st := r.State
		if len(r.FailedUnits) > 0 {
			st += ": " + strings.Join(r.FailedUnits, ",")
		}
		q = append(q, st)
	}
	if r.SSH != "" && r.SSH != "active" {
		q = append(q, "sshd "+r.SSH)
	}
	for _, l := range r.Logins {
		if l.Class != LoggedIn {
			q = append(q, l.Name()+" "+string(l.Class))
		}
	}
	if len(q) > 0 {
		s += " (" + strings.Join(q, "; ") + ")"
	}
	return s
}

// Healthy says whether the boot logged in with / writable, the system
// running, no failed unit, sshd (where its state is known) active, and
// every login tried answered.
func (r *Result) Healthy() bool {
	return r != nil && r.Class == LoggedIn && r.RootWritable != nil && *r.RootWritable &&
		r.State == "running" && len(r.FailedUnits) == 0 && (r.SSH == "" || r.SSH == "active") &&
		r.LoginsFailed() == ""
}

// LoginsFailed names the logins that did not answer ("" when all did).
func (r *Result) LoginsFailed() string {
	var bad []string
	for _, l := range r.Logins {
		if l.Class != LoggedIn {
			bad = append(bad, fmt.Sprintf("%s %s (%s)", l.Name(), l.Class, l.Why))
		}
	}
	return strings.Join(bad, "; ")
}

// Login returns the login named "user@via", or nil when it was not tried.
func (r *Result) Login(name string) *LoginResult {
	for i := range r.Logins {
		if r.Logins[i].Name() == name {
			return &r.Logins[i]
		}
	}
	return nil
}

// The console commands sent after login. The marker is computed by the
// shell, so the echo of the typed command never matches it.
const (
	markerCommand = "echo MARK$((6*7))END\r"
	markerOutput  = "MARK42END"
	// stateCommand waits (bounded) for the boot to finish, so that "running"
	// and "degraded" are final, then tries to write / and lists failed
	// units, all on one line ending in ENDSTATE.
	stateCommand = `echo "STATE=$(timeout 300 systemctl is-system-running --wait 2>/dev/null) ` +
		`RW=$(touch /.rescue-rw 2>/dev/null && rm -f /.rescue-rw && echo yes || echo no) ` +
		`FAILED=$(systemctl --failed --plain --no-legend 2>/dev/null | awk '{print $1}' | tr '\n' ,) ` +
		`SSH=$(systemctl is-active ssh.service 2>/dev/null)"ENDSTATE` + "\r"
)

var stateLine = regexp.MustCompile(`STATE=(\S*) RW=(\S*) FAILED=(\S*?)(?: SSH=(\S*))?ENDSTATE`)

// The patterns the watcher decides by: the fatal lines (which end the boot
// after a short grace period, so that the log holds the reason), the lines
// worth quoting for each, and the prompts.
var (
	fatal          = evidence.Fatal
	reasons        = evidence.Reasons
	loginPrompt    = evidence.LoginPrompt
	loginPromptAny = evidence.LoginPromptAny
	passwordPrompt = evidence.PasswordPrompt
	loginIncorrect = evidence.LoginIncorrect
	shellPrompt    = evidence.ShellPrompt
)

type phase int

const (
	phaseBoot     phase = iota // waiting for the login prompt
	phaseUser                  // user name sent, waiting for Password:
	phasePassword              // password sent, waiting for a shell
	phaseMarker                // marker command sent
	phaseState                 // state command sent
	phaseRelogin               // a further login: waiting for the prompt after logging out
	phaseCheck                 // a further login: check command sent
	phaseDone
)

// Watcher turns the serial console transcript into actions (what to type)
// and, at the end, a Result. It is a pure state machine driven by Step so
// that it can be tested on recorded transcripts without booting anything.
type Watcher struct {
	User, Password string
	// Patience scales the waits for prompts (1 when unset): boots slow
	// down when several share the CPU.
	Patience float64
	// Idle ends a boot that has printed nothing for this long before the
	// login prompt (0: no limit): a hung machine is TIMEOUT.
	Idle time.Duration
	// Extra are further logins on the console once the first one has
	// answered the state command: each logs out the session before it
	// and logs in again, and types checkCommand.
	Extra []Login

	// cur is the login under way: 0 the first (User), i Extra[i-1].
	cur      int
	answered bool // the first login answered the state command
	nudged   bool // Enter was typed to get a login prompt back
	logins   []LoginResult

	buf     []byte
	scanned int // how much of buf the fatal patterns have seen
	phase   phase
	since   time.Duration // when the current phase began
	mark    int           // offset in buf where the current phase began
	lastOut time.Duration
	events  map[string]time.Duration
	res     Result
	// pending is a fatal class seen but not yet final (grace period).
	pending    Class
	pendingAt  time.Duration
	prompted   bool
	promptSeen time.Duration
	vgaAt      time.Duration
	done       bool
}

// Action is what the runner must do after a step.
type Action struct {
	Send    string // type this on the serial console
	ReadVGA bool   // read the VGA text screen and hand it to VGA
	Done    bool   // the outcome is known: stop the machine
}

// NewWatcher returns a watcher that logs in as user with password.
func NewWatcher(user, password string) *Watcher {
	return &Watcher{User: user, Password: password, events: map[string]time.Duration{}}
}

func (w *Watcher) scale(d time.Duration) time.Duration {
	if w.Patience > 1 {
		return time.Duration(float64(d) * w.Patience)
	}
	return d
}

func (w *Watcher) event(name string, now time.Duration) {
	if _, ok := w.events[name]; !ok {
		w.events[name] = now
	}
}

func (w *Watcher) enter(p phase, now time.Duration) {
	w.phase, w.since, w.mark = p, now, len(w.buf)
}

func (w *Watcher) finish(c Class, why string) Action {
	w.res.Class, w.res.Why, w.phase, w.done = c, why, phaseDone, true
	return Action{Done: true}
}

// Transcript returns everything the console printed so far.
func (w *Watcher) Transcript() []byte { return w.buf }

// Step feeds the output that arrived (possibly none) at time now since the
// machine started, and returns what to do next.
func (w *Watcher) Step(now time.Duration, data []byte) Action {
	if w.done {
		return Action{Done: true}
	}
	if len(data) > 0 {
		if len(w.buf) == 0 {
			w.event(EvFirstOutput, now)
		}
		w.buf = append(w.buf, data...)
		w.lastOut = now
	}
	// Fatal states, anywhere in the transcript since the boot began.
	// Only the new output is searched (with an overlap for a match split
	// between reads), so a long boot costs linear time.
	fresh := w.buf[max(0, w.scanned-256):]
	if len(data) > 0 {
		w.scanned = len(w.buf)
	}
	if w.pending == "" && len(data) > 0 {
		for _, f := range fatal {
			if loc := f.Re.FindIndex(fresh); loc != nil {
				w.pending, w.pendingAt = f.Class, now
				w.event(EvFatal, now)
				break
			}
		}
	}
	if w.pending != "" {
		var grace time.Duration
		for _, f := range fatal {
			if f.Class == w.pending {
				grace = f.Grace
			}
		}
		// A login that is already answering wins over an emergency
		// message printed earlier and recovered from.
		if now-w.pendingAt >= grace && w.phase < phaseMarker && !w.answered {
			return w.finish(w.pending, w.reason(w.pending))
		}
	}
	// GRUB without its configuration prints only on the VGA screen, so
	// look there while the serial console stays silent.
	if len(w.buf) == 0 && now >= w.scale(20*time.Second) && now-w.vgaAt >= w.scale(15*time.Second) {
		w.vgaAt = now
		return Action{ReadVGA: true}
	}
	if w.Idle > 0 && w.phase == phaseBoot && now-w.lastOut >= w.scale(w.Idle) {
		return w.finish(Timeout, fmt.Sprintf("no console output for %s; last output: %s", w.scale(w.Idle).Round(time.Second), lastLines(w.buf, 2)))
	}
	tail := w.buf[w.mark:]
	switch w.phase {
	case phaseBoot:
		if !w.prompted && len(data) > 0 && loginPromptAny.Match(fresh) {
			w.prompted, w.promptSeen = true, now
			w.event(EvLoginPrompt, now)
		}
		// Type the user name once the prompt is the last thing printed
		// and the console has been quiet a moment, or a little later
		// anyway: late boot messages may follow the prompt.
		if w.prompted && ((loginPrompt.Match(bytes.TrimRight(w.buf, "\r\n")) || bytes.HasSuffix(w.buf, []byte("login: "))) && now-w.lastOut >= time.Second ||
			now-w.promptSeen >= 5*time.Second) {
			w.event(EvUserSent, now)
			w.enter(phaseUser, now)
			return Action{Send: w.User + "\r"}
		}
	case phaseUser:
		switch {
		case passwordPrompt.Match(tail):
			w.event(EvPasswordSent, now)
			w.enter(phasePassword, now)
			return Action{Send: w.login().Password + "\r"}
		case loginIncorrect.Match(tail):
			return w.failLogin(LoginRefused, "Login incorrect before the password was asked for", now)
		case promptIn(tail):
			return w.failLogin(LoginRefused, "the login prompt came back without asking for a password", now)
		case now-w.since >= w.scale(30*time.Second):
			return w.failLogin(LoginRefused, "no password prompt within 30s of the user name", now)
		}
	case phasePassword:
		switch {
		case loginIncorrect.Match(tail):
			return w.failLogin(LoginRefused, "Login incorrect", now)
		case promptIn(tail):
			return w.failLogin(NoShell, "password accepted, then the login prompt came back: "+lastLines(tail, 3), now)
		case shellPrompt.Match(tail) && now-w.lastOut >= 500*time.Millisecond || now-w.since >= w.scale(15*time.Second):
			// Without a prompt the command is typed anyway: a shell that
			// is merely quiet still answers it.
			if w.cur > 0 {
				w.enter(phaseCheck, now)
				return Action{Send: checkCommand + "\r"}
			}
			w.event(EvCommandSent, now)
			w.enter(phaseMarker, now)
			return Action{Send: markerCommand}
		}
	case phaseMarker:
		switch {
		case bytes.Contains(tail, []byte(markerOutput)):
			w.event(EvShell, now)
			w.enter(phaseState, now)
			return Action{Send: stateCommand}
		default:
			return w.noAnswer(tail, now)
		}
	case phaseState:
		if m := stateLine.FindSubmatch(tail); m != nil {
			w.event(EvState, now)
			w.res.State = string(m[1])
			rw := string(m[2]) == "yes"
			w.res.RootWritable = &rw
			for _, u := range strings.Split(string(m[3]), ",") {
				if u != "" {
					w.res.FailedUnits = append(w.res.FailedUnits, u)
				}
			}
			w.res.SSH = string(m[4])
			w.record(LoggedIn, "")
			w.answered = true
			return w.nextLogin(now, true)
		}
		if now-w.since >= w.scale(330*time.Second) {
			w.record(LoggedIn, "the shell answered, but the state command did not")
			return w.finish(LoggedIn, "the shell answered, but the state command did not")
		}
	case phaseRelogin:
		switch {
		case loginPrompt.Match(bytes.TrimRight(tail, "\r\n")) && now-w.lastOut >= time.Second:
			w.enter(phaseUser, now)
			return Action{Send: w.Extra[w.cur-1].User + "\r"}
		case now-w.since >= w.scale(60*time.Second):
			w.record(Timeout, "no login prompt after logging out")
			return w.finish(LoggedIn, "")
		case now-w.since >= w.scale(20*time.Second) && !w.nudged:
			// Enter at a login prompt printed before the mark shows it
			// again.
			w.nudged = true
			return Action{Send: "\r"}
		}
	case phaseCheck:
		switch {
		case checkLine.Match(tail):
			w.record(LoggedIn, "")
			w.logins[len(w.logins)-1].answered(checkLine.FindSubmatch(tail))
			return w.nextLogin(now, true)
		default:
			return w.noAnswer(tail, now)
		}
	}
	return Action{}
}

// noAnswer ends a login whose shell has not answered the command typed
// into it yet when the session is over (refused, or back at the login
// prompt) or the wait is: otherwise it waits on.
func (w *Watcher) noAnswer(tail []byte, now time.Duration) Action {
	switch {
	case loginIncorrect.Match(tail):
		return w.failLogin(LoginRefused, "Login incorrect", now)
	case promptIn(tail):
		return w.failLogin(NoShell, "password accepted, then the login prompt came back: "+lastLines(tail, 3), now)
	case now-w.since >= w.scale(45*time.Second):
		return w.failLogin(NoShell, "password accepted, but no shell answered within 45s", now)
	}
	return Action{}
}

// login is the account of the login under way.
func (w *Watcher) login() Login {
	if w.cur == 0 {
		return Login{User: w.User, Password: w.Password}
	}
	return w.Extra[w.cur-1]
}

// record notes the outcome of the login under way.
func (w *Watcher) record(c Class, why string) {
	w.logins = append(w.logins, LoginResult{User: w.login().User, Via: ViaSerial, Class: c, Why: why})
}

// failLogin ends the login under way: the first one ends the watch with
// that class; a further one is noted, and the next one begins.
func (w *Watcher) failLogin(c Class, why string, now time.Duration) Action {
	w.record(c, why)
	if w.cur == 0 {
		return w.finish(c, why)
	}
	return w.nextLogin(now, false)
}

// nextLogin begins the next further login, logging out of the session
// when one is open; after the last one the watch ends, logged in. After a
// failed login the mark stays where it was, so that a prompt printed with
// the failure counts.
func (w *Watcher) nextLogin(now time.Duration, open bool) Action {
	if w.cur >= len(w.Extra) {
		return w.finish(LoggedIn, "")
	}
	w.cur++
	w.nudged = false
	if open {
		w.enter(phaseRelogin, now)
		return Action{Send: "exit\r"}
	}
	w.phase, w.since = phaseRelogin, now
	return Action{}
}

// promptIn says whether b holds a login prompt, not counting pam_lastlog's
// "Last login: …" line.
func promptIn(b []byte) bool {
	for _, m := range loginPromptAny.FindAll(b, -1) {
		if !bytes.Contains(m, []byte("Last login: ")) {
			return true
		}
	}
	return false
}

// VGA hands the watcher the VGA text screen it asked for.
func (w *Watcher) VGA(lines []string) Action {
	w.res.VGA = lastNonEmpty(lines, 6)
	if w.done {
		return Action{Done: true}
	}
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case strings.Contains(t, "grub rescue>"):
			return w.finish(GrubRescue, t)
		case strings.HasPrefix(t, "grub>"):
			return w.finish(GrubPrompt, t)
		case strings.Contains(t, "No bootable device") || strings.Contains(t, "Boot failed"):
			return w.finish(NoBootable, t)
		}
	}
	return Action{}
}

// Result ends the watch (at the time limit, or when the machine stopped on
// its own) and returns the outcome.
func (w *Watcher) Result(now time.Duration) *Result {
	if !w.done && w.answered {
		// The time limit came during a further login.
		switch w.phase {
		case phaseRelogin:
			w.record(Timeout, "no login prompt after logging out")
		case phaseUser:
			w.record(LoginRefused, "no answer to the user name")
		default:
			w.record(NoShell, "password accepted, but no shell answered")
		}
		w.finish(LoggedIn, "")
	}
	if !w.done {
		switch {
		case w.pending != "":
			w.finish(w.pending, w.reason(w.pending))
		case w.phase == phaseUser:
			w.record(LoginRefused, "no answer to the user name")
			w.finish(LoginRefused, "no answer to the user name")
		case w.phase == phasePassword || w.phase == phaseMarker:
			w.record(NoShell, "password accepted, but no shell answered")
			w.finish(NoShell, "password accepted, but no shell answered")
		case w.phase == phaseState:
			w.record(LoggedIn, "the shell answered, but the state command did not")
			w.finish(LoggedIn, "the shell answered, but the state command did not")
		default:
			why := "no login prompt"
			if len(w.buf) > 0 {
				why += "; last output: " + lastLines(w.buf, 2)
			} else {
				why += "; the serial console stayed silent"
			}
			w.finish(Timeout, why)
		}
	}
	r := w.res
	r.Logins = append([]LoginResult(nil), w.logins...)
	r.Seconds = now.Seconds()
	r.Events = map[string]float64{}
	for k, v := range w.events {
		r.Events[k] = float64(v.Milliseconds()) / 1000
	}
	return &r
}

func (w *Watcher) reason(c Class) string {
	if re := reasons[c]; re != nil {
		if m := re.FindAll(w.buf, -1); len(m) > 0 {
			return cleanLine(string(m[len(m)-1]))
		}
	}
	for _, f := range fatal {
		if f.Class == c {
			if m := f.Re.Find(w.buf); m != nil {
				return cleanLine(string(m))
			}
		}
	}
	return ""
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;?]*[A-Za-z]")

// cleanLine strips terminal escapes and control characters.
func cleanLine(s string) string {
	s = ansi.ReplaceAllString(s, "")
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s))
}

// lastLines returns the last n non-empty lines of b, joined by " | ".
func lastLines(b []byte, n int) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = cleanLine(l); l != "" {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, " | ")
}

func lastNonEmpty(lines []string, n int) []string {
	var out []string
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			out = append(out, strings.TrimRight(l, " "))
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}
