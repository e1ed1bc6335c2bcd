package netplan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const twoNICs = `network:
  version: 2
  renderer: networkd
  ethernets:
    eth0:
      addresses:
        - 10.0.0.5/24
      gateway4: 10.0.1.1
    eth1:
      dhcp4: false
      addresses: [10.0.1.5/24]
      routes:
        - to: default
          via: 10.0.0.1
          metric: 100
        - to: 192.168.0.0/16
          via: 10.0.1.254
          on-link: true
    ens5: {dhcp4: true, match: {macaddress: "02:00:00:00:00:01"}, set-name: ens5}
`

func TestParse(t *testing.T) {
	f, err := Parse([]byte(twoNICs))
	require.NoError(t, err)
	require.Len(t, f.Devices, 3)
	e0, e1, e5 := f.Devices[0], f.Devices[1], f.Devices[2]
	assert.Equal(t, "eth0", e0.ID)
	assert.Equal(t, 6, e0.Indent)
	assert.Equal(t, []string{"10.0.0.5/24"}, e0.Addresses)
	assert.Equal(t, "10.0.1.1", e0.Gateway4)
	assert.Equal(t, 8, e0.Gateway4Line)
	assert.Equal(t, 8, e0.End())
	assert.Equal(t, []Route{{To: "default", Via: "10.0.0.1", Line: 13, End: 15}, {To: "192.168.0.0/16", Via: "10.0.1.254", OnLink: true, Line: 16, End: 18}}, e1.Routes)
	assert.Equal(t, 12, e1.RoutesLine)
	assert.True(t, e1.Routes[0].Default())
	assert.Equal(t, -1, e5.Indent)
	assert.Equal(t, "02:00:00:00:00:01", e5.MatchMAC)
	assert.True(t, e5.DHCP4)
	assert.Equal(t, "networkd", f.EffectiveRenderer(e0))
}

func TestInvalid(t *testing.T) {
	_, err := Parse([]byte("network:\n  ethernets:\n\teth0: {"))
	assert.Error(t, err)
	f, err := Parse([]byte("network: 3\n"))
	require.NoError(t, err)
	assert.Empty(t, f.Devices)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(twoNICs))
	f.Add([]byte("network: &a {ethernets: {e: {routes: [*a]}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		nf, err := Parse(data)
		if err == nil {
			for _, d := range nf.Devices {
				nf.EffectiveRenderer(d)
				_ = d.End()
			}
		}
	})
}
