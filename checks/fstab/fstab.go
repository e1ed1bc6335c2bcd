package fstab

import (
	"fmt"
	"slices"
	"strings"

	"rescue/checks"
	"rescue/facts"
	fstabfile "rescue/parse/fstab"
	"rescue/parse/kname"
	"rescue/parse/osrelease"
	"rescue/repair"
)

// Check is the fstab check.
var Check = &checks.Check{
	Name:     "fstab",
	Doc:      doc,
	Requires: []facts.Fact{facts.Fstab, facts.BlockDevices, facts.OSRelease},
	Kinds:    []string{"missing", "malformed", "duplicate-mount-point", "crlf", "no-root-entry", "root-source-unknown", "swap-source-unknown", "source-unknown-nofail", "source-unknown", "type-mismatch", "kernel-device-name", "bind-source-missing", "swapfile-missing"},
	Run:      run,
}

const path = "/etc/fstab"

// pseudo filesystems have no device to look for.
var pseudo = map[string]bool{
	"proc": true, "sysfs": true, "devpts": true, "tmpfs": true, "devtmpfs": true, "securityfs": true,
	"cgroup": true, "cgroup2": true, "debugfs": true, "hugetlbfs": true, "mqueue": true, "pstore": true,
	"bpf": true, "tracefs": true, "configfs": true, "efivarfs": true, "binfmt_misc": true, "fusectl": true,
	"autofs": true, "none": true, "overlay": true, "ramfs": true, "rpc_pipefs": true, "nfsd": true,
	"usbfs": true, "selinuxfs": true,
}

// network filesystems are reached over the network, not on the disk.
var network = map[string]bool{
	"nfs": true, "nfs4": true, "cifs": true, "smbfs": true, "smb3": true, "glusterfs": true, "ceph": true,
	"fuse.sshfs": true, "sshfs": true, "davfs": true, "9p": true, "virtiofs": true, "lustre": true, "ocfs2": true,
}

// mounts without which the system cannot run at all: nofail does not help.
var essential = map[string]bool{"/usr": true}

const nofailOptions = "nofail,x-systemd.device-timeout=10s"

func run(pass *checks.Pass) error {
	file, err := pass.Facts.Fstab()
	if err != nil {
		return err
	}
	devs := pass.Facts.Devices()
	if !devs.Known() {
		pass.Note("no block-device list: fstab sources were not checked against real filesystems (give --devices, or scan the device)")
	}
	c := &checker{pass: pass, file: file, devs: devs}
	if file == nil {
		c.noRoot("missing", "/etc/fstab does not exist")
		return nil
	}
	c.run()
	return nil
}

type checker struct {
	pass *checks.Pass
	file *fstabfile.File
	data []byte // the file's content, see content
	devs *facts.Devices
}

func (c *checker) run() {
	seen := map[string]int{}
	hasRoot := false
	crlf := 0
	for _, l := range c.file.Lines {
		if strings.HasSuffix(l.Raw, "\r") {
			crlf++
		}
		if l.Err != nil {
			c.pass.Report(checks.Finding{
				Kind: "malformed", Subject: fmt.Sprint(l.N), Severity: checks.Warning, Path: path, Line: l.N,
				Message:  fmt.Sprintf("line %d cannot be read: %v", l.N, l.Err),
				Impact:   "systemd and mount skip the line, so whatever it meant to mount is not mounted",
				Evidence: []string{l.Raw},
				NoFix:    "rescue cannot tell what the line meant; edit it by hand",
			})
			continue
		}
		e := l.Entry
		if e == nil {
			continue
		}
		if e.File == "/" {
			hasRoot = true
		}
		if prev, dup := seen[e.File]; dup && e.File != "none" && e.File != "swap" && e.VfsType != "swap" {
			c.pass.Report(checks.Finding{
				Kind: "duplicate-mount-point", Subject: e.File, Severity: checks.Warning, Path: path, Line: l.N,
				Message:  fmt.Sprintf("%s is mounted twice (lines %d and %d)", e.File, prev, l.N),
				Impact:   "the later mount hides the earlier one; if either device is missing, boot waits for it",
				Evidence: []string{l.Raw},
				NoFix:    "which of the two is meant is a decision for the operator",
			})
		} else {
			seen[e.File] = l.N
		}
		c.entry(l)
	}
	if crlf > 0 {
		data := []byte(strings.ReplaceAll(string(c.file.Bytes()), "\r\n", "\n"))
		fix, err := repair.NewFix("Strip the carriage returns (DOS line endings) from /etc/fstab").
			Add(repair.WriteFile(c.pass.Root, path, data)).Build()
		f := checks.Finding{
			Kind: "crlf", Severity: checks.Warning, Path: path,
			Message: fmt.Sprintf("%d line(s) end in a carriage return (DOS line endings)", crlf),
			Impact:  "the last field of each such line carries a \\r, which some parsers reject, so those entries can be skipped",
		}
		f.AddFix(fix, err)
		c.pass.Report(f)
	}
	if !hasRoot {
		c.noRoot("no-root-entry", "/etc/fstab has no entry for /")
	}
}

