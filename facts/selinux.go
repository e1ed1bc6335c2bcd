package facts

import (
	"path"
	"sync"

	"rescue/parse/filecontexts"
	"rescue/parse/selinuxconfig"
)

// selinuxState caches the target's file labelling rules.
type selinuxState struct {
	once sync.Once
	set  *filecontexts.Set

	cfgOnce sync.Once
	cfg     selinuxconfig.Config
}

// SELinuxLabels returns the target's file_contexts rules when the target
// runs SELinux (enforcing or permissive) with a policy that has them, else
// nil. Restored files get their label from these rules, as restorecon
// would give it, so that confined services can read them at once.
func (f *Facts) SELinuxLabels() *filecontexts.Set {
	f.note(FileContexts)
	f.selinux.once.Do(func() {
		mode := f.selinuxConfig().Mode
		if mode != "enforcing" && mode != "permissive" {
			return
		}
		dir := path.Join("/etc/selinux", f.selinuxConfig().PolicyType(), "contexts/files")
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

// selinuxConfig is what /etc/selinux/config says; a missing or unreadable
// file says nothing (no mode, the default type).
func (f *Facts) selinuxConfig() selinuxconfig.Config {
	f.selinux.cfgOnce.Do(func() {
		data, _ := f.root.ReadFileLimit("/etc/selinux/config", 1<<20)
		f.selinux.cfg = selinuxconfig.Parse(data)
	})
	return f.selinux.cfg
}

// RestoreLabels is SELinuxLabels for planning a restore: the labels are
// part of building it, which the check asked for as packages, so they are
// not charged to the check.
func (f *Facts) RestoreLabels() *filecontexts.Set { return f.inner().SELinuxLabels() }
