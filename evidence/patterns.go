package evidence

import (
	"regexp"
	"time"
)

// FatalPattern is a console line that ends a boot: once it appears the
// outcome is known (after Grace, so that the log holds the reason).
type FatalPattern struct {
	Re    *regexp.Regexp
	Class Class
	Grace time.Duration
}

// Fatal are the lines that decide a boot's class, in the order they are
// tried. They match raw console bytes (escape sequences and all) as well as
// cleaned lines, so that the live watcher and the offline reader agree.
var Fatal = []FatalPattern{
	{regexp.MustCompile(`Kernel panic - not syncing[^\r\n]*`), KernelPanic, 3 * time.Second},
	{regexp.MustCompile(`[^\r\n]*Freezing execution[^\r\n]*`), SystemdFreeze, 2 * time.Second},
	{regexp.MustCompile(`You are in emergency mode|You are in rescue mode|Give root password for maintenance|Cannot open access to console, the root account is locked`), Emergency, 5 * time.Second},
	{regexp.MustCompile(`\(initramfs\)(?: |$)|dracut:/#(?: |$)|Entering emergency mode\. Exit the shell to continue`), InitramfsShell, time.Second},
	{regexp.MustCompile(`grub rescue>`), GrubRescue, 0},
	{noBootable, NoBootable, 0},
	// Not an outcome of the image but of the host: udev did not announce
	// ttyS0 in time, so no login prompt will ever come on the serial
	// console. The live watcher says so at once instead of waiting for
	// its time limit; in logs read afterwards it is a failed unit.
	{regexp.MustCompile(`Dependency failed for [^\r\n]*Serial Getty on ttyS0`), Timeout, 0},
}

// noBootable is the firmware saying it found nothing to start: SeaBIOS's
// messages, and OVMF's (edk2's) when every boot option failed: it starts
// its EFI shell when it has one (the boot options before it all failed:
// measured with OVMF 2022.11, the ESP's loaders deleted, "BdsDxe: failed
// to load Boot0002 "UEFI Misc Device" … Not Found", then the shell's
// banner), or says so when it has none.
var noBootable = regexp.MustCompile(`No bootable device|Boot failed: not a bootable disk|UEFI Interactive Shell v[0-9][0-9.]*|No bootable option or device was found`)

// Reasons are the lines worth quoting for a fatal class: the line that
// says why. The last match in a boot is quoted.
var Reasons = map[Class]*regexp.Regexp{
	Emergency:      regexp.MustCompile(`(Dependency failed for [^\r\n]*|Failed to mount [^\r\n]*|Timed out waiting for device [^\r\n]*)`),
	InitramfsShell: regexp.MustCompile(`(ALERT! [^\r\n]*|Gave up waiting for [^\r\n]*|Warning: /dev/[^\r\n]* does not exist)`),
	KernelPanic:    regexp.MustCompile(`Kernel panic - not syncing[^\r\n]*`),
	SystemdFreeze:  regexp.MustCompile(`[^\r\n]*Failed to [^\r\n]*`),
	Timeout:        regexp.MustCompile(`Timed out waiting for device[^\r\n]*ttyS0[^\r\n]*`),
}

// Console prompts, as the live watcher and the offline reader see them.
var (
	// LoginPrompt is getty's prompt: "HOST login: " (or bare "login: ").
	LoginPrompt = regexp.MustCompile(`(^|[\r\n])[^\r\n]*login: *$`)
	// LoginPromptAny is the prompt anywhere in a stretch of output.
	LoginPromptAny = regexp.MustCompile(`(^|[\r\n])[^\r\n]*login: `)
	PasswordPrompt = regexp.MustCompile(`Password: *$`)
	LoginIncorrect = regexp.MustCompile(`Login incorrect`)
	ShellPrompt    = regexp.MustCompile(`[#$] $`)
)

