package logindefs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = "# comment\n" +
	"ERASECHAR\t0177\n" +
	"  KILLCHAR 025   \n" +
	"UID_MIN\t\t\t 1000\r\n" +
	"ENV_PATH \"PATH=/usr/bin:/bin\" trailing\n" +
	"UMASK 022 # the default\n" +
	"LONELY\n" +
	"UID_MIN 2000\n"

func TestParse(t *testing.T) {
	f := Parse([]byte(sample))
	require.Len(t, f.Defs, 6)
	d, ok := f.Lookup("ERASECHAR")
	require.True(t, ok)
	assert.Equal(t, "0177", d.Value)
	assert.Equal(t, 2, d.Line)
	d, _ = f.Lookup("KILLCHAR")
	assert.Equal(t, "025", d.Value)
	assert.Equal(t, "  KILLCHAR 030   ", d.WithValue("030"))
	d, _ = f.Lookup("ENV_PATH")
	assert.Equal(t, "PATH=/usr/bin:/bin", d.Value)
	d, _ = f.Lookup("UMASK")
	assert.Equal(t, "022 # the default", d.Value)
	_, ok = f.Lookup("LONELY")
	assert.False(t, ok)
	d, _ = f.Lookup("UID_MIN")
	assert.Equal(t, "2000", d.Value, "the last definition counts")
	assert.Equal(t, 8, d.Line)
	first := f.Defs[2]
	assert.Equal(t, "1000", first.Value)
	assert.Equal(t, "UID_MIN\t\t\t 500\r", first.WithValue("500"))
}

func TestNumber(t *testing.T) {
	for in, want := range map[string]int64{"0177": 127, "025": 21, "127": 127, "0x7f": 127, "0X7F": 127, "-1": -1, "0": 0, "+8": 8, "60000": 60000} {
		n, ok := Number(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, n, in)
	}
	for _, in := range []string{"", "08", "0x", "12 # c", "abc", "1e3", "--1", "0x-1", "99999999999999999999"} {
		_, ok := Number(in)
		assert.False(t, ok, in)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("A \"\nB\t\"x\"y\n \t\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := Parse(data)
		for _, d := range p.Defs {
			if d.Name == "" || d.Raw[d.ValueAt:d.ValueAt+len(d.Value)] != d.Value {
				t.Fatalf("bad def %+v", d)
			}
			Number(d.Value)
		}
	})
}
