package sshd

import (
	"strconv"
	"strings"
)

// account is what the check needs from one /etc/passwd line.
type account struct {
	name  string
	uid   int
	gid   int
	home  string
	shell string
}

// parsePasswd reads passwd(5) lines; malformed lines are skipped (the
// accounts check reports them).
func parsePasswd(data []byte) []account {
	var out []account
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 7 || f[0] == "" {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, account{name: f[0], uid: uid, gid: gid, home: f[5], shell: f[6]})
	}
	return out
}

// group is one /etc/group line.
type group struct {
	name    string
	gid     int
	members []string
}

func parseGroup(data []byte) []group {
	var out []group
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 4 || f[0] == "" {
			continue
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		g := group{name: f[0], gid: gid}
		for _, m := range strings.Split(f[3], ",") {
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
