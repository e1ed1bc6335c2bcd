// Package facts holds what several checks need, read from the target once
// and shared: the distribution, fstab, the block devices, the package
// database. Each is computed on first use; a fact that cannot be read is an
// error for the checks that need it, not for the whole scan.
package facts

import (
	"context"
	"errors"
	"io/fs"
	"sync"

	"rescue/facts/boot"
	"rescue/parse/fstab"
	"rescue/parse/osrelease"
	"rescue/pkgdb"
	"rescue/pkgrepo"
	"rescue/repair"
	"rescue/sysroot"
)

// Fact names a fact a check requires. The names appear in docs and in
// `rescue checks`.
type Fact string

// The facts.
const (
	OSRelease    Fact = "os-release"
	Fstab        Fact = "fstab"
	BlockDevices Fact = "block-devices"
	Packages     Fact = "packages"
	Memory       Fact = "memory"
	BootLoader   Fact = "boot-loader"
	// DynamicLoader is the target's ld.so model: ld.so.conf, the search
	// path, the libraries a program loads (Loader, package facts/ldso).
	DynamicLoader Fact = "dynamic-loader"
	// MachineInfo is what the last boot's kernel log told about the
	// machine (Machine): its disk bus and NICs.
	MachineInfo Fact = "machine"
	// SELinuxConfig is /etc/selinux/config (SELinuxMode).
	SELinuxConfig Fact = "selinux-config"
	// FileContexts are the SELinux policy's file labelling rules
	// (SELinuxLabels).
	FileContexts Fact = "selinux-labels"
	// EnabledUnits are the systemd units enabled in the usual targets
	// (UnitEnabled).
	EnabledUnits Fact = "enabled-units"
)

// Reads is what computing the fact reads from the target, as
// sysroot.Prefetch patterns (see checks.Check.Reads).
func Reads(f Fact) []string {
	switch f {
	case OSRelease:
		return []string{"/etc/os-release", "/usr/lib/os-release"}
	case Fstab:
		return []string{"/etc/fstab"}
	case BootLoader:
		// The boot layout: menus, environment blocks, entries, the
		// kernels, initramfs images and module directories in /boot.
		return []string{"/boot", "/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/boot/grub/grubenv", "/boot/grub2/grubenv",
			"/boot/grub/menu.lst", "/boot/grub/grub.conf", "/boot/loader/entries/*.conf", "/boot/efi/EFI/*/grub.cfg",
			"/etc/default/grub", "/etc/kernel/cmdline", "/lib/modules/*", "/usr/lib/modules/*"}
	case Packages:
		return pkgdb.DatabaseFiles()
	case Accounts:
		return []string{"/etc/passwd", "/etc/group"}
	case DynamicLoader:
		return []string{"/etc/ld.so.conf", "/etc/ld.so.conf.d/*"}
	case SELinuxConfig:
		return []string{"/etc/selinux/config"}
	case PAMStacks:
		return []string{"/etc/pam.d/*", "/usr/lib/pam.d/*", "/usr/etc/pam.d/*"}
	}
	return nil
}

// Options are the facts that come from outside the target.
type Options struct {
	// Devices is the device list (from the probed disk, or --devices);
	// nil means none was given.
	Devices *Devices
	// Memory is the instance's RAM in bytes (--memory), 0 when unknown.
	Memory int64
	// Machine is what the last boot's logs said about the machine (nil:
	// nothing); its Memory counts when --memory is not given.
	Machine *Machine
	// OpenPackages opens the target's package database; nil means the
	// target has none that rescue can read.
	OpenPackages func(*sysroot.Root) (pkgdb.DB, error)
	// PackageDirs are host directories of .rpm/.deb files to restore
	// damaged files from (--packages).
	PackageDirs []string
	// Repos, when set, lets restores get packages from the target's
	// repositories (or mirrors): described only in a scan, resolved in a
	// dry run, downloaded by fix --apply. nil: no repository is used.
	Repos *pkgrepo.Options
	// Filesystems are the filesystems of the target's disk, when rescue
	// was given the disk (see filesystems.go); nil for a directory.
	Filesystems []Filesystem
	// Disk is the target's whole disk (see bootdisk.go); nil for a
	// directory.
	Disk *Disk
	// Context, when set, stops long work (verifying every package file)
	// when it is cancelled: a SIGTERM must not wait for it.
	Context context.Context
}

// ctx is the context long work runs under.
func (f *Facts) ctx() context.Context {
	if f.opt.Context != nil {
		return f.opt.Context
	}
	return context.Background()
}

// Facts are the shared facts of one target. A Facts is a view of state
// that several views share (see Watch): what is parsed is parsed once.
type Facts struct {
	*state
	// use, when set, is told of every declared fact a caller asks for.
	use func(Fact)
}

