package grubcfg

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

func TestDebian12(t *testing.T) {
	f, err := Parse(read(t, "debian12.cfg"))
	require.NoError(t, err)
	require.Len(t, f.Items, 2)
	assert.Equal(t, "Debian GNU/Linux", f.Items[0].Title)
	assert.Equal(t, "gnulinux-simple-6b9f1a1e-8a51-4f0c-9d2e-2c3f4a5b6c7d", f.Items[0].ID)
	assert.True(t, f.Items[1].Submenu)
	require.Len(t, f.Items[1].Items, 3)
	assert.Equal(t, "Debian GNU/Linux, with Linux 6.1.0-17-amd64", f.Items[1].Items[2].Title)
	entries := f.Entries()
	require.Len(t, entries, 4)

	// The linux line of the first entry, with its words and offsets.
	var linux *Command
	for i, c := range entries[0].Commands {
		if c.Name() == "linux" {
			linux = &entries[0].Commands[i]
		}
	}
	require.NotNil(t, linux)
	assert.Equal(t, []string{"/boot/vmlinuz-6.1.0-18-amd64", "root=UUID=6b9f1a1e-8a51-4f0c-9d2e-2c3f4a5b6c7d", "ro", "console=tty0", "console=ttyS0,115200n8", "quiet"}, linux.Args())
	w := linux.Words[2]
	assert.Equal(t, w.Raw, string(f.Data[w.Start:w.End]))

	// Functions are not part of the menu or the top level; the
	// single-line if's commands are seen by name.
	for _, c := range f.Top {
		assert.NotEqual(t, "insmod all_video", strings.Join(c.Args(), " "))
	}
	var names []string
	for _, c := range entries[0].Commands {
		names = append(names, c.Name())
	}
	assert.Contains(t, names, "insmod")
	assert.NotContains(t, names, "then")

	// set default: both branches are top-level commands.
	var defaults []string
	for _, c := range f.Top {
		if n, v, _, ok := c.Assignment(); ok && n == "default" {
			defaults = append(defaults, v)
		}
	}
	assert.Equal(t, []string{"${next_entry}", "0"}, defaults)
}

// TestMkconfig reads grub.cfg files written by Debian 12's own
// grub-mkconfig (BIOS and UEFI disk images built with mmdebstrap and
// grub-install).
func TestMkconfig(t *testing.T) {
	for _, name := range []string{"debian12-mkconfig.cfg", "debian12-mkconfig-efi.cfg"} {
		f, err := Parse(read(t, name))
		require.NoError(t, err, name)
		entries := f.Entries()
		require.Len(t, entries, 5, name)
		assert.Equal(t, "Debian GNU/Linux, with Linux 6.1.0-50-amd64 (recovery mode)", entries[4].Title)
		for _, e := range entries {
			var kernel, initrd bool
			for _, c := range e.Commands {
				switch c.Name() {
				case "linux":
					kernel = true
					assert.Contains(t, c.Args(), "root=UUID=11111111-2222-4333-8444-555555555555", name)
				case "initrd":
					initrd = true
				}
			}
			assert.True(t, kernel && initrd, "%s: %s", name, e.Title)
		}
	}
}

func TestReplaceKeepsEverythingElse(t *testing.T) {
	data := read(t, "debian12.cfg")
	f, err := Parse(data)
	require.NoError(t, err)
	c := f.Entries()[3].Commands
	var linux Command
	for _, x := range c {
		if x.Name() == "linux" {
			linux = x
		}
	}
	root := linux.Words[2]
	out, ok := ReplaceArg(data, root, "root=UUID=6b9f1a1e-8a51-4f0c-9d2e-2c3f4a5b6c7d", "root=UUID=1111")
	require.True(t, ok)
	want := strings.Replace(string(data), "linux	/boot/vmlinuz-6.1.0-17-amd64 root=UUID=6b9f1a1e-8a51-4f0c-9d2e-2c3f4a5b6c7d", "linux	/boot/vmlinuz-6.1.0-17-amd64 root=UUID=1111", 1)
	assert.Equal(t, want, string(out))
	_, ok = ReplaceArg(data, root, "root=UUID=6b9f", "x")
	assert.False(t, ok, "only whole arguments match")
}

