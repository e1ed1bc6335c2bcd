// Package console plans `rescue fix --serial-console`: the kernel console
// and a login prompt on the cloud's serial port, and GRUB's menu there
// too, so that the machine can be reached from the cloud's serial console
// when its network is gone. Every change is an ordinary repair op: shown as
// a diff, journaled, undone.
package console

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"rescue/checks"
	"rescue/checks/bootargs"
	"rescue/parse/ifcfg"
	"rescue/repair"
	"rescue/sysroot"
)

// Finding is the id plan items of the action carry.
const Finding = "action/serial-console"

// Options say which port.
type Options struct {
	// Port is the serial device ("ttyS0"; "ttyAMA0" on many arm64
	// clouds); Speed its baud rate.
	Port  string
	Speed int
}

// Result is the planned change and its account.
type Result struct {
	Fix     repair.Fix
	Changes []string
	Notes   []string
}

var portRE = regexp.MustCompile(`^tty[A-Za-z]+[0-9]+$`)

// edits collects the new content of each file, so that two changes to
// one file (kernel arguments and GRUB_TERMINAL in /etc/default/grub) make
// one write planned against the file as it is.
type edits struct {
	root  *sysroot.Root
	order []string
	data  map[string][]byte
	orig  map[string][]byte
}

func (e *edits) get(p string) ([]byte, error) {
	if d, ok := e.data[p]; ok {
		return d, nil
	}
	d, err := e.root.ReadFileLimit(p, 8<<20)
	if err != nil {
		return nil, err
	}
	e.orig[p] = d
	return d, nil
}

func (e *edits) set(p string, d []byte) {
	if _, ok := e.data[p]; !ok {
		e.order = append(e.order, p)
	}
	e.data[p] = d
}

// Plan plans the serial console on the target at root.
func Plan(root *sysroot.Root, o Options) (*Result, error) {
	if o.Port == "" {
		o.Port = "ttyS0"
	}
	if o.Speed == 0 {
		o.Speed = 115200
	}
	if !portRE.MatchString(o.Port) {
		return nil, fmt.Errorf("%q is not a serial device name (ttyS0, ttyAMA0)", o.Port)
	}
	r := &Result{}
	e := &edits{root: root, data: map[string][]byte{}, orig: map[string][]byte{}}
	if err := kernelArgs(root, o, r, e); err != nil {
		return nil, err
	}
	grubTerminal(root, o, r, e)
	b := repair.NewFix(fmt.Sprintf("Enable the serial console on %s: kernel messages, a login prompt and GRUB's menu", o.Port))
	for _, p := range e.order {
		if !bytes.Equal(e.data[p], e.orig[p]) {
			b.Add(repair.WriteFile(root, p, e.data[p]))
		}
	}
	securetty(root, o, r, b)
	getty(root, o, r, b)
	fix, err := b.Build()
	if err != nil {
		return nil, err
	}
	r.Fix = fix
	return r, nil
}

// kernelArgs adds console=PORT,SPEED to every kernel command line that
// has no console on the port (with console=tty0 before it when the line
// has no console at all: the last console= is /dev/console, where systemd
// writes, and the screen stays a console too).
func kernelArgs(root *sysroot.Root, o Options, r *Result, e *edits) error {
	serialArg := fmt.Sprintf("console=%s,%d", o.Port, o.Speed)
	args := bootargs.Read(root)
	files := args.Files()
	if !slices.Contains(files, "/etc/default/grub") && root.Exists("/etc/default/grub") {
		files = append(files, "/etc/default/grub")
	}
	if len(files) == 0 {
		r.Notes = append(r.Notes, "no boot loader file with a kernel command line was found: the kernel console is unchanged")
	}
	for _, p := range files {
		data, err := e.get(p)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		out, n, err := args.Append(p, data, func(line []string) []string {
			hasConsole := false
			for _, a := range line {
				if a == "console="+o.Port || strings.HasPrefix(a, "console="+o.Port+",") {
					return nil
				}
				hasConsole = hasConsole || strings.HasPrefix(a, "console=")
			}
			if hasConsole {
				return []string{serialArg}
			}
			return []string{"console=tty0", serialArg}
		})
		if err != nil {
			return err
		}
		if n > 0 {
			e.set(p, out)
			r.Changes = append(r.Changes, fmt.Sprintf("add %s to %d kernel command line(s) in %s", serialArg, n, p))
		}
	}
	return nil
}

var serialTerminal = regexp.MustCompile(`(?m)^\s*terminal_output\s.*\bserial\b`)

