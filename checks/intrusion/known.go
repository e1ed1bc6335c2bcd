package intrusion

import (
	"path"
	"regexp"
	"strings"
)

// The lists below are what the public reports cited in doc.go name again
// and again. They are deliberately short: a name on them is one mark among
// others, never a verdict on a file a package installed.

// minerNames are program names of cryptocurrency miners and of the
// droppers that install them, matched as whole words (case-insensitive).
var minerNames = []string{
	"xmrig", "xmr-stak", "xmrstak", "xmr-stak-cpu", "minerd", "cpuminer", "ccminer", "cgminer", "bfgminer",
	"nanominer", "lolminer", "nbminer", "t-rex", "teamredminer", "srbminer", "phoenixminer", "ethminer",
	"kinsing", "kdevtmpfsi", "kthreaddk", "kthreaddi", "kworkerds", "khugepageds", "kswapd0s",
	"dbused", "dbusex", "sysupdate", "networkservice", "sysguard", "phpguard", "watchbog", "solrd",
	"xmr", "monero", "moneroocean", "c3pool", "redtail",
}

var minerSet = set(minerNames...)

// minerName returns the first word of s (words are runs of letters,
// digits, - and _) that is a miner's name, or "".
func minerName(s string) string {
	word := func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}
	for _, w := range strings.FieldsFunc(s, word) {
		if minerSet[strings.ToLower(w)] {
			return w
		}
	}
	return ""
}

// poolMarkers are URL schemes and host names of mining pools.
var poolMarkers = []string{
	"stratum+tcp://", "stratum+ssl://", "stratum+tls://", "stratum2+tcp://", "stratum1+tcp://",
	"minexmr.com", "supportxmr.com", "nanopool.org", "moneroocean.stream", "c3pool.com", "c3pool.org",
	"hashvault.pro", "xmrpool.eu", "minergate.com", "f2pool.com", "2miners.com", "herominers.com",
	"monerohash.com", "crypto-pool.fr", "dwarfpool.com", "nicehash.com", "unmineable.com", "zergpool.com",
	"donate.v2.xmrig.com", "xmrig.com", "ethermine.org", "p2pool.io", "gulf.moneroocean", "pool.hashvault",
}

// minerConfigKeys are keys an xmrig-style configuration file has.
var minerConfigKeys = []string{`"donate-level"`, `"randomx"`, `"rx/0"`, `"cn/r"`, `"coin": "monero"`, `"pools"`}

// walletRE matches a Monero address (standard or integrated/subaddress):
// 95 or 106 base58 characters starting with 4 or 8.
var walletRE = regexp.MustCompile(`\b[48][0-9AB][1-9A-HJ-NP-Za-km-z]{93}(?:[1-9A-HJ-NP-Za-km-z]{11})?\b`)

// kernelThreads are names of kernel threads. A kernel thread has no
// program file, so a file by such a name is a disguise (kdevtmpfsi next to
// the real kdevtmpfs, a "kworker" in /tmp).
var kernelThreads = []string{
	"kthreadd", "kworker", "ksoftirqd", "kswapd0", "kswapd", "kdevtmpfs", "khugepaged", "kcompactd0",
	"kauditd", "kblockd", "migration", "rcu_sched", "rcu_bh", "jbd2", "kintegrityd", "kthrotld",
	"watchdogd", "khungtaskd", "oom_reaper", "writeback", "kstrp", "ecryptfs-kthrea",
}

// kernelThreadName reports whether a file's name dresses up as a kernel
// thread: one of kernelThreads, possibly in brackets or with a /N suffix.
func kernelThreadName(p string) string {
	b := strings.Trim(path.Base(p), "[] ")
	b, _, _ = strings.Cut(b, "/")
	b, _, _ = strings.Cut(b, ":")
	for _, k := range kernelThreads {
		if b == k {
			return k
		}
	}
	return ""
}

// writableDirs are the world-writable places a dropper writes to. Any
// other directory is judged by its mode on the disk.
var writableDirs = []string{"/tmp", "/var/tmp", "/dev/shm", "/run/shm", "/var/run/shm", "/run/lock", "/var/lock", "/var/crash", "/var/spool/samba"}

// toolDotDirs are hidden directories in home directories that installers
// of ordinary tools create and whose programs cron jobs and start-up files
// run (acme.sh renews certificates from ~/.acme.sh by cron).
var toolDotDirs = map[string]bool{
	".local": true, ".cargo": true, ".nvm": true, ".pyenv": true, ".rbenv": true, ".rvm": true,
	".sdkman": true, ".asdf": true, ".deno": true, ".bun": true, ".volta": true, ".dotnet": true,
	".krew": true, ".linuxbrew": true, ".npm-global": true, ".acme.sh": true, ".gem": true,
	".composer": true, ".config": true, ".yarn": true, ".opam": true, ".ghcup": true, ".juliaup": true,
	".goenv": true, ".jenv": true, ".tfenv": true, ".pulumi": true, ".fzf": true, ".oh-my-zsh": true,
	".bash_it": true, ".autojump": true, ".kiex": true, ".kerl": true, ".nix-profile": true,
	".bashrc.d": true, ".bash_completion.d": true, ".profile.d": true, ".zsh": true, ".zinit": true,
	".antigen": true, ".zplug": true, ".zprezto": true, ".dotfiles": true, ".iterm2": true, ".sdkman_candidates": true,
}

