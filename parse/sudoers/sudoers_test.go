package sudoers

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	es := Parse([]byte("Defaults\tenv_reset\n# comment\nroot\tALL=(ALL:ALL) ALL\n%sudo\tALL=(ALL:ALL) ALL\nwww-data ALL=(ALL) NOPASSWD: ALL\nbackup ALL = (root) NOPASSWD: /usr/bin/rsync, \\\n  /usr/bin/tar\n@includedir /etc/sudoers.d\n"))
	require.Len(t, es, 6)
	assert.Equal(t, Default, es[0].Kind)
	assert.Equal(t, []string{"root"}, es[1].Users)
	assert.True(t, es[1].All())
	assert.False(t, es[1].NoPasswd())
	assert.Equal(t, []string{"www-data"}, es[3].Users)
	assert.True(t, es[3].All() && es[3].NoPasswd())
	assert.False(t, es[4].All())
	assert.Equal(t, 6, es[4].First)
	assert.Equal(t, 7, es[4].Last)
	assert.Equal(t, Include, es[5].Kind)
	assert.True(t, es[5].Dir)
	assert.Equal(t, "/etc/sudoers.d", es[5].Target)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("a,b ALL=(ALL) NOPASSWD: ALL\\\n\\"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, e := range Parse(data) {
			if e.First < 1 || e.Last < e.First {
				t.Fatalf("bad entry %+v", e)
			}
			e.All()
		}
	})
}
