package grub

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/facts"
	"rescue/facts/boot"
	"rescue/parse/osrelease"
	"rescue/repair"
)

// regenerate adds the fix that writes a minimal configuration to target.
func (c *checker) regenerate(f *checks.Finding, target string, kind boot.Kind, efi, exists bool) {
	root, bootDev := c.rootDev(), c.bootDev()
	if root == nil || bootDev == nil {
		f.NoFix = "the UUIDs of the root and /boot filesystems are not known, and a configuration cannot be written without them (scan the device, or give --devices and --root-device)"
		return
	}
	var kernels []*boot.Kernel
	for _, k := range c.l.Kernels {
		if k.Bootable() && !k.Rescue {
			kernels = append(kernels, k)
		}
	}
	os := c.pass.Facts.OS()
	stub := efi && kind == boot.Grub2 && (os.Family == osrelease.Debian || (os.Family == osrelease.RHEL && os.Major() >= 9))
	if len(kernels) == 0 && !stub {
		f.NoFix = "no kernel in /boot has a non-empty initramfs and its modules, so there is nothing to boot (see the kernels check)"
		return
	}
	var data, msg string
	switch {
	case stub:
		dir := "/boot/grub"
		if os.Family == osrelease.RHEL {
			dir = "/boot/grub2"
		}
		data = stubConfig(bootDev.UUID, c.l.BootPath(dir))
		msg = fmt.Sprintf("Write %s handing over to %s/grub.cfg on UUID %s", target, dir, bootDev.UUID)
	case kind == boot.Legacy:
		data = c.legacyConfig(kernels, root.UUID)
		msg = fmt.Sprintf("Write a minimal GRUB Legacy %s booting %s with root=UUID=%s", target, versions(kernels), root.UUID)
	default:
		data = c.grub2Config(kernels, root.UUID, bootDev, efi, target)
		msg = fmt.Sprintf("Write a minimal %s booting %s with root=UUID=%s", target, versions(kernels), root.UUID)
	}
	var op repair.Op
	var err error
	switch {
	case exists || efi:
		// The EFI system partition is FAT: it has no modes or owners
		// to set.
		op, err = repair.WriteFile(c.pass.Root, target, []byte(data))
	default:
		mode := repair.Mode(0o644)
		switch os.Family {
		case osrelease.RHEL:
			mode = 0o600
		case osrelease.Debian:
			mode = 0o444
		}
		op, err = repair.CreateFile(c.pass.Root, target, []byte(data), mode, 0, 0)
	}
	f.AddFix(repair.NewFix(msg).Add(op, err).Build())
}

func versions(ks []*boot.Kernel) string {
	var v []string
	for _, k := range ks {
		v = append(v, k.Version)
	}
	if len(v) == 1 {
		return "kernel " + v[0]
	}
	return "kernels " + strings.Join(v, ", ")
}

func stubConfig(uuid, prefix string) string {
	return fmt.Sprintf(`# Written by rescue: this EFI configuration was missing or empty. It finds
# the filesystem holding GRUB's directory and reads the configuration there.
search --no-floppy --fs-uuid --set=dev %s
set prefix=($dev)%s
export $prefix
configfile $prefix/grub.cfg
`, uuid, prefix)
}

// osName is the name menu entries carry.
func (c *checker) osName() string {
	os := c.pass.Facts.OS()
	if os.PrettyName != "" {
		return os.PrettyName
	}
	if os.ID != "" {
		return os.ID
	}
	return "Linux"
}

// args are the kernel arguments besides root= and ro: the entry's BLS
// options when there is one for the version (they are exact), else
// /etc/default/grub's.
func (c *checker) args(version string) []string {
	var src string
	for _, b := range c.l.BLS {
		if b.Version == version {
			src = strings.Join(optionLines(b), " ")
			break
		}
	}
	if src == "" {
		src = c.l.DefaultValue("GRUB_CMDLINE_LINUX") + " " + c.l.DefaultValue("GRUB_CMDLINE_LINUX_DEFAULT")
	}
	var out []string
	for _, a := range strings.Fields(src) {
		if strings.HasPrefix(a, "root=") || a == "ro" || a == "rw" || strings.HasPrefix(a, "$") {
			continue
		}
		out = append(out, a)
	}
	return out
}

func optionLines(b *boot.BLSEntry) []string {
	var out []string
	for _, l := range b.Entry.All("options") {
		out = append(out, l.Value)
	}
	return out
}

var fsModule = map[string]string{"ext2": "ext2", "ext3": "ext2", "ext4": "ext2", "xfs": "xfs", "btrfs": "btrfs", "vfat": "fat"}

