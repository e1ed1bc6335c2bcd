package boot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// A helper machine: the VM a cloud runbook attaches the broken disk to. It
// boots like any image here, with more disks attached (each with the
// serial number a cloud would give it) and a network on which it reaches
// nothing but one address that qemu forwards to a server of the host's;
// then it is driven as root over the serial console, the way a cloud agent
// (Cloud Assistant, the SSM agent) runs commands on it.

// Disk is a disk attached to a helper besides its own.
type Disk struct {
	// Image is the disk image (raw); the helper writes to it.
	Image string
	// Serial is what the hypervisor reports as the disk's serial: the
	// cloud disk id (virtio-blk keeps the first 20 characters of it).
	Serial string
	// Bus is "virtio" (virtio-blk, as on Alibaba Cloud and KVM; default)
	// or "nvme" (as on AWS Nitro).
	Bus string
}

// HelperOptions say how to run a helper.
type HelperOptions struct {
	// Options are the machine's own: its image (booted with Snapshot so
	// that it stays clean), memory, CPUs, patience, serial log.
	Options
	Disks []Disk
	// Each connection the helper opens to Guest (10.0.2.100:80) is
	// carried to Host (127.0.0.1:PORT) on the host, by socat; the
	// helper's network reaches nothing else (qemu user networking,
	// restrict=on).
	Guest, Host string
}

// Helper is a running helper machine with a root shell on its console.
type Helper struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	buf    bytes.Buffer // console output not yet consumed
	more   chan struct{}
	exited chan struct{}
	log    io.WriteCloser
	// Boot is how the boot went (LOGGED_IN when Start returned a helper).
	Boot *Result
	// CPUSeconds is the processor time qemu used, known after Close.
	CPUSeconds float64
}

// helperArgs are the qemu arguments of a helper: those of the image's
// boot with the network and the extra disks.
func helperArgs(o HelperOptions, mon string) ([]string, error) {
	base := o.Options.Args(mon)
	nic := "user,model=virtio-net-pci,restrict=on"
	if o.Guest != "" {
		// A command per connection: a tcp: chardev carries one
		// connection only.
		if strings.ContainsAny(o.Host, ", ") {
			return nil, fmt.Errorf("helper: bad host address %q", o.Host)
		}
		nic += ",guestfwd=tcp:" + o.Guest + "-cmd:socat - TCP:" + o.Host
	}
	// The helper's own disk becomes a device with bootindex 0: the
	// firmware must boot the helper, not the broken disk beside it.
	var args []string
	nicDone, rootDone := false, false
	for i := 0; i < len(base); i++ {
		switch {
		case base[i] == "-nic" && i+1 < len(base) && base[i+1] == "none":
			args = append(args, "-nic", nic)
			i++
			nicDone = true
		case base[i] == "-drive" && i+1 < len(base) && strings.HasPrefix(base[i+1], "file="+o.Image+",") && strings.Contains(base[i+1], ",if=virtio"):
			args = append(args, "-drive", strings.Replace(base[i+1], ",if=virtio", ",if=none,id=helperroot", 1),
				"-device", "virtio-blk-pci,drive=helperroot,bootindex=0")
			i++
			rootDone = true
		default:
			args = append(args, base[i])
		}
	}
	if !nicDone || !rootDone {
		return nil, errors.New("helper: the boot's qemu arguments have no -nic none or no virtio drive of the image to replace")
	}
	for i, d := range o.Disks {
		if strings.ContainsAny(d.Serial, ",=") || strings.ContainsAny(d.Image, ",") {
			return nil, fmt.Errorf("helper: disk %d: a comma or = in %q or %q", i, d.Serial, d.Image)
		}
		id := fmt.Sprintf("disk%d", i)
		args = append(args, "-drive", fmt.Sprintf("file=%s,format=raw,if=none,id=%s", d.Image, id))
		switch d.Bus {
		case "", "virtio":
			args = append(args, "-device", fmt.Sprintf("virtio-blk-pci,drive=%s,serial=%s", id, d.Serial))
		case "nvme":
			args = append(args, "-device", fmt.Sprintf("nvme,drive=%s,serial=%s", id, d.Serial))
		default:
			return nil, fmt.Errorf("helper: unknown bus %q", d.Bus)
		}
	}
	return args, nil
}

