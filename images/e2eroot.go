package images

// This file is the minimum Debian root builder the boot proof needs while
// the shared one (images/debroot.go, branch packages) is not on main. It
// builds one mmdebstrap root as a tarball, cached outside the repository
// and keyed by everything that goes into it, and keeps the downloaded .debs
// beside it for `rescue fix --packages`. When debroot.go lands, BootRoot
// becomes a thin call into it.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// DefaultCacheDir is where built roots and images are kept between runs.
const DefaultCacheDir = "/var/cache/rescue-e2e"

// BootPackages are the packages of a Debian 12 root that boots under qemu
// from MBR (grub-pc) or UEFI (grub-efi-amd64-bin, signed grubx64.efi),
// with its root on ext4, xfs or a linear LVM volume.
var BootPackages = []string{
	"linux-image-amd64", "systemd-sysv", "udev", "openssh-server",
	"grub-pc", "grub-efi-amd64-bin", "grub-efi-amd64-signed",
	"initramfs-tools", "kmod", "iproute2", "ifupdown", "e2fsprogs", "xfsprogs", "lvm2",
	"procps", "less",
}

// bootRootHooks are mmdebstrap customize hooks, run in order. The root
// password is "root" so the harness can log in; a second, older kernel is
// installed (the oldest ABI the archive's linux-image-amd64 versions
// depend on) so that the fallback-kernel scenario is real.
var bootRootHooks = []string{
	`echo root:root | chroot "$1" chpasswd`,
	`chroot "$1" sh -c 'apt-cache show linux-image-amd64 | sed -n "s/^Depends:.*\(linux-image-6[^ ,]*-amd64\).*/\1/p" | sort -V | head -1 | xargs -r apt-get install -y --no-install-recommends'`,
}

// BootRoot is a cached Debian root tarball and the .debs it was built from.
type BootRoot struct {
	Tarball string // root filesystem as a tar archive (numeric owners, xattrs)
	Debs    string // directory of the .deb files installed in it
	Key     string // cache key: hash of suite, packages and hooks
}

// BuildBootRoot returns the cached Debian 12 boot root under cacheDir,
// building it with mmdebstrap (about 3 minutes) when it is missing.
// Concurrent callers wait for one build.
func BuildBootRoot(ctx context.Context, cacheDir string) (*BootRoot, error) {
	if cacheDir == "" {
		cacheDir = DefaultCacheDir
	}
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		return nil, fmt.Errorf("mmdebstrap not found (Debian package mmdebstrap): %w", err)
	}
	key := BootRootKey()
	r := &BootRoot{
		Tarball: filepath.Join(cacheDir, "root-"+key+".tar"),
		Debs:    filepath.Join(cacheDir, "debs-"+key),
		Key:     key,
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(filepath.Join(cacheDir, "root-"+key+".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := os.Stat(r.Tarball); err == nil {
		return r, nil
	}
	tmpTar := r.Tarball + ".tmp"
	tmpDebs := r.Debs + ".tmp"
	_ = os.RemoveAll(tmpDebs)
	if err := os.MkdirAll(tmpDebs, 0o755); err != nil {
		return nil, err
	}
	// Keep every downloaded .deb, the essential ones included (mmdebstrap
	// unlinks those after unpacking them unless told not to).
	args := []string{"--variant=minbase", "--skip=download/empty", "--skip=essential/unlink", "--include=" + strings.Join(BootPackages, ",")}
	for _, hk := range bootRootHooks {
		args = append(args, "--customize-hook="+hk)
	}
	// Keep the .debs for --packages, and out of the image.
	args = append(args,
		`--customize-hook=cp "$1"/var/cache/apt/archives/*.deb `+shellQuote(tmpDebs)+`/ && rm -f "$1"/var/cache/apt/archives/*.deb`,
		"--format=tar", "bookworm", tmpTar)
	cmd := exec.CommandContext(ctx, "mmdebstrap", args...)
	// mmdebstrap forks workers that mount /proc and /dev in its chroot: on
	// cancellation the whole group gets SIGTERM, which mmdebstrap handles
	// by unmounting and cleaning up, instead of its direct process alone
	// getting SIGKILL and the workers running on.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mmdebstrap: %w\n%s", err, lastBytes(out, 2000))
	}
	_ = os.RemoveAll(r.Debs)
	if err := os.Rename(tmpDebs, r.Debs); err != nil {
		return nil, err
	}
	if err := os.Rename(tmpTar, r.Tarball); err != nil {
		return nil, err
	}
	return r, nil
}

// BootRootKey is the cache key of the boot root: a hash of the suite, the
// variant, the packages and the hooks.
func BootRootKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "v2\nbookworm\nminbase\n%s\n%s\n", strings.Join(BootPackages, ","), strings.Join(bootRootHooks, "\n"))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// lockFile takes an exclusive lock on path, waiting for other holders.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

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
