package facts

import "rescue/facts/boot"

// Boot returns the target's boot setup: GRUB configurations, BLS entries,
// grubenv, /etc/default/grub and the kernels in /boot, with every menu
// entry resolved to its kernel, initramfs and command line.
func (f *Facts) Boot() (*boot.Layout, error) {
	f.note(BootLoader)
	f.bootOnce.Do(func() {
		g := f.inner()
		fst, _ := g.Fstab()
		in := boot.Input{Root: f.root, OS: g.OS(), Fstab: fst}
		if d := g.Devices(); d != nil {
			in.Devices, in.RootDev = d.List, d.Root
		}
		f.boot, f.bootErr = boot.Load(in)
	})
	return f.boot, f.bootErr
}
