package auditdconf

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = "# auditd.conf\nlog_file = /var/log/audit/audit.log\n Disk_Full_Action=HALT\r\nbroken line\nadmin_space_left_action = single\nadmin_space_left_action = SUSPEND\n"

func TestParse(t *testing.T) {
	f := Parse([]byte(sample))
	require.Len(t, f.Entries, 4)
	e, ok := f.Get("disk_full_action")
	require.True(t, ok)
	assert.Equal(t, "HALT", e.Value)
	assert.Equal(t, 3, e.Line)
	e, _ = f.Get("admin_space_left_action")
	assert.Equal(t, "SUSPEND", e.Value, "the last value wins")
	assert.Equal(t, []int{4}, f.Bad)
	_, ok = f.Get("nothing")
	assert.False(t, ok)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := Parse(data)
		for _, e := range p.Entries {
			if e.Line < 1 || e.Key == "" {
				t.Fatalf("bad entry %+v", e)
			}
		}
	})
}
