package evidence

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Analysis is what one boot's record shows.
type Analysis struct {
	// Source is "console", "journal" or "logs" (the text logs).
	Source string `json:"source"`
	// Files are the files the boot was read from (target paths, or the
	// console capture's name).
	Files []string `json:"files,omitempty"`
	// Boot is "last" or "previous".
	Boot string `json:"boot"`
	// BootID is the journal's boot id.
	BootID string    `json:"boot_id,omitempty"`
	Start  time.Time `json:"start,omitzero"`
	End    time.Time `json:"end,omitzero"`
	// Lines counts the lines read for the boot.
	Lines int `json:"lines"`
	// Class is how the boot ended; Why the line or reason behind it.
	Class Class  `json:"class"`
	Why   string `json:"why,omitempty"`
	// Reached is the furthest stage reached; Stages the proof of each.
	Reached Stage  `json:"reached,omitempty"`
	Stages  []Mark `json:"stages"`
	// Ended says how the record of the boot ends: "shutdown", "reboot",
	// or "" when it just stops (a crash, a reset, a hang, or the boot
	// that is still the newest).
	Ended string `json:"ended,omitempty"`
	// Events are the events of the boot, decisive first, then in order.
	Events []Event `json:"events"`
	// Machine is what the boot's kernel log says about the machine.
	Machine Machine `json:"machine"`
	// Damage notes a log that could not be read whole.
	Damage []string `json:"damage,omitempty"`
}

// maxEvents bounds the events kept per boot (after merging repeats).
const maxEvents = 200

// analyzer reads one boot's lines in order.
type analyzer struct {
	a       *Analysis
	console bool
	stages  map[Stage]Line
	fatal   Class
	fatalAt Line
	reasons map[Class]string
	// firstReason keeps the first reason line of each class: the root
	// cause of an emergency comes before the failures it drags along.
	firstReason map[Class]string
	events      map[string]int // kind+subject -> index in a.Events
	machine     machineReader
	login       loginState
	// session tracks login sessions in the logs (pam_unix session
	// opened/closed).
	sessionOpen   *Line
	sessionClosed *Line
}

func newAnalyzer(a *Analysis, console bool) *analyzer {
	return &analyzer{a: a, console: console, stages: map[Stage]Line{}, reasons: map[Class]string{}, firstReason: map[Class]string{}, events: map[string]int{}}
}

var (
	sessionOpened = regexp.MustCompile(`pam_unix\((?:login|sshd|su-l|systemd-user):session\): session opened for user (\S+?)(?:\(|\s|$)`)
	sessionClosed = regexp.MustCompile(`pam_unix\((?:login|sshd):session\): session closed for user (\S+)`)
	shutdownLine  = regexp.MustCompile(`Reached target (?:shutdown\.target|.*System Power Off|.*System Reboot)|System is (?:powering down|rebooting|halting)|reboot: (?:Power down|Restarting system)|systemd-shutdown\[1\]: |Journal stopped`)
)

