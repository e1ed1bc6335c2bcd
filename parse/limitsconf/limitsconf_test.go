package limitsconf

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = `# /etc/security/limits.conf
#<domain>      <type>  <item>         <value>
*               soft    core            0
*		-	NOFILE		Unlimited	# raised for the DB
@admins         hard    nproc           20
1000:           hard    nofile          2000000
ftp             -
broken line
root hard nofile 1048576 extra
`

func TestParse(t *testing.T) {
	f := Parse("/etc/security/limits.conf", []byte(sample))
	require.Len(t, f.Entries, 5)
	e := f.Entries[1]
	assert.Equal(t, "*", e.Domain)
	assert.Equal(t, "-", e.Type)
	assert.Equal(t, "nofile", e.Item)
	assert.Equal(t, "Unlimited", e.Value)
	assert.Equal(t, 4, e.Line)
	assert.True(t, e.Soft())
	assert.True(t, e.Hard())
	assert.True(t, e.Unlimited())
	assert.Equal(t, "*\t\t-\tNOFILE\t\t1048576\t# raised for the DB", e.WithValue("1048576"))

	e = f.Entries[3]
	assert.Equal(t, "1000:", e.Domain)
	assert.False(t, e.Soft())
	assert.True(t, e.Hard())
	assert.False(t, e.Unlimited())
	assert.Equal(t, "1000:           hard    nofile          1048576", e.WithValue("1048576"))

	assert.Equal(t, "1048576", f.Entries[4].Value, "extra fields are ignored, as strtoull stops at the blank")
	require.Len(t, f.NoLimit, 1)
	assert.Equal(t, "ftp", f.NoLimit[0].Domain)
	assert.Equal(t, []int{8}, f.Bad)
}

func TestWithValueRefusesMismatch(t *testing.T) {
	e := Entry{Raw: "a b c d", Value: "x", ValueAt: 6}
	assert.Equal(t, "a b c d", e.WithValue("y"))
	e = Entry{Raw: "a", Value: "abc", ValueAt: 0}
	assert.Equal(t, "a", e.WithValue("y"))
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("a\tb c\r\nd - \n#\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := Parse("/x", data)
		for _, e := range p.Entries {
			got := e.WithValue("1")
			if e.Raw[e.ValueAt:e.ValueAt+len(e.Value)] != e.Value {
				t.Fatalf("value offset wrong in %q", e.Raw)
			}
			if len(got) != len(e.Raw)-len(e.Value)+1 {
				t.Fatalf("WithValue changed more than the value: %q -> %q", e.Raw, got)
			}
		}
	})
}
