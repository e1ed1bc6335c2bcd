package access

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/sysroot"
)

// The vectors come from crypt(3) on Debian 12 (libxcrypt) and openssl
// passwd -6; the first two are also in the SHA-crypt specification.
func TestSHA512Crypt(t *testing.T) {
	for _, v := range []struct {
		password, salt string
		rounds         int
		want           string
	}{
		{"Hello world!", "saltstring", 0, "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		{"Hello world!", "saltstringsaltstring", 10000, "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
		{"we have a short salt string but not a short password", "short", 0, "$6$short$qmfj2meTBr5G2EAGIJ4vjX7RpefsD4JzpEyTAeEUJdzdxlBS6pe8gdMHm5zFftaFSj/2p2bjBwyVS9ZhWpLZt."},
		{"we have a short salt string but not a short password", "short", 77777, "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0"},
		{strings.Repeat("a", 200) + "é", "abc", 1000, "$6$rounds=1000$abc$AdiVFGepMYcvNgFrHZvmjxCuBEAZ66ccg.5lHAtvreSVMfOsdpsRvHNzvb.i5eLeUKZKSwV0qWsf5IX6B.THC."},
		{"", "x", 0, "$6$x$QSmr1Bx2g4O6BzKvdkgOcyU6H91X6I/XBv5pSalMhSPkwdH6Beo3F455xZJg0v//bxVK5F4OE5k1.0xuR26MK0"},
	} {
		assert.Equal(t, v.want, SHA512Crypt(v.password, v.salt, v.rounds), "%q", v.password)
	}
}

func TestNewSalt(t *testing.T) {
	a, err := NewSalt()
	require.NoError(t, err)
	b, err := NewSalt()
	require.NoError(t, err)
	assert.Len(t, a, 16)
	assert.NotEqual(t, a, b)
	assert.Empty(t, strings.Trim(a, cryptAlphabet))
	h := SHA512Crypt("pw", a, 0)
	_, err = CheckHash(h)
	assert.NoError(t, err, "what rescue makes, rescue accepts")
}

func TestCheckHash(t *testing.T) {
	good := SHA512Crypt("x", "saltsalt", 0)
	for h, want := range map[string]string{
		good:                                   "6",
		"$6$rounds=5000$saltsalt$" + good[12:]: "6",
		"$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7": "y",
		"$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZF4mPlPc2":                 "5",
	} {
		m, err := CheckHash(h)
		assert.NoError(t, err, h)
		assert.Equal(t, want, m, h)
	}
	for h, why := range map[string]string{
		"":                               "empty",
		"!" + good:                       "locked or disabled",
		"*":                              "locked or disabled",
		"secret":                         "not a crypt hash",
		good + ":0:99999":                "not a crypt hash",
		good + "\nroot::0:0:::":          "not a crypt hash",
		"$6$salt$short":                  "not a complete",
		"$6$rounds=10$salt$" + good[12:]: "bad rounds",
		"$9$abc$def":                     "not a crypt method",
	} {
		_, err := CheckHash(h)
		assert.ErrorContains(t, err, why, "%q", h)
	}
}

func TestCheckMethod(t *testing.T) {
	dir := t.TempDir()
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	assert.NoError(t, CheckMethod(root, "6"), "$6$ needs no look")
	assert.ErrorContains(t, CheckMethod(root, "y"), "has no libcrypt")

	lib := filepath.Join(dir, "usr/lib64/libcrypt.so.1")
	require.NoError(t, os.MkdirAll(filepath.Dir(lib), 0o755))
	// glibc's own libcrypt (CentOS 7) names only its three methods.
	require.NoError(t, os.WriteFile(lib, []byte("\x7fELF..$1$\x00$5$\x00$6$\x00rounds="), 0o755))
	assert.ErrorContains(t, CheckMethod(root, "y"), "does not know $y$ (yescrypt) hashes")
	// libxcrypt's table names yescrypt's prefix.
	require.NoError(t, os.WriteFile(lib, []byte("\x7fELF..$6$\x00$y$\x00$gy$\x00"), 0o755))
	assert.NoError(t, CheckMethod(root, "y"))
	assert.ErrorContains(t, CheckMethod(root, "2b"), "does not know $2b$")
}
