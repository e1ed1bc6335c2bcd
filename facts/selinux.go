package facts

import (
	"path"
	"strings"
	"sync"

	"rescue/parse/filecontexts"
)

// selinuxState caches the target's file labelling rules.
type selinuxState struct {
	once sync.Once
	set  *filecontexts.Set
}

// SELinuxLabels returns the target's file_contexts rules when the target
// runs SELinux (enforcing or permissive) with a policy that has them, else
// nil. Restored files get their label from these rules, as restorecon
// would give it, so that confined services can read them at once.
func (f *Facts) SELinuxLabels() *filecontexts.Set {
	f.selinux.once.Do(func() {
		mode := f.SELinuxMode()
		if mode != "enforcing" && mode != "permissive" {
			return
		}
		dir := path.Join("/etc/selinux", f.selinuxType(), "contexts/files")
		main, err := f.root.ReadFileLimit(path.Join(dir, "file_contexts"), 64<<20)
		if err != nil {
			return
		}
		specs, _ := filecontexts.Parse(main)
		files := [][]*filecontexts.Spec{specs}
		for _, extra := range []string{"file_contexts.homedirs", "file_contexts.local"} {
			if data, err := f.root.ReadFileLimit(path.Join(dir, extra), 64<<20); err == nil {
				s, _ := filecontexts.Parse(data)
				files = append(files, s)
			}
		}
		var subs filecontexts.Subs
		// The local aliases are consulted before the distribution's.
		for _, name := range []string{"file_contexts.subs", "file_contexts.subs_dist"} {
			if data, err := f.root.ReadFileLimit(path.Join(dir, name), 1<<20); err == nil {
				subs = append(subs, filecontexts.ParseSubs(data)...)
			}
		}
		f.selinux.set = filecontexts.NewSet(subs, files...)
	})
	return f.selinux.set
}

// selinuxType is the SELINUXTYPE of /etc/selinux/config ("targeted" when
// unset).
func (f *Facts) selinuxType() string {
	t := "targeted"
	data, err := f.root.ReadFileLimit("/etc/selinux/config", 1<<20)
	if err != nil {
		return t
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "SELINUXTYPE="); ok {
			if v = strings.Trim(strings.TrimSpace(v), `"'`); v != "" && !strings.ContainsAny(v, "/.") {
				t = v
			}
		}
	}
	return t
}
