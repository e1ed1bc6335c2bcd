package auditd

import (
	"testing"

	"rescue/checks/checkstest"
)

func TestGolden(t *testing.T) {
	checkstest.Run(t, Check)
}

// FuzzCheck feeds hostile auditd.conf files to the check.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("disk_full_action = HALT\nadmin_space_left = 5%\n"))
	f.Fuzz(func(t *testing.T, conf []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{"etc/audit/auditd.conf": conf, "usr/sbin/auditd": []byte("x")})
	})
}
