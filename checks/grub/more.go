package grub

import (
	"fmt"
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

// searches reports "search --fs-uuid" commands that look for a filesystem
// that is gone.
func (c *checker) searches() {
	if !c.devs.Known() {
		return
	}
	for _, cfg := range c.l.Configs {
		var order []string
		bad := map[string][]boot.Search{}
		for _, s := range cfg.Searches {
			if _, found, _ := c.devs.Lookup("UUID=" + s.UUID); found {
				continue
			}
			if bad[s.UUID] == nil {
				order = append(order, s.UUID)
			}
			bad[s.UUID] = append(bad[s.UUID], s)
		}
		for _, uuid := range order {
			c.badSearch(cfg, uuid, bad[uuid])
		}
	}
}

func (c *checker) badSearch(cfg *boot.Config, uuid string, list []boot.Search) {
	fallback, inEntries, atTop, forDefault := true, false, false, false
	var lines []string
	for _, s := range list {
		fallback = fallback && s.Fallback
		if s.Entry != nil {
			inEntries = true
			forDefault = forDefault || s.Entry == cfg.Default
		} else {
			atTop = true
		}
		lines = append(lines, fmt.Sprint(s.Line))
	}
	f := checks.Finding{
		Kind: "search-uuid-unknown", Subject: uuid, Path: cfg.Real, Line: list[0].Line,
		Message:  fmt.Sprintf("GRUB searches for the filesystem UUID %s, which matches no filesystem on this disk (line %s)", uuid, strings.Join(lines, ", ")),
		Evidence: []string{strings.TrimSpace(lineOf(cfg.Data, list[0].Word.Start))},
	}
	switch {
	case cfg.Stub:
		f.Severity = checks.Critical
		f.Impact = "the EFI loader cannot find the filesystem holding the real configuration: GRUB stops at its prompt"
	case fallback:
		f.Severity = checks.Warning
		f.Impact = "GRUB prints \"error: no such device\" and goes on with the partition named by the \"set root=\" before it; if the disk layout changed too, it cannot load the kernel"
	case forDefault || atTop:
		f.Severity = checks.Critical
		f.Impact = "GRUB cannot find /boot: loading the kernel fails and the machine does not boot"
	default:
		f.Severity = checks.Warning
		f.Impact = "entries other than the default cannot find /boot"
	}
	// Which filesystem did it mean? Everything GRUB loads after a search
	// in a menu entry, in a stub, or into $boot, is on /boot; a top-level
	// search for $root on a system with a separate /boot may be for /
	// (Debian looks for its font there).
	var want *facts.Device
	switch {
	case !c.l.SeparateBoot || cfg.Stub || (inEntries && !atTop):
		want = c.bootDev()
	default:
		allBoot := true
		for _, s := range list {
			allBoot = allBoot && (s.Entry != nil || s.Var == "boot" || s.Var == "dev")
		}
		if allBoot || inEntries {
			want = c.bootDev()
		}
	}
	if want == nil {
		if c.bootDev() == nil {
			f.NoFix = "the UUID of the filesystem holding /boot is not known (scan the device, or give --devices and --root-device)"
		} else {
			f.NoFix = "which filesystem this search was meant to find (/ or /boot) cannot be told; correct it by hand"
		}
		c.pass.Report(f)
		return
	}
	data := cfg.Data
	ws := make([]grubcfg.Word, 0, len(list))
	for _, s := range list {
		ws = append(ws, s.Word)
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].Start > ws[j].Start })
	for _, w := range ws {
		data = grubcfg.Replace(data, w.Start, w.End, want.UUID)
	}
	f.AddFix(repair.NewFix(fmt.Sprintf("Search for UUID %s (the filesystem holding /boot) instead of %s", want.UUID, uuid)).
		Add(repair.WriteFile(c.pass.Root, cfg.Real, data)).Build())
	c.pass.Report(f)
}

// lineOf returns the line holding byte offset off.
func lineOf(data []byte, off int) string {
	s := string(data)
	start := strings.LastIndexByte(s[:off], '\n') + 1
	end := strings.IndexByte(s[off:], '\n')
	if end < 0 {
		return s[start:]
	}
	return s[start : off+end]
}

// envs reports grubenv files GRUB cannot use.
func (c *checker) envs() {
	paths := make([]string, 0, len(c.l.Envs))
	for p := range c.l.Envs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		env := c.l.Envs[p]
		if env.Err == nil {
			continue
		}
		needs := false
		for _, cfg := range c.l.Main() {
			if cfg.Env != env {
				continue
			}
			for _, e := range cfg.Entries {
				needs = needs || hasVar(e, "kernelopts")
			}
		}
		f := checks.Finding{
			Kind: "grubenv-invalid", Severity: checks.Warning, Path: p,
			Message: fmt.Sprintf("%s is not a GRUB environment block: %v", p, env.Err),
			Impact:  "GRUB ignores it: the saved default entry is lost (the first entry boots) and save_env fails",
		}
		block := grubenv.New()
		msg := "Replace it with an empty environment block"
		if needs {
			f.Severity = checks.Critical
			f.Impact = "GRUB ignores it, so $kernelopts is empty: the kernel gets no root= and the initramfs stops in its emergency shell"
			opts, err := c.kernelOpts()
			if err != nil {
				f.NoFix = err.Error()
				c.pass.Report(f)
				continue
			}
			block = block.With("kernelopts", opts)
			msg = "Replace it with an environment block holding kernelopts=" + opts
		}
		data, err := block.Encode()
		if err != nil {
			f.NoFix = err.Error()
			c.pass.Report(f)
			continue
		}
		f.AddFix(repair.NewFix(msg).Add(repair.WriteFile(c.pass.Root, p, data)).Build())
		c.pass.Report(f)
	}
}

