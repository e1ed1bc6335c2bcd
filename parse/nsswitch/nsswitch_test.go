package nsswitch

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = `# /etc/nsswitch.conf
passwd:         files systemd
group:          files [SUCCESS=merge] systemd
shadow:         files
hosts:          files mdns4_minimal [NOTFOUND=return] dns myhostname # local first

netgroup:       nis
bogus line
`

func names(l Line) []string {
	var out []string
	for _, s := range l.Sources {
		out = append(out, s.Name)
	}
	return out
}

func TestParse(t *testing.T) {
	f := Parse([]byte(sample))
	require.Len(t, f.Lines, 8)
	assert.Equal(t, sample, string(f.Bytes()))
	assert.Equal(t, "", f.Lines[0].Database)
	assert.Equal(t, "passwd", f.Lines[1].Database)
	assert.Equal(t, []string{"files", "systemd"}, names(f.Lines[1]))
	assert.Equal(t, "[SUCCESS=merge]", f.Lines[2].Sources[0].Action)
	assert.Equal(t, []string{"files", "mdns4_minimal", "dns", "myhostname"}, names(f.Lines[4]))
	assert.Equal(t, "[NOTFOUND=return]", f.Lines[4].Sources[1].Action)
	assert.True(t, f.Lines[4].Has("dns"))
	assert.False(t, f.Lines[4].Has("sss"))
	assert.Equal(t, "", f.Lines[7].Database)
}

func TestWithout(t *testing.T) {
	cases := []struct{ in, drop, want string }{
		{"passwd:     sss files", "sss", "passwd:     files"},
		{"passwd:     files sss", "sss", "passwd:     files"},
		{"hosts: files mdns4_minimal [NOTFOUND=return] dns myhostname", "mdns4_minimal", "hosts: files dns myhostname"},
		{"hosts: files dns myhostname # c", "myhostname", "hosts: files dns # c"},
		{"group: files [SUCCESS=merge] sss", "sss", "group: files [SUCCESS=merge]"},
		{"group: sss files sss", "sss", "group: files"},
		{"netgroup: nis", "nis", "netgroup: "},
		{"passwd: files", "ldap", "passwd: files"},
		{"passwd:files\tldap", "ldap", "passwd:files"},
	}
	for _, c := range cases {
		l := parseLine(1, c.in)
		got := l.Without(c.drop)
		assert.Equal(t, c.want, got, c.in)
		assert.False(t, parseLine(1, got).Has(c.drop), c.in)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("a:[x] b [c [d]\nz: y# q\r\n:"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := Parse(data)
		if !bytes.Equal(p.Bytes(), data) {
			t.Fatalf("round trip changed %q into %q", data, p.Bytes())
		}
		for _, l := range p.Lines {
			for _, s := range l.Sources {
				if s.Name == "" || s.Start < 0 || s.End > len(l.Raw) || s.Start >= s.End {
					t.Fatalf("bad source %+v in %q", s, l.Raw)
				}
				out := l.Without(s.Name)
				if strings.Contains(out, "\n") {
					t.Fatalf("Without made a new line from %q", l.Raw)
				}
				if parseLine(1, out).Has(s.Name) {
					t.Fatalf("Without(%q) kept it: %q -> %q", s.Name, l.Raw, out)
				}
			}
		}
	})
}
