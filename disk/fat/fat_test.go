package fat

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fatImage makes a FAT filesystem with mkfs.fat and puts a few files in
// with mtools, the independent implementation the tests check against.
func fatImage(t *testing.T, sizeMiB int, args ...string) string {
	t.Helper()
	for _, tool := range []string{"mkfs.fat", "mcopy", "fsck.fat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	p := filepath.Join(t.TempDir(), "fs.img")
	require.NoError(t, os.WriteFile(p, nil, 0o644))
	require.NoError(t, os.Truncate(p, int64(sizeMiB)<<20))
	mt(t, "mkfs.fat", append(args, p)...)
	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "EFI/debian"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "EFI/debian/grub.cfg"), []byte("search --fs-uuid 1234\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "EFI/debian/A Long File Name.txt"), []byte(strings.Repeat("x", 5000)), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "EFI/debian/UPPER.EFI"), []byte("MZ"), 0o644))
	mt(t, "mcopy", "-s", "-i", p, filepath.Join(src, "EFI"), "::/")
	return p
}

func mt(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
	return string(out)
}

func fsckClean(t *testing.T, p string) {
	t.Helper()
	out, err := exec.Command("fsck.fat", "-n", p).CombinedOutput()
	require.NoError(t, err, "fsck.fat -n: %s", out)
	require.NotContains(t, string(out), "Reclaimed")
	require.NotContains(t, string(out), "wrong")
}

func openFile(t *testing.T, p string, writable bool) (*FS, *os.File) {
	t.Helper()
	flag := os.O_RDONLY
	if writable {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(p, flag, 0)
	require.NoError(t, err)
	fi, _ := f.Stat()
	var v *FS
	if writable {
		v, err = Open(f, f, 0, fi.Size())
	} else {
		v, err = Open(f, nil, 0, fi.Size())
	}
	require.NoError(t, err)
	return v, f
}

func TestFATReadWrite(t *testing.T) {
	for _, c := range []struct {
		name string
		size int
		args []string
	}{
		{"fat12", 4, []string{"-F", "12"}},
		{"fat16", 40, []string{"-F", "16"}},
		{"fat32", 64, []string{"-F", "32", "-s", "1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := fatImage(t, c.size, c.args...)
			fsckClean(t, p)
			v, f := openFile(t, p, false)
			list, err := v.ReadDir("/EFI/debian")
			require.NoError(t, err)
			var names []string
			for _, e := range list {
				names = append(names, e.Name)
			}
			require.ElementsMatch(t, []string{"grub.cfg", "A Long File Name.txt", "UPPER.EFI"}, names)
			data, err := v.ReadFile("/efi/DEBIAN/a long file name.txt")
			require.NoError(t, err, "names compare without case")
			require.Equal(t, strings.Repeat("x", 5000), string(data))
			f.Close()

			v, f = openFile(t, p, true)
			now := time.Date(2024, 5, 6, 7, 8, 10, 0, time.Local)
			big := strings.Repeat("0123456789abcdef", 1000)                                       // 16000 bytes: several clusters
			require.NoError(t, v.WriteFile("/EFI/debian/grub.cfg", []byte(big), now))             // grow
			require.NoError(t, v.WriteFile("/EFI/debian/A Long File Name.txt", []byte("s"), now)) // shrink
			require.NoError(t, v.WriteFile("/EFI/debian/UPPER.EFI", nil, now))                    // empty
			require.NoError(t, v.Mkdir("/EFI/rescue", now))
			require.NoError(t, v.Mkdir("/EFI/rescue/sub dir", now))
			// Enough entries to outgrow one directory cluster.
			for i := 0; i < 40; i++ {
				require.NoError(t, v.WriteFile(fmt.Sprintf("/EFI/rescue/sub dir/entry number %02d.conf", i), []byte(fmt.Sprint(i)), now))
			}
			require.NoError(t, v.WriteFile("/NEW.TXT", []byte("root file\n"), now))
			require.NoError(t, v.Remove("/EFI/debian/UPPER.EFI"))
			require.Error(t, v.Remove("/EFI/rescue"), "not empty")
			require.Error(t, v.WriteFile("/no/such/dir/x", nil, now))
			require.NoError(t, v.Flush())
			f.Close()
			fsckClean(t, p)

			// mtools reads what we wrote.
			require.Equal(t, big, mt(t, "mtype", "-i", p, "::/EFI/debian/grub.cfg"))
			require.Equal(t, "s", mt(t, "mtype", "-i", p, "::/EFI/debian/A Long File Name.txt"))
			require.Equal(t, "37", mt(t, "mtype", "-i", p, "::/EFI/rescue/sub dir/entry number 37.conf"))
			require.Equal(t, "root file\n", mt(t, "mtype", "-i", p, "::/NEW.TXT"))
			require.NotContains(t, mt(t, "mdir", "-b", "-i", p, "::/EFI/debian"), "UPPER")

			// Remove everything again: the free count returns to what it was.
			v, f = openFile(t, p, true)
			for i := 0; i < 40; i++ {
				require.NoError(t, v.Remove(fmt.Sprintf("/EFI/rescue/sub dir/entry number %02d.conf", i)))
			}
			require.NoError(t, v.Remove("/EFI/rescue/sub dir"))
			require.NoError(t, v.Remove("/EFI/rescue"))
			require.NoError(t, v.Flush())
			f.Close()
			fsckClean(t, p)
			_, err = exec.Command("mdir", "-i", p, "::/EFI/rescue").CombinedOutput()
			require.Error(t, err)
		})
	}
}

func TestFATCorrupt(t *testing.T) {
	p := fatImage(t, 4, "-F", "12")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	// A FAT loop: the first data cluster points to itself.
	v, f := openFile(t, p, false)
	_, e, err := v.lookup("/EFI")
	require.NoError(t, err)
	f.Close()
	bad := append([]byte(nil), data...)
	fatOff := int(v.fatOff)
	c := e.cluster
	o := fatOff + int(c+c/2)
	x := uint16(bad[o]) | uint16(bad[o+1])<<8
	if c&1 == 1 {
		x = x&0x000f | uint16(c)<<4
	} else {
		x = x&0xf000 | uint16(c)
	}
	bad[o], bad[o+1] = byte(x), byte(x>>8)
	v2, err := Open(bytes.NewReader(bad), nil, 0, int64(len(bad)))
	require.NoError(t, err)
	_, err = v2.ReadDir("/EFI")
	require.ErrorContains(t, err, "loops")

	_, err = Open(bytes.NewReader(make([]byte, 4096)), nil, 0, 4096)
	require.ErrorContains(t, err, "not a FAT filesystem")
}

func FuzzFAT(f *testing.F) {
	for _, name := range []string{"fat16", "fat32"} {
		if data, err := os.ReadFile("../testdata/sb/" + name); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Open(bytes.NewReader(data), nil, 0, int64(len(data)))
		if err != nil {
			return
		}
		var walk func(string, int)
		walk = func(dir string, depth int) {
			if depth > 8 {
				return
			}
			list, err := v.ReadDir(dir)
			if err != nil {
				return
			}
			for _, e := range list {
				p := dir + "/" + e.Name
				if e.Dir {
					walk(p, depth+1)
				} else {
					v.ReadFile(p)
				}
			}
		}
		walk("", 0)
	})
}

// TestDirectoryCycle: a directory entry that points back at an ancestor (a
// damaged or crafted ESP) is listed with the ancestor's first cluster, the
// identity by which the disk package's copy refuses to follow it.
func TestDirectoryCycle(t *testing.T) {
	p := fatImage(t, 4, "-F", "12")
	v, f := openFile(t, p, true)
	defer f.Close()
	_, efi, err := v.lookup("/EFI")
	require.NoError(t, err)
	debian, _, err := v.lookup("/EFI/debian/grub.cfg")
	require.NoError(t, err)
	require.NoError(t, v.addEntry(debian, "LOOP", fatAttrDir, efi.cluster, 0, time.Now()))
	require.NoError(t, v.Flush())

	v2, f2 := openFile(t, p, false)
	defer f2.Close()
	list, err := v2.ReadDir("/EFI/debian")
	require.NoError(t, err)
	var loop *Info
	for i := range list {
		if list[i].Name == "LOOP" {
			loop = &list[i]
		}
	}
	require.NotNil(t, loop, "the crafted entry is listed")
	require.True(t, loop.Dir)
	require.Equal(t, efi.cluster, loop.Cluster, "with /EFI's first cluster")
}
