package aptsources

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const list = `# Debian 11 as installed
deb http://deb.debian.org/debian bullseye main contrib
deb-src http://deb.debian.org/debian bullseye main
deb [arch=amd64,i386 signed-by=/usr/share/keyrings/x.gpg] http://security.debian.org/debian-security bullseye-security main # trailing
deb	http://example.org/flat ./
deb http://broken
bogus http://x y z
deb [ trusted=yes ] file:/srv/repo stable main
`

func TestParseList(t *testing.T) {
	srcs, problems := ParseList([]byte(list))
	assert.Len(t, problems, 2)
	require.Len(t, srcs, 5)
	assert.Equal(t, []string{"http://deb.debian.org/debian"}, srcs[0].URIs)
	assert.Equal(t, []string{"main", "contrib"}, srcs[0].Components)
	assert.Equal(t, "deb-src", srcs[1].Types[0])
	assert.Equal(t, []string{"amd64", "i386"}, srcs[2].Archs())
	assert.Equal(t, []string{"/usr/share/keyrings/x.gpg"}, srcs[2].SignedBy())
	assert.Equal(t, "bullseye-security", srcs[2].Suites[0])
	assert.True(t, Flat(srcs[3].Suites[0]))
	assert.Equal(t, "yes", srcs[4].Options["trusted"])
	assert.Equal(t, 8, srcs[4].Line)
}

const sources = `Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

# a disabled one
Types: deb deb-src
URIs: http://example.org/debian
Suites: stable
Components: main
Enabled: no

Types: deb
URIs: https://repo.example.org/apt
Suites: ./
Architectures: amd64 arm64
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mDMEZ...
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
Suites: x
`

func TestParseDeb822(t *testing.T) {
	srcs, problems := ParseDeb822([]byte(sources))
	assert.Len(t, problems, 1)
	require.Len(t, srcs, 3)
	assert.Equal(t, []string{"bookworm", "bookworm-updates"}, srcs[0].Suites)
	assert.Equal(t, []string{"/usr/share/keyrings/debian-archive-keyring.gpg"}, srcs[0].SignedBy())
	assert.False(t, srcs[1].Enabled)
	assert.Equal(t, []string{"deb", "deb-src"}, srcs[1].Types)
	assert.Equal(t, []string{"amd64", "arm64"}, srcs[2].Archs())
	keys := srcs[2].SignedBy()
	require.Len(t, keys, 1)
	assert.Contains(t, keys[0], "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ...")
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(list))
	f.Add([]byte(sources))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func([]byte) ([]Source, []error){ParseList, ParseDeb822} {
			srcs, _ := parse(data)
			for _, s := range srcs {
				if len(s.URIs) == 0 || len(s.Suites) == 0 || len(s.Types) == 0 {
					t.Fatalf("incomplete source %+v", s)
				}
				s.SignedBy()
				s.Archs()
			}
		}
	})
}
