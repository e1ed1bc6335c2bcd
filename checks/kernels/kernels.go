package kernels

import (
	"fmt"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/checks/internal/initrd"
	"rescue/facts"
	"rescue/facts/boot"
	"rescue/parse/grubcfg"
	"rescue/parse/grubenv"
	"rescue/repair"
	"rescue/sysroot"
)

// Check is the kernels check.
var Check = &checks.Check{
	Name:     "kernels",
	Doc:      doc,
	Requires: []facts.Fact{facts.BootLoader, facts.OSRelease, facts.Fstab},
	Kinds:    []string{"default-not-installed", "default-incomplete", "incomplete"},
	Reads:    []string{"/boot/vmlinuz-*", "/boot/System.map-*", "/boot/config-*"},
	Run:      run,
}

func run(pass *checks.Pass) error {
	l, err := pass.Facts.Boot()
	if err != nil {
		return err
	}
	c := &checker{pass: pass, l: l}
	c.defaults()
	c.kernels()
	return nil
}

type checker struct {
	pass *checks.Pass
	l    *boot.Layout
	// reported are the kernel versions a default-entry finding already
	// covers.
	reported map[string]bool
}

// list describes every installed kernel, for evidence.
func (c *checker) list() []string {
	var out []string
	for _, k := range c.l.Kernels {
		s := k.Version
		if m := k.Missing(); len(m) > 0 {
			s += ": " + strings.Join(m, ", ")
		} else {
			s += ": complete"
		}
		out = append(out, "kernel "+s)
	}
	return out
}

// defaults checks the kernel each configuration boots by default.
func (c *checker) defaults() {
	c.reported = map[string]bool{}
	for _, cfg := range c.l.Main() {
		e := cfg.Default
		if e == nil || e.KernelPath == "" {
			continue
		}
		k := c.l.Kernel(e.Version)
		installed := c.pass.Root.Exists(e.KernelPath)
		if installed && k != nil && k.Bootable() {
			continue
		}
		f := checks.Finding{
			Subject: e.Version, Severity: checks.Critical, Path: cfg.Real,
			Evidence: append([]string{fmt.Sprintf("default entry: %q (%s)", e.Title, how(cfg))}, c.list()...),
		}
		switch {
		case !installed:
			f.Kind = "default-not-installed"
			f.Message = fmt.Sprintf("the default entry %q boots %s, which is not installed", e.Title, e.Kernel)
			f.Impact = fmt.Sprintf("GRUB fails with \"file '%s' not found\" and the machine does not boot", e.Kernel)
		case k == nil:
			// The entry names a kernel file that is not a
			// vmlinuz-V: nothing to judge it by.
			continue
		default:
			f.Kind = "default-incomplete"
			f.Message = fmt.Sprintf("the default entry %q boots kernel %s, which lacks %s", e.Title, k.Version, strings.Join(k.Missing(), ", "))
			f.Impact = impact(k)
			c.reported[k.Version] = true
		}
		if alt := c.fallback(cfg, e); alt != nil {
			f.AddFix(MakeDefault(c.pass.Root, cfg, alt))
			if !cfg.DefaultRef.FromEnv && cfg.Kind == boot.Grub2 {
				f.Impact += fmt.Sprintf(". grub-mkconfig (update-grub, run by every kernel update) writes the default from /etc/default/grub (GRUB_DEFAULT=%s) again: repair or remove kernel %s before the next kernel update", c.l.DefaultValue("GRUB_DEFAULT"), e.Version)
			}
		}
		if k != nil && !k.Rescue && k.Modules && k.Size > 0 && (k.Initramfs == "" || k.InitramfsSize == 0) {
			f.AddFix(initrd.Rebuild(c.pass, k, nil, true))
		}
		if len(f.Fixes) == 0 && f.NoFix == "" {
			f.NoFix = "no other entry boots a complete kernel; reinstall the kernel package from a rescue system"
		}
		c.pass.Report(f)
	}
}

// how says how a configuration picks its default entry.
func how(cfg *boot.Config) string {
	r := cfg.DefaultRef
	switch {
	case r.Fallback:
		return fmt.Sprintf("%q matches no entry, so GRUB boots the first", r.Value)
	case r.FromEnv:
		return "grubenv saved_entry=" + r.Value
	case cfg.Kind == boot.Legacy:
		return "default=" + r.Value
	case r.Word != nil:
		return "set default=" + r.Value
	}
	return "the first entry"
}

func impact(k *boot.Kernel) string {
	switch {
	case k.Size == 0:
		return "the kernel image is empty: GRUB cannot load it and the machine does not boot"
	case k.Initramfs == "" || k.InitramfsSize == 0:
		return "without an initramfs the kernel cannot mount the root filesystem: \"Kernel panic - not syncing: VFS: Unable to mount root fs\""
	}
	return "after the switch to the real root no module loads: no network, no storage or filesystem that is not built in; services fail and the machine cannot be reached"
}

