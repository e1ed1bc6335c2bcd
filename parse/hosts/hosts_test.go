package hosts

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	es := Parse([]byte("127.0.0.1\tlocalhost\n::1 localhost ip6-localhost # c\n# x\n0.0.0.0 pool.minexmr.com\nbad line\n10.1.2.3 deb.debian.org\n"))
	require.Len(t, es, 4)
	assert.Equal(t, []string{"localhost", "ip6-localhost"}, es[1].Names)
	assert.True(t, es[2].Blocks())
	assert.Equal(t, 4, es[2].Line)
	assert.True(t, es[3].Private())
	assert.False(t, es[3].Blocks())
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("1.2.3.4 a b\n::ffff:1.2.3.4 c"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, e := range Parse(data) {
			if len(e.Names) == 0 || e.Line < 1 {
				t.Fatal(e)
			}
			e.Blocks()
			e.Private()
		}
	})
}
