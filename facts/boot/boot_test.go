package boot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/parse/blkid"
	"rescue/parse/fstab"
	"rescue/parse/grubenv"
	"rescue/parse/osrelease"
	"rescue/sysroot"
)

func tree(t *testing.T, files map[string]string) *sysroot.Root {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if strings.HasSuffix(p, "/") {
			require.NoError(t, os.MkdirAll(full, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		if target, ok := strings.CutPrefix(c, "-> "); ok {
			require.NoError(t, os.Symlink(target, full))
			continue
		}
		require.NoError(t, os.WriteFile(full, []byte(c), 0o644))
	}
	r, err := sysroot.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

func testdata(t *testing.T, name string) string {
	b, err := os.ReadFile("../../parse/grubcfg/testdata/" + name)
	require.NoError(t, err)
	return string(b)
}

func env(t *testing.T, kv ...string) string {
	e := grubenv.New()
	for i := 0; i < len(kv); i += 2 {
		e = e.With(kv[i], kv[i+1])
	}
	b, err := e.Encode()
	require.NoError(t, err)
	return string(b)
}

func kernel(files map[string]string, v, initrd string) {
	files["boot/vmlinuz-"+v] = "kernel"
	files[strings.TrimPrefix(initrd, "/")] = "initramfs"
	files["boot/System.map-"+v] = "map"
	files["boot/config-"+v] = "config"
	files["lib/modules/"+v+"/modules.dep"] = ""
}

func TestDebian12(t *testing.T) {
	files := map[string]string{
		"boot/grub/grub.cfg":         testdata(t, "debian12.cfg"),
		"boot/grub/i386-pc/":         "",
		"etc/default/grub":           "GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX=\"console=ttyS0\"\n",
		"etc/os-release":             "ID=debian\n",
		"boot/vmlinuz-6.1.0-9-amd64": "incomplete kernel",
	}
	kernel(files, "6.1.0-18-amd64", "/boot/initrd.img-6.1.0-18-amd64")
	kernel(files, "6.1.0-17-amd64", "/boot/initrd.img-6.1.0-17-amd64")
	root := tree(t, files)
	l, err := Load(Input{Root: root, OS: osrelease.Info{Family: osrelease.Debian}, Fstab: fstab.Parse([]byte("UUID=6b9f1a1e-8a51-4f0c-9d2e-2c3f4a5b6c7d / ext4 errors=remount-ro 0 1\n"))})
	require.NoError(t, err)
	assert.False(t, l.SeparateBoot)
	require.Len(t, l.Kernels, 3)
	assert.Equal(t, []string{"6.1.0-18-amd64", "6.1.0-17-amd64", "6.1.0-9-amd64"}, []string{l.Kernels[0].Version, l.Kernels[1].Version, l.Kernels[2].Version})
	assert.True(t, l.Kernels[0].Complete())
	assert.False(t, l.Kernels[2].Bootable())
	assert.Equal(t, []string{"an initramfs (/boot/initrd.img-6.1.0-9-amd64)", "its modules (/lib/modules/6.1.0-9-amd64)", "/boot/System.map-6.1.0-9-amd64", "/boot/config-6.1.0-9-amd64"}, l.Kernels[2].Missing())
	assert.Empty(t, l.Expected)

	require.Len(t, l.Configs, 1)
	c := l.Configs[0]
	assert.Equal(t, "/boot/grub/grub.cfg", c.Real)
	require.Len(t, c.Entries, 4)
	assert.Equal(t, "6.1.0-18-amd64", c.Default.Version)
	assert.Equal(t, "0", c.DefaultRef.Value)
	assert.False(t, c.DefaultRef.FromEnv)
	require.NotNil(t, c.DefaultRef.Word)
	e := c.Entries[3]
	assert.Equal(t, "gnulinux-advanced-6b9f1a1e-8a51-4f0c-9d2e-2c3f4a5b6c7d>gnulinux-6.1.0-17-amd64-advanced-6b9f1a1e-8a51-4f0c-9d2e-2c3f4a5b6c7d", e.MenuPath)
	assert.Equal(t, 1, e.TopIndex)
	assert.Equal(t, "/boot/vmlinuz-6.1.0-17-amd64", e.KernelPath)
	assert.Equal(t, []string{"/boot/initrd.img-6.1.0-17-amd64"}, e.InitrdPaths)
	r, ok := e.RootArg()
	require.True(t, ok)
	assert.Equal(t, "root=UUID=6b9f1a1e-8a51-4f0c-9d2e-2c3f4a5b6c7d", r.Value)
	assert.Equal(t, r.Value, string(c.Data[r.Word.Start:r.Word.End]))
	assert.Same(t, e, c.Find(e.MenuPath))
	assert.Same(t, c.Entries[1], c.Find("1"), "index 1 is the submenu: its first entry")

	// Searches: one at the top, two in the first entry, one in each
	// submenu entry; every one of them has a "set root=" before it.
	assert.Len(t, c.Searches, 2+2+3)
	for _, s := range c.Searches {
		assert.Equal(t, "6b9f1a1e-8a51-4f0c-9d2e-2c3f4a5b6c7d", s.UUID)
		assert.Equal(t, "root", s.Var)
		assert.True(t, s.Fallback)
		assert.Equal(t, s.UUID, string(c.Data[s.Word.Start:s.Word.End]))
	}
	assert.Equal(t, "console=ttyS0", l.DefaultValue("GRUB_CMDLINE_LINUX"))
}

func TestEL9SeparateBoot(t *testing.T) {
	files := map[string]string{
		"boot/grub2/grub.cfg": testdata(t, "el9.cfg"),
		"boot/grub2/grubenv":  env(t, "saved_entry", "ec2a9b5d4e5f-5.14.0-284.11.1.el9_2.x86_64", "boot_success", "1"),
		"boot/loader/entries/ec2a9b5d4e5f-5.14.0-362.8.1.el9_3.x86_64.conf":  "title Rocky Linux (5.14.0-362.8.1.el9_3.x86_64) 9.3 (Blue Onyx)\nversion 5.14.0-362.8.1.el9_3.x86_64\nlinux /vmlinuz-5.14.0-362.8.1.el9_3.x86_64\ninitrd /initramfs-5.14.0-362.8.1.el9_3.x86_64.img $tuned_initrd\noptions root=UUID=1111 ro console=ttyS0 $tuned_params\n",
		"boot/loader/entries/ec2a9b5d4e5f-5.14.0-284.11.1.el9_2.x86_64.conf": "title Rocky Linux (5.14.0-284.11.1.el9_2.x86_64) 9.2 (Blue Onyx)\nversion 5.14.0-284.11.1.el9_2.x86_64\nlinux /vmlinuz-5.14.0-284.11.1.el9_2.x86_64\ninitrd /initramfs-5.14.0-284.11.1.el9_2.x86_64.img $tuned_initrd\noptions root=UUID=1111 ro console=ttyS0 $tuned_params\n",
		"boot/efi/EFI/rocky/grub.cfg":                                        "search --no-floppy --fs-uuid --set=dev 4a8e0d39-8a2f-4b61-9f0e-2d7c1b3a5e6f\nset prefix=($dev)/grub2\nexport $prefix\nconfigfile $prefix/grub.cfg\n",
		"boot/efi/EFI/rocky/grubx64.efi":                                     "efi",
	}
	kernel(files, "5.14.0-362.8.1.el9_3.x86_64", "/boot/initramfs-5.14.0-362.8.1.el9_3.x86_64.img")
	kernel(files, "5.14.0-284.11.1.el9_2.x86_64", "/boot/initramfs-5.14.0-284.11.1.el9_2.x86_64.img")
	root := tree(t, files)
	devs := []blkid.Device{{Path: "/dev/vda3", UUID: "4a8e0d39-8a2f-4b61-9f0e-2d7c1b3a5e6f", Type: "xfs"}, {Path: "/dev/vda4", UUID: "1111", Type: "xfs"}}
	l, err := Load(Input{Root: root, OS: osrelease.Info{Family: osrelease.RHEL, VersionID: "9.3"}, Devices: devs, RootDev: &devs[1],
		Fstab: fstab.Parse([]byte("UUID=1111 / xfs defaults 0 0\nUUID=4a8e0d39-8a2f-4b61-9f0e-2d7c1b3a5e6f /boot xfs defaults 0 0\n"))})
	require.NoError(t, err)
	assert.True(t, l.SeparateBoot)
	require.NotNil(t, l.BootDev)
	assert.Equal(t, "/dev/vda3", l.BootDev.Path)
	require.Len(t, l.Configs, 2)
	main := l.Main()
	require.Len(t, main, 1)
	c := main[0]
	assert.True(t, c.UsesBLS)
	require.Len(t, c.Entries, 2)
	assert.Equal(t, "5.14.0-362.8.1.el9_3.x86_64", c.Entries[0].Version, "newest first")
	assert.Equal(t, "/boot/vmlinuz-5.14.0-362.8.1.el9_3.x86_64", c.Entries[0].KernelPath)
	assert.Equal(t, []string{"/boot/initramfs-5.14.0-362.8.1.el9_3.x86_64.img"}, c.Entries[0].InitrdPaths)
	assert.Equal(t, []string{"tuned_params"}, c.Entries[0].UnsetVars)
	assert.True(t, c.DefaultRef.FromEnv)
	assert.Equal(t, "5.14.0-284.11.1.el9_2.x86_64", c.Default.Version, "saved_entry picks the older entry")
	r, ok := c.Entries[0].RootArg()
	require.True(t, ok)
	assert.Equal(t, "/boot/loader/entries/ec2a9b5d4e5f-5.14.0-362.8.1.el9_3.x86_64.conf", r.File)
	data, err := root.ReadFile(r.File)
	require.NoError(t, err)
	assert.Equal(t, "root=UUID=1111", string(data[r.Word.Start:r.Word.End]))

	stub := l.Configs[1]
	assert.True(t, stub.Stub)
	assert.True(t, stub.EFI)
	require.Len(t, stub.Searches, 1)
	assert.Equal(t, "dev", stub.Searches[0].Var)
	assert.Empty(t, l.Expected)
}

func TestEL8KernelOpts(t *testing.T) {
	entry := "title Red Hat Enterprise Linux (4.18.0-80.el8.x86_64) 8.0 (Ootpa)\nversion 4.18.0-80.el8.x86_64\nlinux /boot/vmlinuz-4.18.0-80.el8.x86_64\ninitrd /boot/initramfs-4.18.0-80.el8.x86_64.img $tuned_initrd\noptions $kernelopts $tuned_params\nid rhel-20190313123447-4.18.0-80.el8.x86_64\n"
	files := map[string]string{
		"boot/grub2/grub.cfg": testdata(t, "el9.cfg"),
		"boot/grub2/grubenv":  env(t, "saved_entry", "nothing-matches", "kernelopts", "root=/dev/mapper/rhel-root ro crashkernel=auto rd.lvm.lv=rhel/root"),
		"boot/loader/entries/rhel-20190313123447-4.18.0-80.el8.x86_64.conf": entry,
	}
	root := tree(t, files)
	l, err := Load(Input{Root: root, OS: osrelease.Info{Family: osrelease.RHEL}, Fstab: fstab.Parse([]byte("/dev/mapper/rhel-root / xfs defaults 0 0\n"))})
	require.NoError(t, err)
	c := l.Main()[0]
	require.Len(t, c.Entries, 1)
	e := c.Entries[0]
	assert.Equal(t, "/boot/vmlinuz-4.18.0-80.el8.x86_64", e.KernelPath)
	r, ok := e.RootArg()
	require.True(t, ok)
	assert.True(t, r.Env)
	assert.Equal(t, "kernelopts", r.Var)
	assert.Equal(t, "/boot/grub2/grubenv", r.File)
	assert.Equal(t, "root=/dev/mapper/rhel-root", r.Value)
	assert.True(t, c.DefaultRef.Fallback, "a saved_entry that matches nothing boots the first entry")
	assert.Same(t, e, c.Default)

	// Without kernelopts in grubenv, grub.cfg's fallback "set kernelopts=" is used.
	files["boot/grub2/grubenv"] = env(t, "saved_entry", "rhel-20190313123447-4.18.0-80.el8.x86_64")
	l, err = Load(Input{Root: tree(t, files), OS: osrelease.Info{Family: osrelease.RHEL}})
	require.NoError(t, err)
	c = l.Main()[0]
	r, ok = c.Entries[0].RootArg()
	require.True(t, ok)
	assert.False(t, r.Env)
	assert.Equal(t, "/boot/grub2/grub.cfg", r.File)
	assert.Equal(t, "root=UUID=4a8e0d39-8a2f-4b61-9f0e-2d7c1b3a5e6f", r.Value)
	assert.False(t, c.DefaultRef.Fallback)
}

func TestCentOS6Legacy(t *testing.T) {
	files := map[string]string{
		"boot/grub/grub.conf": testdata(t, "centos6.conf"),
		"boot/grub/menu.lst":  "-> ./grub.conf",
		"boot/grub/stage2":    "stage2",
		"etc/redhat-release":  "CentOS release 6.10 (Final)\n",
	}
	kernel(files, "2.6.32-754.35.1.el6.x86_64", "/boot/initramfs-2.6.32-754.35.1.el6.x86_64.img")
	root := tree(t, files)
	l, err := Load(Input{Root: root, OS: osrelease.Info{Family: osrelease.RHEL}, Fstab: fstab.Parse([]byte("UUID=0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5 / ext4 defaults 1 1\nUUID=b007 /boot ext4 defaults 1 2\n"))})
	require.NoError(t, err)
	require.Len(t, l.Configs, 1, "menu.lst is a link to grub.conf")
	c := l.Configs[0]
	assert.Equal(t, Legacy, c.Kind)
	require.Len(t, c.Entries, 2)
	assert.Equal(t, "/boot/vmlinuz-2.6.32-754.35.1.el6.x86_64", c.Entries[0].KernelPath)
	assert.Equal(t, "2.6.32-754.35.1.el6.x86_64", c.Default.Version)
	require.NotNil(t, c.DefaultRef.Word)
	assert.Equal(t, "0", c.DefaultRef.Word.Raw)
	r, ok := c.Entries[1].RootArg()
	require.True(t, ok)
	assert.Equal(t, "root=UUID=0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5", r.Value)
	assert.Empty(t, l.Expected)
	assert.Equal(t, "/vmlinuz-x", l.BootPath("/boot/vmlinuz-x"))
}

func TestExpected(t *testing.T) {
	root := tree(t, map[string]string{
		"boot/grub2/i386-pc/":             "",
		"boot/grub/stage2x":               "",
		"boot/efi/EFI/centos/grubx64.efi": "",
		"boot/efi/EFI/BOOT/grubx64.efi":   "",
		"boot/efi/EFI/debian/grub.cfg":    "search.fs_uuid 2222 root hd0,gpt2\nset prefix=($root)'/boot/grub'\nconfigfile $prefix/grub.cfg\n",
	})
	l, err := Load(Input{Root: root, OS: osrelease.Info{Family: osrelease.RHEL}})
	require.NoError(t, err)
	var got []string
	for _, e := range l.Expected {
		got = append(got, e.Path)
	}
	assert.ElementsMatch(t, []string{"/boot/grub2/grub.cfg", "/boot/grub/grub.cfg", "/boot/efi/EFI/centos/grub.cfg"}, got)
	stub := l.Configs[0]
	require.Len(t, stub.Searches, 1)
	assert.Equal(t, "2222", stub.Searches[0].UUID)
	assert.Equal(t, "root", stub.Searches[0].Var)
}

func TestEL7SavedTitle(t *testing.T) {
	files := map[string]string{
		"boot/grub2/grub.cfg": testdata(t, "el7.cfg"),
		"boot/grub2/grubenv":  env(t, "saved_entry", "CentOS Linux (3.10.0-1160.el7.x86_64) 7 (Core)"),
	}
	l, err := Load(Input{Root: tree(t, files), OS: osrelease.Info{Family: osrelease.RHEL}})
	require.NoError(t, err)
	c := l.Main()[0]
	assert.Equal(t, "3.10.0-1160.el7.x86_64", c.Default.Version)
	assert.Equal(t, "/boot/initramfs-3.10.0-1160.el7.x86_64.img", c.Default.InitrdPaths[0])
}

// FuzzLoad builds the model from fuzzed grub.cfg, BLS entry, grubenv and
// GRUB Legacy files: whatever they hold, Load must not panic and every
// word it hands out must point into its file.
func FuzzLoad(f *testing.F) {
	for _, n := range []string{"debian12.cfg", "el7.cfg", "el9.cfg"} {
		b, err := os.ReadFile("../../parse/grubcfg/testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte("title x\nversion 1\nlinux /vmlinuz-1\ninitrd /initramfs-1.img\noptions $kernelopts root=UUID=1\n"), []byte(grubenv.Header+"saved_entry=0\nkernelopts=root=UUID=2 ro\n"), []byte("default=1\ntitle a\nkernel /vmlinuz-1 root=x\n"))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, cfg, entry, env, legacy []byte) {
		os.RemoveAll(dir)
		for p, data := range map[string][]byte{
			"boot/grub2/grub.cfg":                 cfg,
			"boot/loader/entries/a-1.conf":        entry,
			"boot/grub2/grubenv":                  env,
			"boot/grub/grub.conf":                 legacy,
			"boot/efi/EFI/x/grub.cfg":             cfg,
			"boot/vmlinuz-1":                      []byte("k"),
			"boot/initramfs-1.img":                []byte("i"),
			"etc/default/grub":                    legacy,
			"boot/loader/entries/b-0-rescue.conf": entry,
		} {
			full := filepath.Join(dir, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		root, err := sysroot.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		l, err := Load(Input{Root: root, OS: osrelease.Info{Family: osrelease.RHEL}, Fstab: fstab.Parse([]byte("UUID=2 / xfs defaults 0 0\n"))})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range l.Configs {
			for _, e := range c.Entries {
				for _, a := range e.Args {
					if a.Env {
						continue
					}
					data, err := root.ReadFile(a.File)
					if err != nil || a.Word.Start < 0 || a.Word.End > len(data) || a.Word.Start > a.Word.End {
						t.Fatalf("argument %+v points outside %s", a, a.File)
					}
				}
				e.RootArg()
			}
			c.Find("0")
			c.Find("a>b")
		}
	})
}

// TestBootDevSpecs finds the filesystem holding /boot by every name fstab
// can give it. Before parse/devspec, PARTLABEL= and the by-label,
// by-partuuid and by-partlabel links left BootDev nil, and the grub check
// then refused to regenerate a configuration or mend a search UUID ("the
// UUID of the filesystem holding /boot is not known").
func TestBootDevSpecs(t *testing.T) {
	root := tree(t, map[string]string{"boot/grub/grub.cfg": testdata(t, "debian12.cfg")})
	devs := []blkid.Device{
		{Path: "/dev/vda1", UUID: "1111", Type: "ext4"},
		{Path: "/dev/vda2", UUID: "7c3e-aa01", Label: "my boot", PartUUID: "0bd1-02", PartLabel: "boot", Type: "ext4"},
	}
	for spec, want := range map[string]string{
		"UUID=7C3E-AA01": "/dev/vda2", `LABEL="my\040boot"`: "/dev/vda2", "PARTUUID=0bd1-02": "/dev/vda2",
		"PARTLABEL=boot": "/dev/vda2", "/dev/disk/by-uuid/7c3e-aa01": "/dev/vda2",
		`/dev/disk/by-label/my\x20boot`: "/dev/vda2", "/dev/disk/by-partuuid/0bd1-02": "/dev/vda2",
		"/dev/disk/by-partlabel/boot": "/dev/vda2",
		"UUID=9999":                   "", "LABEL=boot": "", "/dev/vda2": "",
	} {
		tab := fstab.Parse([]byte("UUID=1111 / ext4 defaults 0 1\n" + spec + " /boot ext4 defaults 0 2\n"))
		l, err := Load(Input{Root: root, OS: osrelease.Info{Family: osrelease.Debian}, Devices: devs, RootDev: &devs[0], Fstab: tab})
		require.NoError(t, err)
		require.True(t, l.SeparateBoot, spec)
		got := ""
		if l.BootDev != nil {
			got = l.BootDev.Path
		}
		assert.Equal(t, want, got, spec)
	}
}
