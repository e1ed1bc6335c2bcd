package accounts

import (
	"testing"

	"rescue/checks/checkstest"
)

func TestGolden(t *testing.T) {
	checkstest.Run(t, Check)
}

// FuzzCheck feeds hostile account files (and their backups) to the check:
// findings or nothing, never a crash or a fix that cannot be rendered.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("root:x:0:0:root:/root:/bin/bash\r\n"), []byte("root:*:1:0:99999:7:::\n"))
	f.Add([]byte("root:x:0\n:::::::\ntoor:x:0:0::/:/bin/zsh\n"), []byte(""))
	f.Add([]byte("+\n-x\n#c\n"), []byte("root\n"))
	f.Fuzz(func(t *testing.T, passwd, shadow []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{
			"etc/passwd": passwd, "etc/shadow": shadow, "etc/group": shadow, "etc/gshadow": passwd,
			"etc/passwd-": shadow, "etc/shadow-": passwd, "usr/sbin/sshd": []byte("x"),
		})
	})
}
