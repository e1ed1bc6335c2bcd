package pkgdb

import (
	"strconv"
	"strings"

	"rescue/parse/passwd"
	"rescue/sysroot"
)

// IDs maps user and group names to numbers through the target's own
// /etc/passwd and /etc/group: a package records names, and the numbers
// behind them are the target's, not the helper's.
type IDs struct {
	users  map[string]int
	groups map[string]int
}

// LoadIDs reads the target's /etc/passwd and /etc/group. Missing or
// unreadable files leave only root known.
func LoadIDs(root *sysroot.Root) *IDs {
	ids := &IDs{users: map[string]int{}, groups: map[string]int{}}
	if data, err := root.ReadFile("/etc/passwd"); err == nil {
		ids.users = idMap(passwd.Parse(data, passwd.Passwd))
	}
	if data, err := root.ReadFile("/etc/group"); err == nil {
		ids.groups = idMap(passwd.Parse(data, passwd.Group))
	}
	return ids
}

// idMap maps the names of a passwd or group file to their uid or gid. The
// first entry of a name wins, as in getpwnam.
func idMap(f *passwd.File) map[string]int {
	out := map[string]int{}
	for _, l := range f.Entries() {
		n, ok := passwd.UID(l, f.Kind)
		if _, dup := out[l.Name()]; ok && !dup {
			out[l.Name()] = int(n)
		}
	}
	return out
}

// UID returns the uid of a user name ("#1000" is a number, as in dpkg's
// statoverride), and whether it is known. root is always 0.
func (ids *IDs) UID(name string) (int, bool) { return lookup(ids.users, name) }

// GID returns the gid of a group name, and whether it is known.
func (ids *IDs) GID(name string) (int, bool) { return lookup(ids.groups, name) }

func lookup(m map[string]int, name string) (int, bool) {
	if name == "root" {
		return 0, true
	}
	if n, ok := strings.CutPrefix(name, "#"); ok {
		v, err := strconv.Atoi(n)
		return v, err == nil && v >= 0
	}
	if m == nil {
		return -1, false
	}
	v, ok := m[name]
	if !ok {
		return -1, false
	}
	return v, true
}
