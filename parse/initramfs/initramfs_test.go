package initramfs

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/parse/cpio"
	"rescue/parse/initramfs/initramfstest"
)

var files = []string{
	"init",
	"usr/bin/",
	"bin -> usr/bin",
	"usr/lib/modules/5.14.0-362.8.1.el9_3.x86_64/kernel/drivers/block/virtio_blk.ko.xz",
	"usr/lib/modules/5.14.0-362.8.1.el9_3.x86_64/kernel/drivers/block/xen-blkfront.ko.xz",
	"usr/lib/modules/5.14.0-362.8.1.el9_3.x86_64/kernel/fs/xfs/xfs.ko.xz",
	"usr/lib/modules/5.14.0-362.8.1.el9_3.x86_64/modules.builtin",
}

func TestEveryCompression(t *testing.T) {
	for _, comp := range []string{"none", "gzip", "xz", "zstd", "lz4", "lzma"} {
		for _, early := range []bool{false, true} {
			data, err := initramfstest.Build(initramfstest.Spec{Compression: comp, Early: early, Files: files})
			require.NoError(t, err)
			img, err := List(bytes.NewReader(data))
			require.NoError(t, err, "%s early=%v", comp, early)
			want := []string{"none"}
			if early {
				want = append([]string{"none"}, comp)
				if comp == "none" {
					want = []string{"none", "none"}
				}
			} else {
				want = []string{comp}
			}
			var got []string
			for _, s := range img.Segments {
				got = append(got, s.Compression)
			}
			assert.Equal(t, want, got, "%s early=%v", comp, early)
			assert.Equal(t, early, img.Has(initramfstest.Microcode))
			assert.True(t, img.Has("/usr/lib/modules/5.14.0-362.8.1.el9_3.x86_64/modules.builtin"))
			mods := img.Modules()
			assert.Contains(t, mods, "virtio_blk")
			assert.Contains(t, mods, "xen_blkfront")
			assert.Contains(t, mods, "xfs")
			assert.NotContains(t, mods, "nvme")
			for _, e := range img.Entries {
				if e.Name == "bin" {
					assert.Equal(t, "usr/bin", e.LinkTarget)
				}
			}
		}
	}
}

func TestModuleName(t *testing.T) {
	for in, want := range map[string]string{
		"a/xen-blkfront.ko.xz": "xen_blkfront",
		"virtio_blk.ko":        "virtio_blk",
		"nvme.ko.zst":          "nvme",
		"ext4.ko.gz":           "ext4",
	} {
		got, ok := ModuleName(in)
		assert.True(t, ok)
		assert.Equal(t, want, got)
	}
	for _, in := range []string{"modules.dep", ".ko", "a.ko.txt"} {
		_, ok := ModuleName(in)
		assert.False(t, ok, in)
	}
}

// TestHostTools checks the images against the compressors real systems use:
// the test images decompress with the host's tools, and archives
// compressed by those tools with the flags dracut and initramfs-tools use
// are read here.
func TestHostTools(t *testing.T) {
	tools := map[string][]string{
		"gzip": {"gzip", "-n", "-9"},
		"xz":   {"xz", "--check=crc32", "--lzma2=dict=1MiB"},
		"zstd": {"zstd", "-q", "-19", "-T0"},
		"lz4":  {"lz4", "-l", "-9", "-q"},
	}
	var raw bytes.Buffer
	early, err := initramfstest.Build(initramfstest.Spec{Compression: "none", Files: []string{initramfstest.Microcode}})
	require.NoError(t, err)
	main, err := initramfstest.Build(initramfstest.Spec{Compression: "none", Files: files})
	require.NoError(t, err)
	raw.Write(main)
	for comp, argv := range tools {
		t.Run(comp, func(t *testing.T) {
			if _, err := exec.LookPath(argv[0]); err != nil {
				t.Skipf("%s is not installed", argv[0])
			}
			cmd := exec.Command(argv[0], append(argv[1:], "-c")...)
			cmd.Stdin = bytes.NewReader(raw.Bytes())
			out, err := cmd.Output()
			require.NoError(t, err)
			// Early archive, padding to 512 bytes, then the
			// compressed one, as dracut lays them out.
			img := append(append(append([]byte{}, early...), make([]byte, 512-len(early)%512)...), out...)
			got, err := List(bytes.NewReader(img))
			require.NoError(t, err)
			require.Len(t, got.Segments, 2)
			assert.Equal(t, comp, got.Segments[1].Compression)
			assert.Contains(t, got.Modules(), "xen_blkfront")

			ours, err := initramfstest.Build(initramfstest.Spec{Compression: comp, Files: files})
			require.NoError(t, err)
			dec := exec.Command(argv[0], "-d", "-c")
			if comp == "lz4" {
				dec = exec.Command("lz4", "-d", "-c")
			}
			dec.Stdin = bytes.NewReader(ours)
			plain, err := dec.Output()
			require.NoError(t, err, "the host's %s cannot read our image", argv[0])
			assert.Equal(t, raw.Bytes(), plain)
		})
	}
}