// stageRules say which lines prove a stage was reached. A later stage
// implies the earlier ones (a kernel line proves GRUB or another loader
// ran), but only lines are quoted as proof.
var stageRules = []struct {
	stage Stage
	re    *regexp.Regexp
}{
	{StageGRUB, regexp.MustCompile(`GNU GRUB|Welcome to GRUB|^\s*Booting ['` + "`" + `]|^Loading Linux |^grub> ?`)},
	{StageKernel, regexp.MustCompile(`^Linux version \d|^Command line: `)},
	{StageInitramfs, regexp.MustCompile(`^Run /init as init process|^Loading, please wait|^Begin: Loading essential drivers|dracut-\d+ \(|^Freeing initrd memory`)},
	{StageSystemd, regexp.MustCompile(`^systemd \S+ running in system mode|^Welcome to .*!$`)},
	{StageLogin, regexp.MustCompile(`login: *$|^Started (?:serial-)?getty@\S+|^Started (?:Serial )?Getty on |Reached target getty\.target|Reached target .*Login Prompts`)},
	{StageNetwork, regexp.MustCompile(`Reached target network-online\.target|Reached target network\.target|Reached target .*Network is Online|: link becomes ready|Link is Up|DHCPACK from|Lease acquired|bound to \d+\.\d+\.\d+\.\d+`)},
	{StageSSHD, regexp.MustCompile(`Server listening on |Started ssh\.service|Started sshd\.service|Started .*OpenBSD Secure Shell server`)},
}

// Event kinds. The report and the link table use these names.
const (
	KindKernelPanic     = "kernel-panic"
	KindOOMKill         = "oom-kill"
	KindInitFailed      = "init-failed"
	KindSystemdFreeze   = "systemd-freeze"
	KindSELinuxPolicy   = "selinux-policy"
	KindEmergency       = "emergency-mode"
	KindDependency      = "dependency-failed"
	KindUnitFailed      = "unit-failed"
	KindMountFailed     = "mount-failed"
	KindDeviceTimeout   = "device-timeout"
	KindRootMissing     = "root-missing"
	KindInitramfsShell  = "initramfs-shell"
	KindGrubPrompt      = "grub-prompt"
	KindGrubRescue      = "grub-rescue"
	KindGrubError       = "grub-error"
	KindNoBootable      = "no-bootable"
	KindSilent          = "console-silent"
	KindLoginRefused    = "login-refused"
	KindNoShell         = "no-shell"
	KindPAMModule       = "pam-module"
	KindPAMRefusal      = "pam-refusal"
	KindPAMLimits       = "pam-limits"
	KindSSHDRefused     = "sshd-refused"
	KindSSHDFailed      = "sshd-failed"
	KindExecFailed      = "exec-failed"
	KindDiskFull        = "disk-full"
	KindReadOnly        = "read-only"
	KindRemountRO       = "remount-ro"
	KindFSError         = "fs-error"
	KindFsckFailed      = "fsck-failed"
	KindHungTask        = "hung-task"
	KindCloudInitFailed = "cloud-init-failed"
	KindSELinuxDenied   = "selinux-denied"
)

// eventRule turns a line into an event.
type eventRule struct {
	kind string
	re   *regexp.Regexp
	// subject is the submatch that names what the event is about (0:
	// none).
	subject int
}

