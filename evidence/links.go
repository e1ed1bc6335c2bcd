package evidence

import (
	"regexp"
	"strings"

	"rescue/checks"
)

// Rule says which findings can explain an event. The table is the stated
// mapping from what a boot showed to what the checks know; the first rule
// whose event kind and subject match is used.
type Rule struct {
	// Event is the event kind.
	Event string
	// Subject, when set, is a regular expression the event's subject or
	// line must match (case-insensitive): the console shortens unit names
	// ("loca…s.target - Local File Systems"), so the description counts.
	Subject string
	// Findings are patterns over finding IDs (check/kind:path#subject),
	// in which * matches any run of characters: "fstab/*",
	// "sysctl/min-free-kbytes:*".
	Findings []string
	// Why says why such findings explain such an event.
	Why string
}

// The finding patterns of one area, shared by several rules. A missing or
// emptied file is the zerosize or pkgfiles check's whatever it is, so
// those are narrowed by path to the files of the area.
var (
	mountChecks  = []string{"fstab/*", "fsstate/*"}
	rootChecks   = []string{"grub/*", "fstab/root-*", "initramfs/*", "kernels/*", "fsstate/*"}
	initChecks   = []string{"zerosize/empty:*systemd*", "zerosize/empty:*init*", "zerosize/empty:*/lib*.so*", "pkgfiles/damaged:*systemd*", "pkgfiles/damaged:*init*", "pkgfiles/damaged:*libc*", "libs/*", "selinux/*"}
	loaderChecks = []string{"bootloader/*", "grub/*", "kernels/*"}
	loginChecks  = []string{"pam/*", "accounts/*", "nss/*", "logindefs/*", "limits/*", "libs/*",
		"zerosize/empty:*login*", "zerosize/empty:*pam*", "zerosize/empty:*nss*", "pkgfiles/damaged:*login*", "pkgfiles/damaged:*pam*", "pkgfiles/damaged:*nss*"}
	shellChecks = []string{"accounts/*", "profile/*", "limits/*", "libs/*",
		"zerosize/empty:*bash*", "zerosize/empty:*/sh", "zerosize/empty:*zsh*", "pkgfiles/damaged:*bash*", "pkgfiles/damaged:*/sh#*", "pkgfiles/damaged:*zsh*"}
	sshdChecks = []string{"sshd/*", "perms/*", "zerosize/empty:*ssh*", "pkgfiles/damaged:*ssh*"}
)