// rootDevice is the filesystem the target root is on, when known.
func (c *checker) rootDevice() *facts.Device {
	if c.devs == nil || c.devs.Root == nil || c.devs.Root.UUID == "" {
		return nil
	}
	return c.devs.Root
}

func (c *checker) noRoot(kind, what string) {
	f := checks.Finding{
		Kind: kind, Severity: checks.Critical, Path: path,
		Message: what,
		Impact:  "systemd does not remount / read-write: the kernel command line mounts it read-only (ro) on every mainstream distribution, so the system comes up with a read-only root and failing services",
	}
	root := c.rootDevice()
	if root == nil {
		f.NoFix = "the root filesystem's UUID is not known (scan the device, or give --devices and --root-device)"
		c.pass.Report(f)
		return
	}
	line := rootLine(root, c.pass.Facts.OS())
	var data []byte
	if c.file != nil {
		data = c.file.Bytes()
		if len(data) > 0 && data[len(data)-1] != '\n' {
			data = append(data, '\n')
		}
	}
	data = append(data, line+"\n"...)
	op, err := repair.WriteFile(c.pass.Root, path, data)
	if err == nil && c.file == nil {
		op, err = repair.CreateFile(c.pass.Root, path, data, 0o644, 0, 0)
	}
	fix, err := repair.NewFix("Add a root entry: "+line).Add(op, err).Build()
	f.AddFix(fix, err)
	c.pass.Report(f)
}

// rootLine is the fstab line a distribution's installer writes for /.
func rootLine(root *facts.Device, os osrelease.Info) string {
	typ := root.Type
	if typ == "" {
		typ = "auto"
	}
	opts, pass := "defaults", "1"
	if typ == "xfs" || typ == "btrfs" {
		pass = "0"
	}
	if os.Family == osrelease.Debian && strings.HasPrefix(typ, "ext") {
		opts = "errors=remount-ro"
	}
	return fmt.Sprintf("UUID=%s / %s %s 0 %s", root.UUID, typ, opts, pass)
}

func (c *checker) entry(l fstabfile.Line) {
	e := l.Entry
	if e.HasOption("noauto") {
		return
	}
	if e.HasOption("bind") || e.HasOption("rbind") {
		c.pathSource(l, "bind-source-missing", "the bind mount's source")
		return
	}
	if pseudo[e.VfsType] || network[e.VfsType] || strings.HasPrefix(e.VfsType, "fuse") {
		return
	}
	if e.VfsType == "swap" && strings.HasPrefix(e.Spec, "/") && !strings.HasPrefix(e.Spec, "/dev/") {
		c.pathSource(l, "swapfile-missing", "the swap file")
		return
	}
	dev, found, checkable := c.devs.Lookup(e.Spec)
	if !checkable {
		c.kernelName(l)
		return
	}
	if !found {
		c.missing(l)
		return
	}
	c.typeMismatch(l, dev)
}

