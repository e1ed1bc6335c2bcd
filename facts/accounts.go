package facts

import (
	"sync"

	"rescue/parse/passwd"
	"rescue/sysroot"
)

// Accounts names the target's user and group databases, /etc/passwd and
// /etc/group, parsed once by parse/passwd for every check that maps names,
// ids and home directories.
const Accounts Fact = "accounts"

// AccountDB is the target's /etc/passwd and /etc/group. A missing or
// unreadable file is an empty one: a check then knows no user, which is
// what the target's own programs would see.
type AccountDB struct {
	Passwd *passwd.File
	Group  *passwd.File
}

// accountsState caches the parsed account files.
type accountsState struct {
	once sync.Once
	db   *AccountDB
}

// accountFileLimit bounds what is read of an account file: far more than
// any real system has, little enough that a hostile file cannot exhaust
// memory.
const accountFileLimit = 16 << 20

// Accounts returns the target's parsed /etc/passwd and /etc/group.
func (f *Facts) Accounts() *AccountDB {
	f.note(Accounts)
	f.accounts.once.Do(func() {
		f.accounts.db = &AccountDB{Passwd: readAccountFile(f.root, "/etc/passwd", passwd.Passwd), Group: readAccountFile(f.root, "/etc/group", passwd.Group)}
	})
	return f.accounts.db
}

func readAccountFile(r *sysroot.Root, p string, k passwd.Kind) *passwd.File {
	data, err := r.ReadFileLimit(p, accountFileLimit)
	if err != nil {
		data = nil
	}
	return passwd.Parse(data, k)
}

// Home returns the home directory /etc/passwd gives user (the first entry
// of that name with an absolute home), cleaned, or "" when there is none.
func (a *AccountDB) Home(user string) string {
	for _, l := range a.Passwd.Entries() {
		if l.Name() == user && len(l.Field(5)) > 0 && l.Field(5)[0] == '/' {
			return sysroot.Clean(l.Field(5))
		}
	}
	return ""
}

// GID returns the gid of a group name in /etc/group (the first entry, as
// getgrnam returns it), and whether the group exists.
func (a *AccountDB) GID(group string) (uint32, bool) {
	l, ok := a.Group.Lookup(group)
	if !ok {
		return 0, false
	}
	return passwd.UID(l, passwd.Group)
}
