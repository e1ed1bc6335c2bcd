package repofile

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An AlmaLinux 9 almalinux-baseos.repo, shortened, with a zypper-style
// section and damage after it.
const sample = `# almalinux-baseos.repo
[baseos]
name=AlmaLinux $releasever - BaseOS
mirrorlist=https://mirrors.almalinux.org/mirrorlist/$releasever/baseos
# baseurl=https://repo.almalinux.org/almalinux/$releasever/BaseOS/$basearch/os/
enabled=1
gpgcheck=1
countme=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-AlmaLinux-9

[repo-oss]
name=Main Repository
baseurl=http://download.opensuse.org/distribution/leap/$releasever/repo/oss/
        http://mirror.example.org/leap/$releasever/oss/
type=rpm-md
Enabled = No

[]
junk
`

func TestParse(t *testing.T) {
	repos, problems := Parse([]byte(sample))
	assert.Len(t, problems, 2)
	require.Len(t, repos, 2)
	assert.Equal(t, "baseos", repos[0].ID)
	assert.Equal(t, "", repos[0].Get("baseurl"), "a commented baseurl is not one")
	assert.Equal(t, "https://mirrors.almalinux.org/mirrorlist/$releasever/baseos", repos[0].Get("mirrorlist"))
	assert.True(t, repos[0].Bool("enabled", false))
	assert.Equal(t, []string{"file:///etc/pki/rpm-gpg/RPM-GPG-KEY-AlmaLinux-9"}, repos[0].List("gpgkey"))
	assert.Equal(t, []string{"http://download.opensuse.org/distribution/leap/$releasever/repo/oss/", "http://mirror.example.org/leap/$releasever/oss/"}, repos[1].List("baseurl"))
	assert.False(t, repos[1].Bool("enabled", true))
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Fuzz(func(t *testing.T, data []byte) {
		repos, _ := Parse(data)
		for _, r := range repos {
			if r.ID == "" {
				t.Fatal("a repo without an id")
			}
			r.List("baseurl")
			r.Bool("enabled", true)
		}
	})
}
