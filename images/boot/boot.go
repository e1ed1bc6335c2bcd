// Package boot boots a disk image under qemu (software emulation), logs in
// on the serial console, runs a marker command, and classifies the outcome:
// LOGGED_IN, LOGIN_REFUSED, NO_SHELL, EMERGENCY, INITRAMFS_SHELL,
// KERNEL_PANIC, SYSTEMD_FREEZE, GRUB_PROMPT, GRUB_RESCUE, NO_BOOTABLE or
// TIMEOUT. What GRUB prints only on the VGA screen is read from the VGA
// text buffer through qemu's monitor. Every serial transcript is kept as a
// file so that a failed boot can be read afterwards.
//
// The classification is a pure state machine (Watcher) fed by the runner,
// so it is tested on recorded transcripts; only Run starts qemu.
package boot

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options say what to boot and how.
type Options struct {
	// Image is the disk image; Format is "raw" (default) or "qcow2".
	Image  string
	Format string
	// Snapshot keeps the image unchanged: writes go to a temporary
	// overlay that qemu drops on exit.
	Snapshot bool
	// UEFI boots with the OVMF firmware at Firmware (default
	// /usr/share/ovmf/OVMF.fd) instead of SeaBIOS.
	UEFI     bool
	Firmware string
	// MemoryMB (default 1024) and CPUs (default 1) of the machine.
	MemoryMB int
	CPUs     int
	// Timeout bounds the whole boot (default 15 minutes); Idle ends it
	// earlier when the console has printed nothing for that long before
	// the login prompt (default 3 minutes, scaled by Patience). A boot
	// that is slow because the host is busy still prints, so it is given
	// time; one that hangs is not.
	Timeout time.Duration
	Idle    time.Duration
	// User and Password to log in with (default root/root).
	User, Password string
	// Logins are further accounts to log in with on the serial console
	// once User's shell has answered, one after another.
	Logins []Login
	// SSH are the users to log in as over SSH with the private key SSHKey
	// once the console logins are done (when the machine got as far as a
	// login prompt). The machine then gets a NIC on qemu's user network,
	// isolated from the host's networks, with a port on 127.0.0.1
	// forwarded to its port 22; otherwise it has no network.
	SSH    []string
	SSHKey string
	// SSHKeys gives some of those users a key of their own (by user
	// name), such as the one an action authorized for root.
	SSHKeys map[string]string
	// SSHWhenSilent tries the SSH logins after a boot that fell silent
	// before a login prompt (Timeout) too: for a machine whose serial
	// console is silent by design, they tell a machine that runs without
	// a console from one that hangs.
	SSHWhenSilent bool
	// SerialLog is the file the serial transcript is written to as it
	// arrives (default: none).
	SerialLog string
	// Patience scales the harness's waits for prompts, for machines
	// sharing the CPU with other boots (default 1).
	Patience float64
	// Qemu is the emulator binary (default qemu-system-x86_64).
	Qemu string
	// Linger keeps a machine that did not log in running this long after
	// its outcome is known, before it is stopped: the kernel writes what
	// it cached back to the disk within about 30 s, so a boot without
	// Snapshot then leaves the journal a machine stopped by hand leaves.
	Linger time.Duration

	// fwdPort is the host port forwarded to the guest's sshd (0: none).
	fwdPort int
}

func (o *Options) defaults() {
	if o.Format == "" {
		o.Format = "raw"
	}
	if o.Firmware == "" {
		o.Firmware = "/usr/share/ovmf/OVMF.fd"
	}
	if o.MemoryMB == 0 {
		o.MemoryMB = 1024
	}
	if o.CPUs == 0 {
		o.CPUs = 1
	}
	if o.Timeout == 0 {
		o.Timeout = 15 * time.Minute
	}
	if o.Idle == 0 {
		o.Idle = 3 * time.Minute
	}
	if o.User == "" {
		o.User, o.Password = "root", "root"
	}
	if o.Qemu == "" {
		o.Qemu = "qemu-system-x86_64"
	}
}