func TestEL9KernelOpts(t *testing.T) {
	data := read(t, "el9.cfg")
	f, err := Parse(data)
	require.NoError(t, err)
	assert.Empty(t, f.Items)
	var ko Word
	found := false
	for _, c := range f.Top {
		if n, v, w, ok := c.Assignment(); ok && n == "kernelopts" {
			assert.Equal(t, "root=UUID=4a8e0d39-8a2f-4b61-9f0e-2d7c1b3a5e6f ro console=tty0 console=ttyS0,115200n8 ", v)
			ko, found = w, true
		}
	}
	require.True(t, found)
	out, ok := ReplaceArg(data, ko, "root=UUID=4a8e0d39-8a2f-4b61-9f0e-2d7c1b3a5e6f", "root=UUID=2222")
	require.True(t, ok)
	assert.Contains(t, string(out), `set kernelopts="root=UUID=2222 ro console=tty0`)
	assert.Equal(t, len(data)-len("4a8e0d39-8a2f-4b61-9f0e-2d7c1b3a5e6f")+4, len(out))
	var bls bool
	for _, c := range f.Top {
		bls = bls || c.Name() == "blscfg"
	}
	assert.True(t, bls)
}

func TestSetValue(t *testing.T) {
	data := []byte("if x; then\n  set default=\"0\"\nfi\n")
	f, err := Parse(data)
	require.NoError(t, err)
	n, v, w, ok := f.Top[1].Assignment()
	require.True(t, ok)
	assert.Equal(t, "default", n)
	assert.Equal(t, "0", v)
	assert.Equal(t, "if x; then\n  set default=\"gnulinux>a \\\"b\\\"\"\nfi\n", string(SetValue(data, w, n, `gnulinux>a "b"`)))
}

func TestErrors(t *testing.T) {
	_, err := Parse([]byte("menuentry 'x {\n"))
	assert.ErrorContains(t, err, "unterminated single quote")
	f, err := Parse([]byte("menuentry x {\nlinux /v\n"))
	assert.ErrorContains(t, err, "never closed")
	require.Len(t, f.Items, 1, "an unclosed entry is still read")
	f, err = Parse([]byte("}\n}\nlinux /a \\\n b\n"))
	require.NoError(t, err)
	assert.Equal(t, []string{"/a", "b"}, f.Top[0].Args())
	assert.True(t, (&File{}).Empty())
	f, _ = Parse([]byte("# only\n  \n# comments\n"))
	assert.True(t, f.Empty())
}

func TestLegacy(t *testing.T) {
	data := read(t, "centos6.conf")
	l := ParseLegacy(data)
	require.Len(t, l.Entries, 2)
	assert.Equal(t, "CentOS 6 (2.6.32-754.el6.x86_64)", l.Entries[1].Title)
	d := l.Get("default")
	require.NotNil(t, d)
	assert.Equal(t, []string{"0"}, d.Args())
	assert.Equal(t, "0", string(data[d.Words[1].Start:d.Words[1].End]))
	k := l.Entries[0].Command("kernel")
	require.NotNil(t, k)
	assert.Equal(t, "/vmlinuz-2.6.32-754.35.1.el6.x86_64", k.Words[1].Value)
	assert.Equal(t, "root=UUID=0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5", k.Words[3].Value)
	assert.Equal(t, k.Words[3].Raw, string(data[k.Words[3].Start:k.Words[3].End]))
	assert.Equal(t, 18, k.Line)
	assert.Nil(t, l.Entries[0].Command("chainloader"))
	assert.True(t, ParseLegacy([]byte("# nothing\n\n")).Empty())
	// "default 1" and "default=1" are the same command.
	assert.Equal(t, []string{"1"}, ParseLegacy([]byte("default 1\n")).Get("default").Args())
}

func FuzzParse(f *testing.F) {
	for _, n := range []string{"debian12.cfg", "debian12-mkconfig.cfg", "el7.cfg", "el9.cfg", "centos6.conf"} {
		b, err := os.ReadFile("testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("menuentry 'a' {\n}\n}\n{\n\"\\"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _ := Parse(data)
		for _, c := range p.Commands {
			for _, w := range c.Words {
				if w.Start < 0 || w.End > len(data) || w.Start > w.End || string(data[w.Start:w.End]) != w.Raw {
					t.Fatalf("word %+v does not match the data", w)
				}
			}
			if n, _, w, ok := c.Assignment(); ok {
				SetValue(data, w, n, "x")
				ReplaceArg(data, w, "x", "y")
			}
		}
		p.Entries()
		l := ParseLegacy(data)
		for _, e := range l.Entries {
			for _, c := range e.Commands {
				for _, w := range c.Words {
					if string(data[w.Start:w.End]) != w.Raw {
						t.Fatalf("legacy word %+v does not match the data", w)
					}
				}
			}
		}
	})
}
