package images

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// debianDefaultGrub is /etc/default/grub as grub2-common 2.06 on Debian 12
// installs it.
const debianDefaultGrub = `# If you change this file, run 'update-grub' afterwards to update
# /boot/grub/grub.cfg.
# For full documentation of the options in this file, see:
#   info -f grub -n 'Simple configuration'

GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=` + "`( . /etc/os-release; echo ${NAME:-Debian} ) 2> /dev/null || echo Debian`" + `
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX=""

# Uncomment to use basic console
#GRUB_TERMINAL=console

# Uncomment to disable graphical terminal (grub-pc only)
#GRUB_TERMINAL=console
`

func TestConfigureRoot(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc/default"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/default/grub"), []byte(debianDefaultGrub), 0o644))
	img := &DebianImage{RootUUID: DefaultRootUUID, FSType: "ext4"}
	require.NoError(t, configureRoot(dir, img, "UUID="+img.RootUUID, ""))

	fstab, err := os.ReadFile(filepath.Join(dir, "etc/fstab"))
	require.NoError(t, err)
	assert.Contains(t, string(fstab), "UUID="+DefaultRootUUID+" /               ext4    errors=remount-ro 0       1\n")

	g, err := os.ReadFile(filepath.Join(dir, "etc/default/grub"))
	require.NoError(t, err)
	s := string(g)
	assert.Contains(t, s, "\nGRUB_TIMEOUT=1\n")
	assert.Contains(t, s, "\nGRUB_CMDLINE_LINUX_DEFAULT=\"\"\n", "no quiet: the harness reads the kernel's messages")
	assert.Contains(t, s, "\nGRUB_CMDLINE_LINUX=\"console=tty0 console=ttyS0,115200n8\"\n")
	assert.Contains(t, s, "\nGRUB_SERIAL_COMMAND=\"serial --speed=115200\"\n")
	assert.Equal(t, 1, strings.Count(s, "GRUB_TERMINAL="), "the commented duplicates collapse into one setting")
	assert.Contains(t, s, "\nGRUB_TERMINAL=\"console serial\"\n")
	assert.Contains(t, s, "GRUB_DISTRIBUTOR=`( . /etc/os-release", "other settings stay")

	// Configuring twice changes nothing more.
	require.NoError(t, configureRoot(dir, img, "UUID="+img.RootUUID, ""))
	g2, err := os.ReadFile(filepath.Join(dir, "etc/default/grub"))
	require.NoError(t, err)
	assert.Equal(t, s, string(g2))
}

func TestKernels(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "boot"), 0o755))
	for _, v := range []string{"6.1.0-9-amd64", "6.1.0-50-amd64", "6.1.0-10-amd64"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "boot/vmlinuz-"+v), nil, 0o644))
	}
	ks, err := kernels(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"6.1.0-50-amd64", "6.1.0-10-amd64", "6.1.0-9-amd64"}, ks)
	_, err = kernels(t.TempDir())
	assert.ErrorContains(t, err, "no kernel")
}

func TestESPTree(t *testing.T) {
	root := t.TempDir()
	signed := filepath.Join(root, "usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed")
	require.NoError(t, os.MkdirAll(filepath.Dir(signed), 0o755))
	require.NoError(t, os.WriteFile(signed, []byte("MZ signed grub"), 0o644))
	esp, err := espTree(root, t.TempDir(), DefaultRootUUID)
	require.NoError(t, err)
	for _, p := range []string{"EFI/BOOT/BOOTX64.EFI", "EFI/debian/grubx64.efi"} {
		data, err := os.ReadFile(filepath.Join(esp, p))
		require.NoError(t, err)
		assert.Equal(t, "MZ signed grub", string(data), p)
	}
	cfg, err := os.ReadFile(filepath.Join(esp, "EFI/BOOT/grub.cfg"))
	require.NoError(t, err)
	assert.Equal(t, "search.fs_uuid "+DefaultRootUUID+" root hd0,gpt2\nset prefix=($root)'/boot/grub'\nconfigfile $prefix/grub.cfg\n", string(cfg))

	_, err = espTree(t.TempDir(), t.TempDir(), DefaultRootUUID)
	assert.ErrorContains(t, err, "grub-efi-amd64-signed")
}

func TestBootRootOptions(t *testing.T) {
	a, b := BootRootOptions(Bookworm, ""), BootRootOptions(Bookworm, "/elsewhere")
	assert.Equal(t, a.Key(), b.Key(), "the cache directory is not part of the key")
	// The Debian 12 boot root's key (it changed when cron joined BootPackages
	// for the intrusion row, nftables for the firewall row, and zstd so that
	// the initramfs images are compressed as on a real instance); the minbase
	// root keeps its name.
	assert.Equal(t, "b3a49b5acd6e76b2", a.Key())
	assert.Equal(t, "5c3850c25761d835", DebianRootOptions{Suite: "bookworm", Variant: "minbase"}.Key())
	assert.Equal(t, "5c3850c25761d835", DebianRootOptions{Usr: UsrMerged}.Key(), "the suite's default layout is no new key")
	assert.NotEqual(t, a.Key(), BootRootOptions(Bullseye, "").Key())
	assert.NotEqual(t, BootRootOptions(Trixie, "").Key(), BootRootOptions(Bullseye, "").Key())
	assert.Contains(t, strings.Join(BootRootOptions(Bullseye, "").Hooks, " "), "linux-image-5[", "Debian 11's older kernel is a 5.x")
	assert.Contains(t, a.Include, "linux-image-amd64")
	for _, h := range a.Hooks {
		assert.True(t, strings.HasPrefix(h, "--customize-hook="), h)
	}
}

func TestReleases(t *testing.T) {
	for _, s := range []string{"bullseye", "11", "debian11", " Debian11 "} {
		r, ok := LookupRelease(s)
		assert.True(t, ok, s)
		assert.Equal(t, Bullseye, r, s)
	}
	_, ok := LookupRelease("buster")
	assert.False(t, ok)
	rs, err := ParseReleases("13,bookworm")
	require.NoError(t, err)
	assert.Equal(t, []Release{Trixie, Bookworm}, rs)
	rs, err = ParseReleases("all")
	require.NoError(t, err)
	assert.Equal(t, Releases, rs)
	_, err = ParseReleases("12,sid")
	assert.ErrorContains(t, err, `"sid"`)
	assert.Equal(t, "debian13", Trixie.String())

	split, err := DebianRootOptions{Suite: "bookworm", Usr: UsrSplit}.usrHooks()
	require.NoError(t, err)
	assert.Equal(t, []string{"--hook-dir=/usr/share/mmdebstrap/hooks/no-merged-usr"}, split)
	merged := DebianRootOptions{Suite: "bullseye", Usr: UsrMerged}
	assert.Equal(t, UsrMerged, merged.normalized().Usr)
	assert.NotEqual(t, merged.Key(), DebianRootOptions{Suite: "bullseye"}.Key())
	assert.Equal(t, DebianRootOptions{Suite: "bullseye"}.Key(), DebianRootOptions{Suite: "bullseye", Usr: UsrSplit}.Key())
	_, err = DebianRootOptions{Usr: "odd"}.usrHooks()
	assert.Error(t, err)
}
