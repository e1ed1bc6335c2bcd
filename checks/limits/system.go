package limits

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"rescue/facts/pamstack"
	"rescue/parse/osrelease"
	"rescue/parse/pamconf"
	"rescue/parse/sysctlconf"
	"rescue/pkgdb"
	"rescue/sysroot"
)

const (
	// kernelNrOpen is the kernel's default fs.nr_open (1024*1024).
	kernelNrOpen = 1 << 20
	// systemdNrOpen is what systemd 240 and later write to fs.nr_open at
	// boot on 64-bit machines: the largest value the kernel accepts when
	// halving down from INT_MAX in multiples of the pointer size.
	systemdNrOpen = 1073741816
)

// system is what the check needs to know about the target's release.
type system struct {
	os osrelease.Info
	// systemd is systemd's version, 0 when there is no systemd, -1 when
	// systemd is there but its version could not be told.
	systemd       int
	systemdSource string
	// nrOpen is the fs.nr_open the running system will have, and why.
	nrOpen       int64
	nrOpenSource string
	// pamUnlimitedOK is set when pam_limits replaces "unlimited" nofile by
	// fs.nr_open (Linux-PAM 1.5.2 and later).
	pamUnlimitedOK bool
}

// modern reports whether systemd raises fs.nr_open at boot (240 and later).
func (s *system) modern() bool { return s.systemd >= 240 }

// pid1NoFileBefore240 is the hard open-file limit systemd before 240 gives
// itself at boot (src/core/main.c: "Bump up the resource limit for
// ourselves substantially", 64*1024, through setrlimit_closest).
const pid1NoFileBefore240 = 64 * 1024

// fallbackHard is PID 1's own RLIMIT_NOFILE (soft and hard alike), which
// a service inherits and systemd falls back to when the kernel refuses
// the service's limit. systemd 240 and later raise theirs to fs.nr_open as
// they raised it (bump_rlimit_nofile), before the target's sysctl settings
// can lower fs.nr_open; older ones to 65536. An unknown version is read as
// the older (the fallback that fails less often: an error must be
// certain).
func (s *system) fallbackHard() uint64 {
	if s.modern() {
		return systemdNrOpen
	}
	return pid1NoFileBefore240
}

// nofileOutcome is what systemd makes of a NOFILE limit soft:hard whose
// hard side is above fs.nr_open m: the limit the service runs with, or
// that it fails to start (status 205/LIMITS). src/core/execute.c applies
// every Limit*= with setrlimit_closest (src/basic/rlimit-util.c): the
// kernel refuses a hard limit above fs.nr_open (EPERM); systemd then asks
// for MIN(wanted, the hard limit the service inherited from PID 1), soft
// and hard, and when that is exactly what the service already has it
// sets nothing and succeeds ("Shortcut things if we wouldn't change
// anything"): a service asking for PID 1's limit or more on both sides
// (LimitNOFILE=infinity) keeps PID 1's, above a lowered fs.nr_open
// (measured on Debian 12: ssh.service with LimitNOFILE=infinity and
// fs.nr_open = 1048576 runs and takes logins). Otherwise
// the fallback is set, and refused too when its hard side is still above
// fs.nr_open.
//
// But two Debian 12 boots (systemd 252, /etc/sysctl.d/90-fd.conf setting
// fs.nr_open = 1048576) ran ssh.service with LimitNOFILE=infinity and
// with LimitNOFILE=2000000, and took logins, where this reading says the
// second fails. Until a boot shows a failure, systemd 240 and later are
// graded by what was measured: the service starts (a warning).
func (s *system) nofileOutcome(soft, hard, m uint64) (limit uint64, fails bool) {
	fb := s.fallbackHard()
	fh := min(hard, fb)
	if s.modern() {
		return fh, false
	}
	if fh > m {
		return 0, true
	}
	return fh, false
}

func (s *system) describe() string {
	switch {
	case s.systemd > 0:
		return fmt.Sprintf("systemd %d", s.systemd)
	case s.systemd < 0:
		return "systemd of unknown version"
	}
	return "no systemd"
}

// evidence says how the systemd version was told.
func (s *system) evidence() string {
	if s.systemdSource == "" {
		return s.describe()
	}
	return s.describe() + ": " + s.systemdSource
}

func readSystem(root *sysroot.Root, info osrelease.Info, db pkgdb.DB, sysctl *sysctlconf.Set) *system {
	s := &system{os: info}
	s.systemd, s.systemdSource = systemdVersion(root, info)
	s.nrOpen, s.nrOpenSource = kernelNrOpen, "the kernel default"
	if s.modern() {
		s.nrOpen, s.nrOpenSource = systemdNrOpen, fmt.Sprintf("raised by %s at boot", s.describe())
	}
	if e, ok := sysctl.Value("fs.nr_open"); ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(e.Value), 10, 64); err == nil && n > 0 {
			s.nrOpen, s.nrOpenSource = n, fmt.Sprintf("set in %s:%d", e.Path, e.Line)
		}
	}
	if v, ok := pamVersion(db); ok {
		s.pamUnlimitedOK = slices.Compare(v[:], []int{1, 5, 2}) >= 0
	} else {
		s.pamUnlimitedOK = pamReplacesUnlimited(info)
	}
	return s
}

