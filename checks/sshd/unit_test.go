package sshd

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"rescue/parse/passwd"
)

func TestConvtime(t *testing.T) {
	for in, want := range map[string]int64{
		"120": 120, "2m": 120, "1h30m": 5400, "1H30M": 5400, "10s": 10, "1w": 604800, "0": 0,
		"": -1, "30x": -1, "m": -1, "1.5m": -1, "-1": -1, "9999999999": -1,
	} {
		assert.Equal(t, want, convtime(in), in)
	}
}

func TestMatchPattern(t *testing.T) {
	assert.True(t, matchPattern("admin", "admin"))
	assert.True(t, matchPattern("admin", "ad*"))
	assert.True(t, matchPattern("admin", "*"))
	assert.True(t, matchPattern("admin", "a?m*n"))
	assert.False(t, matchPattern("admin", "adm"))
	assert.False(t, matchPattern("", "?"))
	assert.True(t, matchList("wheel", "adm,wh*"))
	assert.False(t, matchList("wheel", "*,!wheel"))
	assert.False(t, matchList("wheel", "adm"))
}

func TestRefused(t *testing.T) {
	c := &checker{groups: groupsFrom(passwd.Parse([]byte("wheel:x:10:alice\nalice:x:1000:\nbob:x:1001:\n"), passwd.Group))}
	alice := account{name: "alice", uid: 1000, gid: 1000}
	bob := account{name: "bob", uid: 1001, gid: 1001}
	root := account{name: "root", uid: 0, gid: 0}
	assert.Equal(t, "PermitRootLogin no", c.refused(root, "no", nil))
	assert.Equal(t, "", c.refused(root, "prohibit-password", nil))
	lists := map[string][]string{"allowusers": {"alice@10.0.0.*"}}
	assert.Equal(t, "", c.refused(alice, "no", lists), "a host part cannot be judged offline: the user counts as allowed")
	assert.Equal(t, "not in AllowUsers", c.refused(bob, "no", lists))
	lists = map[string][]string{"denyusers": {"bob@1.2.3.4", "ali*"}}
	assert.Equal(t, "", c.refused(bob, "no", lists), "a DenyUsers entry with a host does not deny everywhere")
	assert.Contains(t, c.refused(alice, "no", lists), "DenyUsers")
	lists = map[string][]string{"allowgroups": {"wheel"}}
	assert.Equal(t, "", c.refused(alice, "no", lists), "alice is in wheel as a supplementary group")
	assert.Equal(t, "in none of the AllowGroups", c.refused(bob, "no", lists))
	lists = map[string][]string{"denygroups": {"bob"}}
	assert.Contains(t, c.refused(bob, "no", lists), "DenyGroups", "the primary group counts")
}

func FuzzAccounts(f *testing.F) {
	f.Add([]byte("root:x:0:0:root:/root:/bin/bash\nbad\n:x:1:1::/:\n"), []byte("wheel:x:10:a,b\n"))
	f.Fuzz(func(t *testing.T, pw, group []byte) {
		gs := groupsFrom(passwd.Parse(group, passwd.Group))
		for _, a := range accountsOf(passwd.Parse(pw, passwd.Passwd)) {
			if a.name == "" {
				t.Fatal("empty user name")
			}
			groupsOf(a, gs)
		}
	})
}