// hasVar reports whether an entry's command line refers to $name.
func hasVar(e *boot.Entry, name string) bool {
	for _, a := range e.Args {
		if a.Var == name {
			return true
		}
	}
	for _, v := range e.UnsetVars {
		if v == name {
			return true
		}
	}
	return false
}

// defaultGrub reports a root= in /etc/default/grub that does not name the
// root filesystem: grub-mkconfig puts it after its own root= on every
// entry, so the kernel takes it.
func (c *checker) defaultGrub() {
	d := c.l.Default
	if d == nil {
		return
	}
	if d.File == nil {
		c.pass.Report(checks.Finding{
			Kind: "default-grub-syntax", Severity: checks.Warning, Path: d.Path,
			Message: fmt.Sprintf("%s cannot be parsed as shell: %v", d.Path, d.Err),
			Impact:  "grub-mkconfig sources it and fails, so the next kernel update leaves the boot menu without the new kernel",
			NoFix:   "rescue cannot tell what the file meant; edit it by hand",
		})
		return
	}
	if !c.devs.Known() {
		return
	}
	for _, a := range d.File.Assigns {
		if a.Name != "GRUB_CMDLINE_LINUX" && a.Name != "GRUB_CMDLINE_LINUX_DEFAULT" {
			continue
		}
		for _, arg := range strings.Fields(a.Own) {
			spec, ok := strings.CutPrefix(arg, "root=")
			if !ok {
				continue
			}
			dev, found, checkable := c.devs.Lookup(spec)
			root := c.rootDev()
			var what string
			switch {
			case !checkable && kname.IsKernelName(spec):
				what = "the kernel name " + spec + ", which changes with the instance type"
			case !checkable:
				continue
			case !found:
				what = spec + ", which matches no filesystem on this disk"
			case root != nil && !sameDev(dev, *root):
				what = fmt.Sprintf("%s, which is %s, not the root filesystem", spec, dev.Path)
			default:
				continue
			}
			f := checks.Finding{
				Kind: "default-grub-root", Subject: a.Name, Severity: checks.Warning, Path: d.Path, Line: a.Line,
				Message:  fmt.Sprintf("%s carries root= pointing at %s", a.Name, what),
				Impact:   "grub-mkconfig (run by every kernel update) appends it after its own root= on every entry and the kernel takes the last one: the next update makes the machine unbootable",
				Evidence: []string{a.Name + "=" + d.File.Raw(a)},
			}
			if root == nil {
				f.NoFix = "the root filesystem's UUID is not known (scan the device, or give --devices and --root-device)"
				c.pass.Report(f)
				continue
			}
			want := "root=UUID=" + root.UUID
			if out, ok := d.File.ReplaceArg(a, arg, want); ok {
				f.AddFix(repair.NewFix(fmt.Sprintf("Point %s's root= at UUID=%s", a.Name, root.UUID)).
					Add(repair.WriteFile(c.pass.Root, d.Path, out)).Build())
			} else {
				f.NoFix = "the value is built in a way rescue does not rewrite; edit it by hand"
			}
			c.pass.Report(f)
		}
	}
}

// deviceMaps reports device.map entries that name a disk type the machine
// does not have.
func (c *checker) deviceMaps() {
	root := c.devs
	if root == nil || root.Root == nil {
		return
	}
	have := kname.Bus(root.Root.Path)
	if have == "" {
		return
	}
	for _, p := range []string{"/boot/grub2/device.map", "/boot/grub/device.map"} {
		data, err := c.pass.Root.ReadFileLimit(p, 1<<20)
		if err != nil {
			continue
		}
		var stale []string
		out := data
		lines, _ := checks.Lines(data)
		// Walk the lines back to front so offsets stay valid.
		offs := make([]int, len(lines))
		o := 0
		for i, l := range lines {
			offs[i] = o
			o += len(l) + 1
		}
		first := 0
		for i := len(lines) - 1; i >= 0; i-- {
			fields := strings.Fields(lines[i])
			if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
				continue
			}
			dev := fields[1]
			pre := kname.Bus(dev)
			if pre == "" || pre == have {
				continue
			}
			name, ok := rename(dev, pre, have)
			if !ok {
				continue
			}
			stale = append([]string{fields[0] + " " + dev}, stale...)
			first = i + 1
			j := strings.Index(lines[i], dev)
			out = grubcfg.Replace(out, offs[i]+j, offs[i]+j+len(dev), name)
		}
		if len(stale) == 0 {
			continue
		}
		f := checks.Finding{
			Kind: "device-map-stale", Severity: checks.Warning, Path: p, Line: first,
			Message:  fmt.Sprintf("%s names %s, but this machine's disks are /dev/%s*", p, strings.Join(stale, ", "), have),
			Impact:   "grub2-install and grub2-mkconfig fail with \"cannot find a GRUB drive for /dev/" + have + "a1. Check your device.map\", so a kernel update leaves the boot menu stale",
			Evidence: stale,
		}
		f.AddFix(repair.NewFix(fmt.Sprintf("Name the /dev/%s* disks in %s", have, p)).Add(repair.WriteFile(c.pass.Root, p, out)).Build())
		c.pass.Report(f)
	}
}

// rename maps /dev/sda to /dev/vda (the same letter on the other bus).
func rename(dev, from, to string) (string, bool) {
	rest := strings.TrimPrefix(dev, "/dev/"+from)
	if from == "nvme" || to == "nvme" || rest == "" || rest[0] < 'a' || rest[0] > 'z' {
		return "", false
	}
	return "/dev/" + to + rest, true
}