// StartHelper boots a helper and logs in as root. It returns an error,
// with the boot's outcome in the message, when no root shell came.
func StartHelper(ctx context.Context, o HelperOptions) (*Helper, error) {
	o.defaults()
	if o.Guest != "" {
		if _, err := exec.LookPath("socat"); err != nil {
			return nil, fmt.Errorf("helper: socat carries the helper's connections to the host (Debian package socat): %w", err)
		}
	}
	sockDir, err := os.MkdirTemp("", "qmon")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(sockDir)
	args, err := helperArgs(o, "")
	if err != nil {
		return nil, err
	}
	h := &Helper{more: make(chan struct{}, 1), exited: make(chan struct{})}
	h.log = nopWriteCloser{io.Discard}
	if o.SerialLog != "" {
		if err := os.MkdirAll(filepath.Dir(o.SerialLog), 0o755); err != nil {
			return nil, err
		}
		f, err := os.Create(o.SerialLog)
		if err != nil {
			return nil, err
		}
		h.log = f
	}
	h.cmd = exec.Command(o.Qemu, args...)
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	h.cmd.Stdout, h.cmd.Stderr = pw, pw
	if err := h.cmd.Start(); err != nil {
		pw.Close()
		pr.Close()
		return nil, fmt.Errorf("starting qemu: %w", err)
	}
	pw.Close()
	go func() { h.cmd.Wait(); close(h.exited) }()
	go func() {
		defer pr.Close()
		b := make([]byte, 4096)
		for {
			n, err := pr.Read(b)
			if n > 0 {
				h.mu.Lock()
				h.buf.Write(b[:n])
				h.log.Write(b[:n])
				h.mu.Unlock()
				select {
				case h.more <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()

	// The boot and the login, as every boot here is judged.
	w := NewWatcher(o.User, o.Password)
	w.Patience, w.Idle = o.Patience, o.Idle
	start := time.Now()
	deadline := time.After(o.Timeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		var a Action
		select {
		case <-ctx.Done():
			h.Close()
			return nil, ctx.Err()
		case <-deadline:
			h.Close()
			return nil, fmt.Errorf("helper: no root shell within %s", o.Timeout)
		case <-h.exited:
			h.Close()
			return nil, fmt.Errorf("helper: qemu exited during the boot: %s", lastLines(h.take(), 3))
		case <-h.more:
			a = w.Step(time.Since(start), h.take())
		case <-tick.C:
			a = w.Step(time.Since(start), nil)
		}
		if a.Send != "" {
			io.WriteString(h.stdin, a.Send)
		}
		if a.Done {
			break
		}
	}
	h.Boot = w.Result(time.Since(start))
	if h.Boot.Class != LoggedIn {
		h.Close()
		return nil, fmt.Errorf("helper: the boot ended %s: %s", h.Boot.Class, h.Boot.Why)
	}
	return h, nil
}

// take returns and forgets the console output so far.
func (h *Helper) take() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := append([]byte(nil), h.buf.Bytes()...)
	h.buf.Reset()
	return out
}

// doneLine is printed after each command; the shell computes the marker,
// so the echo of the typed line never matches it.
var doneLine = regexp.MustCompile(`HELPER42DONE rc=([0-9]+)`)

// Run types one line on the root shell and waits until it has run; it
// returns what the console showed and the line's exit status.
func (h *Helper) Run(ctx context.Context, line string, timeout time.Duration) (string, int, error) {
	if strings.ContainsAny(line, "\r\n") {
		return "", 0, errors.New("helper: one line at a time")
	}
	h.take()
	if _, err := io.WriteString(h.stdin, line+"; echo \"HELPER$((6*7))DONE rc=$?\"\r"); err != nil {
		return "", 0, err
	}
	var seen []byte
	limit := time.After(timeout)
	for {
		select {
		case <-ctx.Done():
			return string(seen), 0, ctx.Err()
		case <-limit:
			return string(seen), 0, fmt.Errorf("helper: %q did not end within %s", line, timeout)
		case <-h.exited:
			return string(seen), 0, errors.New("helper: qemu exited")
		case <-h.more:
			seen = append(seen, h.take()...)
			if m := doneLine.FindSubmatch(seen); m != nil {
				var rc int
				fmt.Sscan(string(m[1]), &rc)
				return string(seen), rc, nil
			}
		}
	}
}

// Close powers the helper off (a clean shutdown, so that the disks it
// wrote are consistent) and stops qemu.
func (h *Helper) Close() error {
	if h.stdin != nil {
		io.WriteString(h.stdin, "poweroff\r")
		select {
		case <-h.exited:
		case <-time.After(60 * time.Second):
		}
	}
	if h.cmd != nil && h.cmd.Process != nil {
		h.cmd.Process.Kill()
		<-h.exited
		if ps := h.cmd.ProcessState; ps != nil {
			h.CPUSeconds = (ps.UserTime() + ps.SystemTime()).Seconds()
		}
	}
	return h.log.Close()
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
