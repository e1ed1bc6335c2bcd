package nmkeyfile

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

const eth0 = `[connection]
id=eth0
uuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03
type=ethernet
interface-name=eth0

[ethernet]

[ipv4]
address1=10.0.0.5/24,10.0.1.1
address2=10.0.0.6/24
method=manual
gateway=10.0.0.1
# gateway=10.9.9.9

[ipv6]
method=ignore
`

func TestParse(t *testing.T) {
	f := Parse([]byte(eth0))
	v, line := f.Get("connection", "interface-name")
	assert.Equal(t, "eth0", v)
	assert.Equal(t, 5, line)
	v, line = f.Get("ipv4", "gateway")
	assert.Equal(t, "10.0.0.1", v)
	assert.Equal(t, 13, line)
	a := f.IPv4Addresses()
	assert.Equal(t, []Address{{"address1", "10.0.0.5/24", "10.0.1.1", 10}, {"address2", "10.0.0.6/24", "", 11}}, a)
	assert.Equal(t, 13, f.Last("ipv4"))
	assert.Equal(t, 7, f.Last("ethernet"))
	assert.Equal(t, 0, f.Last("wifi"))
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(eth0))
	f.Fuzz(func(t *testing.T, data []byte) {
		k := Parse(data)
		k.IPv4Addresses()
		k.Get("ipv4", "gateway")
		k.Last("ipv4")
	})
}