// add reads one line of the boot.
func (z *analyzer) add(l Line) {
	a := z.a
	a.Lines++
	if !l.Time.IsZero() {
		if a.Start.IsZero() || l.Time.Before(a.Start) {
			a.Start = l.Time
		}
		if l.Time.After(a.End) {
			a.End = l.Time
		}
	}
	text := l.Text
	for _, st := range stageRules {
		if _, ok := z.stages[st.stage]; !ok && mayMatch(st.re, text) && st.re.MatchString(text) {
			z.stages[st.stage] = l
		}
	}
	if z.fatal == "" {
		for _, f := range Fatal {
			if f.Class != Timeout && mayMatch(f.Re, text) && f.Re.MatchString(text) {
				z.fatal, z.fatalAt = f.Class, l
				break
			}
		}
	}
	for c, re := range Reasons {
		if !mayMatch(re, text) {
			continue
		}
		if m := re.FindString(text); m != "" {
			z.reasons[c] = strings.TrimSpace(m)
			if z.firstReason[c] == "" {
				z.firstReason[c] = z.reasons[c]
			}
		}
	}
	if m := gatedFind(shutdownLine, text); m != "" {
		if strings.Contains(m, "Reboot") || strings.Contains(m, "reboot") || strings.Contains(m, "Restarting") {
			a.Ended = "reboot"
		} else if a.Ended == "" {
			a.Ended = "shutdown"
		}
	}
	for _, r := range eventRules {
		if !mayMatch(r.re, text) {
			continue
		}
		m := r.re.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		subject := ""
		if r.subject > 0 {
			for _, s := range m[1:] {
				if s != "" {
					subject = s
					break
				}
			}
		}
		z.event(r.kind, normalSubject(r.kind, subject), l)
		break
	}
	if mayMatch(sessionOpened, text) && sessionOpened.MatchString(text) {
		z.sessionOpen, z.sessionClosed = &l, nil
	} else if z.sessionOpen != nil && mayMatch(sessionClosed, text) && sessionClosed.MatchString(text) {
		z.sessionClosed = &l
	}
	z.machine.add(l)
	if z.console {
		z.login.add(l)
	}
}

// gatedFind is FindString behind the needles.
func gatedFind(re *regexp.Regexp, s string) string {
	if !mayMatch(re, s) {
		return ""
	}
	return re.FindString(s)
}

// normalSubject makes the subjects of one thing alike: a unit named with
// its description ("ssh.service - OpenBSD Secure Shell server") is the
// unit.
func normalSubject(kind, s string) string {
	s = strings.TrimSpace(s)
	switch kind {
	case KindUnitFailed, KindDependency, KindMountFailed, KindFsckFailed:
		if unit, _, ok := strings.Cut(s, " - "); ok && strings.Contains(unit, ".") {
			return unit
		}
	}
	return s
}

// mergeKinds are the kinds whose repeats are one event whatever their
// subject: the OOM killer takes process after process in one shortage.
var mergeKinds = map[string]bool{KindOOMKill: true}

// event records an event, merging repeats of the same kind and subject.
func (z *analyzer) event(kind, subject string, l Line) {
	key := kind + "\x00" + subject
	if mergeKinds[kind] {
		key = kind
	}
	if i, ok := z.events[key]; ok {
		z.a.Events[i].Count++
		return
	}
	if len(z.a.Events) >= maxEvents {
		return
	}
	z.events[key] = len(z.a.Events)
	z.a.Events = append(z.a.Events, Event{Kind: kind, Subject: subject, Line: l, Count: 1})
}

// decisive lists the event kinds that explain each class of boot.
var decisive = map[Class][]string{
	Emergency:      {KindEmergency, KindDeviceTimeout, KindMountFailed, KindDependency, KindFsckFailed, KindFSError},
	InitramfsShell: {KindRootMissing, KindInitramfsShell, KindDeviceTimeout, KindFsckFailed},
	KernelPanic:    {KindKernelPanic, KindOOMKill, KindInitFailed, KindExecFailed},
	SystemdFreeze:  {KindSystemdFreeze, KindSELinuxPolicy, KindInitFailed},
	GrubPrompt:     {KindGrubPrompt, KindGrubError, KindSilent},
	GrubRescue:     {KindGrubRescue, KindGrubError},
	NoBootable:     {KindNoBootable},
	Silent:         {KindSilent},
	LoginRefused:   {KindLoginRefused, KindPAMModule, KindPAMRefusal, KindPAMLimits, KindExecFailed, KindSSHDFailed, KindSSHDRefused},
	NoShell:        {KindNoShell, KindExecFailed, KindPAMModule, KindPAMLimits, KindSSHDFailed, KindSSHDRefused},
}

