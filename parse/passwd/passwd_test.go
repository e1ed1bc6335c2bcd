package passwd

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const samplePasswd = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin

# a comment glibc skips
  sshd:x:105:65534::/run/sshd:/usr/sbin/nologin
+@netgroup
bad:x:1000
uidword:x:abc:0::/:/bin/sh
:x:1:1::/:/bin/sh
alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash`

func TestParsePasswd(t *testing.T) {
	f := Parse([]byte(samplePasswd), Passwd)
	require.Len(t, f.Lines, 10)
	assert.True(t, f.NoFinalNewline)
	assert.Equal(t, samplePasswd, string(f.Bytes()))

	var names []string
	for _, l := range f.Entries() {
		names = append(names, l.Name())
	}
	assert.Equal(t, []string{"root", "daemon", "sshd", "alice"}, names)

	bad := f.Malformed()
	require.Len(t, bad, 3)
	assert.Equal(t, 7, bad[0].N)
	assert.EqualError(t, bad[0].Err, "3 fields, want 7")
	assert.EqualError(t, bad[1].Err, `uid "abc" is not a number`)
	assert.EqualError(t, bad[2].Err, "empty name")
	assert.True(t, f.Lines[5].Compat)

	root, ok := f.Lookup("root")
	require.True(t, ok)
	assert.Equal(t, "/bin/bash", root.Field(6))
	uid, ok := UID(root, Passwd)
	assert.True(t, ok)
	assert.Equal(t, uint32(0), uid)
	_, ok = f.Lookup("nobody")
	assert.False(t, ok)
	assert.False(t, f.Blank())
}

func TestParseCRLF(t *testing.T) {
	in := "root:x:0:0:root:/root:/bin/bash\r\nbin:x:1:1::/:/sbin/nologin\r\n"
	f := Parse([]byte(in), Passwd)
	assert.Equal(t, 2, f.CRLines())
	root, ok := f.Lookup("root")
	require.True(t, ok)
	// The shell is read as it will be once the line endings are fixed.
	assert.Equal(t, "/bin/bash", root.Field(6))
	assert.Equal(t, in, string(f.Bytes()))
}

func TestParseShadowAndGroup(t *testing.T) {
	sh := Parse([]byte("root:$6$x:19000:0:99999:7:::\nold:oldhash\nbroken:*:1:2:3\nneg:*:-1::::::\nword:*:x:::::: \n"), Shadow)
	assert.Len(t, sh.Entries(), 3)
	bad := sh.Malformed()
	require.Len(t, bad, 2)
	assert.EqualError(t, bad[0].Err, "5 fields, want 9")
	assert.EqualError(t, bad[1].Err, `field 3 "x" is not a number`)

	g := Parse([]byte("root:x:0:\nwheel:x:10:alice,bob\nnogid:x::\n"), Group)
	assert.Len(t, g.Entries(), 2)
	require.Len(t, g.Malformed(), 1)

	gs := Parse([]byte("root:*::\nshort:*:\n"), Gshadow)
	assert.Len(t, gs.Entries(), 1)
	assert.Len(t, gs.Malformed(), 1)
}

func TestBlank(t *testing.T) {
	assert.True(t, Parse(nil, Passwd).Blank())
	assert.True(t, Parse([]byte("\n\n# only comments\n   \n"), Passwd).Blank())
	assert.False(t, Parse([]byte("x\n"), Passwd).Blank())
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(samplePasswd), 1)
	f.Add([]byte("root:*:19000:0:99999:7:::\r\n"), 2)
	f.Add([]byte("root:x:0:\n+\n-x\n"), 3)
	f.Add([]byte("\x00:\n:\r\r\n"), 4)
	f.Fuzz(func(t *testing.T, data []byte, kind int) {
		k := Kind(1 + (kind%4+4)%4)
		p := Parse(data, k)
		if !bytes.Equal(p.Bytes(), data) {
			t.Fatalf("round trip changed %q into %q", data, p.Bytes())
		}
		for _, l := range p.Lines {
			if l.Fields != nil && l.Err != nil {
				t.Fatalf("line %d is both an entry and malformed", l.N)
			}
			if l.Fields != nil && len(l.Fields) != k.Fields() && !(k == Shadow && len(l.Fields) == 2) {
				t.Fatalf("entry with %d fields", len(l.Fields))
			}
			_, _ = UID(l, k)
		}
	})
}

func TestAccountExpiry(t *testing.T) {
	for _, c := range []struct {
		line    string
		day     int64
		expired bool
	}{
		{"root:*:19800:0:99999:7:::", 0, false},         // no date: never
		{"root:*:19800:0:99999:7::0:", 0, true},         // chage -E 0
		{"root:*:19800:0:99999:7::20000:", 20000, true}, // the day itself: pam_unix's curdays >= sp_expire
		{"root:*:19800:0:99999:7::20001:", 20001, false},
		{"root:*:19800:0:99999:7::-1:", 0, false}, // glibc's "none"
		{"root:*:19800:0:99999:7::soon:", 0, false},
		{"root:*", 0, false},
	} {
		l, _ := Parse([]byte(c.line+"\n"), Shadow).Lookup("root")
		day, expired := AccountExpiry(l, 20000)
		if day != c.day || expired != c.expired {
			t.Errorf("%s: got day %d expired %v, want %d %v", c.line, day, expired, c.day, c.expired)
		}
	}
}
