package grub

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"rescue/checks"
	"rescue/facts"
	"rescue/facts/boot"
	"rescue/parse/grubcfg"
	"rescue/parse/grubenv"
	"rescue/parse/kname"
	"rescue/repair"
)

// Check is the grub check.
var Check = &checks.Check{
	Name:     "grub",
	Doc:      doc,
	Requires: []facts.Fact{facts.BootLoader, facts.BlockDevices, facts.Fstab, facts.OSRelease},
	Kinds:    []string{"config-missing", "config-empty", "config-syntax", "config-no-entries", "bls-no-entries", "root-kernel-name", "root-unknown", "root-other-filesystem", "kernelopts-undefined", "kernel-missing", "initramfs-missing", "search-uuid-unknown", "grubenv-invalid", "default-grub-syntax", "default-grub-root", "device-map-stale"},
	Reads:    []string{"/boot/grub/device.map", "/boot/grub2/device.map"},
	Run:      run,
}

type checker struct {
	pass *checks.Pass
	l    *boot.Layout
	devs *facts.Devices
}

func run(pass *checks.Pass) error {
	l, err := pass.Facts.Boot()
	if err != nil {
		return err
	}
	c := &checker{pass: pass, l: l, devs: pass.Facts.Devices()}
	if !c.devs.Known() {
		pass.Note("no block-device list: root= and search UUIDs were not checked against real filesystems (give --devices, or scan the device)")
	} else if c.rootDev() == nil {
		pass.Note("the root filesystem is not known: stale root= cannot be corrected (give --root-device)")
	}
	if len(l.Configs) == 0 && len(l.Expected) == 0 && len(l.Kernels) > 0 {
		pass.Note("no GRUB configuration and no GRUB installation found in /boot: the disk may boot with another loader (systemd-boot, extlinux) that rescue does not check")
	}
	for _, p := range l.Problems {
		pass.Note("%s could not be read: %v", p.Path, p.Err)
	}
	c.configs()
	c.roots()
	c.kernelopts()
	c.paths()
	c.searches()
	c.envs()
	c.defaultGrub()
	c.deviceMaps()
	return nil
}

// rootDev is the filesystem the target root is on, when its UUID is known.
func (c *checker) rootDev() *facts.Device {
	if c.devs == nil || c.devs.Root == nil || c.devs.Root.UUID == "" {
		return nil
	}
	return c.devs.Root
}

// bootDev is the filesystem holding /boot, when its UUID is known.
func (c *checker) bootDev() *facts.Device {
	if c.l.SeparateBoot {
		if c.l.BootDev == nil || c.l.BootDev.UUID == "" {
			return nil
		}
		return c.l.BootDev
	}
	return c.rootDev()
}

// configs reports missing, empty and unreadable configurations.
func (c *checker) configs() {
	for _, e := range c.l.Expected {
		f := checks.Finding{
			Kind: "config-missing", Severity: checks.Critical, Path: e.Path,
			Message: fmt.Sprintf("%s does not exist, but %s", e.Path, e.Why),
			Impact:  "GRUB finds no configuration and stops at its grub> prompt (shown only on the VGA console): the machine does not boot",
		}
		c.regenerate(&f, e.Path, e.Kind, e.EFI, false)
		c.pass.Report(f)
	}
	for _, cfg := range c.l.Configs {
		switch {
		case cfg.Empty:
			f := checks.Finding{
				Kind: "config-empty", Severity: checks.Critical, Path: cfg.Real,
				Message: fmt.Sprintf("%s is empty (no command at all)", cfg.Real),
				Impact:  "GRUB has no menu entry to boot and stops at its prompt: the machine does not boot",
			}
			if cfg.Kind == boot.Legacy {
				f.Impact = "GRUB Legacy has no entry to boot and stops at its grub> command line: the machine does not boot"
			}
			c.regenerate(&f, cfg.Real, cfg.Kind, cfg.EFI, true)
			c.pass.Report(f)
		case cfg.ParseErr != nil:
			f := checks.Finding{
				Kind: "config-syntax", Severity: checks.Critical, Path: cfg.Real,
				Message: fmt.Sprintf("%s cannot be parsed: %v", cfg.Real, cfg.ParseErr),
				Impact:  "GRUB stops reading the file at the error: entries after it (or the whole menu) are lost, and GRUB may stop at its prompt",
			}
			c.regenerate(&f, cfg.Real, cfg.Kind, cfg.EFI, true)
			c.pass.Report(f)
		case !cfg.Stub && len(cfg.Entries) == 0 && !cfg.UsesBLS:
			f := checks.Finding{
				Kind: "config-no-entries", Severity: checks.Critical, Path: cfg.Real,
				Message: fmt.Sprintf("%s has no menu entry", cfg.Real),
				Impact:  "GRUB has nothing to boot and stops at its prompt",
			}
			c.regenerate(&f, cfg.Real, cfg.Kind, cfg.EFI, true)
			c.pass.Report(f)
		case cfg.UsesBLS && len(cfg.Entries) == 0:
			f := checks.Finding{
				Kind: "bls-no-entries", Severity: checks.Critical, Path: cfg.Real,
				Message: fmt.Sprintf("%s builds its menu from /boot/loader/entries (blscfg), which holds no entry", cfg.Real),
				Impact:  "the menu is empty and GRUB stops at its prompt",
			}
			c.regenerate(&f, cfg.Real, cfg.Kind, cfg.EFI, true)
			c.pass.Report(f)
		}
	}
}

