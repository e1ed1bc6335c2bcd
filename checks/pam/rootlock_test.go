package pam

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/parse/pamconf"
	"rescue/sysroot"
)

func TestSucceedIfDeniesRoot(t *testing.T) {
	cases := map[string]bool{
		"user != root quiet":                  true,
		"user = root":                         false,
		"uid >= 1000 quiet_success":           true,
		"uid ge 1000":                         true,
		"uid < 1000 quiet":                    false,
		"uid > 0":                             true,
		"uid eq 0":                            false,
		"uid ne 0":                            true,
		"user notin root:admin":               true,
		"user in root:admin":                  false,
		"user =~ adm*":                        true,
		"user !~ r*":                          true,
		"user ingroup wheel":                  false, // unknown here: not taken as refusing
		"service in crond quiet use_uid":      false,
		"tty =~ pts/* uid >= 1000":            true,
		"debug quiet":                         false,
		"uid >= notanumber":                   false,
		"shell notin /bin/bash:/bin/sh":       false,
		"user != root use_uid":                false, // about the calling user, not the target
		"quiet_fail user != alice uid <= 999": false,
	}
	for args, want := range cases {
		how, got := succeedIfDeniesRoot(strings.Fields(args))
		assert.Equal(t, want, got, "%s (%s)", args, how)
	}
}

func TestFatal(t *testing.T) {
	assert.True(t, fatal("required"))
	assert.True(t, fatal("requisite"))
	assert.False(t, fatal("sufficient"))
	assert.False(t, fatal("optional"))
	assert.True(t, fatal("[success=ok default=die]"))
	assert.True(t, fatal("[auth_err=bad default=ignore]"))
	assert.False(t, fatal("[success=1 default=ignore]"))
}

func TestListfileDeniesRoot(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc/ssh"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/ssh/deny"), []byte("bob\nroot\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/ssh/allow"), []byte("alice\n"), 0o644))
	r, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer r.Close()
	line := func(s string) pamconf.Line { return pamconf.Parse([]byte(s)).Lines[0] }
	_, denies := deniesRoot(r, line("auth required pam_listfile.so item=user sense=deny file=/etc/ssh/deny onerr=succeed"))
	assert.True(t, denies)
	_, denies = deniesRoot(r, line("auth required pam_listfile.so item=user sense=allow file=/etc/ssh/allow onerr=fail"))
	assert.True(t, denies)
	_, denies = deniesRoot(r, line("auth required pam_listfile.so item=user sense=allow file=/etc/ssh/deny"))
	assert.False(t, denies)
	_, denies = deniesRoot(r, line("auth required pam_listfile.so item=tty sense=deny file=/etc/ssh/deny"))
	assert.False(t, denies)
	_, denies = deniesRoot(r, line("auth required pam_listfile.so item=user sense=deny file=/etc/missing"))
	assert.False(t, denies)
}
