package fsstate

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"rescue/bytesize"
	"rescue/checks"
	"rescue/facts"
	"rescue/facts/pamstack"
	"rescue/parse/pamconf"
)

// Check is the fsstate check.
var Check = &checks.Check{
	Name:     "fsstate",
	Doc:      doc,
	Requires: []facts.Fact{facts.Filesystems, facts.PAMStacks},
	Kinds:    []string{"errors", "not-clean", "needs-recovery", "full", "no-inodes", "nearly-full", "nearly-no-inodes", "duplicate-uuid"},
	Run:      run,
}

// Thresholds for "full". A filesystem is out of space when less than
// fullBytes are available to ordinary users, or fewer than fullInodes
// inodes are free; nearly full when 95% is used and less than nearGB
// remain (a 2 TB data disk at 95% still has 100 GB).
const (
	fullBytes  = 16 << 20
	fullInodes = 1000
	nearFull   = 0.95
	nearBytes  = 1 << 30
)

// fullImpact is what a full filesystem breaks, as a boot measured it.
const fullImpact = "what must write fails, logins do not: on Debian 12 with its root full to the last block (the reserved blocks too), " +
	"the units that save state at boot failed (systemd-random-seed, systemd-update-utmp, systemd-machine-id-commit) and the system was degraded, " +
	"while root and an ordinary user logged in on the console and over SSH; logs, package installs and services that write their data at start fail. " +
	"auditd set to HALT or SINGLE on a full disk takes the machine down instead (auditd/halt-on-disk), " +
	"and a PAM stack with pam_lastlog as required refuses the first login of a user whose lastlog record cannot be written"

// maxWalk bounds the entries counted to find the largest directories.
const maxWalk = 500000

const fsckNoFix = "a filesystem check cannot be undone, so it is not part of the reversible repair: " +
	"rescue fix DEVICE --apply --allow-fsck runs %s on the unmounted filesystem before mounting it read-write"

func run(pass *checks.Pass) error {
	list := pass.Facts.Filesystems()
	if list == nil {
		pass.Note("no disk: filesystem state and free space are checked when rescue is given the device or image (rescue scan /dev/vdb)")
		return nil
	}
	mounts := map[string]bool{}
	for _, f := range list {
		if f.MountPoint != "" {
			mounts[f.MountPoint] = true
		}
	}
	for i := range list {
		c := &checker{pass: pass, fs: &list[i], mounts: mounts}
		c.state()
		c.space()
		c.duplicate()
	}
	return nil
}

type checker struct {
	pass *checks.Pass
	fs   *facts.Filesystem
	// mounts are the target's mount points of all its filesystems: the
	// walk for the largest directories stays out of the others.
	mounts map[string]bool
}

// where is the finding's path: the mount point in the target, or the
// device when the target does not mount the filesystem.
func (c *checker) where() (p, subject string) {
	if c.fs.MountPoint != "" {
		return c.fs.MountPoint, ""
	}
	return "", c.fs.Device
}

func (c *checker) name() string {
	s := fmt.Sprintf("the %s filesystem on %s", c.fs.Type, c.fs.Device)
	if c.fs.MountPoint != "" {
		s += fmt.Sprintf(" (%s)", c.fs.MountPoint)
	}
	return s
}

func fsckTool(fstype string) string {
	if fstype == "xfs" {
		return "xfs_repair"
	}
	return "e2fsck -p"
}