// degraded are the kinds that matter in a boot that otherwise got to a
// login prompt: what is broken although the machine came up.
var degraded = []string{KindUnitFailed, KindSSHDFailed, KindSSHDRefused, KindRemountRO, KindReadOnly, KindDiskFull,
	KindFSError, KindFsckFailed, KindOOMKill, KindMountFailed, KindDependency, KindDeviceTimeout,
	KindPAMModule, KindPAMRefusal, KindPAMLimits, KindLoginRefused, KindExecFailed, KindKernelPanic, KindHungTask}

// finish decides the class and orders the events.
func (z *analyzer) finish() *Analysis {
	a := z.a
	for _, st := range Stages {
		if l, ok := z.stages[st]; ok {
			a.Stages = append(a.Stages, Mark{Stage: st, Line: l})
			a.Reached = st
		}
	}
	// A later stage proves the ones before it even without a line of
	// theirs (the journal never sees GRUB): Reached is the furthest.
	switch {
	case z.fatal != "":
		a.Class = z.fatal
		a.Why = z.why(z.fatal)
		if a.Why == "" {
			a.Why = z.fatalAt.Text
		}
	case z.eventClass() != "":
		// Logs record no console prompt: the journal says "Started
		// emergency.service", not "You are in emergency mode".
		e := z.first(z.eventKindOf(z.eventClass()))
		a.Class, a.Why = z.eventClass(), e.Line.Text
		if r := z.why(a.Class); r != "" {
			a.Why = r
		}
	case z.console && z.login.outcome != "":
		a.Class, a.Why = z.login.outcome, z.login.why
		kind := KindLoginRefused
		if a.Class == NoShell {
			kind = KindNoShell
		}
		if a.Class != LoggedIn && !z.has(kind) {
			z.event(kind, "", z.login.line)
		}
	case z.sessionOpen != nil:
		a.Class, a.Why = LoggedIn, "session opened: "+z.sessionOpen.Text
		if c := z.sessionClosed; c != nil && closedAtOnce(*z.sessionOpen, *c) {
			a.Class, a.Why = NoShell, "a login session closed as soon as it opened: "+c.Text
			z.event(KindNoShell, "", *c)
		}
	case z.has(KindLoginRefused) && z.reached(StageLogin):
		a.Class, a.Why = LoginRefused, z.first(KindLoginRefused).Line.Text
	case a.Lines == 0 && z.console:
		a.Class, a.Why = Silent, "the console capture holds no output"
		z.event(KindSilent, "", Line{Source: "console", Text: "(no output)"})
	case z.reached(StageLogin) || z.reached(StageSSHD):
		a.Class = Booted
	default:
		a.Class = Incomplete
		if a.Lines > 0 {
			a.Why = "the record stops at " + describeStage(a.Reached) + " without saying why"
		}
	}
	kinds := decisive[a.Class]
	if kinds == nil {
		kinds = degraded
	}
	for i := range a.Events {
		for _, k := range kinds {
			if a.Events[i].Kind == k {
				a.Events[i].Decisive = true
			}
		}
		if a.Events[i].Count == 1 {
			a.Events[i].Count = 0
		}
	}
	// Decisive events first, each group in the order they happened.
	var d, rest []Event
	for _, e := range a.Events {
		if e.Decisive {
			d = append(d, e)
		} else {
			rest = append(rest, e)
		}
	}
	a.Events = append(d, rest...)
	if a.Events == nil {
		a.Events = []Event{}
	}
	a.Machine = z.machine.result()
	return a
}

// why is the reason line of a class: for an emergency the first (the
// mount that failed before the others that needed it), else the last
// (the initramfs's ALERT after its waiting).
func (z *analyzer) why(c Class) string {
	r := z.reasons[c]
	if c == Emergency {
		r = z.firstReason[c]
	}
	return strings.TrimSuffix(r, " ]---")
}

// classEvents are the event kinds that decide a class by themselves, in the
// order they are tried.
var classEvents = []struct {
	kind  string
	class Class
}{
	{KindKernelPanic, KernelPanic},
	{KindSystemdFreeze, SystemdFreeze},
	{KindEmergency, Emergency},
	{KindInitramfsShell, InitramfsShell},
	{KindGrubRescue, GrubRescue},
	{KindGrubPrompt, GrubPrompt},
	{KindNoBootable, NoBootable},
}

