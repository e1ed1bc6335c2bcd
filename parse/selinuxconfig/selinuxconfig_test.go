package selinuxconfig

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	c := Parse([]byte("# comment\n\nSELINUX=Enforcing\r\nbroken\n  SELINUXTYPE = \"mls\" \nSELINUX=permissive\n"))
	assert.Equal(t, Config{Mode: "permissive", ModeLine: 6, Type: "mls", TypeLine: 5, Malformed: []int{4}}, c)
	assert.Equal(t, "mls", c.PolicyType())

	c = Parse(nil)
	assert.Equal(t, Config{Type: DefaultType}, c)
	assert.Equal(t, "", c.Mode, "no SELINUX= line")

	c = Parse([]byte("SELINUX=\nSELINUXTYPE=../../etc\n"))
	assert.Equal(t, 1, c.ModeLine, "an empty mode is still a line that sets it")
	assert.Equal(t, "", c.Mode)
	assert.Equal(t, "../../etc", c.Type, "Type is what was written")
	assert.Equal(t, DefaultType, c.PolicyType(), "a type with a slash or dot names no policy directory")
	assert.Equal(t, DefaultType, Parse([]byte("SELINUXTYPE=\n")).PolicyType())
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("SELINUX=enforcing\nSELINUXTYPE=targeted\n"))
	f.Add([]byte("# x\r\n=\n\"\nSELINUX='x'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Parse(data)
		lines := strings.Count(string(data), "\n") + 1
		for _, n := range append(c.Malformed, c.ModeLine, c.TypeLine) {
			if n < 0 || n > lines {
				t.Fatalf("line %d outside 1..%d", n, lines)
			}
		}
		if c.ModeLine == 0 && c.Mode != "" {
			t.Fatalf("mode %q without a line", c.Mode)
		}
		if c.Mode != strings.ToLower(c.Mode) {
			t.Fatalf("mode %q is not lowercased", c.Mode)
		}
		if p := c.PolicyType(); p == "" || strings.ContainsAny(p, "/.") {
			t.Fatalf("policy type %q", p)
		}
	})
}
