package facts

// UnitEnabled reports whether a systemd unit is enabled in one of the
// usual targets: the symlink "systemctl enable" makes is in the target's
// .wants directory under /etc/systemd/system.
func (f *Facts) UnitEnabled(unit string) bool {
	f.note(EnabledUnits)
	for _, t := range []string{"multi-user.target.wants", "network-online.target.wants", "graphical.target.wants", "network.target.wants", "basic.target.wants", "sysinit.target.wants", "network-pre.target.wants"} {
		if _, err := f.root.Lstat("/etc/systemd/system/" + t + "/" + unit); err == nil {
			return true
		}
	}
	return false
}
