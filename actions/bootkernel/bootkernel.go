// Package bootkernel plans `rescue fix --boot-kernel VERSION` and
// `--boot-previous-kernel`: make an installed, complete kernel the one
// GRUB boots by default, through whatever picks the default on the target
// (grubenv's saved_entry, "set default=" in grub.cfg, GRUB Legacy's
// default=), in every configuration GRUB may read (BIOS and EFI). The
// edit is the kernels check's, so that one primitive chooses a default.
package bootkernel

import (
	"errors"
	"fmt"
	"strings"

	"rescue/checks/kernels"
	"rescue/facts/boot"
	"rescue/repair"
	"rescue/sysroot"
)

// Finding is the id plan items of the action carry.
const Finding = "action/boot-kernel"

// Options say which kernel: Version, or the one before the current
// default.
type Options struct {
	Version  string
	Previous bool
}

// Result is the planned change and its account.
type Result struct {
	Fix     repair.Fix
	Changes []string
	Notes   []string
}

// Plan plans the change on the target at root, whose boot layout is l.
func Plan(root *sysroot.Root, l *boot.Layout, o Options) (*Result, error) {
	if (o.Version == "") == !o.Previous {
		return nil, errors.New("give a kernel version or ask for the previous kernel")
	}
	cfgs := l.Main()
	if len(cfgs) == 0 {
		return nil, errors.New("no GRUB configuration found on the target")
	}
	r := &Result{}
	var fixes []repair.Fix
	for _, cfg := range cfgs {
		if cfg.Stub || len(cfg.Entries) == 0 {
			continue
		}
		want, err := choose(l, cfg, o)
		if err != nil {
			return nil, err
		}
		if cfg.Default == want {
			r.Notes = append(r.Notes, fmt.Sprintf("%s already boots %q (kernel %s)", cfg.Real, want.Title, want.Version))
			continue
		}
		fix, err := kernels.MakeDefault(root, cfg, want)
		if err != nil {
			return nil, err
		}
		fixes = append(fixes, fix)
		was := "nothing"
		if cfg.Default != nil {
			was = fmt.Sprintf("%q (kernel %s)", cfg.Default.Title, cfg.Default.Version)
		}
		r.Changes = append(r.Changes, fmt.Sprintf("%s; it booted %s", lower(fix.Message), was))
	}
	if len(fixes) > 0 && l.DefaultValue("GRUB_DEFAULT") != "" && l.DefaultValue("GRUB_DEFAULT") != "saved" {
		r.Notes = append(r.Notes, fmt.Sprintf("/etc/default/grub says GRUB_DEFAULT=%s: the next grub-mkconfig (every kernel update runs it) chooses the default again from it", l.DefaultValue("GRUB_DEFAULT")))
	}
	b := repair.NewFix("")
	var msgs []string
	for _, f := range fixes {
		for _, op := range f.Ops {
			b.Add(op, nil)
		}
		msgs = append(msgs, f.Message)
	}
	fix, err := b.Build()
	if err != nil {
		return nil, err
	}
	fix.Message = "Boot the chosen kernel by default"
	if len(msgs) > 0 {
		fix.Message = strings.Join(msgs, "; ")
	}
	r.Fix = fix
	return r, nil
}

// choose finds the entry to boot in cfg: the named version, or the newest
// complete kernel older than the newest installed one; never a kernel that
// lacks its initramfs or modules, and a recovery entry only when nothing
// else boots it.
func choose(l *boot.Layout, cfg *boot.Config, o Options) (*boot.Entry, error) {
	var versions []string
	if o.Previous {
		// The kernel before the newest installed one: what "the previous
		// kernel" means after an update that broke the machine. Relative
		// to the newest, not to the current default, so that asking twice
		// gives the same answer.
		for i, k := range l.Kernels {
			if i > 0 && !k.Rescue {
				versions = append(versions, k.Version)
			}
		}
		if len(versions) == 0 {
			return nil, errors.New("only one kernel is installed: there is no previous one")
		}
	} else {
		versions = []string{o.Version}
	}
	var installed []string
	for _, k := range l.Kernels {
		installed = append(installed, k.Version)
	}
	for _, v := range versions {
		k := l.Kernel(v)
		if k == nil {
			if !o.Previous {
				return nil, fmt.Errorf("kernel %s is not installed (installed: %s)", v, strings.Join(installed, ", "))
			}
			continue
		}
		if !k.Bootable() {
			if !o.Previous {
				return nil, fmt.Errorf("kernel %s lacks %s: it would not boot", v, strings.Join(k.Missing(), ", "))
			}
			continue
		}
		var best *boot.Entry
		for _, e := range cfg.Entries {
			if e.Version != v || e.KernelPath != k.Path {
				continue
			}
			if best == nil || kernels.IsRecovery(best) && !kernels.IsRecovery(e) {
				best = e
			}
		}
		if best != nil {
			return best, nil
		}
		if !o.Previous {
			return nil, fmt.Errorf("%s has no menu entry for kernel %s (run grub-mkconfig, or grubby on BLS systems, from the booted system)", cfg.Real, v)
		}
	}
	return nil, fmt.Errorf("no complete kernel older than the newest (%s) has an entry in %s", l.Kernels[0].Version, cfg.Real)
}

func lower(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
