package pamstack

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/sysroot"
)

// rootWith builds a target root holding files (path -> content).
func rootWith(t testing.TB, files map[string]string) *sysroot.Root {
	t.Helper()
	dir := t.TempDir()
	for p, data := range files {
		full := filepath.Join(dir, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(data), 0o644))
	}
	r, err := sysroot.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

// lines renders a stack as "path:line scope module", one an entry.
func lines(st *Stack) []string {
	var out []string
	for _, e := range st.Entries {
		out = append(out, strings.Join(strings.Fields(e.At()+" "+e.Scope+" "+e.Line.Module), " "))
	}
	return out
}

// TestServiceResolution: libpam takes a name from the first directory that
// has it (the administrator's before the distribution's), an absolute name
// as it is; a name found nowhere belongs in /etc/pam.d.
func TestServiceResolution(t *testing.T) {
	c := New(rootWith(t, map[string]string{
		"etc/pam.d/login":        "auth required pam_unix.so\n",
		"usr/lib/pam.d/login":    "auth required pam_deny.so\n",
		"usr/lib/pam.d/sshd":     "auth required pam_unix.so\n",
		"usr/etc/pam.d/sshd":     "auth required pam_deny.so\n",
		"usr/etc/pam.d/su":       "auth required pam_rootok.so\n",
		"opt/pam/custom":         "auth required pam_permit.so\n",
		"etc/pam.d/login.rpmnew": "auth required pam_unix.so\n",
	}))
	for name, want := range map[string]string{
		"login": "/etc/pam.d/login", "sshd": "/usr/lib/pam.d/sshd", "su": "/usr/etc/pam.d/su",
		"/opt/pam/custom": "/opt/pam/custom", "gone": "/etc/pam.d/gone",
	} {
		f := c.Service(name)
		assert.Equal(t, want, f.Path, name)
		assert.Equal(t, name != "gone", f.Exists, name)
	}
	assert.Same(t, c.Service("login"), c.File("/etc/pam.d/login"), "a file is read once")

	names, err := c.Services()
	require.NoError(t, err)
	assert.Equal(t, []string{"login", "sshd", "su"}, names, "each name once, backups left out")
}

// TestServicesWithoutDirectories: a target with no PAM directory cannot
// say which services there are.
func TestServicesWithoutDirectories(t *testing.T) {
	_, err := New(rootWith(t, map[string]string{"etc/hostname": "x\n"})).Services()
	assert.Error(t, err)
}

// TestStackFlattening: @include, include and substack are inlined (a
// substack in a scope of its own), lines of other types are left out, an
// include whose file is missing stands as its own failing line, and the
// files read are listed.
func TestStackFlattening(t *testing.T) {
	c := New(rootWith(t, map[string]string{
		"etc/pam.d/login": "auth requisite pam_nologin.so\n" +
			"@include common-auth\n" +
			"auth substack system-auth\n" +
			"auth include gone\n" +
			"session required pam_limits.so\n",
		"etc/pam.d/common-auth":     "auth [success=1 default=ignore] pam_unix.so\nauth requisite pam_deny.so\naccount required pam_unix.so\n",
		"usr/lib/pam.d/system-auth": "auth sufficient pam_sss.so\nauth substack postlogin\n",
		"usr/lib/pam.d/postlogin":   "auth optional pam_faillock.so\n",
	}))
	st := c.Stack("login", "auth")
	assert.Equal(t, []string{
		"/etc/pam.d/login:1 pam_nologin.so",
		"/etc/pam.d/common-auth:1 pam_unix.so",
		"/etc/pam.d/common-auth:2 pam_deny.so",
		"/usr/lib/pam.d/system-auth:1 /1 pam_sss.so",
		"/usr/lib/pam.d/postlogin:1 /1/2 pam_faillock.so",
		"/etc/pam.d/login:4 gone",
	}, lines(st))
	assert.Equal(t, []string{"/etc/pam.d/common-auth", "/etc/pam.d/login", "/usr/lib/pam.d/postlogin", "/usr/lib/pam.d/system-auth"}, st.Files)
	assert.Empty(t, st.Cycles)
	assert.False(t, st.TooLarge)
	assert.Same(t, st, c.Stack("login", "auth"), "a stack is built once")

	assert.Equal(t, []string{"/etc/pam.d/login:5 pam_limits.so"}, lines(c.Stack("login", "session")))
	assert.Equal(t, []string{"/etc/pam.d/common-auth:3 pam_unix.so"}, lines(c.Stack("login", "account")))
}

// TestStackFallsBackToOther: a missing service, and a service without a
// line of the type, run other's stack; other itself has no fallback.
func TestStackFallsBackToOther(t *testing.T) {
	c := New(rootWith(t, map[string]string{
		"etc/pam.d/sshd":      "auth required pam_unix.so\n",
		"usr/lib/pam.d/other": "auth required pam_deny.so\nsession required pam_deny.so\n",
	}))
	assert.Equal(t, []string{"/usr/lib/pam.d/other:1 pam_deny.so"}, lines(c.Stack("login", "auth")))
	assert.Equal(t, []string{"/usr/lib/pam.d/other:2 pam_deny.so"}, lines(c.Stack("sshd", "session")))
	assert.Equal(t, []string{"/etc/pam.d/sshd", "/usr/lib/pam.d/other"}, c.Stack("sshd", "session").Files)
	assert.Empty(t, c.Stack("other", "password").Entries)
}

