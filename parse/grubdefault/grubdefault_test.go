package grubdefault

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// /etc/default/grub as Debian 12 ships it, with a cloud image's console
// settings, and a few forms real files use.
const debian = `# If you change this file, run 'update-grub' afterwards to update
# /boot/grub/grub.cfg.
# For full documentation of the options in this file, see:
#   info -f grub -n 'Simple configuration'

GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=` + "`lsb_release -i -s 2> /dev/null || echo Debian`" + `
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8 root=UUID=1111-dead"
GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX net.ifnames=0"
export GRUB_TERMINAL='serial console'
GRUB_SERIAL_COMMAND="serial --speed=115200 --unit=0"
GRUB_CMDLINE_LINUX_DEFAULT+=" splash"
if [ -f /etc/default/grub.d/x.cfg ]; then GRUB_TIMEOUT=1; fi
GRUB_EMPTY=
`

func TestParse(t *testing.T) {
	f, err := Parse([]byte(debian))
	require.NoError(t, err)
	v, ok := f.Get("GRUB_CMDLINE_LINUX")
	require.True(t, ok)
	assert.Equal(t, "console=tty0 console=ttyS0,115200n8 root=UUID=1111-dead net.ifnames=0", v)
	v, _ = f.Get("GRUB_CMDLINE_LINUX_DEFAULT")
	assert.Equal(t, "quiet splash", v)
	v, _ = f.Get("GRUB_TERMINAL")
	assert.Equal(t, "serial console", v)
	v, _ = f.Get("GRUB_TIMEOUT")
	assert.Equal(t, "5", v, "assignments inside conditionals are not evaluated")
	assert.True(t, f.Last("GRUB_DISTRIBUTOR").Dynamic)
	assert.False(t, f.Last("GRUB_DEFAULT").Dynamic)
	e := f.Last("GRUB_EMPTY")
	require.NotNil(t, e)
	assert.Equal(t, e.Start, e.End)
	assert.Equal(t, "\n", debian[e.Start:e.Start+1])
	_, ok = f.Get("GRUB_NONE")
	assert.False(t, ok)
	assert.Equal(t, 6, f.Last("GRUB_DEFAULT").Line)
}

func TestEdits(t *testing.T) {
	f, err := Parse([]byte(debian))
	require.NoError(t, err)
	var first Assign
	for _, a := range f.Assigns {
		if a.Name == "GRUB_CMDLINE_LINUX" {
			first = a
			break
		}
	}
	assert.Equal(t, `"console=tty0 console=ttyS0,115200n8 root=UUID=1111-dead"`, f.Raw(first))
	out, ok := f.ReplaceArg(first, "root=UUID=1111-dead", "")
	require.True(t, ok)
	assert.Equal(t, strings.Replace(debian, " root=UUID=1111-dead\"", "\"", 1), string(out))
	out, ok = f.ReplaceArg(first, "root=UUID=1111-dead", "root=UUID=2222")
	require.True(t, ok)
	assert.Equal(t, strings.Replace(debian, "root=UUID=1111-dead", "root=UUID=2222", 1), string(out))
	_, ok = f.ReplaceArg(first, "root=UUID=1111", "x")
	assert.False(t, ok)

	out = f.SetValue(*f.Last("GRUB_DEFAULT"), `gnulinux-advanced-x>gnulinux-6.1.0-17-amd64-advanced-x`)
	assert.Contains(t, string(out), "\nGRUB_DEFAULT=\"gnulinux-advanced-x>gnulinux-6.1.0-17-amd64-advanced-x\"\nGRUB_TIMEOUT=5\n")
	out = f.SetValue(*f.Last("GRUB_EMPTY"), "a$b")
	assert.Contains(t, string(out), "\nGRUB_EMPTY=\"a\\$b\"\n")
	g, err := Parse(out)
	require.NoError(t, err)
	v, _ := g.Get("GRUB_EMPTY")
	assert.Equal(t, "a$b", v)
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse([]byte("GRUB_CMDLINE_LINUX=\"unterminated\n"))
	assert.Error(t, err)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(debian))
	f.Add([]byte("A='x' B=\"$A y\" ; export C=$B\\ z\nD+=1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		for _, a := range p.Assigns {
			if a.Start < 0 || a.End > len(data) || a.Start > a.End {
				t.Fatalf("assignment %+v is outside the data", a)
			}
			p.SetValue(a, "x")
			p.ReplaceArg(a, "a", "")
		}
	})
}
