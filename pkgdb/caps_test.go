package pkgdb

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"rescue/parse/passwd"
)

func TestCapText(t *testing.T) {
	cs, err := parseCapText("cap_net_raw=ep")
	require.NoError(t, err)
	require.Equal(t, capSet{perm: 1 << 13, eff: 1 << 13}, cs)
	cs, err = parseCapText("cap_net_admin,cap_net_raw+ep cap_setuid+i")
	require.NoError(t, err)
	require.Equal(t, capSet{perm: 1<<12 | 1<<13, eff: 1<<12 | 1<<13, inh: 1 << 7}, cs)
	cs, err = parseCapText("=")
	require.NoError(t, err)
	require.Equal(t, capSet{}, cs)
	cs, err = parseCapText("=ep cap_sys_admin-ep")
	require.NoError(t, err)
	require.Equal(t, capAll&^(1<<21), cs.perm)
	_, err = parseCapText("cap_no_such=ep")
	require.Error(t, err)
}

// The attribute setcap writes compares equal to the text rpm records.
func TestCapXattr(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("setcap needs root")
	}
	if _, err := exec.LookPath("setcap"); err != nil {
		t.Skip("setcap is not installed (apt-get install libcap2-bin)")
	}
	p := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(p, []byte("x"), 0o755))
	out, err := exec.Command("setcap", "cap_net_raw,cap_net_admin=ep", p).CombinedOutput()
	if err != nil {
		t.Skipf("setcap failed (no xattr support here?): %s", out)
	}
	buf := make([]byte, 64)
	n, err := unix.Getxattr(p, "security.capability", buf)
	require.NoError(t, err)
	require.True(t, capsEqual("cap_net_admin,cap_net_raw=ep", buf[:n]))
	require.False(t, capsEqual("cap_net_raw=ep", buf[:n]))
	require.False(t, capsEqual("=", buf[:n]))
	require.True(t, capsEqual("=", []byte{}))
}

func FuzzCaps(f *testing.F) {
	f.Add("cap_net_raw=ep", []byte{1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add("= cap_chown+i-e", []byte{})
	f.Fuzz(func(t *testing.T, text string, x []byte) {
		capsEqual(text, x)
		aclExtended(x)
	})
}

func FuzzIDMap(f *testing.F) {
	f.Add([]byte("root:x:0:0:root:/root:/bin/bash\nmail:x:8:12::/:/sbin/nologin\n+nis\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for name, id := range idMap(passwd.Parse(data, passwd.Passwd)) {
			require.NotEmpty(t, name)
			require.GreaterOrEqual(t, id, 0)
		}
	})
}