// startupDotFiles are the hidden files shells read at start-up; sourcing
// them from another start-up file is ordinary.
var startupDotFiles = map[string]bool{
	".bashrc": true, ".bash_aliases": true, ".profile": true, ".bash_profile": true, ".bash_login": true,
	".bash_logout": true, ".bash_functions": true, ".zshrc": true, ".zshenv": true, ".zprofile": true,
	".shrc": true, ".kshrc": true, ".aliases": true, ".bash_completion": true, ".env": true,
}

// packagedDirs are where the package database says packaged files are: a
// program or library there that no package owns was put there by hand or
// by something else.
var packagedDirs = []string{
	"/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/lib/", "/lib32/", "/lib64/", "/usr/lib/", "/usr/lib32/",
	"/usr/lib64/", "/usr/libexec/", "/etc/init.d/", "/etc/rc.d/init.d/",
}

// standardPath is where a bare command name is looked for: cron's and
// systemd's default PATH together.
var standardPath = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// trojanTargets are the programs rootkits and miner kits replace to hide
// processes, files and connections, or to keep a way in (the lists of
// rkhunter and chkrootkit, and the reports in doc.go).
var trojanTargets = []string{
	"ps", "top", "pstree", "netstat", "ss", "ls", "lsof", "find", "du", "w", "who", "crontab", "sshd", "ssh",
	"login", "su", "sudo", "passwd", "kill", "pkill", "pgrep", "killall", "ifconfig", "ip", "chattr", "lsattr",
	"systemctl", "strings", "md5sum", "sha256sum", "stat", "curl", "wget", "iptables",
}

// securityHosts are host names of security agents and of the
// distributions' package and security updates, as suffixes. Sending them to
// another address (or to nowhere) stops the machine from being repaired or
// watched.
var securityHosts = []struct {
	suffix string
	agent  bool // a security agent's: never legitimately redirected
}{
	{"aegis.aliyun.com", true}, {"aegis.alicdn.com", true}, {"update.aegis.aliyun.com", true},
	{"jsrv.aegis.aliyun.com", true}, {"update2.aegis.aliyun.com", true}, {"tianji.aliyun.com", true},
	{"ssm.amazonaws.com", true}, {"ec2messages.amazonaws.com", true}, {"guardduty.amazonaws.com", true},
	{"inspector.amazonaws.com", true}, {"clamav.net", true}, {"rkhunter.sourceforge.net", true},
	{"virustotal.com", true}, {"cloudsink.net", true}, {"crowdstrike.com", true}, {"sophos.com", true},
	{"trendmicro.com", true}, {"qcloud.com", true}, {"tencentyun.com", true}, {"bce.baidu.com", true},
	{"deb.debian.org", false}, {"security.debian.org", false}, {"ftp.debian.org", false}, {"debian.map.fastlydns.net", false},
	{"archive.ubuntu.com", false}, {"security.ubuntu.com", false}, {"ports.ubuntu.com", false},
	{"mirrorlist.centos.org", false}, {"mirror.centos.org", false}, {"vault.centos.org", false},
	{"mirrors.fedoraproject.org", false}, {"dl.fedoraproject.org", false}, {"mirrors.almalinux.org", false},
	{"repo.almalinux.org", false}, {"dl.rockylinux.org", false}, {"mirrors.rockylinux.org", false},
	{"cdn.redhat.com", false}, {"download.opensuse.org", false}, {"mirrors.aliyun.com", false},
	{"mirrors.cloud.aliyuncs.com", false}, {"amazonlinux.default.amazonaws.com", false},
}

// securityHost returns the entry of securityHosts a host name falls under.
func securityHost(host string) (string, bool, bool) {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, s := range securityHosts {
		if h == s.suffix || strings.HasSuffix(h, "."+s.suffix) {
			return s.suffix, s.agent, true
		}
	}
	return "", false, false
}

// poolHost reports whether a host name is a known mining pool's.
func poolHost(host string) bool {
	h := strings.ToLower(host)
	for _, m := range poolMarkers {
		if !strings.Contains(m, "://") && (h == m || strings.HasSuffix(h, "."+m) || strings.Contains(h, m)) {
			return true
		}
	}
	return false
}

// Family is the name of the intrusion checks' family: --checks intrusions
// selects them all.
const Family = "intrusions"

// SecurityHost says whether a host name is a security agent's (agent) or
// a distribution's update host, and which suffix it matched.
func SecurityHost(host string) (suffix string, agent, ok bool) { return securityHost(host) }

// PoolHost says whether a host name is a known mining pool's.
func PoolHost(host string) bool { return poolHost(host) }

// rootkitModules are names of public Linux kernel rootkits (Diamorphine,
// Reptile, Suterusu, KoviD, …) as modules.
var rootkitModules = map[string]bool{
	"diamorphine": true, "reptile": true, "reptile_module": true, "suterusu": true, "kovid": true, "adore": true,
	"adore-ng": true, "knark": true, "rkduck": true, "nuk3gh0st": true, "puszek": true, "rootfoo": true, "vlany": true,
}

// RootkitModule says whether a module name is a public rootkit's.
func RootkitModule(name string) bool {
	return rootkitModules[strings.ToLower(strings.ReplaceAll(name, "-", "_"))] || rootkitModules[strings.ToLower(name)]
}

// TrojanTargets returns the programs rootkits and miner kits replace.
func TrojanTargets() []string { return append([]string(nil), trojanTargets...) }

// WritableDirs returns the world-writable places droppers write to.
func WritableDirs() []string { return append([]string(nil), writableDirs...) }
