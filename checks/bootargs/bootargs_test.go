package bootargs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/parse/grubenv"
	"rescue/sysroot"
)

func TestAppend(t *testing.T) {
	dir := t.TempDir()
	env := "# GRUB Environment Block\nkernelopts=root=/dev/vda1 ro\n"
	env += strings.Repeat("#", 1024-len(env))
	files := map[string]string{
		"boot/grub2/grubenv":               env,
		"boot/loader/entries/a.conf":       "title EL8\noptions $kernelopts console=ttyS0\n",
		"boot/loader/entries/b.conf":       "title EL8 rescue\noptions root=/dev/vda1 ro \n",
		"etc/default/grub":                 "GRUB_CMDLINE_LINUX='crashkernel=auto'\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n",
		"boot/grub/grub.cfg":               "menuentry x {\n\tlinux /vmlinuz root=x\n}\n",
		"boot/efi/EFI/centos/grub.cfg.not": "linux /x\n",
	}
	for p, c := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644))
	}
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	set := Read(root)
	assert.Equal(t, []string{"/boot/grub/grub.cfg", "/boot/loader/entries/a.conf", "/boot/loader/entries/b.conf", "/boot/grub2/grubenv", "/etc/default/grub"}, set.Files())
	add := func(line []string) []string {
		for _, a := range line {
			if strings.HasPrefix(a, "console=ttyS0") {
				return nil
			}
		}
		return []string{"console=ttyS0,115200"}
	}
	want := map[string]string{
		"/boot/grub/grub.cfg":         "menuentry x {\n\tlinux /vmlinuz root=x console=ttyS0,115200\n}\n",
		"/boot/loader/entries/a.conf": "title EL8\noptions $kernelopts console=ttyS0\n",
		"/boot/loader/entries/b.conf": "title EL8 rescue\noptions root=/dev/vda1 ro console=ttyS0,115200\n",
		"/etc/default/grub":           "GRUB_CMDLINE_LINUX='crashkernel=auto console=ttyS0,115200'\nGRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n",
	}
	for _, p := range set.Files() {
		data, err := root.ReadFile(p)
		require.NoError(t, err)
		out, n, err := set.Append(p, data, add)
		require.NoError(t, err)
		if p == "/boot/grub2/grubenv" {
			assert.Equal(t, 1, n)
			assert.Len(t, out, 1024, "the block keeps its size")
			e, err := grubenv.Parse(out)
			require.NoError(t, err)
			v, _ := e.Get("kernelopts")
			assert.Equal(t, "root=/dev/vda1 ro console=ttyS0,115200", v)
			continue
		}
		assert.Equal(t, want[p], string(out), p)
	}

	// /etc/default/grub without the line gets one.
	out, n, err := set.Append("/etc/default/grub", []byte("GRUB_TIMEOUT=5\n"), add)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX=\"console=ttyS0,115200\"\n", string(out))
}