// eventRules are tried in order; the first that matches a line makes its
// event (one event per line).
var eventRules = []eventRule{
	{KindKernelPanic, regexp.MustCompile(`Kernel panic - not syncing:? ?(.*?)(?: \]---)?$`), 1},
	{KindOOMKill, regexp.MustCompile(`(?:Out of memory|Memory cgroup out of memory): Kill(?:ed)? process \d+ \(([^)]*)\)`), 1},
	{KindInitFailed, regexp.MustCompile(`Failed to execute (/\S+)|Starting init: (\S+) exists but couldn't execute it|Requested init (\S+) failed|No working init found|Failed to execute /init`), 1},
	{KindSELinuxPolicy, regexp.MustCompile(`Failed to load SELinux policy|SELinux: +Could not open policy file`), 0},
	{KindSystemdFreeze, regexp.MustCompile(`Freezing execution`), 0},
	{KindEmergency, regexp.MustCompile(`You are in (?:emergency|rescue) mode|Give root password for maintenance|Cannot open access to console, the root account is locked|Started emergency\.service|Reached target emergency\.target|Started rescue\.service|Reached target rescue\.target`), 0},
	{KindRootMissing, regexp.MustCompile(`ALERT! +(\S+) does not exist|Gave up waiting for (root (?:file system )?device)|Warning: (/dev/\S+) does not exist|Could not boot\.|Unable to find root`), 1},
	{KindInitramfsShell, regexp.MustCompile(`\(initramfs\)(?: |$)|dracut:/#(?: |$)|Entering emergency mode\. Exit the shell to continue`), 0},
	{KindDeviceTimeout, regexp.MustCompile(`Timed out waiting for device (.+?)\.?$|(\S+\.device): Job \S+ timed out`), 1},
	{KindMountFailed, regexp.MustCompile(`Failed to mount (.+?)\.?$`), 1},
	{KindDependency, regexp.MustCompile(`Dependency failed for (.+?)\.?$`), 1},
	{KindFsckFailed, regexp.MustCompile(`UNEXPECTED INCONSISTENCY|fsck failed|(systemd-fsck@\S+): Failed with result|Failed to start (systemd-fsck\S*)|File System Check on (.*) failed|Bad magic number in super-block`), 1},
	{KindUnitFailed, regexp.MustCompile(`(\S+\.(?:service|socket|mount|swap|timer|path|target|scope|slice)): Failed with result '([^']+)'|Failed to start (.+?)\.?$`), 1},
	{KindGrubRescue, regexp.MustCompile(`grub rescue>`), 0},
	{KindGrubPrompt, regexp.MustCompile(`^grub> ?`), 0},
	{KindGrubError, regexp.MustCompile(`^error: (.+)$`), 1},
	{KindNoBootable, noBootable, 0},
	{KindPAMModule, regexp.MustCompile(`PAM unable to dlopen\(([^)]+)\)|PAM adding faulty module: (\S+)|Module is unknown`), 1},
	{KindPAMRefusal, regexp.MustCompile(`(pam_\w+)\([^)]*\): (?:requirement .* not met by user|access denied|Access denied|user .* is not allowed|authentication failure; .*user=root.*securetty)`), 1},
	{KindPAMLimits, regexp.MustCompile(`pam_limits\([^)]*\): Could not set limit for '(\w+)'`), 1},
	{KindLoginRefused, regexp.MustCompile(`Login incorrect|FAILED LOGIN \(\d+\) on '[^']*' FOR '([^']*)'|FAILED LOGIN \d+ FROM \S+ FOR ([^,\s]+)|pam_unix\(login:auth\): authentication failure`), 1},
	{KindSSHDRefused, regexp.MustCompile(`User (\S+) from \S+ not allowed because|ROOT LOGIN REFUSED|Authentication refused: bad ownership or modes for \S+ (\S+)|Failed password for (?:invalid user )?(\S+) from`), 1},
	{KindSSHDFailed, regexp.MustCompile(`(?:sshd|ssh)\b.*no hostkeys available|Permissions 0?\d+ for '([^']+)' are too open|Unable to load host key:? (\S+)|Missing privilege separation directory:? (\S+)|sshd_config:? line \d+: (.+)$|sshd: no hostkeys available`), 1},
	{KindExecFailed, regexp.MustCompile(`[Cc]an't exec "?(/\S+?)"?:|Cannot execute (/\S+?):?(?:\s|$)|failed to execute (/\S+)`), 1},
	{KindDiskFull, regexp.MustCompile(`No space left on device`), 0},
	{KindRemountRO, regexp.MustCompile(`Remounting filesystem read-only|remounting filesystem read-only|(?:EXT4-fs|XFS) \((\S+?)\):.*read-only`), 1},
	{KindReadOnly, regexp.MustCompile(`Read-only file system`), 0},
	{KindFSError, regexp.MustCompile(`EXT4-fs error \(device (\S+?)\)|XFS \((\S+?)\): (?:Corruption|Metadata corruption|Internal error|Log I/O Error)|BTRFS error \(device (\S+?)\)`), 1},
	{KindHungTask, regexp.MustCompile(`task (\S+?):\d+ blocked for more than \d+ seconds`), 1},
	{KindCloudInitFailed, regexp.MustCompile(`cloud-init.*(?:Traceback|CRITICAL|failed to run|Failed to run module)|^(?:WARNING|ERROR|CRITICAL): .*(?:Traceback|Failed|failed)`), 0},
	{KindSELinuxDenied, regexp.MustCompile(`avc: +denied +\{[^}]*\} for .*comm="([^"]+)"`), 1},
}

// statusPrefix is systemd's status column on the console ("[  OK  ] ",
// "[FAILED] ", "[DEPEND] ", "[ TIME ] ", "[!!!!!!] "), and kernelPrefix the
// kernel's timestamp; both are cut from a line before it is matched.
var (
	statusPrefix = regexp.MustCompile(`^\[(?:  OK  |FAILED|DEPEND| TIME | WARN |!!!!!!|  \*\*\*|\*+ *| *\*+ *)\] `)
	kernelPrefix = regexp.MustCompile(`^\[\s*\d{1,7}\.\d{6}\]\s?`)
	// procPrefix is "name[pid]: " at the start of a console line from
	// the kernel's log or systemd's status ("systemd[1]: Freezing").
	procPrefix = regexp.MustCompile(`^([A-Za-z0-9_.@/-]+)\[(\d+)\]: `)
)