// TestStackCycles: an include of a file already being read is recorded
// with the loop it closes, and stands in the stack for libpam's failing
// handler.
func TestStackCycles(t *testing.T) {
	c := New(rootWith(t, map[string]string{
		"etc/pam.d/login": "auth include a\n",
		"etc/pam.d/a":     "auth required pam_unix.so\nauth include b\n",
		"etc/pam.d/b":     "@include a\n",
	}))
	st := c.Stack("login", "auth")
	assert.Equal(t, []string{"/etc/pam.d/a:1 pam_unix.so", "/etc/pam.d/b:1"}, lines(st))
	require.Len(t, st.Cycles, 1)
	assert.Equal(t, "/etc/pam.d/b", st.Cycles[0].File.Path)
	assert.Equal(t, []string{"/etc/pam.d/a", "/etc/pam.d/b"}, st.Cycles[0].Chain)
}

// TestSkippable: a sufficient line skips the rest of its own scope and of
// the scopes nested in it, not the lines of an enclosing one; a jump skips
// the lines it counts.
func TestSkippable(t *testing.T) {
	c := New(rootWith(t, map[string]string{
		"etc/pam.d/login": "auth substack inner\nauth required pam_deny.so\n" +
			"auth [success=1 default=ignore] pam_unix.so\nauth required pam_deny.so\nauth required pam_faildelay.so\n",
		"etc/pam.d/inner": "auth sufficient pam_rootok.so\nauth required pam_wheel.so\n",
	}))
	st := c.Stack("login", "auth")
	require.Len(t, st.Entries, 6)
	var got []bool
	for i := range st.Entries {
		got = append(got, st.Skippable(i))
	}
	assert.Equal(t, []bool{false, true, false, false, true, false}, got)
	assert.True(t, LetsThrough("sufficient"))
	assert.True(t, LetsThrough("[success=done default=ignore]"))
	assert.False(t, LetsThrough("[success=1 default=ignore]"))
	assert.False(t, LetsThrough("required"))
}

// TestOtherDenies: RHEL's other (pam_deny reached by everyone), a missing
// other, and Debian's (pam_deny jumped over by pam_unix) as measured.
func TestOtherDenies(t *testing.T) {
	rhel := New(rootWith(t, map[string]string{"etc/pam.d/other": "auth required pam_deny.so\n"}))
	assert.True(t, rhel.OtherDenies())
	missing := New(rootWith(t, map[string]string{"etc/pam.d/login": "auth required pam_unix.so\n"}))
	assert.True(t, missing.OtherDenies())
	debian := New(rootWith(t, map[string]string{
		"etc/pam.d/other":       "@include common-auth\n",
		"etc/pam.d/common-auth": "auth [success=1 default=ignore] pam_unix.so\nauth requisite pam_deny.so\nauth required pam_permit.so\n",
	}))
	assert.False(t, debian.OtherDenies())
}

// TestConcurrentUse: the checks of a scan share one Config; one that ran
// out of its time budget may still be reading it while the next starts
// (run with -race to see a data race).
func TestConcurrentUse(t *testing.T) {
	c := New(rootWith(t, map[string]string{
		"etc/pam.d/login":       "@include common-auth\nsession required pam_lastlog.so\n",
		"etc/pam.d/sshd":        "@include common-auth\n",
		"etc/pam.d/common-auth": "auth required pam_unix.so\n",
	}))
	var wg sync.WaitGroup
	stacks := make([]*Stack, 8)
	for i := range stacks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Services()
			c.OtherDenies()
			stacks[i] = c.Stack([]string{"login", "sshd"}[i%2], "auth")
		}()
	}
	wg.Wait()
	for i := range stacks {
		assert.Same(t, stacks[i%2], stacks[i])
	}
}

// FuzzStack feeds hostile files to the flattener: a service, a file it
// includes and other, each including the others in every way. Building
// any stack must end, stay within MaxWork lines, and keep its entries and
// scopes consistent.
func FuzzStack(f *testing.F) {
	f.Add([]byte("auth include login\n@include common\nauth substack other\n"), []byte("auth [success=2 default=ignore] pam_unix.so\n@include login\n"), []byte("auth sufficient pam_permit.so\\\n x\n"))
	f.Add([]byte("session required pam_lastlog.so\n-session optional pam_systemd.so\n"), []byte(""), []byte("auth required pam_deny.so\n"))
	f.Add([]byte("auth substack /etc/pam.d/common\n"), []byte("auth substack common\n"), []byte("@include\n"))
	f.Fuzz(func(t *testing.T, login, common, other []byte) {
		c := New(rootWith(t, map[string]string{
			"etc/pam.d/login": string(login), "usr/lib/pam.d/common": string(common), "etc/pam.d/other": string(other),
		}))
		for _, typ := range []string{"auth", "account", "password", "session"} {
			for _, svc := range []string{"login", "common", "other", "missing"} {
				st := c.Stack(svc, typ)
				if len(st.Entries) > MaxWork {
					t.Fatalf("%s %s: %d entries", svc, typ, len(st.Entries))
				}
				for i, e := range st.Entries {
					if !e.File.Usable() || (e.Scope != "" && !strings.HasPrefix(e.Scope, "/")) {
						t.Fatalf("%s %s: entry %d from %s, scope %q", svc, typ, i, e.File.Path, e.Scope)
					}
					if e.Line.Type != typ && e.Line.Include == "" {
						t.Fatalf("%s %s: entry %d is of type %q", svc, typ, i, e.Line.Type)
					}
					st.Skippable(i)
				}
				for _, cy := range st.Cycles {
					if len(cy.Chain) == 0 || len(cy.Chain) > MaxDepth+1 {
						t.Fatalf("%s %s: loop chain %q", svc, typ, cy.Chain)
					}
				}
			}
		}
		c.OtherDenies()
	})
}