// eventClass is the class the boot's events decide, or "".
func (z *analyzer) eventClass() Class {
	for _, ce := range classEvents {
		if z.has(ce.kind) {
			return ce.class
		}
	}
	return ""
}

func (z *analyzer) eventKindOf(c Class) string {
	for _, ce := range classEvents {
		if ce.class == c {
			return ce.kind
		}
	}
	return ""
}

func describeStage(s Stage) string {
	if s == "" {
		return "its start"
	}
	return "the " + string(s) + " stage"
}

// closedAtOnce says whether a session closed within two seconds of
// opening: the shell could not run or exited at once.
func closedAtOnce(open, closed Line) bool {
	switch {
	case open.HasUptime && closed.HasUptime:
		return closed.Uptime-open.Uptime < 2*time.Second
	case !open.Time.IsZero() && !closed.Time.IsZero():
		return closed.Time.Sub(open.Time) < 2*time.Second
	}
	return false
}

func (z *analyzer) reached(s Stage) bool {
	_, ok := z.stages[s]
	return ok
}

func (z *analyzer) has(kind string) bool {
	for _, e := range z.a.Events {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

func (z *analyzer) first(kind string) Event {
	for _, e := range z.a.Events {
		if e.Kind == kind {
			return e
		}
	}
	return Event{}
}

// loginState follows the login prompt on a console capture in which
// someone typed (the boot proof does; an operator may have): what came after
// the last user name says whether the login worked.
type loginState struct {
	// phase: 0 no prompt yet, 1 prompt seen, 2 user typed, 3 password
	// asked, 4 something printed after the password (a banner, a
	// message), 5 a shell prompt.
	phase   int
	outcome Class
	why     string
	line    Line
}

var (
	promptLine = regexp.MustCompile(`(?:^|\s)\S*login: ?(.*)$`)
	shellLine  = regexp.MustCompile(`^(?:\S+@\S+:[^#$]*|\S*|bash-[0-9.]+)[#$] `)
)

func (s *loginState) add(l Line) {
	t := l.Text
	switch {
	case LoginIncorrect.MatchString(t) && s.phase >= 1:
		s.outcome, s.why, s.line, s.phase = LoginRefused, "Login incorrect", l, 1
	case promptLine.MatchString(t) && !strings.Contains(t, "Last login:"):
		typed := strings.TrimSpace(promptLine.FindStringSubmatch(t)[1])
		switch s.phase {
		case 2:
			s.outcome, s.why, s.line = LoginRefused, "the login prompt came back without asking for a password", l
		case 3, 4:
			s.outcome, s.why, s.line = NoShell, "the password was accepted, then the login prompt came back", l
		}
		s.phase = 1
		if typed != "" {
			s.phase = 2
		}
	case strings.HasPrefix(strings.TrimSpace(t), "Password:") && s.phase >= 1:
		s.phase = 3
	case s.phase >= 3 && shellLine.MatchString(t):
		s.phase, s.outcome, s.why, s.line = 5, LoggedIn, "", l
	case s.phase == 2 && l.Ident == "kernel":
		// Kernel messages interleave with the prompt.
	case s.phase == 3 || s.phase == 4:
		if l.Ident != "kernel" && s.phase == 3 {
			s.phase = 4
			s.outcome, s.why, s.line = NoShell, "the password was accepted, but no shell prompt came", l
		}
	}
}

// String summarises an analysis on one line.
func (a *Analysis) String() string {
	s := fmt.Sprintf("%s %s boot: %s", a.Source, a.Boot, a.Class)
	if a.Reached != "" {
		s += ", reached " + string(a.Reached)
	}
	if a.Why != "" {
		s += ": " + a.Why
	}
	return s
}