func (c *checker) state() {
	f := c.fs
	p, subject := c.where()
	var evidence []string
	if f.Fsck != nil {
		evidence = append(evidence, fmt.Sprintf("rescue ran %s before mounting: exit %d", f.Fsck.Command, f.Fsck.ExitCode))
		if f.Fsck.Output != "" {
			evidence = append(evidence, strings.Split(strings.TrimSpace(f.Fsck.Output), "\n")...)
		}
	}
	noFix := fmt.Sprintf(fsckNoFix, fsckTool(f.Type))
	if f.Fsck != nil {
		noFix = fmt.Sprintf("%s did not leave it clean; check it by hand (e2fsck -f, or xfs_repair) and look at its output", f.Fsck.Command)
	}
	switch {
	case f.Errors:
		msg := c.name() + " has errors recorded by the kernel"
		if f.ErrorCount > 0 {
			msg += fmt.Sprintf(" (%d error(s)", f.ErrorCount)
			if f.LastError != "" {
				msg += ", the last in " + f.LastError
			}
			msg += ")"
		} else if f.LastError != "" {
			msg += " (" + f.LastError + ")"
		}
		c.pass.Report(checks.Finding{
			Kind: "errors", Subject: subject, Severity: checks.Critical, Path: p,
			Message:  msg,
			Impact:   "boot runs fsck on it; when the preen mode cannot repair it, boot stops in emergency mode, and the kernel remounts it read-only at the next error",
			Evidence: evidence, NoFix: noFix,
		})
	case f.NotClean:
		c.pass.Report(checks.Finding{
			Kind: "not-clean", Subject: subject, Severity: checks.Warning, Path: p,
			Message:  c.name() + " was not unmounted cleanly and has no journal",
			Impact:   "boot runs a full fsck on it, which takes long on a large filesystem and stops in emergency mode if it finds what it cannot repair",
			Evidence: evidence, NoFix: noFix,
		})
	}
	if f.NeedsRecovery {
		what, impact := "journal", "the next mount replays it; until then this scan sees the filesystem as it was before the last changes (files written just before the crash may look older or be missing)"
		if f.Type == "xfs" || f.Type == "btrfs" {
			what = "log"
			if f.Type == "xfs" {
				impact += "; if the log cannot be replayed, the mount fails and so does the boot"
			}
		}
		c.pass.Report(checks.Finding{
			Kind: "needs-recovery", Subject: subject, Severity: checks.Warning, Path: p,
			Message: fmt.Sprintf("%s was not unmounted cleanly: its %s holds changes not yet written back", c.name(), what),
			Impact:  impact,
			NoFix: fmt.Sprintf("nothing to repair by hand: rescue fix --apply mounts it read-write, which replays the %s as the next boot would "+
				"(with --allow-fsck it is also checked first)", what),
		})
	}
}

func (c *checker) space() {
	f := c.fs
	if f.MountPoint == "" || f.SizeBytes == 0 {
		return
	}
	used := 1 - float64(f.AvailBytes)/float64(f.SizeBytes)
	var inodeUsed float64
	if f.Inodes > 0 {
		inodeUsed = 1 - float64(f.FreeInodes)/float64(f.Inodes)
	}
	var kind, msg string
	sev := checks.Warning
	impact := "services fail to start or to write their state and logs, and logins fail where a session must be recorded"
	switch {
	case f.AvailBytes < fullBytes:
		// A warning, not an error (cannot log in): a boot of Debian 12
		// with its root filled to the last block, the reserved blocks
		// too, let root and an ordinary user log in on the console and
		// over SSH (e2e row disk-full-spill). Nothing a login needs is
		// written to the disk: sshd's privilege separation is in /run,
		// logind's sessions in /run, and the utmp, wtmp and lastlog
		// records that login, sshd and PAM write are not required
		// (OpenSSH's loginrec logs a failed write and goes on; Debian's
		// and RHEL's default stacks load pam_lastlog as optional).
		// auditd's HALT or SINGLE takes the machine down on a full
		// disk: the auditd check grades that as critical or error. A
		// stack hardened with "session required pam_lastlog.so" (CIS,
		// STIG) fails a login whose lastlog record needs a new block
		// (pam_lastlog returns PAM_SERVICE_ERR when the write fails):
		// an error when not even root has room (lastlogRequired).
		kind = "full"
		impact = fullImpact
		msg = fmt.Sprintf("%s is full: %s of %s available", c.name(), size(f.AvailBytes), size(f.SizeBytes))
		if f.FreeBytes > f.AvailBytes+c.pool()+fullBytes {
			msg += fmt.Sprintf(" (%s more reserved for root)", size(f.FreeBytes-f.AvailBytes-c.pool()))
		}
		if c.rootFull() && c.holds(f.MountPoint, lastlogFile) {
			if at := lastlogRequired(c.pass.Facts.PAMStacks()); at != "" {
				sev = checks.Error
				msg += fmt.Sprintf("; %s has pam_lastlog as required, and %s has no room for a new lastlog record even for root", at, lastlogFile)
				impact = "logins are refused whose lastlog record needs a new block (a user's first login here): pam_lastlog fails the session when it cannot write the record. " +
					"Besides, " + fullImpact
			}
		}
	case f.Inodes > 0 && f.FreeInodes < fullInodes:
		kind, sev = "no-inodes", checks.Error
		msg = fmt.Sprintf("%s is out of inodes: %d of %d free, so no file can be created although %s is available", c.name(), f.FreeInodes, f.Inodes, size(f.AvailBytes))
	case used >= nearFull && f.AvailBytes < nearBytes:
		kind = "nearly-full"
		msg = fmt.Sprintf("%s is %.0f%% full: %s of %s available", c.name(), used*100, size(f.AvailBytes), size(f.SizeBytes))
	case inodeUsed >= nearFull:
		kind = "nearly-no-inodes"
		msg = fmt.Sprintf("%s has %.0f%% of its inodes in use: %d of %d free", c.name(), inodeUsed*100, f.FreeInodes, f.Inodes)
	default:
		return
	}
	if f.MountPoint == "/boot" {
		impact = "a kernel update cannot write its initramfs, which leaves the next kernel unable to boot"
	}
	bySize := kind == "full" || kind == "nearly-full"
	largest, evidence := c.largest(f.MountPoint, bySize)
	if largest != "" && bySize {
		msg += "; the largest directories: " + largest
	} else if largest != "" {
		msg += "; the directories with the most files: " + largest
	}
	c.pass.Report(checks.Finding{
		Kind: kind, Severity: sev, Path: f.MountPoint,
		Message: msg, Impact: impact, Evidence: evidence,
		NoFix: "rescue deletes no data: rescue fix --spill DIR moves rotated logs, archived journal files, package caches and core dumps to DIR on the helper (rescue undo puts them back); " +
			"or free space and inodes by hand: rotated and old logs in /var/log (journalctl --vacuum-size on the running system), " +
			"package caches (/var/cache/apt, /var/cache/dnf, /var/cache/yum), core dumps (/var/crash, /var/lib/systemd/coredump), old files in /tmp and /var/tmp",
	})
}