// missing reports an entry whose source matches no filesystem.
func (c *checker) missing(l fstabfile.Line) {
	e := l.Entry
	f := checks.Finding{
		Path: path, Line: l.N, Subject: e.File, Evidence: []string{strings.TrimRight(l.Raw, "\r")},
	}
	switch {
	case e.File == "/":
		f.Kind, f.Severity = "root-source-unknown", checks.Critical
		f.Message = fmt.Sprintf("/ is mounted from %s, which matches no filesystem on this disk", e.Spec)
		f.Impact = "systemd-remount-fs fails: / stays read-only, services that write fail and the system comes up degraded"
		root := c.rootDevice()
		if root == nil {
			f.NoFix = "the root filesystem's UUID is not known (scan the device, or give --devices and --root-device)"
			c.pass.Report(f)
			return
		}
		spec := "UUID=" + root.UUID
		f.AddFix(c.setField(l, 0, spec, fmt.Sprintf("Point / at %s (the filesystem this root is on)", spec)))
		c.pass.Report(f)
	case e.VfsType == "swap":
		f.Kind, f.Severity = "swap-source-unknown", checks.Warning
		f.Message = fmt.Sprintf("swap on %s matches no device on this disk", e.Spec)
		f.Impact = "boot waits 90 s for the device and runs without swap"
		if e.HasOption("nofail") {
			f.Severity, f.Impact = checks.Info, "the swap is skipped at boot"
			f.NoFix = "nothing breaks; remove the entry when the device is gone for good"
			c.pass.Report(f)
			return
		}
		f.AddFix(c.addNofail(l))
		c.pass.Report(f)
	case e.HasOption("nofail"):
		f.Kind, f.Severity = "source-unknown-nofail", checks.Info
		f.Message = fmt.Sprintf("%s is mounted from %s, which matches no filesystem on this disk; it has nofail", e.File, e.Spec)
		f.Impact = fmt.Sprintf("boot goes on without %s; whatever expects its data there finds an empty directory", e.File)
		f.NoFix = "nothing stops boot; attach the disk or remove the entry"
		c.pass.Report(f)
	case essential[e.File]:
		f.Kind, f.Severity = "source-unknown", checks.Critical
		f.Message = fmt.Sprintf("%s is mounted from %s, which matches no filesystem on this disk", e.File, e.Spec)
		f.Impact = fmt.Sprintf("the system cannot run without %s; boot fails", e.File)
		f.NoFix = fmt.Sprintf("%s must be there: attach the disk that holds it, or correct the source by hand", e.File)
		c.pass.Report(f)
	default:
		f.Kind, f.Severity = "source-unknown", checks.Critical
		f.Message = fmt.Sprintf("%s is mounted from %s, which matches no filesystem on this disk, and the entry has no nofail", e.File, e.Spec)
		f.Impact = fmt.Sprintf("systemd waits 90 s for the device, then local-fs.target fails and the machine stops in emergency mode (\"Dependency failed for %s\")", e.File)
		f.AddFix(c.addNofail(l))
		f.AddFix(c.commentOut(l, "device not found"))
		c.pass.Report(f)
	}
}

// typeMismatch reports an entry whose type is not the filesystem's.
func (c *checker) typeMismatch(l fstabfile.Line, dev facts.Device) {
	e := l.Entry
	if e.VfsType == "auto" || dev.Type == "" || compatible(e.VfsType, dev.Type) {
		return
	}
	f := checks.Finding{
		Kind: "type-mismatch", Subject: e.File, Severity: checks.Critical, Path: path, Line: l.N,
		Message:  fmt.Sprintf("%s is declared %s, but %s holds %s", e.File, e.VfsType, e.Spec, dev.Type),
		Impact:   fmt.Sprintf("mounting %s fails (wrong fs type); without nofail the machine stops in emergency mode", e.File),
		Evidence: []string{strings.TrimRight(l.Raw, "\r")},
	}
	if e.File == "/" {
		f.Impact = "systemd-remount-fs fails and / stays read-only"
	} else if e.HasOption("nofail") {
		f.Severity = checks.Warning
		f.Impact = fmt.Sprintf("mounting %s fails; boot goes on without it", e.File)
	}
	f.AddFix(c.setField(l, 2, dev.Type, fmt.Sprintf("Declare %s as %s", e.File, dev.Type)))
	c.pass.Report(f)
}