// use is one stale root= value and where it is written.
type use struct {
	value   string
	args    []boot.Arg // one per file (or grubenv variable) holding it
	entries []*boot.Entry
}

// isDefault reports whether any of the entries is its configuration's
// default.
func isDefault(entries []*boot.Entry) bool {
	for _, e := range entries {
		if e.Config != nil && e.Config.Default == e {
			return true
		}
	}
	return false
}

func titles(entries []*boot.Entry) []string {
	var out []string
	for _, e := range entries {
		t := e.Title
		if e.BLS != nil {
			t += " (" + e.BLS.Path + ")"
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// roots groups the root= arguments every entry boots with by their value,
// and reports the values that point nowhere. One finding covers every
// file that holds the value (each BLS entry has its own copy).
func (c *checker) roots() {
	if !c.devs.Known() {
		return
	}
	var order []string
	uses := map[string]*use{}
	for _, cfg := range c.l.Main() {
		for _, e := range cfg.Entries {
			a, ok := e.RootArg()
			if !ok || (e.KernelPath != "" && !c.pass.Root.Exists(e.KernelPath)) {
				// An entry whose kernel is gone cannot boot
				// whatever its root=; kernel-missing reports it.
				continue
			}
			u := uses[a.Value]
			if u == nil {
				u = &use{value: a.Value}
				uses[a.Value] = u
				order = append(order, a.Value)
			}
			if !slices.ContainsFunc(u.args, func(b boot.Arg) bool { return b.File == a.File && b.Env == a.Env }) {
				u.args = append(u.args, a)
			}
			u.entries = append(u.entries, e)
		}
	}
	for _, key := range order {
		u := uses[key]
		spec := strings.TrimPrefix(u.value, "root=")
		dev, found, checkable := c.devs.Lookup(spec)
		// The finding is filed under the file of the default entry
		// when it is among them.
		first := u.args[0]
		for _, e := range u.entries {
			if e.Config.Default == e {
				if a, ok := e.RootArg(); ok {
					first = a
				}
				break
			}
		}
		sev := checks.Warning
		if isDefault(u.entries) {
			sev = checks.Critical
		}
		f := checks.Finding{
			Subject: u.value, Severity: sev, Path: first.File, Line: first.Word.Line,
			Evidence: []string{"entries: " + strings.Join(titles(u.entries), "; ")},
		}
		var files []string
		for _, a := range u.args {
			f.Evidence = append(f.Evidence, where(a)...)
			files = append(files, a.File)
		}
		if len(files) > 1 {
			f.Evidence = append(f.Evidence, "written in: "+strings.Join(files, ", "))
		}
		root := c.rootDev()
		switch {
		case !checkable && kname.IsKernelName(spec):
			f.Kind, f.Severity = "root-kernel-name", checks.Warning
			f.Message = fmt.Sprintf("the kernel is told to mount / from the kernel name %s", spec)
			f.Impact = "kernel names depend on the instance type and attach order (xvda on Xen, nvme0n1 on Nitro, vda on KVM): on another instance the initramfs waits for the device, then drops to its emergency shell"
		case !checkable:
			continue
		case !found:
			f.Kind = "root-unknown"
			f.Message = fmt.Sprintf("the kernel is told to mount / from %s, which matches no filesystem on this disk", spec)
			f.Impact = fmt.Sprintf("the initramfs waits for %s, then drops to its emergency shell (\"ALERT! %s does not exist\"): the machine does not boot", spec, spec)
		case root != nil && !sameDev(dev, *root):
			f.Kind = "root-other-filesystem"
			f.Message = fmt.Sprintf("the kernel is told to mount / from %s, which is %s (%s), not the root filesystem", spec, dev.Path, dev.Type)
			f.Impact = "the initramfs mounts the wrong filesystem as / and cannot switch to it (no /sbin/init), or boots a different system"
		default:
			continue
		}
		if len(files) > 1 {
			f.Message += fmt.Sprintf(" (in %d files)", len(files))
		}
		if root == nil {
			f.NoFix = "the root filesystem's UUID is not known (scan the device, or give --devices and --root-device)"
			c.pass.Report(f)
			continue
		}
		want := "root=UUID=" + root.UUID
		f.Impact += ". " + persistNote(first, c.l)
		b := repair.NewFix(fmt.Sprintf("Point root= at UUID=%s (the filesystem this root is on)", root.UUID))
		for _, a := range u.args {
			b.Add(c.replaceArg(a, want))
		}
		f.AddFix(b.Build())
		c.pass.Report(f)
	}
}

// persistNote says whether the fix survives the distribution's tools.
func persistNote(a boot.Arg, l *boot.Layout) string {
	switch {
	case a.Env:
		return "grubenv's " + a.Var + " is rewritten by grub2-mkconfig and grubby from /etc/default/grub and the root filesystem, so the fix stays unless GRUB_CMDLINE_LINUX carries its own root= (reported apart)"
	case strings.HasPrefix(a.File, "/boot/loader/entries/"):
		return "BLS entries keep their options across grub2-mkconfig; new kernels copy them, so the fix carries over"
	}
	return "grub-mkconfig writes the UUID of the filesystem mounted at /, so the fix survives the next kernel update unless /etc/default/grub's GRUB_CMDLINE_LINUX carries its own root= (reported apart)"
}

func where(a boot.Arg) []string {
	switch {
	case a.Env:
		return []string{fmt.Sprintf("from the %s variable of %s", a.Var, a.File)}
	case a.Var != "":
		return []string{fmt.Sprintf("from the %s variable set at %s:%d", a.Var, a.File, a.Word.Line)}
	}
	return nil
}

func sameDev(a, b facts.Device) bool {
	if a.UUID != "" && b.UUID != "" {
		return strings.EqualFold(a.UUID, b.UUID)
	}
	return a.Path == b.Path
}

// replaceArg plans replacing the argument a (every occurrence of its value
// in its file: the same stale root= is usually on every entry) with want.
func (c *checker) replaceArg(a boot.Arg, want string) (repair.Op, error) {
	if a.Env {
		env := c.l.Envs[a.File]
		if env == nil || env.Env == nil {
			return repair.Op{}, fmt.Errorf("%s is not a valid grubenv", a.File)
		}
		val, _ := env.Env.Get(a.Var)
		out, ok := replaceField(val, a.Value, want)
		if !ok {
			return repair.Op{}, fmt.Errorf("%s not found in %s", a.Value, a.Var)
		}
		data, err := env.Env.With(a.Var, out).Encode()
		if err != nil {
			return repair.Op{}, err
		}
		return repair.WriteFile(c.pass.Root, a.File, data)
	}
	data, err := c.pass.Root.ReadFile(a.File)
	if err != nil {
		return repair.Op{}, err
	}
	for _, w := range c.wordsWith(a.File, a.Value) {
		var ok bool
		data, ok = grubcfg.ReplaceArg(data, w, a.Value, want)
		if !ok {
			return repair.Op{}, fmt.Errorf("%s: %s not found at line %d", a.File, a.Value, w.Line)
		}
	}
	return repair.WriteFile(c.pass.Root, a.File, data)
}

// wordsWith returns the distinct words of file holding the argument value,
// last first (so replacing them one by one keeps the others' offsets).
func (c *checker) wordsWith(file, value string) []grubcfg.Word {
	seen := map[int]bool{}
	var out []grubcfg.Word
	for _, cfg := range c.l.Configs {
		for _, e := range cfg.Entries {
			for _, a := range e.Args {
				if a.File == file && !a.Env && a.Value == value && !seen[a.Word.Start] {
					seen[a.Word.Start] = true
					out = append(out, a.Word)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start > out[j].Start })
	return out
}

// replaceField replaces the blank-separated field old of s with new.
func replaceField(s, old, new string) (string, bool) {
	f := strings.Fields(s)
	found := false
	for i := range f {
		if f[i] == old {
			f[i], found = new, true
		}
	}
	if !found {
		return s, false
	}
	// Keep the value's own spacing where possible.
	out, ok := grubcfg.ReplaceArg([]byte(s), grubcfg.Word{Start: 0, End: len(s)}, old, new)
	if ok {
		return string(out), true
	}
	return strings.Join(f, " "), true
}

// kernelopts reports entries whose command line refers to $kernelopts when
// nothing defines it (EL8 lost its grubenv, and grub.cfg has no fallback).
func (c *checker) kernelopts() {
	for _, cfg := range c.l.Main() {
		var affected []*boot.Entry
		for _, e := range cfg.Entries {
			if slices.Contains(e.UnsetVars, "kernelopts") {
				affected = append(affected, e)
			}
		}
		if len(affected) == 0 {
			continue
		}
		envPath := path.Join(path.Dir(cfg.Real), "grubenv")
		if cfg.Env != nil {
			envPath = cfg.Env.Path
		}
		if cfg.Env != nil && cfg.Env.Env == nil {
			// A corrupt grubenv is reported (and rewritten with
			// kernelopts) by envs.
			continue
		}
		sev := checks.Warning
		if isDefault(affected) {
			sev = checks.Critical
		}
		f := checks.Finding{
			Kind: "kernelopts-undefined", Severity: sev, Path: envPath, Subject: cfg.Real,
			Message:  fmt.Sprintf("%s of %s pass $kernelopts to the kernel, and neither %s nor the configuration defines it", plural(len(affected), "entry", "entries"), cfg.Real, envPath),
			Impact:   "the kernel gets no root= and no other option: the initramfs does not know which filesystem to mount and stops in its emergency shell",
			Evidence: []string{"entries: " + strings.Join(titles(affected), "; ")},
		}
		opts, err := c.kernelOpts()
		if err != nil {
			f.NoFix = err.Error()
			c.pass.Report(f)
			continue
		}
		var env *grubenv.Env
		if cfg.Env != nil {
			env = cfg.Env.Env
		} else {
			env = grubenv.New()
		}
		data, err := env.With("kernelopts", opts).Encode()
		if err != nil {
			f.NoFix = err.Error()
			c.pass.Report(f)
			continue
		}
		op, oerr := repair.WriteFile(c.pass.Root, envPath, data)
		if cfg.Env == nil {
			op, oerr = repair.CreateFile(c.pass.Root, envPath, data, 0o644, 0, 0)
		}
		f.AddFix(repair.NewFix("Set kernelopts in "+envPath+" to: "+opts).Add(op, oerr).Build())
		c.pass.Report(f)
	}
}

// kernelOpts is the command line grub2-mkconfig would put in kernelopts:
// root=UUID=<root> ro and /etc/default/grub's arguments.
func (c *checker) kernelOpts() (string, error) {
	root := c.rootDev()
	if root == nil {
		return "", fmt.Errorf("the root filesystem's UUID is not known (scan the device, or give --devices and --root-device)")
	}
	args := []string{"root=UUID=" + root.UUID, "ro"}
	for _, a := range strings.Fields(c.l.DefaultValue("GRUB_CMDLINE_LINUX") + " " + c.l.DefaultValue("GRUB_CMDLINE_LINUX_DEFAULT")) {
		if !strings.HasPrefix(a, "root=") && a != "ro" {
			args = append(args, a)
		}
	}
	return strings.Join(args, " "), nil
}

// paths reports kernels and initramfs images the entries name that do not
// exist.
func (c *checker) paths() {
	type miss struct {
		what, path, grubPath, file string
		line                       int
		word                       *grubcfg.Word
		entries                    []*boot.Entry
	}
	var order []string
	misses := map[string]*miss{}
	add := func(what, target, grubPath string, line int, e *boot.Entry) bool {
		if target == "" || c.pass.Root.Exists(target) {
			return false
		}
		key := e.Source + "\x00" + grubPath
		m := misses[key]
		if m == nil {
			m = &miss{what: what, path: target, grubPath: grubPath, file: e.Source, line: line}
			m.word = findWord(e, grubPath)
			misses[key] = m
			order = append(order, key)
		}
		m.entries = append(m.entries, e)
		return true
	}
	for _, cfg := range c.l.Main() {
		for _, e := range cfg.Entries {
			if add("kernel", e.KernelPath, e.Kernel, e.KernelWord.Line, e) {
				// The entry's initramfs goes with its kernel: one
				// finding says it all.
				continue
			}
			for i, p := range e.InitrdPaths {
				add("initramfs", p, e.Initrds[i], e.InitrdWords[i].Line, e)
			}
		}
	}
	for _, key := range order {
		m := misses[key]
		sev := checks.Warning
		impact := fmt.Sprintf("choosing this entry fails with \"file '%s' not found\"", m.grubPath)
		if isDefault(m.entries) {
			sev = checks.Critical
			impact = fmt.Sprintf("the default entry fails with \"file '%s' not found\" and the machine does not boot", m.grubPath)
		}
		f := checks.Finding{
			Kind: m.what + "-missing", Subject: m.grubPath, Severity: sev, Path: m.file, Line: m.line,
			Message:  fmt.Sprintf("the %s %s (%s on the target) does not exist", m.what, m.grubPath, m.path),
			Impact:   impact,
			Evidence: []string{"entries: " + strings.Join(titles(m.entries), "; ")},
		}
		if alt := c.otherPrefix(m.grubPath); alt != "" && m.word != nil {
			f.Message += fmt.Sprintf("; it is at %s as GRUB sees the /boot filesystem", alt)
			if data, err := c.pass.Root.ReadFile(m.file); err == nil {
				if out, ok := grubcfg.ReplaceArg(data, *m.word, m.grubPath, alt); ok {
					f.AddFix(repair.NewFix(fmt.Sprintf("Name the %s %s instead of %s", m.what, alt, m.grubPath)).
						Add(repair.WriteFile(c.pass.Root, m.file, out)).Build())
				}
			}
		}
		if len(f.Fixes) == 0 && sev != checks.Critical && m.what == "kernel" && len(m.entries) == 1 && m.entries[0].BLS != nil {
			// A BLS entry left behind by a removed kernel: removing it
			// is what kernel-install would have done.
			f.AddFix(repair.NewFix("Remove the stale entry " + m.file).Add(repair.Remove(c.pass.Root, m.file)).Build())
		}
		if len(f.Fixes) == 0 && f.NoFix == "" {
			if sev == checks.Critical {
				f.NoFix = "the kernels check offers to make an installed, complete kernel the default; otherwise reinstall the kernel package"
			} else {
				f.NoFix = "the entry is not the default; remove it or reinstall that kernel package"
			}
		}
		c.pass.Report(f)
	}
}

// otherPrefix returns the GRUB path that does exist when /boot's prefix is
// wrong: "/vmlinuz-V" for "/boot/vmlinuz-V" on a separate /boot, and the
// other way round. "" when neither helps.
func (c *checker) otherPrefix(grubPath string) string {
	var alt string
	if rest, ok := strings.CutPrefix(grubPath, "/boot/"); ok {
		alt = "/" + rest
	} else if strings.HasPrefix(grubPath, "/") {
		alt = "/boot" + grubPath
	} else {
		return ""
	}
	if t := c.l.TargetPath(alt); t != "" && c.pass.Root.Exists(t) {
		return alt
	}
	return ""
}

// findWord returns the word of an entry that names grubPath as its kernel
// or an initramfs.
func findWord(e *boot.Entry, grubPath string) *grubcfg.Word {
	if e.Kernel == grubPath {
		w := e.KernelWord
		return &w
	}
	for i, p := range e.Initrds {
		if p == grubPath {
			w := e.InitrdWords[i]
			return &w
		}
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