// Args returns the qemu command line for the options, with the monitor on
// the unix socket mon.
func (o Options) Args(mon string) []string {
	o.defaults()
	drive := fmt.Sprintf("file=%s,format=%s,if=virtio", o.Image, o.Format)
	if o.Snapshot {
		drive += ",snapshot=on"
	}
	args := []string{
		"-machine", "pc,accel=tcg", "-cpu", "max",
		"-smp", strconv.Itoa(o.CPUs), "-m", strconv.Itoa(o.MemoryMB),
		"-display", "none", "-serial", "stdio", "-no-reboot",
		"-drive", drive,
	}
	args = append(args, o.nicArgs()...)
	if mon != "" {
		args = append(args, "-monitor", "unix:"+mon+",server=on,wait=off")
	}
	if o.UEFI {
		args = append(args, "-bios", o.Firmware)
	}
	return args
}

// Available says why qemu cannot run here, or nil.
func Available() error {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		return fmt.Errorf("qemu-system-x86_64 not found (Debian package qemu-system-x86): %w", err)
	}
	return nil
}

// nicArgs is the machine's network: none, or for SSH logins a virtio NIC
// on qemu's user network with restrict=on (the guest reaches nothing
// outside) and the forwarded port bound to the host's loopback only.
func (o Options) nicArgs() []string {
	if o.fwdPort == 0 {
		return []string{"-nic", "none"}
	}
	return []string{"-nic", fmt.Sprintf("user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:%d-:22", o.fwdPort)}
}

// Run boots the image and returns the outcome. An error means the boot
// could not be run at all (qemu missing, image unreadable), not that the
// image failed to boot. With SSH logins, a boot whose forwarded port was
// taken by another process before qemu bound it is run again on another.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	if len(o.SSH) == 0 {
		res, _, err := run(ctx, o)
		return res, err
	}
	if o.SSHKey == "" {
		return nil, errors.New("boot: SSH logins need a key")
	}
	for try := 1; ; try++ {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("boot: choosing a port to forward: %w", err)
		}
		o.fwdPort = port
		res, transcript, err := run(ctx, o)
		if err != nil || res.Class != Timeout || !fwdFailed(transcript) || try == 3 {
			return res, err
		}
	}
}

// sshWorth says whether a boot got far enough for SSH logins to mean
// something: a login prompt came.
func sshWorth(r *Result) bool {
	return r.Class == LoggedIn || r.Class == LoginRefused || r.Class == NoShell
}

