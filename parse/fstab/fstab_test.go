package fstab

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = `# /etc/fstab: static file system information.
#
UUID=1111-aaaa /               ext4    errors=remount-ro 0       1
UUID=2222	/boot	ext4	defaults	0	2
/dev/vdb1 /data xfs
/swapfile none swap sw 0 0
LABEL=my\040disk /mnt/my\040disk ext4 defaults,nofail,x-systemd.device-timeout=10s 0 2
broken
a b c d e f g
UUID=3 /x ext4 defaults zero 2`

func TestParseKeepsEveryByte(t *testing.T) {
	for _, in := range []string{sample, sample + "\n", "", "\n", "\r\n", "a b\r\n"} {
		f := Parse([]byte(in))
		assert.Equal(t, in, string(f.Bytes()))
	}
}

func TestParseEntries(t *testing.T) {
	f := Parse([]byte(sample))
	require.Len(t, f.Lines, 10)
	e := f.Lines[2].Entry
	require.NotNil(t, e)
	assert.Equal(t, Entry{Spec: "UUID=1111-aaaa", File: "/", VfsType: "ext4", Options: "errors=remount-ro", Freq: 0, Passno: 1, Fields: 6}, *e)
	assert.Equal(t, 3, f.Lines[2].N)
	e = f.Lines[4].Entry
	require.NotNil(t, e)
	assert.Equal(t, "defaults", e.Options)
	assert.Equal(t, 3, e.Fields)
	e = f.Lines[6].Entry
	require.NotNil(t, e)
	assert.Equal(t, "LABEL=my disk", e.Spec)
	assert.Equal(t, "/mnt/my disk", e.File)
	v, ok := e.Option("x-systemd.device-timeout")
	assert.True(t, ok)
	assert.Equal(t, "10s", v)
	assert.True(t, e.HasOption("nofail"))
	assert.False(t, e.HasOption("noauto"))
	assert.Error(t, f.Lines[7].Err)
	assert.Error(t, f.Lines[8].Err)
	assert.ErrorContains(t, f.Lines[9].Err, `"zero"`)
	assert.Nil(t, f.Lines[0].Entry)
	assert.NoError(t, f.Lines[0].Err)
	assert.Len(t, f.Entries(), 5)
}

func TestCRLFEntry(t *testing.T) {
	f := Parse([]byte("UUID=1 / ext4 defaults 0 1\r\n"))
	require.NotNil(t, f.Lines[0].Entry)
	assert.Equal(t, 1, f.Lines[0].Entry.Passno)
}

func TestSetField(t *testing.T) {
	cases := []struct {
		raw  string
		i    int
		val  string
		want string
	}{
		{"UUID=1 /  ext4\tdefaults 0 1", 0, "UUID=2", "UUID=2 /  ext4\tdefaults 0 1"},
		{"UUID=1 /  ext4\tdefaults 0 1", 3, "defaults,nofail", "UUID=1 /  ext4\tdefaults,nofail 0 1"},
		{"UUID=1 /data xfs", 3, "nofail", "UUID=1 /data xfs nofail"},
		{"UUID=1 /data", 3, "nofail", "UUID=1 /data auto nofail"},
		{"  UUID=1 / ext4 defaults 0 1\r", 5, "0", "  UUID=1 / ext4 defaults 0 0\r"},
		{"UUID=1 /data xfs\r", 3, "nofail", "UUID=1 /data xfs nofail\r"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, SetField(c.raw, c.i, c.val), "%q", c.raw)
	}
}

func TestEscape(t *testing.T) {
	for _, s := range []string{"plain", "with space", "tab\there", `back\slash`} {
		assert.Equal(t, s, Unescape(Escape(s)))
	}
	assert.Equal(t, `\0`, Unescape(`\0`))
	assert.Equal(t, `x\999`, Unescape(`x\999`))
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("a b c d e f\r\n# x\n\n"))
	f.Add([]byte(`\040\0 \1234 x`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := Parse(data)
		if !bytes.Equal(p.Bytes(), data) {
			t.Fatalf("round trip changed %q into %q", data, p.Bytes())
		}
		for _, l := range p.Lines {
			if l.Entry != nil {
				for i := 0; i < 6; i++ {
					out := SetField(l.Raw, i, "X")
					if g := Parse([]byte(out)); len(g.Lines) != 1 {
						t.Fatalf("SetField(%q, %d) made %d lines", l.Raw, i, len(g.Lines))
					}
				}
			}
			_ = Unescape(l.Raw)
		}
	})
}
