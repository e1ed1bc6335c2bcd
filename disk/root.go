package disk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"rescue/parse/fstab"
	"rescue/parse/osrelease"
	"rescue/sysroot"
)

// Roles a filesystem plays, recognised by its contents.
const (
	RoleRoot = "root"
	RoleBoot = "boot" // kernels and boot loader files: the target's /boot
	RoleESP  = "esp"  // a FAT filesystem with an EFI directory
	RoleUsr  = "usr"
	RoleVar  = "var"
	RoleData = "data" // a filesystem that is none of the above
)

// Candidate is what rescue found inside one filesystem of the disk, and,
// for a possible root, how well it looks like one.
type Candidate struct {
	Volume *Volume `json:"-"`
	Name   string  `json:"volume"`
	Role   string  `json:"role"`
	// Score ranks root candidates: os-release, an fstab whose / names this
	// very filesystem, an init.
	Score   int      `json:"score,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
	// OS is the PRETTY_NAME of os-release.
	OS string `json:"os,omitempty"`
	// Subvol is the btrfs subvolume holding the root ("" for the top).
	Subvol string `json:"subvol,omitempty"`
	// Chosen says the root was named on the command line.
	Chosen bool `json:"chosen,omitempty"`
	// Error says why the filesystem could not be looked into.
	Error string `json:"error,omitempty"`
	fstab *fstab.File
}

// Why says how the candidate was chosen as the root.
func (c *Candidate) Why() string {
	if c.Chosen {
		return "named by --root-partition"
	}
	return fmt.Sprintf("scored %d: %s", c.Score, strings.Join(c.Reasons, "; "))
}

// ErrAmbiguousRoot is returned when two filesystems look equally like the
// root: rescue does not guess.
var ErrAmbiguousRoot = errors.New("two filesystems look equally like the root")

// ErrNoRoot is returned when nothing on the disk looks like a root.
var ErrNoRoot = errors.New("no root filesystem found")

// Inspect looks into every filesystem of the disk (read-only mounts
// through read-only loop devices; FAT in pure Go) and says what each one
// is. It needs root.
func Inspect(ctx context.Context, d *Disk, opt MountOptions) []Candidate {
	var out []Candidate
	for i, v := range d.Volumes {
		if ctx.Err() != nil {
			break
		}
		if v.FS == nil || !v.Reachable() {
			continue
		}
		switch v.FS.Type {
		case "ext2", "ext3", "ext4", "xfs", "btrfs":
			out = append(out, inspectMounted(d, v, i, opt))
		case "vfat":
			out = append(out, inspectFAT(d, v))
		}
	}
	return out
}

// inspectMounted mounts v read-only in a private directory and looks.
func inspectMounted(d *Disk, v *Volume, i int, opt MountOptions) Candidate {
	c := Candidate{Volume: v, Name: v.Name}
	stateDir := opt.stateDir()
	dir := filepath.Join(stateDir, fmt.Sprintf("inspect-%d-%d", os.Getpid(), i))
	st := &State{Version: 1, Dir: dir, Disk: d.Path, Temporary: true, PID: os.Getpid(), CreatedDir: true, path: stateFile(stateDir, dir)}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		c.Error = err.Error()
		return c
	}
	if err := st.save(); err != nil {
		os.Remove(dir)
		c.Error = err.Error()
		return c
	}
	defer func() {
		if err := unmountState(st, stateDir, opt.log()); err != nil {
			opt.log().Error("unmounting after a look", "volume", v.Name, "error", err)
		}
	}()
	if _, err := mountVolume(st, d.Path, v, dir, "/", false, "", stateDir, opt.log()); err != nil {
		c.Error = err.Error()
		return c
	}
	r, err := sysroot.Open(dir)
	if err != nil {
		c.Error = err.Error()
		return c
	}
	defer r.Close()
	inspectRoot(d, r, &c)
	if c.Role == RoleData && v.FS.Type == "btrfs" {
		// A root in a subvolume (Fedora's root, SUSE's and Ubuntu's @).
		for _, sv := range []string{"@", "root", "@rootfs", "@/.snapshots/1/snapshot"} {
			if r.Exists(sv + "/etc/os-release") {
				sub, err := sysroot.Open(filepath.Join(dir, sv))
				if err != nil {
					continue
				}
				c.Subvol = sv
				inspectRoot(d, sub, &c)
				c.Reasons = append([]string{"root in btrfs subvolume " + sv}, c.Reasons...)
				sub.Close()
				break
			}
		}
	}
	return c
}

// inspectRoot scores a mounted filesystem as a root and gives its role.
func inspectRoot(d *Disk, r *sysroot.Root, c *Candidate) {
	c.Role, c.Score, c.Reasons = RoleData, 0, nil
	isDir := func(p string) bool { fi, err := r.Stat(p); return err == nil && fi.IsDir() }
	if isDir("/etc") {
		for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
			if data, err := r.ReadFileLimit(p, 64<<10); err == nil {
				info := osrelease.Parse(data)
				c.OS = info.PrettyName
				if c.OS == "" {
					c.OS = info.ID
				}
				c.Score += 10
				c.Reasons = append(c.Reasons, fmt.Sprintf("%s names %q", p, c.OS))
				break
			}
		}
		if c.OS == "" {
			for _, p := range []string{"/etc/redhat-release", "/etc/system-release", "/etc/debian_version", "/etc/SuSE-release"} {
				if data, err := r.ReadFileLimit(p, 4096); err == nil {
					c.OS = strings.TrimSpace(string(data))
					c.Score += 8
					c.Reasons = append(c.Reasons, fmt.Sprintf("%s says %q", p, c.OS))
					break
				}
			}
		}
		if data, err := r.ReadFileLimit("/etc/fstab", 1<<20); err == nil {
			c.fstab = fstab.Parse(data)
			c.Score += 5
			c.Reasons = append(c.Reasons, "has /etc/fstab")
			for _, l := range c.fstab.Entries() {
				if l.Entry.File != "/" {
					continue
				}
				v, _ := d.Resolve(l.Entry.Spec)
				switch {
				case v == c.Volume:
					c.Score += 10
					c.Reasons = append(c.Reasons, fmt.Sprintf("its fstab mounts / from %s, which is this filesystem", l.Entry.Spec))
				case v != nil:
					c.Score -= 8
					c.Reasons = append(c.Reasons, fmt.Sprintf("but its fstab mounts / from %s (%s)", l.Entry.Spec, v.Name))
				default:
					c.Reasons = append(c.Reasons, fmt.Sprintf("its fstab mounts / from %s, which is not on this disk", l.Entry.Spec))
				}
				break
			}
		}
		for _, p := range []string{"/sbin/init", "/usr/lib/systemd/systemd", "/lib/systemd/systemd", "/usr/sbin/init"} {
			if _, err := r.Lstat(p); err == nil {
				c.Score += 2
				c.Reasons = append(c.Reasons, "has "+p)
				break
			}
		}
		if c.Score > 0 {
			c.Role = RoleRoot
		}
		return
	}
	entries, _ := r.ReadDir("/")
	names := map[string]bool{}
	kernels := 0
	for _, e := range entries {
		names[e.Name()] = true
		if strings.HasPrefix(e.Name(), "vmlinuz") || strings.HasPrefix(e.Name(), "initramfs-") || strings.HasPrefix(e.Name(), "initrd") {
			kernels++
		}
	}
	switch {
	case kernels > 0 || names["grub"] || names["grub2"] || names["loader"]:
		c.Role = RoleBoot
		c.Reasons = append(c.Reasons, fmt.Sprintf("holds %d kernel/initramfs file(s) and boot loader files: a /boot", kernels))
	case names["bin"] && (names["lib"] || names["lib64"]) && names["share"]:
		c.Role = RoleUsr
		c.Reasons = append(c.Reasons, "holds bin, lib and share: a /usr")
	case names["log"] && names["lib"]:
		c.Role = RoleVar
		c.Reasons = append(c.Reasons, "holds log and lib: a /var")
	}
}

// inspectFAT recognises an ESP by its EFI directory, read in pure Go.
func inspectFAT(d *Disk, v *Volume) Candidate {
	c := Candidate{Volume: v, Name: v.Name, Role: RoleData}
	f, err := os.Open(d.Path)
	if err != nil {
		c.Error = err.Error()
		return c
	}
	defer f.Close()
	fat, err := openFAT(f, v, false)
	if err != nil {
		c.Error = err.Error()
		return c
	}
	entries, err := fat.ReadDir("/")
	if err != nil {
		c.Error = err.Error()
		return c
	}
	for _, e := range entries {
		if strings.EqualFold(e.Name, "EFI") && e.Dir {
			c.Role = RoleESP
			c.Reasons = append(c.Reasons, "a FAT filesystem with an EFI directory")
			if sub, err := fat.ReadDir(e.Name); err == nil {
				var vendors []string
				for _, s := range sub {
					vendors = append(vendors, s.Name)
				}
				c.Reasons = append(c.Reasons, "EFI/ holds "+strings.Join(vendors, ", "))
			}
		}
	}
	if c.Role == RoleData && v.Partition != nil && v.Partition.TypeName == "esp" {
		c.Role = RoleESP
		c.Reasons = append(c.Reasons, "an EFI system partition (by type; it holds no EFI directory)")
	}
	return c
}

// ChooseRoot inspects the disk and picks the root: the named one, or the
// best scored one, refusing to guess on a tie. It also returns what every
// filesystem was found to be.
func ChooseRoot(ctx context.Context, d *Disk, opt MountOptions) (*Candidate, []Candidate, error) {
	return chooseRoot(ctx, d, opt)
}

func chooseRoot(ctx context.Context, d *Disk, opt MountOptions) (*Candidate, []Candidate, error) {
	cands := Inspect(ctx, d, opt)
	if opt.Root != "" {
		v := d.Volume(opt.Root)
		if v == nil {
			return nil, cands, fmt.Errorf("--root-partition %s: the disk has no such volume (%s)", opt.Root, volumeNames(d))
		}
		if !v.Reachable() {
			return nil, cands, fmt.Errorf("--root-partition %s: %s cannot be used: %s", opt.Root, v.Name, v.Problem)
		}
		for i := range cands {
			if cands[i].Volume == v {
				cands[i].Chosen = true
				return &cands[i], cands, nil
			}
		}
		return nil, cands, fmt.Errorf("--root-partition %s: %s holds no filesystem rescue can mount as a root", opt.Root, v.Name)
	}
	var roots []*Candidate
	for i := range cands {
		if cands[i].Role == RoleRoot {
			roots = append(roots, &cands[i])
		}
	}
	slices.SortStableFunc(roots, func(a, b *Candidate) int { return b.Score - a.Score })
	if len(roots) == 0 {
		var seen []string
		for _, c := range cands {
			s := fmt.Sprintf("%s: %s", c.Name, c.Role)
			if c.Error != "" {
				s = fmt.Sprintf("%s: %s", c.Name, c.Error)
			}
			seen = append(seen, s)
		}
		if len(seen) == 0 {
			seen = append(seen, "no filesystem rescue can mount")
		}
		return nil, cands, fmt.Errorf("%w on %s (%s)", ErrNoRoot, d.Path, strings.Join(seen, "; "))
	}
	if len(roots) > 1 && roots[0].Score == roots[1].Score {
		return nil, cands, fmt.Errorf("%w: %s (%s) and %s (%s), both scored %d; name the root with --root-partition",
			ErrAmbiguousRoot, roots[0].Name, roots[0].OS, roots[1].Name, roots[1].OS, roots[0].Score)
	}
	return roots[0], cands, nil
}

func volumeNames(d *Disk) string {
	var names []string
	for _, v := range d.Volumes {
		names = append(names, v.Name)
	}
	if len(names) == 0 {
		return "it has none"
	}
	return strings.Join(names, ", ")
}
