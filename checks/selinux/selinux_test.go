package selinux

import (
	"testing"

	"rescue/checks/checkstest"
)

func TestGolden(t *testing.T) {
	checkstest.Run(t, Check)
}

func FuzzConfig(f *testing.F) {
	f.Add([]byte("SELINUX=enforcing\nSELINUXTYPE=targeted\n"), []byte("linux /vmlinuz root=UUID=1 selinux=1 enforcing=1\n"))
	f.Add([]byte("garbage\nSELINUX=\"permissive\"\r\n"), []byte("options ro enforcing=1"))
	f.Fuzz(func(t *testing.T, config, cmdline []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{
			"etc/selinux/config":                config,
			"etc/os-release":                    []byte("ID=rocky\n"),
			"boot/grub2/grub.cfg":               cmdline,
			"boot/loader/entries/a.conf":        cmdline,
			"etc/selinux/targeted/policy/x.txt": nil,
		})
	})
}
