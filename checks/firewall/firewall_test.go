package firewall

import (
	"testing"

	"rescue/checks/checkstest"
)

func TestGolden(t *testing.T) {
	checkstest.Run(t, Check)
}

// FuzzCheck feeds hostile firewall files to the check.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("*filter\n:INPUT DROP [0:0]\nCOMMIT\n"), []byte("<zone><service name=\"x\"/></zone>"))
	f.Fuzz(func(t *testing.T, rules, zone []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{
			"usr/sbin/sshd": []byte("x"), "etc/ufw/ufw.conf": []byte("ENABLED=yes\n"), "etc/ufw/user.rules": rules,
			"etc/iptables/rules.v4": rules, "usr/lib/firewalld/zones/public.xml": zone, "etc/ssh/sshd_config": rules,
			"etc/nftables.conf": rules, "etc/systemd/system/sysinit.target.wants/nftables.service": []byte("x"),
		})
	})
}
