package pamconf

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const systemAuth = `#%PAM-1.0
# This file is auto-generated.
auth        required      pam_env.so
auth        required      pam_faildelay.so delay=2000000
auth        sufficient    pam_unix.so nullok try_first_pass
auth        requisite     pam_succeed_if.so uid >= 1000 quiet_success
auth        required      pam_deny.so

account     required      pam_unix.so
-session    optional      pam_systemd.so
session     [success=1 default=ignore] pam_succeed_if.so service in crond quiet use_uid
session     required      pam_unix.so
`

func TestParseSystemAuth(t *testing.T) {
	f := Parse([]byte(systemAuth))
	require.Len(t, f.Lines, 9)
	l := f.Lines[3]
	assert.Equal(t, 6, l.N)
	assert.Equal(t, "auth", l.Type)
	assert.Equal(t, "requisite", l.Control)
	assert.Equal(t, "pam_succeed_if.so", l.Module)
	assert.Equal(t, []string{"uid", ">=", "1000", "quiet_success"}, l.Args)

	s := f.Lines[6]
	assert.True(t, s.Silent)
	assert.Equal(t, "session", s.Type)

	b := f.Lines[7]
	assert.Equal(t, "[success=1 default=ignore]", b.Control)
	assert.Equal(t, map[string]string{"success": "1", "default": "ignore"}, Actions(b.Control))
	assert.Equal(t, "pam_succeed_if.so", b.Module)
	for _, l := range f.Lines {
		assert.NoError(t, l.Err, l.Raw)
	}
}

func TestParseDebian(t *testing.T) {
	in := "# comment\n@include common-auth\nauth  optional  pam_faildelay.so  delay=3000000 # trailing comment\n" +
		"session [success=ok ignore=ignore module_unknown=ignore default=bad] \\\n  pam_selinux.so close\n" +
		"auth include\nAUTH Required pam_unix.so\n"
	f := Parse([]byte(in))
	require.Len(t, f.Lines, 5)
	assert.Equal(t, "common-auth", f.Lines[0].Include)
	assert.True(t, f.Lines[0].IsInclude())
	assert.Equal(t, "common-auth", f.Lines[0].Target())
	assert.Equal(t, []string{"delay=3000000"}, f.Lines[1].Args)

	c := f.Lines[2]
	assert.Equal(t, 4, c.N)
	assert.Equal(t, 5, c.Last)
	assert.Equal(t, "pam_selinux.so", c.Module)
	assert.Equal(t, []string{"close"}, c.Args)
	assert.Equal(t, "session [success=ok ignore=ignore module_unknown=ignore default=bad] \\\n  pam_selinux.so close", c.Raw)

	assert.EqualError(t, f.Lines[3].Err, "include without a file name")
	assert.Equal(t, "required", f.Lines[4].Control)
	assert.Equal(t, "auth", f.Lines[4].Type)
}

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"auht required pam_unix.so":                   `unknown module type "auht"`,
		"auth":                                        "no control flag",
		"auth required":                               "no module",
		"auth mandatory pam_unix.so":                  `unknown control flag "mandatory"`,
		"auth [success=1 pam_unix.so":                 `control "[success=1 pam_unix.so" has no closing ]`,
		"auth [success] pam_unix.so":                  `control "[success]": "success" is not value=action`,
		"@include":                                    "@include without a file name",
		"account substack":                            "substack without a file name",
		"auth [] pam_unix.so":                         `empty control "[]"`,
		"session [default=die  ignore=ignore] pam.so": "",
	}
	for in, want := range cases {
		f := Parse([]byte(in + "\n"))
		require.Len(t, f.Lines, 1, in)
		if want == "" {
			assert.NoError(t, f.Lines[0].Err, in)
			continue
		}
		assert.EqualError(t, f.Lines[0].Err, want, in)
	}
}

func TestEmpty(t *testing.T) {
	assert.True(t, Parse(nil).Empty())
	assert.True(t, Parse([]byte("\n")).Empty())
	assert.True(t, Parse([]byte("#%PAM-1.0\n\n   # nothing\n")).Empty())
	assert.Equal(t, 3, Parse([]byte("#%PAM-1.0\n\n   # nothing\n")).Physical)
	assert.False(t, Parse([]byte("auth required pam_deny.so")).Empty())
}

func TestModuleName(t *testing.T) {
	assert.Equal(t, "pam_unix.so", ModuleName("/lib64/security/pam_unix.so"))
	assert.Equal(t, "pam_unix.so", ModuleName("pam_unix.so"))
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(systemAuth))
	f.Add([]byte("@include x\nauth [a=b \\\n c=d] m\\"))
	f.Add([]byte("[[[\\]\\\n#\n-"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := Parse(data)
		prev := 0
		for _, l := range p.Lines {
			if l.N <= prev || l.Last < l.N || l.Last > p.Physical {
				t.Fatalf("line numbers out of order: %d..%d after %d (of %d)", l.N, l.Last, prev, p.Physical)
			}
			prev = l.Last
			if l.Err == nil && l.Include == "" && (l.Type == "" || l.Control == "" || l.Module == "") {
				t.Fatalf("line %q parsed without an error but is incomplete: %+v", l.Raw, l)
			}
			_ = Actions(l.Control)
			_ = l.IsInclude()
		}
	})
}
