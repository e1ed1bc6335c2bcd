// Package evidence reads what a machine said about its last boots, and
// says how far the last one got and why it stopped: from the disk's own
// logs (systemd journal files and the classic text logs, read through the
// confined root, never by running the target's programs) and from a serial
// console capture the cloud hands out.
//
// The same classifier judges a live console in the boot proof (images/boot
// watches a qemu console with it) and a capture after the fact, so that
// what the e2e suite calls EMERGENCY is what `rescue scan --console` calls
// EMERGENCY.
//
// A boot is read line by line into an Analysis: the stages it reached
// (GRUB, kernel, initramfs, systemd, login, network, sshd), the events that
// matter (a panic, an OOM kill, a failed unit, emergency mode and its
// reason, a refused login, a full disk, …) and the facts about the machine
// that only a boot can tell (its RAM, the bus its disk is on, its NICs).
// Link then ties each event to the findings of the checks that explain it,
// through a stated table (Rules), and says so when none does.
package evidence

import (
	"encoding/json"
	"time"
)

// Class is how a boot ended: for a live console, what the boot proof saw;
// for logs, what they show.
type Class string

// The outcomes of a boot, from best to worst along the boot sequence. The
// first eleven are what the boot proof's watcher reports for a live
// console; Booted, Incomplete and Silent are for logs read afterwards, in
// which no one tried to log in.
const (
	// LoggedIn: a login session was opened and a shell answered (the
	// console shows a shell prompt, the logs a session opened).
	LoggedIn Class = "LOGGED_IN"
	// LoginRefused: the login prompt came but the login was refused
	// ("Login incorrect", or the prompt came back before the password was
	// asked for, as when /usr/bin/login cannot run).
	LoginRefused Class = "LOGIN_REFUSED"
	// NoShell: the password was accepted but no shell answered: the
	// session ended at once (the prompt came back) or hung.
	NoShell Class = "NO_SHELL"
	// Emergency: systemd went to emergency or rescue mode.
	Emergency Class = "EMERGENCY"
	// InitramfsShell: the initramfs could not find or mount the root and
	// dropped to its shell.
	InitramfsShell Class = "INITRAMFS_SHELL"
	// KernelPanic: the kernel panicked (no init, no root, no memory).
	KernelPanic Class = "KERNEL_PANIC"
	// SystemdFreeze: systemd as PID 1 gave up and froze (an SELinux policy
	// it could not load, for one).
	SystemdFreeze Class = "SYSTEMD_FREEZE"
	// GrubPrompt: GRUB started but had no configuration to run: "grub>".
	GrubPrompt Class = "GRUB_PROMPT"
	// GrubRescue: GRUB's core image could not find its prefix or modules:
	// "grub rescue>".
	GrubRescue Class = "GRUB_RESCUE"
	// NoBootable: the firmware found nothing to boot.
	NoBootable Class = "NO_BOOTABLE"
	// Timeout: a live boot showed none of the above within the time
	// limit.
	Timeout Class = "TIMEOUT"
	// Booted: the logs reach the login prompt (or multi-user) and show
	// nothing fatal; no one is seen logging in.
	Booted Class = "BOOTED"
	// Incomplete: the logs stop before the login prompt without saying
	// why: the machine hung, lost power or was reset, or the logs were
	// not written to disk.
	Incomplete Class = "INCOMPLETE"
	// Silent: the console capture holds no output at all: the boot
	// stopped in the firmware or the boot loader (whose output goes to
	// the screen), or the kernel does not write to this console.
	Silent Class = "SILENT"
)

// Fatal reports whether the class is a boot that stopped before a login
// prompt could work.
func (c Class) Fatal() bool {
	switch c {
	case Emergency, InitramfsShell, KernelPanic, SystemdFreeze, GrubPrompt, GrubRescue, NoBootable:
		return true
	}
	return false
}

// Stage is a point a boot reaches.
type Stage string

// The stages, in the order a boot reaches them (login, network and sshd
// come up side by side; the order is the one the report shows).
const (
	StageGRUB      Stage = "grub"
	StageKernel    Stage = "kernel"
	StageInitramfs Stage = "initramfs"
	StageSystemd   Stage = "systemd"
	StageLogin     Stage = "login"
	StageNetwork   Stage = "network"
	StageSSHD      Stage = "sshd"
)

// Stages lists the stages in order.
var Stages = []Stage{StageGRUB, StageKernel, StageInitramfs, StageSystemd, StageLogin, StageNetwork, StageSSHD}

// Line is one line a source recorded.
type Line struct {
	// Source names where the line is: "console", "journal", or a log
	// file's path in the target.
	Source string `json:"source"`
	// N is the line number in a console capture or text log (1-based),
	// 0 for the journal.
	N int `json:"n,omitempty"`
	// Time is the wall-clock time, when the source records one.
	Time time.Time `json:"time,omitzero"`
	// Uptime is the time since the kernel started, when known (the
	// kernel's own timestamp, or the journal's monotonic clock).
	Uptime    time.Duration `json:"-"`
	HasUptime bool          `json:"-"`
	// Ident is the program that wrote the line (kernel, systemd, sshd,
	// login), when the source says.
	Ident string `json:"ident,omitempty"`
	// Unit is the systemd unit the line is about, when the journal says.
	Unit string `json:"unit,omitempty"`
	// Text is the message, without the timestamp and program prefixes.
	Text string `json:"text"`
}

// Event is something in a boot that matters for why it failed.
type Event struct {
	// Kind is a short slug (see Kinds): "kernel-panic", "unit-failed".
	Kind string `json:"kind"`
	// Subject is what the event is about, when the line says: a unit, a
	// device, a user, a file, the panic's reason.
	Subject string `json:"subject,omitempty"`
	Line    Line   `json:"line"`
	// Decisive marks the events that explain the boot's outcome (the
	// emergency and what caused it, the panic and its reason); the others
	// are worth knowing.
	Decisive bool `json:"decisive,omitempty"`
	// Count is how many times the same kind and subject occurred (the
	// first is kept).
	Count int `json:"count,omitempty"`
	// Findings are the IDs of the scan's findings that explain the event
	// (see Link); Explained is false when no check explains it.
	Findings  []string `json:"findings"`
	Explained bool     `json:"explained"`
}

// Mark is where a stage was reached.
type Mark struct {
	Stage Stage `json:"stage"`
	Line  Line  `json:"line"`
}

// MarshalJSON writes a line with its uptime in seconds ("uptime": 91.2)
// when it has one.
func (l Line) MarshalJSON() ([]byte, error) {
	type plain Line
	out := struct {
		plain
		Uptime *float64 `json:"uptime,omitempty"`
	}{plain: plain(l)}
	if l.HasUptime {
		s := float64(l.Uptime.Microseconds()) / 1e6
		out.Uptime = &s
	}
	return json.Marshal(out)
}