// grub2Config writes a GRUB 2 configuration with one entry per kernel,
// keeping the terminal and console settings of /etc/default/grub.
func (c *checker) grub2Config(kernels []*boot.Kernel, rootUUID string, bootDev *facts.Device, efi bool, target string) string {
	os := c.pass.Facts.OS()
	var b strings.Builder
	tool := "grub-mkconfig -o " + target
	if os.Family == osrelease.RHEL {
		tool = "grub2-mkconfig -o " + target
	}
	fmt.Fprintf(&b, `# Written by rescue: the configuration was missing or empty, so GRUB stopped
# at its prompt. This minimal configuration boots each complete kernel,
# newest first. Once the system is up, regenerate the distribution's own
# with: %s
set default=0
`, tool)
	timeout := c.l.DefaultValue("GRUB_TIMEOUT")
	if _, err := strconv.Atoi(timeout); err != nil {
		timeout = "5"
	}
	fmt.Fprintf(&b, "set timeout=%s\n", timeout)
	if s := c.l.DefaultValue("GRUB_SERIAL_COMMAND"); s != "" {
		b.WriteString(s + "\n")
	}
	in, out := c.l.DefaultValue("GRUB_TERMINAL_INPUT"), c.l.DefaultValue("GRUB_TERMINAL_OUTPUT")
	if t := c.l.DefaultValue("GRUB_TERMINAL"); t != "" {
		in, out = t, t
	}
	if strings.Contains(in+out, "serial") && c.l.DefaultValue("GRUB_SERIAL_COMMAND") == "" {
		b.WriteString("serial --speed=115200\n")
	}
	if in != "" {
		fmt.Fprintf(&b, "terminal_input %s\n", in)
	}
	if out != "" {
		fmt.Fprintf(&b, "terminal_output %s\n", out)
	}
	b.WriteString("insmod part_gpt\ninsmod part_msdos\n")
	if m := fsModule[bootDev.Type]; m != "" {
		fmt.Fprintf(&b, "insmod %s\n", m)
	}
	fmt.Fprintf(&b, "search --no-floppy --fs-uuid --set=root %s\n", bootDev.UUID)
	linux, initrd := "linux", "initrd"
	if os.Family == osrelease.RHEL && os.Major() == 7 {
		// EL7's GRUB needs the 16-bit loaders on BIOS and the EFI
		// ones under EFI.
		linux, initrd = "linux16", "initrd16"
		if efi {
			linux, initrd = "linuxefi", "initrdefi"
		}
	}
	name := c.osName()
	for _, k := range kernels {
		args := append([]string{"root=UUID=" + rootUUID, "ro"}, c.args(k.Version)...)
		fmt.Fprintf(&b, "\nmenuentry '%s (%s)' --id 'rescue-%s' {\n", quote(name), k.Version, k.Version)
		fmt.Fprintf(&b, "\t%s %s %s\n", linux, c.l.BootPath(k.Path), strings.Join(args, " "))
		fmt.Fprintf(&b, "\t%s %s\n", initrd, c.l.BootPath(k.Initramfs))
		b.WriteString("}\n")
	}
	return b.String()
}

// quote makes s safe inside single quotes.
func quote(s string) string { return strings.ReplaceAll(s, "'", `'\''`) }

var partNum = regexp.MustCompile(`(?:[a-z]|p)([0-9]+)$`)

// legacyConfig writes a GRUB Legacy grub.conf.
func (c *checker) legacyConfig(kernels []*boot.Kernel, rootUUID string) string {
	part := 0
	if d := c.bootDev(); d != nil {
		if m := partNum.FindStringSubmatch(path.Base(d.Path)); m != nil && !strings.HasPrefix(path.Base(d.Path), "loop") {
			n, _ := strconv.Atoi(m[1])
			if n > 0 {
				part = n - 1
			}
		} else {
			c.pass.Note("the partition number of /boot (%s) is not known; the new grub.conf assumes (hd0,0)", d.Path)
		}
	}
	var b strings.Builder
	b.WriteString(`# Written by rescue: grub.conf was missing or empty, so GRUB stopped at its
# command line. This minimal configuration boots each complete kernel,
# newest first. Paths are relative to the filesystem holding /boot.
default=0
timeout=5
`)
	name := c.osName()
	for _, k := range kernels {
		args := append([]string{"ro", "root=UUID=" + rootUUID}, c.args(k.Version)...)
		fmt.Fprintf(&b, "title %s (%s)\n", name, k.Version)
		fmt.Fprintf(&b, "\troot (hd0,%d)\n", part)
		fmt.Fprintf(&b, "\tkernel %s %s\n", c.l.BootPath(k.Path), strings.Join(args, " "))
		fmt.Fprintf(&b, "\tinitrd %s\n", c.l.BootPath(k.Initramfs))
	}
	return b.String()
}
