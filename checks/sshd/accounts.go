package sshd

import (
	"strconv"
	"strings"

	"rescue/parse/passwd"
)

// account is what the check needs from one /etc/passwd line.
type account struct {
	name  string
	uid   int
	gid   int
	home  string
	shell string
}

// accountsOf turns the target's passwd entries into accounts.
func accountsOf(f *passwd.File) []account {
	var out []account
	for _, l := range f.Entries() {
		uid, _ := passwd.UID(l, passwd.Passwd)
		gid, _ := strconv.Atoi(l.Field(3))
		out = append(out, account{name: l.Name(), uid: int(uid), gid: gid, home: l.Field(5), shell: l.Field(6)})
	}
	return out
}

// group is one /etc/group line.
type group struct {
	name    string
	gid     int
	members []string
}

// groupsFrom turns the target's group entries into groups.
func groupsFrom(f *passwd.File) []group {
	var out []group
	for _, l := range f.Entries() {
		gid, _ := passwd.UID(l, passwd.Group)
		g := group{name: l.Name(), gid: int(gid)}
		for _, m := range strings.Split(l.Field(3), ",") {
			if m = strings.TrimSpace(m); m != "" {
				g.members = append(g.members, m)
			}
		}
		out = append(out, g)
	}
	return out
}

// groupsOf returns the names of the groups a user is in: the primary group
// and every group that lists the user.
func groupsOf(a account, groups []group) []string {
	var out []string
	for _, g := range groups {
		if g.gid == a.gid {
			out = append(out, g.name)
			continue
		}
		for _, m := range g.members {
			if m == a.name {
				out = append(out, g.name)
				break
			}
		}
	}
	return out
}

// noLoginShells are the shells that refuse an interactive login.
var noLoginShells = map[string]bool{
	"/sbin/nologin": true, "/usr/sbin/nologin": true, "/bin/false": true, "/usr/bin/false": true,
	"/bin/sync": true, "/usr/bin/sync": true, "/sbin/shutdown": true, "/usr/sbin/shutdown": true,
	"/sbin/halt": true, "/usr/sbin/halt": true, "/bin/true": true, "/usr/bin/true": true,
}

// matchPattern is OpenSSH's match_pattern: '*' matches any run of
// characters, '?' any one character.
func matchPattern(s, pattern string) bool {
	for {
		if pattern == "" {
			return s == ""
		}
		switch pattern[0] {
		case '*':
			pattern = pattern[1:]
			if pattern == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if matchPattern(s[i:], pattern) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != pattern[0] {
				return false
			}
		}
		s, pattern = s[1:], pattern[1:]
	}
}

// matchList is match_pattern_list for a comma-separated list: a matching
// negated entry ("!pattern") means no match, else any matching entry.
func matchList(s, list string) bool {
	got := false
	for _, p := range strings.Split(list, ",") {
		neg := strings.HasPrefix(p, "!")
		if neg {
			p = p[1:]
		}
		if matchPattern(s, p) {
			if neg {
				return false
			}
			got = true
		}
	}
	return got
}