// fallback picks the entry to boot instead: the newest complete kernel with
// an entry in the same configuration (recovery entries last).
func (c *checker) fallback(cfg *boot.Config, bad *boot.Entry) *boot.Entry {
	var best *boot.Entry
	for _, k := range c.l.Kernels {
		if k.Rescue || !k.Bootable() || k.Version == bad.Version {
			continue
		}
		for _, e := range cfg.Entries {
			if e.Version != k.Version || e.KernelPath != k.Path {
				continue
			}
			if best == nil || (IsRecovery(best) && !IsRecovery(e)) {
				best = e
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

// IsRecovery reports whether an entry is a recovery or rescue one, which
// is chosen only when nothing else boots its kernel.
func IsRecovery(e *boot.Entry) bool {
	t := strings.ToLower(e.Title)
	return strings.Contains(t, "recovery") || strings.Contains(t, "rescue") || strings.Contains(t, "single")
}

// menuPath is the value that selects e: its id, unless another entry shares
// it (EL7's grub2-mkconfig gives every entry the id of the first kernel),
// then its title.
func menuPath(cfg *boot.Config, e *boot.Entry) string {
	if e.BLS != nil || e.ID == "" {
		return e.MenuPath
	}
	for _, o := range cfg.Entries {
		if o != e && o.ID == e.ID {
			p := e.Title
			if i := strings.LastIndex(e.MenuPath, ">"); i >= 0 {
				// Keep the submenu part.
				p = e.MenuPath[:i+1] + e.Title
			}
			return p
		}
	}
	return e.MenuPath
}

// MakeDefault plans making e the default entry of cfg, through whatever
// picks the default there: grubenv's saved_entry, "set default=" in
// grub.cfg, or GRUB Legacy's default=. The rescue fix --boot-kernel
// action uses it too.
func MakeDefault(root *sysroot.Root, cfg *boot.Config, e *boot.Entry) (repair.Fix, error) {
	ref := cfg.DefaultRef
	msg := fmt.Sprintf("Make %q (kernel %s) the default entry", e.Title, e.Version)
	switch {
	case cfg.Kind == boot.Legacy:
		idx := strconv.Itoa(e.TopIndex)
		if ref.Word != nil {
			data := grubcfg.Replace(cfg.Data, ref.Word.Start, ref.Word.End, idx)
			return repair.NewFix(msg + " (default=" + idx + ")").Add(repair.WriteFile(root, cfg.Real, data)).Build()
		}
		data := append([]byte("default="+idx+"\n"), cfg.Data...)
		return repair.NewFix(msg + " (default=" + idx + ")").Add(repair.WriteFile(root, cfg.Real, data)).Build()
	case ref.FromEnv:
		val := menuPath(cfg, e)
		env := cfg.Env
		if env != nil && env.Env == nil {
			return repair.Fix{}, fmt.Errorf("%s is not a valid grubenv (the grub check rewrites it)", env.Path)
		}
		var block *grubenv.Env
		p := ""
		if env != nil {
			block, p = env.Env, env.Path
		} else {
			block, p = grubenv.New(), cfgDir(cfg)+"/grubenv"
		}
		data, err := block.With("saved_entry", val).Encode()
		if err != nil {
			return repair.Fix{}, err
		}
		op, oerr := repair.WriteFile(root, p, data)
		if env == nil {
			op, oerr = repair.CreateFile(root, p, data, 0o644, 0, 0)
		}
		return repair.NewFix(msg+" (saved_entry in "+p+")").Add(op, oerr).Build()
	case ref.Word != nil:
		val := menuPath(cfg, e)
		data := grubcfg.SetValue(cfg.Data, *ref.Word, ref.Name, val)
		return repair.NewFix(msg + " (set default=\"" + val + "\" in " + cfg.Real + ")").Add(repair.WriteFile(root, cfg.Real, data)).Build()
	default:
		val := menuPath(cfg, e)
		data := append([]byte(fmt.Sprintf("set default=%q\n", val)), cfg.Data...)
		return repair.NewFix(msg + " (set default in " + cfg.Real + ")").Add(repair.WriteFile(root, cfg.Real, data)).Build()
	}
}

func cfgDir(cfg *boot.Config) string {
	i := strings.LastIndex(cfg.Real, "/")
	return cfg.Real[:i]
}

// kernels reports every other incomplete kernel.
func (c *checker) kernels() {
	for _, k := range c.l.Kernels {
		missing := k.Missing()
		if len(missing) == 0 || c.reported[k.Version] {
			continue
		}
		f := checks.Finding{
			Kind: "incomplete", Subject: k.Version, Path: k.Path,
			Message:  fmt.Sprintf("kernel %s lacks %s", k.Version, strings.Join(missing, ", ")),
			Evidence: c.list(),
		}
		switch {
		case !k.Bootable():
			f.Severity = checks.Warning
			f.Impact = "it is not the default entry, but choosing it (or falling back to it) fails: " + impact(k)
			f.NoFix = fmt.Sprintf("reinstall the package of kernel %s, or remove it, from the booted system", k.Version)
		default:
			f.Severity = checks.Info
			f.Impact = "nothing stops boot; the kernel package is not whole (tools that read System.map or the config, such as kdump and module builds, fail)"
			f.NoFix = fmt.Sprintf("reinstall the package of kernel %s to restore what is missing", k.Version)
		}
		c.pass.Report(f)
	}
}