// lastlogFile is where pam_lastlog (and login, sshd) record the last login.
const lastlogFile = "/var/log/lastlog"

// rootFull reports whether not even root can allocate on the filesystem:
// what is free is no more than ext4's pool that nobody can allocate and
// fullBytes.
// A filesystem filled by root's own daemons (logs) is full this way; one
// filled by ordinary users still has the blocks reserved for root.
func (c *checker) rootFull() bool {
	return c.fs.FreeBytes < c.pool()+fullBytes
}

// pool is what ext4 keeps free for itself (s_resv_clusters, which statfs
// counts free but not available, to root neither): 2% of its blocks, at
// most 4096 (ext4_calculate_resv_clusters), taken as at most 16 MiB.
func (c *checker) pool() uint64 {
	if c.fs.Type != "ext4" {
		return 0
	}
	return min(c.fs.SizeBytes/50, 16<<20)
}

// holds reports whether the filesystem mounted at mount is the one that
// holds p: the longest of the target's mount points that is p's prefix.
func (c *checker) holds(mount, p string) bool {
	best := ""
	for m := range c.mounts {
		if (m == "/" || p == m || strings.HasPrefix(p, m+"/")) && len(m) > len(best) {
			best = m
		}
	}
	return best == mount
}

// lastlogRequired returns where the session stack of login or sshd, as
// libpam builds it (includes, substacks, "other" when the service has no
// session line), loads pam_lastlog as required or requisite and updating
// the record (no noupdate), as "/etc/pam.d/login:12", or "". pam_lastlog
// returns PAM_SERVICE_ERR when it cannot write the record
// (last_login_write), which fails the session: CIS and STIG hardening
// write such a line. A "[...]" control is not judged.
func lastlogRequired(pam *pamstack.Config) string {
	for _, svc := range []string{"login", "sshd"} {
		for _, e := range pam.Stack(svc, "session").Entries {
			l := e.Line
			if l.Err == nil && (l.Control == "required" || l.Control == "requisite") &&
				pamconf.ModuleName(l.Module) == "pam_lastlog.so" && !slices.Contains(l.Args, "noupdate") {
				return e.At()
			}
		}
	}
	return ""
}

// dirSize is the apparent size and file count of a directory tree.
type dirSize struct {
	path  string
	bytes int64
	files int64
}

