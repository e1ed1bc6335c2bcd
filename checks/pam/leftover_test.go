package pam

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/checks/checkstest"
	"rescue/facts"
	"rescue/pkgdb"
	"rescue/pkgdb/pkgdbtest"
)

// TestLeftoverModules puts lines of modules no Debian 12 package provides
// into a real root's common-auth and common-account: pam_tally2 (removed
// from Linux-PAM 1.5) becomes pam_faillock, which libpam-modules installs,
// with a preauth line in its place, an authfail line after pam_unix and an
// account line, except where the stack jumps ([success=1] in Debian's
// common-auth), where a line more would move where the jump lands; there
// failures are not counted. pam_google_authenticator, which nothing
// installed provides and which has no successor, is commented out, with a
// placeholder that keeps the jump counts. Both failed every login before.
func TestLeftoverModules(t *testing.T) {
	root, debs := pkgdbtest.DebianRoot(t)
	auth := filepath.Join(root, "etc/pam.d/common-auth")
	account := filepath.Join(root, "etc/pam.d/common-account")
	orig, err := os.ReadFile(auth)
	require.NoError(t, err)
	require.Contains(t, string(orig), "pam_unix.so nullok\n")
	broken := strings.Replace(string(orig), "# here are the per-package modules (the \"Primary\" block)\n",
		"# here are the per-package modules (the \"Primary\" block)\nauth\trequired\tpam_tally2.so deny=5 onerr=fail unlock_time=900\nauth required pam_google_authenticator.so nullok\n", 1)
	require.NotEqual(t, string(orig), broken)
	require.NoError(t, os.WriteFile(auth, []byte(broken), 0o644))
	origAcct, err := os.ReadFile(account)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(account, append(append([]byte{}, origAcct...), "account required pam_tally2.so\n"...), 0o644))

	// An EL-style stack without jumps gets the authfail line after
	// pam_unix.
	el := filepath.Join(root, "etc/pam.d/el-style")
	require.NoError(t, os.WriteFile(el, []byte("auth required pam_tally2.so deny=3 onerr=fail\nauth sufficient pam_unix.so\nauth required pam_deny.so\naccount required pam_tally2.so\naccount required pam_unix.so\n"), 0o644))

	fopt := facts.Options{OpenPackages: pkgdb.Open, PackageDirs: []string{debs}}
	findings := checkstest.RunRoot(t, Check, root, fopt, func(t *testing.T) {
		got, err := os.ReadFile(auth)
		require.NoError(t, err)
		want := strings.Replace(broken,
			"auth\trequired\tpam_tally2.so deny=5 onerr=fail unlock_time=900\nauth required pam_google_authenticator.so nullok\n",
			"auth required pam_faillock.so preauth deny=5 unlock_time=900\n"+checks.Marker+": no installed package provides pam_google_authenticator.so: auth required pam_google_authenticator.so nullok\nauth optional pam_permit.so\n", 1)
		assert.Equal(t, want, string(got))
		got, err = os.ReadFile(el)
		require.NoError(t, err)
		assert.Equal(t, "auth required pam_faillock.so preauth deny=3\nauth sufficient pam_unix.so\nauth [default=die] pam_faillock.so authfail deny=3\nauth required pam_deny.so\naccount required pam_faillock.so\naccount required pam_unix.so\n", string(got))
		got, err = os.ReadFile(account)
		require.NoError(t, err)
		assert.Equal(t, string(origAcct)+"account required pam_faillock.so\n", string(got))
	})
	byID := map[string]checks.Finding{}
	for _, f := range findings {
		byID[f.ID] = f
	}
	tally := byID["pam/module-missing:/lib/x86_64-linux-gnu/security/pam_tally2.so#pam_tally2.so"]
	require.NotEmpty(t, tally.Fixes, checkstest.FormatFindings(findings))
	assert.Equal(t, checks.Error, tally.Severity)
	assert.Contains(t, tally.Message, "no installed package provides it")
	assert.Contains(t, tally.Fixes[0].Message, "by its maintained successor pam_faillock.so")
	assert.Contains(t, tally.Fixes[1].Message, "Comment out the 4 line(s) naming pam_tally2.so")
	ga := byID["pam/module-missing:/lib/x86_64-linux-gnu/security/pam_google_authenticator.so#pam_google_authenticator.so"]
	require.Len(t, ga.Fixes, 1, checkstest.FormatFindings(findings))
	assert.Contains(t, ga.Fixes[0].Message, "this drops the rule it made")
}