// pamVersion is the upstream version of the installed Linux-PAM modules
// (Debian's libpam-modules, the pam rpm), when the package database says.
func pamVersion(db pkgdb.DB) ([3]int, bool) {
	if db == nil {
		return [3]int{}, false
	}
	for _, p := range db.Packages() {
		if p.Name != "libpam-modules" && p.Name != "pam" {
			continue
		}
		v := p.Version
		if _, rest, ok := strings.Cut(v, ":"); ok {
			v = rest // the epoch
		}
		v, _, _ = strings.Cut(v, "-") // Debian revision, rpm release
		var out [3]int
		parts := strings.SplitN(v, ".", 3)
		for i, f := range parts {
			n, err := strconv.Atoi(strings.TrimRightFunc(f, func(r rune) bool { return r < '0' || r > '9' }))
			if err != nil {
				return [3]int{}, false
			}
			out[i] = n
		}
		return out, len(parts) >= 2
	}
	return [3]int{}, false
}

// systemdVersion tells systemd's version without running it: from the
// versioned name of its shared library (systemd 231 and later ship
// libsystemd-shared-NNN.so), else from the release when systemd's binary
// is there.
func systemdVersion(root *sysroot.Root, info osrelease.Info) (int, string) {
	// Debian 12 keeps the library in the multiarch directory
	// (/usr/lib/x86_64-linux-gnu/systemd), Fedora and RHEL in
	// /usr/lib64/systemd, older releases in /usr/lib/systemd.
	best, bestPath := 0, ""
	for _, pattern := range []string{"/usr/lib/systemd/libsystemd-shared-*.so", "/lib/systemd/libsystemd-shared-*.so",
		"/usr/lib64/systemd/libsystemd-shared-*.so", "/usr/lib/*/systemd/libsystemd-shared-*.so"} {
		matches, _ := root.Glob(pattern)
		for _, m := range matches {
			rest := strings.TrimPrefix(path.Base(m), "libsystemd-shared-")
			end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
			if end <= 0 {
				continue
			}
			if n, err := strconv.Atoi(rest[:end]); err == nil && n > best {
				best, bestPath = n, m
			}
		}
	}
	if best > 0 {
		return best, bestPath
	}
	present := false
	for _, p := range []string{"/usr/lib/systemd/systemd", "/lib/systemd/systemd"} {
		if root.Exists(p) {
			present = true
		}
	}
	if !present {
		return 0, ""
	}
	if v := releaseSystemd(info); v > 0 {
		return v, "the version " + info.ID + " " + info.VersionID + " ships"
	}
	// systemd without a versioned library is older than 231.
	return 230, "no libsystemd-shared library, so older than 231"
}

// releaseSystemd is the systemd version a release ships, for the releases
// where the library name does not tell.
func releaseSystemd(info osrelease.Info) int {
	major := info.Major()
	switch info.ID {
	case "rhel", "centos", "rocky", "almalinux", "ol", "alinux", "anolis":
		return map[int]int{7: 219, 8: 239, 9: 252}[major]
	case "amzn":
		return map[int]int{2: 219, 2023: 252}[major]
	case "debian":
		return map[int]int{9: 232, 10: 241, 11: 247, 12: 252, 13: 257}[major]
	case "ubuntu":
		return map[string]int{"16.04": 229, "18.04": 237, "20.04": 245, "22.04": 249, "24.04": 255}[info.VersionID]
	}
	return 0
}

// pamReplacesUnlimited reports whether the release's Linux-PAM (1.5.2 and
// later) turns "unlimited" nofile into fs.nr_open, for targets whose
// package database does not say which PAM is installed.
func pamReplacesUnlimited(info osrelease.Info) bool {
	major := info.Major()
	switch info.ID {
	case "debian":
		return major >= 12
	case "ubuntu":
		v, _ := strconv.ParseFloat(info.VersionID, 64)
		return v >= 22.10
	case "fedora":
		return major >= 35
	}
	return false
}

// usesPAMLimits reports whether a PAM service loads pam_limits: whether
// its session stack, as libpam builds it (includes, substacks, the
// distribution's directories, "other"), has a pam_limits line; pam_limits
// has only session functions, so a line of another type sets no limit.
// Which names programs give pam_start is not written anywhere rescue can
// read, so every service file counts; login and sshd are asked first, so
// that what is said names the stack a login goes through. Where it is
// loaded is said as "sshd's session stack (/etc/pam.d/password-auth:10)".
// A target whose PAM directories cannot be read is taken to use it, the
// side that reports the limit at its full weight.
func usesPAMLimits(pam *pamstack.Config) (bool, string) {
	services, err := pam.Services()
	if err != nil {
		return true, ""
	}
	for _, s := range append([]string{"login", "sshd"}, services...) {
		for _, e := range pam.Stack(s, "session").Entries {
			if e.Line.Err == nil && !e.Line.IsInclude() && pamconf.ModuleName(e.Line.Module) == "pam_limits.so" {
				return true, fmt.Sprintf("%s's session stack (%s)", s, e.At())
			}
		}
	}
	return false, ""
}