// state is what the views of one target share.
type state struct {
	root *sysroot.Root
	opt  Options

	osOnce sync.Once
	os     osrelease.Info

	fstabOnce sync.Once
	fstab     *fstab.File
	fstabErr  error

	pkgOnce sync.Once
	pkg     pkgdb.DB
	pkgErr  error

	bootOnce sync.Once
	boot     *boot.Layout
	bootErr  error

	areasOnce sync.Once
	areas     *BootAreas
	areasErr  error

	// pkgState caches what facts/packages.go derives from the database.
	pkgState packageState
	selinux  selinuxState
	accounts accountsState
	loader   loaderState
	pam      pamState
}

// New returns the facts of the target at root.
func New(root *sysroot.Root, opt Options) *Facts {
	return &Facts{state: &state{root: root, opt: opt}}
}

// Watch returns a view of the same facts that tells use of every declared
// fact (OSRelease, Fstab, ...) a caller asks it for. The golden harness
// uses it to hold a check to its Requires. What a fact needs of other
// facts to build itself is not reported: that is the fact's business.
func (f *Facts) Watch(use func(Fact)) *Facts { return &Facts{state: f.state, use: use} }

// inner is the view a fact builds itself with: it reports nothing.
func (f *Facts) inner() *Facts { return &Facts{state: f.state} }

func (f *Facts) note(x Fact) {
	if f.use != nil {
		f.use(x)
	}
}

// OS returns what /etc/os-release (or /usr/lib/os-release) says, falling
// back to the release files older systems have. The family is Unknown when
// nothing says.
func (f *Facts) OS() osrelease.Info {
	f.note(OSRelease)
	f.osOnce.Do(func() {
		for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
			if data, err := f.root.ReadFile(p); err == nil {
				f.os = osrelease.Parse(data)
				if f.os.ID != "" {
					return
				}
			}
		}
		f.os = legacyRelease(f.root)
	})
	return f.os
}

// legacyRelease recognises systems without os-release (CentOS 6).
func legacyRelease(r *sysroot.Root) osrelease.Info {
	switch {
	case r.Exists("/etc/redhat-release"):
		data, _ := r.ReadFileLimit("/etc/redhat-release", 4096)
		return osrelease.Info{ID: "rhel", PrettyName: string(trimNL(data)), Family: osrelease.RHEL}
	case r.Exists("/etc/debian_version"):
		return osrelease.Info{ID: "debian", Family: osrelease.Debian}
	case r.Exists("/etc/SuSE-release"):
		return osrelease.Info{ID: "suse", Family: osrelease.SUSE}
	}
	return osrelease.Info{Family: osrelease.Unknown}
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Fstab returns the parsed /etc/fstab. A missing fstab is (nil, nil).
func (f *Facts) Fstab() (*fstab.File, error) {
	f.note(Fstab)
	f.fstabOnce.Do(func() {
		// Read through the planning cache: a fix editing fstab is planned
		// from this very read, not from a second one.
		data, err := repair.ReadContent(f.root, "/etc/fstab", sysroot.MaxFileSize)
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		if err != nil {
			f.fstabErr = err
			return
		}
		f.fstab = fstab.Parse(data)
	})
	return f.fstab, f.fstabErr
}

// Devices returns the block devices; nil when unknown.
func (f *Facts) Devices() *Devices {
	f.note(BlockDevices)
	return f.opt.Devices
}

// Memory returns the instance's RAM in bytes: --memory, else what the last
// boot's kernel log said; 0 when unknown.
func (f *Facts) Memory() int64 {
	f.note(Memory)
	if f.opt.Memory == 0 && f.opt.Machine != nil {
		return f.opt.Machine.Memory
	}
	return f.opt.Memory
}

// Packages returns the target's package database, or nil when it has none.
func (f *Facts) Packages() (pkgdb.DB, error) {
	f.note(Packages)
	f.pkgOnce.Do(func() {
		if f.opt.OpenPackages != nil {
			f.pkg, f.pkgErr = f.opt.OpenPackages(f.root)
		}
	})
	return f.pkg, f.pkgErr
}

// SELinuxMode returns the SELINUX= value of /etc/selinux/config
// ("enforcing", "permissive", "disabled"), or "" when there is no such file
// or line.
func (f *Facts) SELinuxMode() string {
	f.note(SELinuxConfig)
	return f.selinuxConfig().Mode
}

// HomeOf returns the home directory /etc/passwd gives user, or "" when the
// user or the file is missing.
func (f *Facts) HomeOf(user string) string { return f.Accounts().Home(user) }

// RootHome is root's home directory: HomeOf("root"), or /root.
func (f *Facts) RootHome() string {
	if h := f.HomeOf("root"); h != "" {
		return h
	}
	return "/root"
}
