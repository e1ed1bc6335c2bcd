package hosts

import (
	"testing"

	"rescue/checks/checkstest"
)

func TestGolden(t *testing.T) {
	checkstest.Run(t, Check)
}

// FuzzCheck feeds hostile hosts files.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("127.0.0.1 update.aegis.aliyun.com\n0.0.0.0 pool.minexmr.com\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{"etc/hosts": data})
	})
}
