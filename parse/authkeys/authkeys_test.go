package authkeys

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A real key made by ssh-keygen -t ed25519.
const ed = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKoPC1glVz8U4T82j72qUz7KgaDpbTgBCwPLg6iH8jRS"

const sample = "# keys\n" +
	ed + " op@helper\r\n" +
	"\n" +
	`from="10.0.0.1,10.0.0.2",command="echo \"hi there\"" ` + ed + " restricted\n" +
	"ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIKoPC1glVz8U4T82j72qUz7KgaDpbTgBCwPLg6iH8jRS wrong-type\n" +
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKoPC1glVz8U4T8 truncated\n" +
	"no-pty\n" +
	"ssh-ed25519 not*base64\n" +
	`command="unbalanced ` + ed + "\n"

func TestParse(t *testing.T) {
	keys := Parse([]byte(sample))
	require.Len(t, keys, 7)

	k := keys[0]
	assert.NoError(t, k.Err)
	assert.Equal(t, 2, k.Line)
	assert.Equal(t, "ssh-ed25519", k.Type)
	assert.Equal(t, "op@helper", k.Comment)
	assert.Equal(t, "", k.Options)

	k = keys[1]
	assert.NoError(t, k.Err)
	assert.Equal(t, `from="10.0.0.1,10.0.0.2",command="echo \"hi there\""`, k.Options)
	assert.Equal(t, "restricted", k.Comment)
	assert.True(t, k.Same(keys[0]), "options and comments do not make another key")

	assert.ErrorContains(t, keys[2].Err, "not a ssh-rsa key")
	assert.Error(t, keys[3].Err, "a truncated blob is refused")
	assert.ErrorContains(t, keys[4].Err, "no key after the options")
	assert.ErrorContains(t, keys[5].Err, "not base64")
	assert.ErrorContains(t, keys[6].Err, "unbalanced quotes")
}

func TestLongLine(t *testing.T) {
	keys := Parse([]byte(ed + " " + strings.Repeat("x", maxLine)))
	require.Len(t, keys, 1)
	assert.ErrorContains(t, keys[0].Err, "more than sshd reads")
}

func TestIsPrivateKey(t *testing.T) {
	assert.True(t, IsPrivateKey([]byte("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...\n")))
	assert.False(t, IsPrivateKey([]byte(ed)))
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("\"\\\" x\n\x00\x00\x00\x10ssh-ed25519"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range Parse(data) {
			if k.Line < 1 {
				t.Fatalf("line %d", k.Line)
			}
			if k.Err == nil && (!Types[k.Type] || k.Blob == "") {
				t.Fatalf("accepted %q as a key", k.Raw)
			}
		}
	})
}
