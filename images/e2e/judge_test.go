package e2e

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/images/boot"
)

func TestOnPath(t *testing.T) {
	for _, c := range []struct {
		p     string
		paths []string
		want  bool
	}{
		{"/etc/fstab", []string{"/etc/fstab"}, true},
		{"/etc/ssh/sshd_config", []string{"/etc/ssh"}, true},
		{"/etc/ssh/sshd_config", []string{"/etc/ssh/"}, true},
		{"/etc/sshd", []string{"/etc/ssh"}, false},
		{"/etc/ssh", []string{"/etc/ssh"}, true},
		// "/" is a path like any other, not a prefix of every path.
		{"/", []string{"/"}, true},
		{"/etc/fstab", []string{"/"}, false},
		{"", []string{"/"}, false},
		{"/boot/grub/grub.cfg", []string{"/etc/fstab", "/boot"}, true},
		{"/bootx/grub.cfg", []string{"/boot"}, false},
	} {
		assert.Equal(t, c.want, onPath(c.p, c.paths), "%s in %v", c.p, c.paths)
	}
}

// report builds a fixReport from its JSON, as rescue prints it.
func report(t *testing.T, js string) *fixReport {
	var r fixReport
	require.NoError(t, json.Unmarshal([]byte(js), &r))
	return &r
}

func TestFindingOf(t *testing.T) {
	sc := &Scenario{Finding: "perms/root-dir", Paths: []string{"/"}}
	id, why := findingOf(sc, report(t, `{"findings":[{"id":"perms/root-dir:/","path":"/"}]}`))
	assert.Equal(t, "perms/root-dir:/", id, why)

	// A finding of the right kind elsewhere does not count: "/" is not a
	// prefix of /etc.
	id, why = findingOf(sc, report(t, `{"findings":[{"id":"perms/root-dir:/etc","path":"/etc"},{"id":"fstab/x:/etc/fstab","path":"/etc/fstab"}]}`))
	assert.Empty(t, id)
	assert.Equal(t, "rescue reports no perms/root-dir on /; it reports fstab/x:/etc/fstab, perms/root-dir:/etc", why)

	// Another finding on the right path does not count either.
	sc = &Scenario{Finding: "zerosize/empty", Paths: []string{"/usr/bin/bash", "/bin/bash"}}
	id, _ = findingOf(sc, report(t, `{"findings":[{"id":"pkgfiles/damaged:/bin/bash#bash","path":"/bin/bash"}]}`))
	assert.Empty(t, id)
	id, _ = findingOf(sc, report(t, `{"findings":[{"id":"pkgfiles/damaged:/bin/bash#bash","path":"/bin/bash"},{"id":"zerosize/empty:/usr/bin/bash","path":"/usr/bin/bash"}]}`))
	assert.Equal(t, "zerosize/empty:/usr/bin/bash", id)
	// A kind that merely begins like the wanted one is another kind.
	id, _ = findingOf(&Scenario{Finding: "fstab/source-unknown", Paths: []string{"/etc/fstab"}},
		report(t, `{"findings":[{"id":"fstab/source-unknown-nofail:/etc/fstab#/data","path":"/etc/fstab"}]}`))
	assert.Empty(t, id)

	_, why = findingOf(sc, report(t, `{}`))
	assert.Contains(t, why, "it reports nothing")
}

func TestJudgeFix(t *testing.T) {
	const id = "fstab/root-source-unknown:/etc/fstab#/"
	good := report(t, `{"result":{"id":"r1","items":[{"finding":"`+id+`","status":"applied"},{"finding":"other","status":"skipped"}]},"remaining":[]}`)
	assert.Empty(t, judgeFix(id, good, 1, 1))
	assert.Equal(t, []string{"rescue fix --apply exited 4, want 1"}, judgeFix(id, good, 4, 1))

	// Another finding's fix applied is not this one's.
	other := report(t, `{"result":{"id":"r1","items":[{"finding":"other","status":"applied"}]}}`)
	assert.Equal(t, []string{"rescue applied no fix for " + id}, judgeFix(id, other, 1, 1))
	skipped := report(t, `{"result":{"id":"r1","items":[{"finding":"`+id+`","status":"refused","reason":"changed since the scan"}]},"remaining":[{"id":"`+id+`"}]}`)
	assert.Equal(t, []string{
		"the fix for " + id + " was not applied: refused (changed since the scan)",
		"rescue fix says " + id + " remains",
	}, judgeFix(id, skipped, 4, 4))
	failed := report(t, `{"error":"disk full"}`)
	assert.Equal(t, []string{"rescue fix: disk full", "rescue fix --apply exited 8, want 1", "rescue applied no fix for " + id}, judgeFix(id, failed, 8, 1))
}

func TestJudgeRescan(t *testing.T) {
	const id = "grub/config-missing:/boot/grub/grub.cfg"
	assert.Empty(t, judgeRescan(id, report(t, `{"findings":[]}`), 0, 0))
	assert.Equal(t, []string{"the rescan of the repaired image still finds " + id, "the rescan exited 4, want 0"},
		judgeRescan(id, report(t, `{"findings":[{"id":"`+id+`"}]}`), 4, 0))
	assert.Empty(t, judgeRescan(id, report(t, `{"findings":[{"id":"kernels/incomplete:/boot/vmlinuz"}]}`), 4, 4))
}

func TestJudgeBase(t *testing.T) {
	assert.Empty(t, judgeBase(report(t, `{"findings":[]}`), 0))
	assert.Equal(t, []string{"rescue finds x/y:/etc/z on the healthy image", "rescue scan of the healthy image exited 4, want 0"},
		judgeBase(report(t, `{"findings":[{"id":"x/y:/etc/z"}]}`), 4))
}

// TestExpectLogins: a fault PAM applies to ordinary users only is seen in
// their login, not in root's.
func TestExpectLogins(t *testing.T) {
	e := Expect{Class: boot.LoggedIn, Logins: map[string]boot.Class{"debian@serial": boot.NoShell}}
	ok, why := e.Met(oneLoginFails())
	assert.True(t, ok, why)
	ok, why = e.Met(healthyResult())
	assert.False(t, ok)
	assert.Equal(t, "login debian@serial: got LOGGED_IN (), want NO_SHELL", why)
	r := healthyResult()
	r.Logins = r.Logins[:1]
	ok, why = e.Met(r)
	assert.False(t, ok)
	assert.Contains(t, why, "was not tried")
	assert.Equal(t, "LOGGED_IN (debian@serial NO_SHELL)", e.String())

	ok, _ = healthy.Met(oneLoginFails())
	assert.False(t, ok, "a repaired boot needs every login")
	ok, _ = healthy.Met(healthyResult())
	assert.True(t, ok)
}

// TestSessions: a claim about what the sessions answered is measured on
// the logins it names.
func TestSessions(t *testing.T) {
	check := sessions("nofile", "1024", "debian@serial", "root@ssh")
	assert.Empty(t, check(measuredResult()))
	r := measuredResult()
	r.Logins[2].NoFile = "2000000000"
	assert.Equal(t, `login root@ssh: nofile is "2000000000", want "1024"`, check(r))
	r.Logins = r.Logins[:2]
	assert.Equal(t, "the login root@ssh was not tried", check(r))
	assert.Equal(t, `login debian@serial: loginuid is "", want "4294967295"`, sessions("loginuid", "4294967295", "debian@serial")(healthyResult()))
}