// grubTerminal puts GRUB's menu on the serial port too: in the active
// grub.cfg (serial and terminal commands before anything else) and in
// /etc/default/grub for the next grub-mkconfig.
func grubTerminal(root *sysroot.Root, o Options, r *Result, e *edits) {
	unit := strings.TrimLeft(o.Port, "tySAM")
	cmds := []string{
		fmt.Sprintf("serial --unit=%s --speed=%d", unit, o.Speed),
		"terminal_input console serial",
		"terminal_output console serial",
	}
	cfgs := []string{"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"}
	if efi, err := root.Glob("/boot/efi/EFI/*/grub.cfg"); err == nil {
		cfgs = append(cfgs, efi...)
	}
	for _, p := range cfgs {
		data, err := e.get(p)
		if err != nil || serialTerminal.Match(data) {
			continue
		}
		lines, nl := checks.Lines(data)
		at := 0
		for at < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[at]), "#") {
			at++
		}
		out := append(append(append([]string{}, lines[:at]...), cmds...), lines[at:]...)
		e.set(p, checks.JoinLines(out, nl))
		r.Changes = append(r.Changes, fmt.Sprintf("show GRUB's menu on the serial port too (serial and terminal commands at the top of %s)", p))
	}
	const def = "/etc/default/grub"
	data, err := e.get(def)
	if err != nil {
		return
	}
	vars := ifcfg.Parse(data)
	lines, nl := checks.Lines(data)
	changed := false
	if v, ok := vars.Get("GRUB_TERMINAL"); !ok {
		lines = append(lines, `GRUB_TERMINAL="console serial"`)
		changed = true
	} else if !strings.Contains(v.Value, "serial") {
		lines[v.Line-1] = fmt.Sprintf("GRUB_TERMINAL=%q", strings.TrimSpace(v.Value+" serial"))
		changed = true
	}
	if _, ok := vars.Get("GRUB_SERIAL_COMMAND"); !ok {
		lines = append(lines, fmt.Sprintf("GRUB_SERIAL_COMMAND=%q", cmds[0]))
		changed = true
	}
	if changed {
		e.set(def, checks.JoinLines(lines, nl))
		r.Changes = append(r.Changes, "keep GRUB on the serial terminal for the next grub-mkconfig (GRUB_TERMINAL, GRUB_SERIAL_COMMAND in "+def+")")
	}
}

// getty enables systemd's serial-getty@PORT.service in getty.target, so
// that a login prompt waits on the port whatever the kernel command line
// says (systemd's generator starts one only for the kernel's console).
func getty(root *sysroot.Root, o Options, r *Result, b *repair.Builder) {
	unit := "serial-getty@" + o.Port + ".service"
	var tmpl string
	for _, d := range []string{"/usr/lib/systemd/system", "/lib/systemd/system"} {
		if root.Exists(d + "/serial-getty@.service") {
			tmpl = d + "/serial-getty@.service"
			break
		}
	}
	if tmpl == "" {
		r.Notes = append(r.Notes, "no systemd serial-getty@.service on the target: no login prompt was enabled on the port (SysV init systems need an inittab line)")
		return
	}
	const wants = "/etc/systemd/system/getty.target.wants"
	link := path.Join(wants, unit)
	if _, err := root.Lstat(link); err == nil {
		return
	}
	if !root.Exists(path.Dir(wants)) {
		r.Notes = append(r.Notes, "the target has no "+path.Dir(wants)+": no login prompt was enabled on the port (the kernel console still gets one from systemd's getty generator)")
		return
	}
	if !root.Exists(wants) {
		mk, err := repair.Mkdir(root, wants, 0o755)
		b.Add(mk, err)
		if err != nil {
			return
		}
		b.Add(repair.Op{Kind: repair.KindSymlink, Path: path.Join(mk.Path, unit), Expect: repair.State{Type: repair.Absent}, Target: tmpl}, nil)
	} else {
		b.Add(repair.MakeSymlink(root, link, tmpl))
	}
	r.Changes = append(r.Changes, fmt.Sprintf("enable a login prompt on %s (%s -> %s)", o.Port, link, tmpl))
}

// securetty adds the port to /etc/securetty where the file exists: with
// pam_securetty (CentOS 7's login) root may log in only on the terminals
// it lists.
func securetty(root *sysroot.Root, o Options, r *Result, b *repair.Builder) {
	const p = "/etc/securetty"
	data, err := root.ReadFileLimit(p, 1<<20)
	if err != nil {
		return
	}
	lines, nl := checks.Lines(data)
	for _, l := range lines {
		if strings.TrimSpace(l) == o.Port {
			return
		}
	}
	lines = append(lines, o.Port)
	b.Add(repair.WriteFile(root, p, checks.JoinLines(lines, nl || len(lines) == 1)))
	r.Changes = append(r.Changes, fmt.Sprintf("let root log in on %s (%s lists the terminals pam_securetty allows)", o.Port, p))
}