// Rules is the link table.
var Rules = []Rule{
	{Event: KindDeviceTimeout, Findings: mountChecks, Why: "a device fstab names never appeared"},
	{Event: KindMountFailed, Findings: mountChecks, Why: "a filesystem fstab names could not be mounted"},
	{Event: KindDependency, Subject: `\.mount|local-fs|Local File Systems|fsck|File System Check|/|[0-9a-f]+-[0-9a-f]{4}-[0-9a-f]{4}-`, Findings: mountChecks, Why: "a mount or a device failed, and what needs it could not start"},
	{Event: KindEmergency, Findings: append(append([]string{}, mountChecks...), "accounts/*", "selinux/*"), Why: "systemd goes to emergency mode when a mount or fsck that the boot needs fails"},
	{Event: KindFsckFailed, Findings: mountChecks, Why: "a filesystem the boot checks has errors"},
	{Event: KindFSError, Findings: mountChecks, Why: "the filesystem has errors"},
	{Event: KindRemountRO, Findings: mountChecks, Why: "the kernel made a filesystem read-only after an error"},
	{Event: KindReadOnly, Findings: []string{"fstab/root-*", "fsstate/*"}, Why: "/ stays read-only when fstab cannot remount it"},
	{Event: KindRootMissing, Findings: rootChecks, Why: "the root device the kernel command line names does not exist"},
	{Event: KindInitramfsShell, Findings: rootChecks, Why: "the initramfs could not mount the root"},
	{Event: KindKernelPanic, Subject: `memory|oom`, Findings: []string{"sysctl/*"}, Why: "memory settings leave the kernel none to run with"},
	{Event: KindKernelPanic, Subject: `VFS|mount root|unknown-block`, Findings: []string{"initramfs/*", "kernels/*", "grub/*", "fsstate/*"}, Why: "the kernel cannot mount the root: no initramfs, or no driver in it"},
	{Event: KindKernelPanic, Subject: `init`, Findings: initChecks, Why: "init (systemd) could not run"},
	{Event: KindKernelPanic, Findings: append(append([]string{}, initChecks...), "initramfs/*", "kernels/*", "sysctl/*"), Why: "the kernel stopped"},
	{Event: KindOOMKill, Findings: []string{"sysctl/*"}, Why: "memory settings take memory the machine does not have"},
	{Event: KindInitFailed, Findings: initChecks, Why: "init could not be executed"},
	{Event: KindSystemdFreeze, Findings: []string{"selinux/*", "zerosize/*", "pkgfiles/*", "libs/*"}, Why: "systemd froze"},
	{Event: KindSELinuxPolicy, Findings: []string{"selinux/*"}, Why: "SELinux is enforcing without a policy to load"},
	{Event: KindSELinuxDenied, Findings: []string{"selinux/*"}, Why: "SELinux denied a program a file: files without their labels"},
	{Event: KindGrubPrompt, Findings: loaderChecks, Why: "GRUB found no configuration to run"},
	{Event: KindGrubRescue, Findings: loaderChecks, Why: "GRUB could not find its modules or configuration"},
	{Event: KindGrubError, Findings: loaderChecks, Why: "GRUB could not load what its configuration names"},
	{Event: KindNoBootable, Findings: loaderChecks, Why: "the firmware found no boot loader"},
	{Event: KindSilent, Findings: loaderChecks, Why: "nothing reached the console: the boot stopped in the firmware or GRUB, which print to the screen"},
	{Event: KindLoginRefused, Findings: loginChecks, Why: "the login program or its PAM stack refused the user"},
	{Event: KindNoShell, Findings: shellChecks, Why: "the session could not start the user's shell"},
	{Event: KindPAMModule, Findings: []string{"pam/*", "pkgfiles/*", "zerosize/*"}, Why: "a PAM module could not be loaded"},
	{Event: KindPAMRefusal, Findings: []string{"pam/*", "accounts/*"}, Why: "a PAM rule refused the user"},
	{Event: KindPAMLimits, Findings: []string{"limits/*", "sysctl/*"}, Why: "pam_limits could not set a limit the configuration asks for"},
	{Event: KindExecFailed, Subject: `login|bash|sh$|shell`, Findings: append(append([]string{}, loginChecks...), "profile/*"), Why: "the login program or shell could not be executed"},
	{Event: KindExecFailed, Findings: append(append([]string{}, initChecks...), "libs/*"), Why: "a program could not be executed"},
	{Event: KindSSHDFailed, Findings: sshdChecks, Why: "sshd refuses to start with this configuration or these keys"},
	{Event: KindSSHDRefused, Findings: append(append([]string{}, sshdChecks...), "accounts/*", "pam/*"), Why: "sshd's configuration or the user's files refuse the login"},
	{Event: KindUnitFailed, Subject: `^sshd?\.service|^ssh\.socket|OpenSSH|Secure Shell`, Findings: sshdChecks, Why: "sshd did not start"},
	{Event: KindUnitFailed, Subject: `systemd-remount-fs|Remount Root|ount Root and Kernel File Systems|\.mount$|systemd-fsck|File System Check`, Findings: mountChecks, Why: "a mount or fsck unit failed"},
	{Event: KindUnitFailed, Subject: `rc-local`, Findings: []string{"rclocal/*"}, Why: "/etc/rc.local failed"},
	{Event: KindUnitFailed, Subject: `^network|^networking|NetworkManager|ifup@|wicked`, Findings: []string{"network/*"}, Why: "the network configuration did not apply"},
	{Event: KindUnitFailed, Subject: `systemd-sysctl`, Findings: []string{"sysctl/*"}, Why: "a sysctl setting could not be applied"},
	{Event: KindUnitFailed, Subject: `getty`, Findings: loginChecks, Why: "no login prompt on the console"},
}

// Link ties each event of the analyses to the findings that explain it,
// by Rules. When several findings of a rule match, those whose path or
// subject the event names are preferred.
func Link(analyses []*Analysis, findings []checks.Finding) {
	for _, a := range analyses {
		for i := range a.Events {
			e := &a.Events[i]
			e.Findings = linked(e, findings)
			e.Explained = len(e.Findings) > 0
		}
	}
}

func linked(e *Event, findings []checks.Finding) []string {
	r := RuleFor(e)
	if r == nil {
		return []string{}
	}
	var matched []checks.Finding
	for _, f := range findings {
		for _, p := range r.Findings {
			if globMatch(p, f.ID) {
				matched = append(matched, f)
				break
			}
		}
	}
	// Prefer the findings the event names ("/data" for a failed
	// data.mount of /data).
	var named []checks.Finding
	for _, f := range matched {
		for _, s := range []string{f.Subject, f.Path} {
			if len(s) > 1 && e.Subject != "" && (strings.Contains(e.Subject, s) || strings.Contains(e.Line.Text, s)) {
				named = append(named, f)
				break
			}
		}
	}
	if len(named) > 0 {
		matched = named
	}
	out := []string{}
	for _, f := range matched {
		out = append(out, f.ID)
	}
	return out
}

// RuleFor returns the rule that applies to an event, or nil.
func RuleFor(e *Event) *Rule {
	for i := range Rules {
		r := &Rules[i]
		if r.Event != e.Kind {
			continue
		}
		if r.Subject != "" && !ruleSubjects[i].MatchString(e.Subject) && !ruleSubjects[i].MatchString(e.Line.Text) {
			continue
		}
		return r
	}
	return nil
}

// ruleSubjects are the rules' subject expressions, compiled once.
var ruleSubjects = func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(Rules))
	for i, r := range Rules {
		if r.Subject != "" {
			out[i] = regexp.MustCompile("(?i)" + r.Subject)
		}
	}
	return out
}()

// globMatch matches s against a pattern in which * stands for any run of
// characters (slashes too: IDs hold paths).
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		last := i == len(parts)-2
		if last {
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return true
}
