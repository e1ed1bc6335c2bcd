package authkeys

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	f := Parse([]byte(`# keys
no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command="echo 'Please login as the user \"debian\" rather than the user \"root\".';echo;sleep 10;exit 142" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl cloud
ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC mdrfckr
REDIS0009	redis-ver 5.0.7
garbage line
from="10.0.0.0/8",command="/usr/bin/backup" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl backup@host
`))
	require.Len(t, f.Keys, 3)
	cmd, ok := f.Keys[0].Option("command")
	assert.True(t, ok)
	assert.Equal(t, `echo 'Please login as the user "debian" rather than the user "root".';echo;sleep 10;exit 142`, cmd)
	assert.Equal(t, "cloud", f.Keys[0].Comment)
	assert.Equal(t, 2, f.Keys[0].Line)
	assert.Equal(t, "mdrfckr", f.Keys[1].Comment)
	assert.Equal(t, []int{4, 5}, f.Bad)
	from, _ := f.Keys[2].Option("from")
	assert.Equal(t, "10.0.0.0/8", from)
	assert.Equal(t, "SHA256:", f.Keys[0].Fingerprint()[:7])
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`command="a,b c" ssh-rsa AAAA x`))
	f.Add([]byte("ssh-ed25519\n\"\\\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := Parse(data)
		for _, k := range p.Keys {
			if !IsKeyType(k.Type) || k.Blob == "" || k.Line < 1 {
				t.Fatalf("bad key %+v", k)
			}
			k.Fingerprint()
		}
	})
}