// largest walks the filesystem mounted at mount (not crossing into other
// filesystems) and names its largest directories, with the largest
// subdirectory of each. bySize picks bytes (else file counts, for inodes).
func (c *checker) largest(mount string, bySize bool) (string, []string) {
	r := c.pass.Root
	top, err := r.Lstat(mount)
	if err != nil {
		return "", nil
	}
	dev := devOf(top)
	level1 := map[string]*dirSize{}
	level2 := map[string]*dirSize{}
	depth := func(p string) []string {
		rel := strings.TrimPrefix(p, strings.TrimSuffix(mount, "/")+"/")
		if rel == p && mount != "/" {
			return nil
		}
		return strings.Split(rel, "/")
	}
	n := 0
	truncated := false
	r.Walk(mount, func(p string, fi fs.FileInfo, err error) error {
		if err != nil || fi == nil {
			return nil
		}
		if n++; n > maxWalk {
			truncated = true
			return fs.SkipAll
		}
		if fi.IsDir() && p != mount && (devOf(fi) != dev || c.mounts[p]) {
			return fs.SkipDir // another filesystem mounted here
		}
		parts := depth(p)
		if len(parts) == 0 || p == mount {
			return nil
		}
		add := func(m map[string]*dirSize, k string) {
			d := m[k]
			if d == nil {
				d = &dirSize{path: k}
				m[k] = d
			}
			if !fi.IsDir() {
				d.bytes += fi.Size()
			}
			d.files++
		}
		base := strings.TrimSuffix(mount, "/")
		if len(parts) >= 2 || fi.IsDir() {
			add(level1, base+"/"+parts[0])
		}
		if len(parts) >= 3 || (len(parts) == 2 && fi.IsDir()) {
			add(level2, base+"/"+parts[0]+"/"+parts[1])
		}
		return nil
	})
	metric := func(d *dirSize) int64 {
		if bySize {
			return d.bytes
		}
		return d.files
	}
	sorted := func(m map[string]*dirSize) []*dirSize {
		var out []*dirSize
		for _, d := range m {
			out = append(out, d)
		}
		slices.SortFunc(out, func(a, b *dirSize) int {
			if metric(a) != metric(b) {
				if metric(a) > metric(b) {
					return -1
				}
				return 1
			}
			return strings.Compare(a.path, b.path)
		})
		return out
	}
	show := func(d *dirSize) string {
		if bySize {
			return fmt.Sprintf("%s %s", d.path, size(uint64(d.bytes)))
		}
		return fmt.Sprintf("%s %d files", d.path, d.files)
	}
	var parts, evidence []string
	subs := sorted(level2)
	for i, d := range sorted(level1) {
		if metric(d) == 0 {
			break
		}
		s := show(d)
		for _, sub := range subs {
			if strings.HasPrefix(sub.path, d.path+"/") && metric(sub) > 0 {
				s += " (" + show(sub) + ")"
				break
			}
		}
		if i < 3 {
			parts = append(parts, s)
		}
		if i < 10 {
			evidence = append(evidence, s)
		}
	}
	if truncated {
		evidence = append(evidence, fmt.Sprintf("(counted the first %d entries only)", maxWalk))
	}
	return strings.Join(parts, ", "), evidence
}

func devOf(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*unix.Stat_t); ok {
		return st.Dev
	}
	return 0
}

func (c *checker) duplicate() {
	f := c.fs
	if f.HostDuplicate == "" {
		return
	}
	p, subject := c.where()
	c.pass.Report(checks.Finding{
		Kind: "duplicate-uuid", Subject: subject, Severity: checks.Info, Path: p,
		Message: fmt.Sprintf("%s has the UUID %s, the same as the helper's own %s: the disk is a clone of the helper's disk", c.name(), f.UUID, f.HostDuplicate),
		Impact:  "while both disks are attached, the boot loader and the initramfs, which find filesystems by UUID, may pick the helper's; detach the disk from the helper before booting from it",
		NoFix:   "nothing is wrong with the target itself; changing the UUID would also mean changing every fstab and boot loader entry that names it",
	})
}

// size writes a filesystem or file size as the findings show it.
func size(n uint64) string { return bytesize.Format(int64(n), bytesize.Tenths) }