func run(ctx context.Context, o Options) (*Result, []byte, error) {
	if _, err := os.Stat(o.Image); err != nil {
		return nil, nil, fmt.Errorf("boot: %w", err)
	}
	if o.UEFI {
		if _, err := os.Stat(o.Firmware); err != nil {
			return nil, nil, fmt.Errorf("boot: UEFI firmware: %w", err)
		}
	}
	// The monitor socket lives in a short private directory: unix socket
	// paths are limited to 108 bytes.
	sockDir, err := os.MkdirTemp("", "qmon")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(sockDir)
	mon := filepath.Join(sockDir, "m")

	var logw io.Writer = io.Discard
	if o.SerialLog != "" {
		if err := os.MkdirAll(filepath.Dir(o.SerialLog), 0o755); err != nil {
			return nil, nil, err
		}
		f, err := os.Create(o.SerialLog)
		if err != nil {
			return nil, nil, fmt.Errorf("creating serial log: %w", err)
		}
		defer f.Close()
		logw = f
	}

	cmd := exec.Command(o.Qemu, o.Args(mon)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	// Our own pipe rather than StdoutPipe, so that Wait can run as soon as
	// qemu exits without closing the read end under the reader.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	defer pr.Close()
	cmd.Stdout, cmd.Stderr = pw, pw
	start := time.Now()
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("starting qemu: %w", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	chunks := make(chan []byte, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := pr.Read(buf)
			if n > 0 {
				chunks <- append([]byte(nil), buf[:n]...)
			}
			if err != nil {
				close(chunks)
				return
			}
		}
	}()

	w := NewWatcher(o.User, o.Password)
	w.Patience, w.Idle, w.Extra = o.Patience, o.Idle, o.Logins
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(o.Timeout)
	defer deadline.Stop()
	var vgaRead bool
	handle := func(a Action) (bool, error) {
		if a.Send != "" {
			if _, err := io.WriteString(stdin, a.Send); err != nil {
				return true, nil // qemu is gone; its exit ends the watch
			}
		}
		if a.ReadVGA {
			vgaRead = true
			if lines, err := readVGA(mon, sockDir); err == nil {
				a = w.VGA(lines)
			}
		}
		return a.Done, nil
	}
	streamOpen := true
loop:
	for {
		select {
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			for range chunks {
			}
			return nil, nil, ctx.Err()
		case <-deadline.C:
			break loop
		case c, ok := <-chunks:
			if !ok {
				// qemu closed its output: it exited (reboot, power
				// off, or a crash). Collect its exit status.
				streamOpen = false
				break loop
			}
			_, _ = logw.Write(c)
			if done, _ := handle(w.Step(time.Since(start), c)); done {
				break loop
			}
		case <-tick.C:
			if done, _ := handle(w.Step(time.Since(start), nil)); done {
				break loop
			}
		}
	}
	res := w.Result(time.Since(start))
	// A failed boot gets the VGA screen in its record (what GRUB or the
	// firmware said there), unless it was already read.
	if streamOpen && res.Class != LoggedIn && !vgaRead {
		if lines, err := readVGA(mon, sockDir); err == nil {
			res.VGA = lastNonEmpty(lines, 6)
		}
	}
	res.SerialLog = o.SerialLog
	if streamOpen && len(o.SSH) > 0 && (sshWorth(res) || o.SSHWhenSilent && res.Class == Timeout) {
		wait := time.Duration(float64(60*time.Second) * max(o.Patience, 1))
		for _, user := range o.SSH {
			key := o.SSHKey
			if k := o.SSHKeys[user]; k != "" {
				key = k
			}
			l := sshLogin(ctx, o.fwdPort, key, user, wait)
			res.Logins = append(res.Logins, l)
			if l.Class == Unreachable {
				// No server answered the first time: the next user
				// need not wait as long for it.
				wait = 10 * time.Second
			}
		}
	}
	if streamOpen && !o.Snapshot && o.Linger > 0 && res.Class != LoggedIn {
		stop := time.After(o.Linger)
	linger:
		for {
			select {
			case c, ok := <-chunks:
				if !ok {
					streamOpen = false
					break linger
				}
				_, _ = logw.Write(c)
			case <-stop:
				break linger
			}
		}
	}
	if streamOpen && !o.Snapshot && res.Class == LoggedIn {
		// The image is written to: shut down cleanly.
		_, _ = io.WriteString(stdin, "poweroff\r")
		select {
		case <-exited:
		case <-time.After(90 * time.Second):
		}
	}
	_ = cmd.Process.Kill()
	<-exited
	// Keep what was printed last in the log.
	for c := range chunks {
		_, _ = logw.Write(c)
	}
	if ps := cmd.ProcessState; ps != nil {
		res.CPUSeconds = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	if !streamOpen && res.Class == Timeout && waitErr != nil {
		res.Why = fmt.Sprintf("qemu exited: %v; %s", waitErr, res.Why)
	}
	return res, w.Transcript(), nil
}

// readVGA reads the 80x25 VGA text screen through qemu's human monitor:
// pmemsave copies the text buffer at 0xb8000 (character and attribute
// bytes) into a file.
func readVGA(mon, dir string) ([]string, error) {
	conn, err := net.DialTimeout("unix", mon, 3*time.Second)
	if err != nil {
		return nil, fmt.Errorf("connecting to the qemu monitor: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	if err := readPrompt(r); err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "vga")
	_ = os.Remove(file)
	if _, err := fmt.Fprintf(conn, "pmemsave 0xb8000 4000 \"%s\"\n", file); err != nil {
		return nil, err
	}
	if err := readPrompt(r); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the VGA dump: %w", err)
	}
	return DecodeVGA(raw), nil
}

func readPrompt(r *bufio.Reader) error {
	var seen []byte
	for !strings.HasSuffix(string(seen), "(qemu) ") {
		b, err := r.ReadByte()
		if err != nil {
			return fmt.Errorf("reading the qemu monitor: %w", err)
		}
		seen = append(seen, b)
		if len(seen) > 1<<16 {
			return errors.New("reading the qemu monitor: no prompt")
		}
	}
	return nil
}

// DecodeVGA turns a VGA text buffer (pairs of character and attribute
// bytes, 80 columns) into lines. Characters outside printable ASCII become
// spaces (code page 437 box drawing is not worth keeping).
func DecodeVGA(raw []byte) []string {
	var lines []string
	for off := 0; off+160 <= len(raw); off += 160 {
		var b strings.Builder
		for i := off; i < off+160; i += 2 {
			c := raw[i]
			if c < 0x20 || c > 0x7e {
				c = ' '
			}
			b.WriteByte(c)
		}
		lines = append(lines, strings.TrimRight(b.String(), " "))
	}
	return lines
}
