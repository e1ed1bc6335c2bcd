package filecontexts

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A slice of a real targeted policy's file_contexts (EL 8), in its order.
const sample = `# comment
/.*	system_u:object_r:default_t:s0
/[^/]+	--	system_u:object_r:etc_runtime_t:s0
/usr(/.*)?	system_u:object_r:usr_t:s0
/usr/lib(/.*)?	system_u:object_r:lib_t:s0
/usr/lib/ld-[^/]*\.so(\.[^/]*)*	--	system_u:object_r:ld_so_t:s0
/usr/lib(64)?/security/pam_krb5/pam_krb5_storetmp	--	system_u:object_r:pam_exec_t:s0
/usr/bin(/.*)?	system_u:object_r:bin_t:s0
/usr/bin/login	--	system_u:object_r:login_exec_t:s0
/etc(/.*)?	system_u:object_r:etc_t:s0
/etc/shadow.*	--	system_u:object_r:shadow_t:s0
/proc(/.*)?	<<none>>
/usr/lib/debug(/.*)?	system_u:object_r:debuginfo_t:s0
/etc/passwd	--	system_u:object_r:passwd_file_t:s0
/dev/null	-c	system_u:object_r:null_device_t:s0
bad line with too many fields here
/x	-q	system_u:object_r:x_t:s0
`

func TestLookup(t *testing.T) {
	specs, problems := Parse([]byte(sample))
	assert.Len(t, problems, 2)
	local, _ := Parse([]byte("/etc/passwd\t--\tsystem_u:object_r:etc_t:s0\n"))
	set := NewSet(ParseSubs([]byte("/lib64 /usr/lib\n# c\n/lib /usr/lib\n")), specs)
	for _, c := range []struct {
		path string
		mode fs.FileMode
		want string
	}{
		{"/usr/bin/login", 0, "system_u:object_r:login_exec_t:s0"},
		{"/usr/bin/login", fs.ModeDir, "system_u:object_r:bin_t:s0"},
		{"/usr/lib/ld-linux-x86-64.so.2", 0, "system_u:object_r:ld_so_t:s0"},
		{"/lib64/ld-linux-x86-64.so.2", 0, "system_u:object_r:ld_so_t:s0"}, // through the alias
		{"/usr/lib/libnss_files.so.2", fs.ModeSymlink, "system_u:object_r:lib_t:s0"},
		{"/etc/shadow-", 0, "system_u:object_r:shadow_t:s0"},
		{"/etc/passwd", 0, "system_u:object_r:passwd_file_t:s0"}, // exact beats the later regex
		{"/dev/null", fs.ModeDevice | fs.ModeCharDevice, "system_u:object_r:null_device_t:s0"},
		{"/dev/null", 0, "system_u:object_r:default_t:s0"},
		{"/srv/x", 0, "system_u:object_r:default_t:s0"},
	} {
		got, ok := set.Lookup(c.path, c.mode)
		require.True(t, ok, c.path)
		assert.Equal(t, c.want, got, "%s %v", c.path, c.mode)
	}
	_, ok := set.Lookup("/proc/1/status", 0)
	assert.False(t, ok, "<<none>> leaves a path unlabelled")
	// .local comes last and wins.
	got, _ := NewSet(nil, specs, local).Lookup("/etc/passwd", 0)
	assert.Equal(t, "system_u:object_r:etc_t:s0", got)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample), "/usr/bin/login")
	f.Add([]byte("/a(b\t--\tx\n/[\nz"), "/a")
	f.Fuzz(func(t *testing.T, data []byte, p string) {
		specs, _ := Parse(data)
		for _, s := range specs {
			if s.Regex == "" || s.Context == "" {
				t.Fatalf("empty field in %+v", s)
			}
		}
		NewSet(ParseSubs(data), specs).Lookup(p, 0)
	})
}
