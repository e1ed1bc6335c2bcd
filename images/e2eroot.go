package images

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// BootPackages are the packages of a Debian root that boots under qemu
// from MBR (grub-pc) or UEFI (grub-efi-amd64-bin, signed grubx64.efi),
// with its root on ext4, xfs or a linear LVM volume.
var BootPackages = []string{
	"linux-image-amd64", "systemd-sysv", "udev", "openssh-server",
	"grub-pc", "grub-efi-amd64-bin", "grub-efi-amd64-signed",
	"initramfs-tools", "kmod", "iproute2", "ifupdown", "e2fsprogs", "xfsprogs", "lvm2",
	"procps", "less", "cron",
	// nftables: the firewall row's ruleset must be what the image's own
	// nftables.service loads at boot (Debian ships it disabled, so the
	// healthy image runs without a ruleset).
	"nftables",
	// zstd: initramfs-tools recommends it, and Debian's own cloud images
	// install it (debian-cloud-images, package_config/SYSTEM_BOOT:
	// "Recommends of linux-image-*"). Without it Debian 12 and 13 fall
	// back from their default COMPRESS=zstd to gzip, and the images are
	// then both unlike a real instance's and three times slower to list.
	"zstd",
}

// bootRootHooks are mmdebstrap customize hooks, run in order. The root
// password is "root" so the harness can log in; a second, older kernel is
// installed (the oldest ABI the archive's linux-image-amd64 versions
// depend on: the base suite's, where -updates or -security has a newer
// one) so that the fallback-kernel scenario is real. The hooks are part of
// the cache key: Debian 12's text is kept as it was, so that its cached
// root keeps its name.
func bootRootHooks(rel Release) []string {
	return []string{
		`--customize-hook=echo root:root | chroot "$1" chpasswd`,
		`--customize-hook=chroot "$1" sh -c 'apt-cache show linux-image-amd64 | sed -n "s/^Depends:.*\(linux-image-` + rel.KernelMajor +
			`[^ ,]*-amd64\).*/\1/p" | sort -V | head -1 | xargs -r apt-get install -y --no-install-recommends'`,
	}
}

// BootRoot is a cached Debian root tarball and the .debs it was built from.
type BootRoot struct {
	Release Release
	Tarball string // root filesystem as a tar archive (numeric owners, xattrs)
	Debs    string // directory of the .deb files installed in it
	Key     string // cache key of the root's options
}

// BootRootOptions are the DebianRoot options of a release's boot root, in
// the release's default /usr layout.
func BootRootOptions(rel Release, cacheDir string) DebianRootOptions {
	return DebianRootOptions{Suite: rel.Suite, Include: BootPackages, Hooks: bootRootHooks(rel), CacheDir: cacheDir}
}

// BuildBootRoot returns the cached boot root of a release under cacheDir
// (CacheDir() when empty), building it with mmdebstrap when missing.
func BuildBootRoot(ctx context.Context, rel Release, cacheDir string) (*BootRoot, error) {
	opt := BootRootOptions(rel, cacheDir)
	tarball, err := DebianRoot(ctx, opt)
	if err != nil {
		return nil, err
	}
	return &BootRoot{Release: rel, Tarball: tarball, Debs: DebsDir(tarball), Key: opt.Key()}, nil
}

func lastBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// runCmd runs a command and returns its error with the end of its output.
func runCmd(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, lastBytes(out, 1500))
	}
	return nil
}
