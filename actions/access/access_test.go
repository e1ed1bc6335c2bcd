package access

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/actions/actionstest"
	"rescue/repair"
	"rescue/sysroot"
)

// planArchive reads an archive's .args: user, password (hashed with the
// salt "rescuetest", so the golden files are stable), hash, today, and the
// .key section as the key file.
func planArchive(t testing.TB, root *sysroot.Root, args actionstest.Args, a *txtar.Archive) ([]repair.Candidate, string, error) {
	o := Options{User: args["user"], PasswordHash: args["hash"]}
	if pw, ok := args["password"]; ok {
		o.PasswordHash = SHA512Crypt(pw, "rescuetest", 0)
	}
	if k, ok := actionstest.Section(a, ".key"); ok {
		o.Keys = []byte(k)
	}
	o.Today = 20000
	if d := args["today"]; d != "" {
		n, err := strconv.ParseInt(d, 10, 64)
		require.NoError(t, err)
		o.Today = n
	}
	res, err := Plan(root, o)
	if err != nil {
		return nil, "", err
	}
	return []repair.Candidate{{Finding: Finding, Stage: repair.StageLogin, Fix: res.Fix}}, actionstest.Account(res.Changes, res.Notes), nil
}

func TestGolden(t *testing.T) {
	actionstest.Run(t, planArchive)
}

func TestNothingToReset(t *testing.T) {
	root, err := sysroot.Open(t.TempDir())
	require.NoError(t, err)
	defer root.Close()
	_, err = Plan(root, Options{User: "root"})
	assert.ErrorContains(t, err, "nothing to reset")
}

// TestTallylog clears pam_tally2's binary record of the user's failed
// logins and nobody else's.
func TestTallylog(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\nbob:x:2:2::/home/bob:/bin/bash\n")
	write("etc/shadow", "root:$6$x$y:19000:0:99999:7:::\nbob:*:19000::::::\n")
	write("bin/bash", "#!")
	tally := make([]byte, 3*64)
	for uid := range 3 {
		copy(tally[uid*64:], "ssh:notty")
		binary.LittleEndian.PutUint16(tally[uid*64+54:], uint16(5+uid))
		binary.LittleEndian.PutUint64(tally[uid*64+56:], 1700000000)
	}
	write("var/log/tallylog", string(tally))
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()

	res, err := Plan(root, Options{User: "bob", PasswordHash: SHA512Crypt("pw", "s", 0), Today: 20000})
	require.NoError(t, err)
	assert.Contains(t, actionstest.Account(res.Changes, res.Notes), "clear bob's 7 failed logins in /var/log/tallylog")
	var got []byte
	for _, op := range res.Fix.Ops {
		if op.Path == "/var/log/tallylog" {
			got, err = op.Content(root)
			require.NoError(t, err)
		}
	}
	require.Len(t, got, len(tally))
	want := append([]byte{}, tally...)
	clear(want[2*64 : 3*64])
	assert.Equal(t, want, got, "only bob's record is cleared")

	res, err = Plan(root, Options{User: "root", PasswordHash: SHA512Crypt("pw", "s", 0), Today: 20000})
	require.NoError(t, err)
	assert.Contains(t, actionstest.Account(res.Changes, res.Notes), "clear root's 5 failed logins")
}

// TestParseKeys checks what reset-access accepts as a key file: a paste
// that sshd would read but that is truncated or of another type is refused
// before anything is planned.
func TestParseKeys(t *testing.T) {
	const ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKoPC1glVz8U4T82j72qUz7KgaDpbTgBCwPLg6iH8jRS"
	keys, err := parseKeys([]byte("# mine\n" + ed + " op@helper\n" + `from="10.0.0.1" ` + ed + "\n"))
	require.NoError(t, err)
	assert.Len(t, keys, 2)
	for in, why := range map[string]string{
		"ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIKoPC1glVz8U4T82j72qUz7KgaDpbTgBCwPLg6iH8jRS": "not a ssh-rsa key",
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKoP":                                     "not a ssh-ed25519 key",
		"ssh-ed25519 not*base64":                                                       "not base64",
		"no-pty":                                                                       "line 1: not a public key",
		"# only a comment\n":                                                           "no public key",
		"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n": "private key",
	} {
		_, err := parseKeys([]byte(in))
		assert.ErrorContains(t, err, why, in)
	}
}
