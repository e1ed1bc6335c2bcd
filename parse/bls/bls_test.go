package bls

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An entry as kernel-install writes it on Rocky Linux 9, and one as RHEL 8
// writes it (options through $kernelopts).
const el9 = `title Rocky Linux (5.14.0-362.8.1.el9_3.x86_64) 9.3 (Blue Onyx)
version 5.14.0-362.8.1.el9_3.x86_64
linux /vmlinuz-5.14.0-362.8.1.el9_3.x86_64
initrd /initramfs-5.14.0-362.8.1.el9_3.x86_64.img $tuned_initrd
options root=UUID=4a8e0d39-8a2f-4b61-9f0e-2d7c1b3a5e6f ro console=tty0 console=ttyS0,115200n8 $tuned_params
grub_users $grub_users
grub_arg --unrestricted
grub_class rocky
`

const el8 = "title Red Hat Enterprise Linux (4.18.0-80.el8.x86_64) 8.0 (Ootpa)\r\n" +
	"version 4.18.0-80.el8.x86_64\r\n" +
	"linux /vmlinuz-4.18.0-80.el8.x86_64\r\n" +
	"initrd /initramfs-4.18.0-80.el8.x86_64.img\r\n" +
	"# a comment\r\n" +
	"options\t$kernelopts   \r\n" +
	"id rhel-20190313123447-4.18.0-80.el8.x86_64"

func TestParse(t *testing.T) {
	e := Parse([]byte(el9))
	assert.Equal(t, "5.14.0-362.8.1.el9_3.x86_64", e.Get("version"))
	assert.Equal(t, []string{"/initramfs-5.14.0-362.8.1.el9_3.x86_64.img", "$tuned_initrd"}, e.Initrds())
	o := e.All("options")
	require.Len(t, o, 1)
	assert.Equal(t, 5, o[0].N)
	assert.Equal(t, o[0].Value, el9[o[0].Start:o[0].End])
	assert.Equal(t, "", e.Get("missing"))

	e = Parse([]byte(el8))
	o = e.All("options")
	require.Len(t, o, 1)
	assert.Equal(t, "$kernelopts", o[0].Value)
	assert.Equal(t, "$kernelopts", el8[o[0].Start:o[0].End])
	assert.Equal(t, "rhel-20190313123447-4.18.0-80.el8.x86_64", e.Get("id"))
	assert.Equal(t, "", e.Lines[4].Key)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(el9))
	f.Add([]byte(el8))
	f.Fuzz(func(t *testing.T, data []byte) {
		e := Parse(data)
		for _, l := range e.Lines {
			if l.Key == "" {
				continue
			}
			if l.Start < 0 || l.End > len(data) || string(data[l.Start:l.End]) != l.Value {
				t.Fatalf("line %+v does not match the data", l)
			}
		}
		e.Initrds()
	})
}