// compatible reports whether mounting a filesystem of type have as want
// works: the ext4 driver mounts ext2 and ext3, and vfat reads msdos.
func compatible(want, have string) bool {
	if want == have {
		return true
	}
	ext := []string{"ext2", "ext3", "ext4"}
	if want == "ext4" && slices.Contains(ext, have) {
		return true
	}
	if want == "ext3" && have == "ext2" {
		return true
	}
	return (want == "vfat" || want == "msdos") && (have == "vfat" || have == "msdos")
}

// kernelName reports /dev/sdX-style sources.
func (c *checker) kernelName(l fstabfile.Line) {
	e := l.Entry
	if !kname.IsKernelName(e.Spec) {
		return
	}
	f := checks.Finding{
		Kind: "kernel-device-name", Subject: e.File, Severity: checks.Warning, Path: path, Line: l.N,
		Message:  fmt.Sprintf("%s is mounted from the kernel name %s", e.File, e.Spec),
		Impact:   "kernel names depend on the instance type and attach order (xvda on Xen is nvme0n1 on Nitro, vda on KVM); on another instance the mount fails",
		Evidence: []string{strings.TrimRight(l.Raw, "\r")},
	}
	root := c.rootDevice()
	if e.File == "/" && root != nil {
		spec := "UUID=" + root.UUID
		f.AddFix(c.setField(l, 0, spec, fmt.Sprintf("Point / at %s instead of a kernel name", spec)))
		c.pass.Report(f)
		return
	}
	f.NoFix = "which filesystem the name meant on the original machine cannot be told from here; use UUID= by hand"
	c.pass.Report(f)
}

// pathSource reports a bind mount or swap file whose source is missing in
// the target.
func (c *checker) pathSource(l fstabfile.Line, kind, what string) {
	e := l.Entry
	if c.pass.Root.Exists(e.Spec) {
		return
	}
	f := checks.Finding{
		Kind: kind, Subject: e.File, Path: path, Line: l.N, Severity: checks.Critical,
		Message:  fmt.Sprintf("%s %s does not exist", what, e.Spec),
		Impact:   fmt.Sprintf("mounting %s fails; without nofail the machine stops in emergency mode", e.File),
		Evidence: []string{strings.TrimRight(l.Raw, "\r")},
	}
	if e.VfsType == "swap" {
		f.Severity, f.Impact = checks.Warning, "the swap unit fails and the system runs without swap"
	}
	if e.HasOption("nofail") {
		f.Severity, f.Impact = checks.Info, "the mount is skipped at boot"
		f.NoFix = "nothing stops boot"
		c.pass.Report(f)
		return
	}
	f.AddFix(c.commentOut(l, "source not found"))
	c.pass.Report(f)
}

// setField plans rewriting one field of one line. The fix carries the edit
// of that line, not a copy of the file: a 4,000-line fstab with a finding
// on every line must not cost 8,000 copies of itself.
func (c *checker) setField(l fstabfile.Line, field int, val, msg string) (repair.Fix, error) {
	return checks.ReplaceLine(c.pass.Root, path, c.content(), l.N, fstabfile.SetField(l.Raw, field, fstabfile.Escape(val)), msg)
}

// content is the file as it is on disk, rebuilt once from its lines.
func (c *checker) content() []byte {
	if c.data == nil {
		c.data = c.file.Bytes()
	}
	return c.data
}

func (c *checker) addNofail(l fstabfile.Line) (repair.Fix, error) {
	e := l.Entry
	opts := e.Options
	if opts == "defaults" && e.Fields < 4 {
		opts = ""
	}
	add := []string{}
	for _, o := range strings.Split(nofailOptions, ",") {
		k, _, _ := strings.Cut(o, "=")
		if !e.HasOption(k) {
			add = append(add, o)
		}
	}
	if opts == "" {
		opts = strings.Join(add, ",")
	} else {
		opts = opts + "," + strings.Join(add, ",")
	}
	return c.setField(l, 3, opts, fmt.Sprintf("Add nofail to %s so that boot goes on without it", e.File))
}

func (c *checker) commentOut(l fstabfile.Line, why string) (repair.Fix, error) {
	return checks.CommentOut(c.pass.Root, path, c.content(), l.N, why, fmt.Sprintf("Comment out the entry for %s", l.Entry.File))
}