func TestBadImages(t *testing.T) {
	data, err := initramfstest.Build(initramfstest.Spec{Compression: "zstd", Early: true, Files: files})
	require.NoError(t, err)
	for name, img := range map[string][]byte{
		"truncated": data[:len(data)-20],
		"garbage":   []byte("this is not an initramfs"),
		"lzo":       {0x89, 'L', 'Z', 'O', 0, 1, 2},
		"bad cpio":  append([]byte("070701zzzz"), make([]byte, 200)...),
	} {
		_, err := List(bytes.NewReader(img))
		assert.Error(t, err, name)
	}
	got, err := List(bytes.NewReader(nil))
	require.NoError(t, err)
	assert.Empty(t, got.Entries)
}

func TestBomb(t *testing.T) {
	old := MaxUnpacked
	MaxUnpacked = 1 << 10
	defer func() { MaxUnpacked = old }()
	data, err := initramfstest.Build(initramfstest.Spec{Compression: "gzip", Files: append(files, strings.Repeat("x/", 100)+"f")})
	require.NoError(t, err)
	_, err = List(bytes.NewReader(data))
	assert.ErrorIs(t, err, ErrTooBig)
}

// TestRealImage lists an initramfs made the way Debian's mkinitramfs makes
// one, built here by the same tools rather than by this package's test
// writer: an uncompressed early archive with the CPU microcode, then the
// main archive, both written by GNU cpio in newc format with owners 0:0
// from a directory tree, the main one compressed by zstd as initramfs-tools
// does by default (zstd -q -1 -T0). RESCUE_REAL_INITRD names an image
// from elsewhere (a host's /boot/initrd.img-*) to list as well.
func TestRealImage(t *testing.T) {
	for _, tool := range []string{"cpio", "zstd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make deps installs it): %v", tool, err)
		}
	}
	const kver = "6.1.0-26-amd64"
	mods := "usr/lib/modules/" + kver + "/kernel/"
	tree := map[string]string{
		"init":                                     "#!/bin/sh\n",
		"conf/initramfs.conf":                      "MODULES=most\n",
		"usr/bin/busybox":                          "\x7fELF",
		mods + "drivers/block/virtio_blk.ko":       "\x7fELF",
		mods + "drivers/nvme/host/nvme-core.ko":    "\x7fELF",
		mods + "fs/ext4/ext4.ko":                   "\x7fELF",
		mods + "drivers/md/dm-mod.ko":              "\x7fELF",
		"usr/lib/modules/" + kver + "/modules.dep": "kernel/fs/ext4/ext4.ko:\n",
	}
	cpioOf := func(dir string) []byte {
		cmd := exec.Command("sh", "-c", "find . -print0 | LC_ALL=C sort -z | cpio --null --quiet -o -H newc -R 0:0")
		cmd.Dir = dir
		out, err := cmd.Output()
		require.NoError(t, err, "cpio")
		return out
	}
	main := t.TempDir()
	for p, c := range tree {
		require.NoError(t, os.MkdirAll(filepath.Join(main, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(main, p), []byte(c), 0o644))
	}
	require.NoError(t, os.Symlink("usr/bin", filepath.Join(main, "bin")))
	early := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(early, "kernel/x86/microcode"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(early, initramfstest.Microcode), []byte("microcode"), 0o644))

	zstd := exec.Command("zstd", "-q", "-1", "-T0", "-c")
	zstd.Stdin = bytes.NewReader(cpioOf(main))
	compressed, err := zstd.Output()
	require.NoError(t, err, "zstd")
	image := append(cpioOf(early), compressed...)

	img, err := List(bytes.NewReader(image))
	require.NoError(t, err)
	var comps []string
	for _, s := range img.Segments {
		comps = append(comps, s.Compression)
	}
	assert.Equal(t, []string{"none", "zstd"}, comps)
	assert.True(t, img.Has(initramfstest.Microcode))
	assert.True(t, img.Has("/init"))
	assert.True(t, img.Has("/usr/lib/modules/"+kver+"/modules.dep"))
	assert.Equal(t, map[string]string{
		"virtio_blk": mods + "drivers/block/virtio_blk.ko",
		"nvme_core":  mods + "drivers/nvme/host/nvme-core.ko",
		"ext4":       mods + "fs/ext4/ext4.ko",
		"dm_mod":     mods + "drivers/md/dm-mod.ko",
	}, img.Modules())
	for _, e := range img.Entries {
		if e.Name == "bin" {
			assert.Equal(t, "usr/bin", e.LinkTarget)
		}
	}

	if p := os.Getenv("RESCUE_REAL_INITRD"); p != "" {
		f, err := os.Open(p)
		require.NoError(t, err)
		defer f.Close()
		img, err := List(f)
		require.NoError(t, err)
		assert.NotEmpty(t, img.Modules())
		t.Logf("%s: %d entries, %d modules, segments %+v", p, len(img.Entries), len(img.Modules()), img.Segments)
	}
}

func FuzzList(f *testing.F) {
	for _, c := range []string{"gzip", "zstd", "xz", "lz4"} {
		data, err := initramfstest.Build(initramfstest.Spec{Compression: c, Early: true, Files: files[:3]})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		old := MaxUnpacked
		MaxUnpacked = 1 << 20
		defer func() { MaxUnpacked = old }()
		img, _ := List(bytes.NewReader(data))
		for _, e := range img.Entries {
			if len(e.Name) > cpio.MaxNameSize {
				t.Fatal("long name")
			}
		}
		_ = io.Discard
	})
}
