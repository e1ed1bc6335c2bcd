package profile

import (
	"testing"

	"rescue/checks/checkstest"
)

func TestGolden(t *testing.T) {
	checkstest.Run(t, Check)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(". /etc/profile\n"))
	f.Add([]byte("for i in /etc/profile.d/*.sh; do [ -r \"$i\" ] && . \"$i\"; done\n"))
	f.Add([]byte("if [ -z \"$X\" ]; then X=1; source ~/.bashrc; fi\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{"etc/profile": data, "etc/profile.d/a.sh": data})
	})
}
