package osrelease

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in     string
		id     string
		ver    string
		major  int
		family Family
	}{
		{`PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
`, "debian", "12", 12, Debian},
		{`NAME="AlmaLinux"
VERSION="9.3 (Shamrock Pampas Cat)"
ID="almalinux"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
`, "almalinux", "9.3", 9, RHEL},
		{"ID=ubuntu\r\nID_LIKE=debian\r\nVERSION_ID=\"22.04\"\r\n", "ubuntu", "22.04", 22, Debian},
		{`ID="alinux"
VERSION_ID="3"
ID_LIKE="rhel fedora centos anolis"`, "alinux", "3", 3, RHEL},
		{`ID="sles"
VERSION_ID="15.5"`, "sles", "15.5", 15, SUSE},
		{"ID=myos\nID_LIKE=somethingelse", "myos", "", 0, Unknown},
		{"\x00garbage\n=\n   \nID", "", "", 0, Unknown},
		{`ID='amzn'
VERSION_ID='2023'`, "amzn", "2023", 2023, RHEL},
	}
	for _, c := range cases {
		i := Parse([]byte(c.in))
		assert.Equal(t, c.id, i.ID)
		assert.Equal(t, c.ver, i.VersionID)
		assert.Equal(t, c.major, i.Major())
		assert.Equal(t, c.family, i.Family, c.in)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("ID=debian\nVERSION_ID=\"12\"\n"))
	f.Add([]byte("ID=\"\\\"\nID_LIKE='x y'"))
	f.Fuzz(func(t *testing.T, data []byte) {
		i := Parse(data)
		_ = i.Major()
		if i.Family == "" {
			t.Fatal("empty family")
		}
	})
}
