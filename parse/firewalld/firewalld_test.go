package firewalld

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const public = `<?xml version="1.0" encoding="utf-8"?>
<zone>
  <short>Public</short>
  <description>For use in public areas.</description>
  <service name="ssh"/>
  <service name="dhcpv6-client"/>
  <port protocol="tcp" port="2000-2100"/>
  <port protocol="udp" port="53"/>
  <rule family="ipv4"><source address="10.0.0.0/8"/><service name="http"/><accept/></rule>
</zone>
`

func TestZone(t *testing.T) {
	z, err := ParseZone([]byte(public))
	require.NoError(t, err)
	assert.True(t, z.HasService("ssh"))
	assert.False(t, z.HasService("http"))
	assert.True(t, z.HasPort(2022))
	assert.False(t, z.HasPort(53), "udp only")
	assert.False(t, z.Accepts())
	assert.Len(t, z.Rules, 1)

	z, err = ParseZone([]byte(`<zone target="DROP"><interface name="eth1"/></zone>`))
	require.NoError(t, err)
	assert.Equal(t, "DROP", z.Target)
	assert.Equal(t, []Named{{"eth1"}}, z.Interfaces)

	_, err = ParseZone([]byte("<zone><service"))
	assert.Error(t, err)
}

func TestService(t *testing.T) {
	s, err := ParseService([]byte(`<service><short>SSH</short><port protocol="tcp" port="22"/></service>`))
	require.NoError(t, err)
	require.Len(t, s.Ports, 1)
	assert.True(t, s.Ports[0].Has(22))
}

func FuzzParseZone(f *testing.F) {
	f.Add([]byte(public))
	f.Fuzz(func(t *testing.T, data []byte) {
		z, err := ParseZone(data)
		if err == nil {
			z.HasPort(22)
			z.HasService("ssh")
		}
		ParseService(data)
	})
}
