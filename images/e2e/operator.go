package e2e

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"rescue/images"
	"rescue/images/boot"
)

// The rows of the operator faults and actions: a firewall that drops SSH,
// a unit's open-files limit above fs.nr_open, an SSH key reset, a full
// root spilled. They stay out of "all" (FullOnly) because CI's 90 minutes
// were spent when they came: make e2e-full and their names run them.

const outOfCIBudget = "added after CI's budget was spent: make e2e-full and its name run it"

// lockoutRuleset is an /etc/nftables.conf that drops SSH before the rule
// that would accept it (a rule meant for another port copied with the
// wrong number), as in checks/firewall's golden debian-nftables-drop,
// which the real nft accepts.
const lockoutRuleset = `#!/usr/sbin/nft -f

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
		ct state established,related accept
		iif lo accept
		tcp dport 22 counter drop comment "was: 2222"
		tcp dport 22 accept
	}
	chain forward {
		type filter hook forward priority filter;
	}
	chain output {
		type filter hook output priority filter;
	}
}
`

// operatorScenarios are those rows.
func operatorScenarios() []*Scenario {
	return []*Scenario{
		{
			// nftables.service loads a ruleset that drops port 22: the
			// console works, every SSH connection times out.
			Name: "nftables-ssh", Fault: "nftables ruleset loaded at boot drops SSH",
			Break: func(r string, _ *images.DebianImage) error {
				if err := writeFile(r, "/etc/nftables.conf", lockoutRuleset); err != nil {
					return err
				}
				return enableUnit(r, "nftables.service", "sysinit.target")
			},
			Broken: Expect{Class: boot.LoggedIn, Note: "console logins work; SSH connections are dropped (no server answers)",
				Logins: map[string]boot.Class{"root@ssh": boot.Unreachable, images.LoginUser + "@ssh": boot.Unreachable}},
			Paths:    []string{"/etc/nftables.conf", "/etc/systemd/system/sysinit.target.wants/nftables.service"},
			Finding:  "firewall/nftables-ssh",
			SSH:      true,
			FullOnly: outOfCIBudget,
		},
		{
			// fs.nr_open lowered back to the kernel's 1048576 and ssh.service
			// given LimitNOFILE=2000000: the kernel refuses it, and the
			// fallback, MIN(2000000, PID 1's 1073741816), too: ssh.service
			// fails with 205/LIMITS. (Measured first with infinity, on
			// 2026-12-01: ssh.service ran, with PID 1's limit, as the
			// fallback is then what it already has; rescue now calls that
			// a warning, checks/limits golden debian12-unit-limit-fails.)
			Name: "unit-limit-nofile", Fault: "ssh.service LimitNOFILE=2000000 above a lowered fs.nr_open",
			Break: func(r string, _ *images.DebianImage) error {
				if err := writeFile(r, "/etc/sysctl.d/90-fd.conf", "fs.nr_open = 1048576\n"); err != nil {
					return err
				}
				return writeFile(r, "/etc/systemd/system/ssh.service.d/override.conf", "[Service]\nLimitNOFILE=2000000\n")
			},
			// Measured twice on 2026-12-01 (infinity, then 2000000):
			// ssh.service runs and every login works, so rescue says
			// warning and the row measures that claim.
			Broken:   noSymptom("every login works: ssh.service runs without the limit written", nil),
			Static:   true,
			Paths:    []string{"/etc/systemd/system/ssh.service.d/override.conf", "/etc/sysctl.d/90-fd.conf"},
			Finding:  "limits/unit-limit-nofile",
			SSH:      true,
			FullOnly: outOfCIBudget,
		},
		{
			// The cloud's "inject key": root's ~/.ssh is gone, so its key
			// opens nothing; reset-access authorizes a new key (creating
			// ~/.ssh with its modes and owner), and root logs in over SSH
			// with that key, the only one it accepts.
			Name: "reset-access-ssh-key", Fault: "root's ~/.ssh removed; rescue reset-access --ssh-key",
			Break: func(r string, _ *images.DebianImage) error {
				if _, err := os.Stat(at(r, "/root/.ssh/authorized_keys")); err != nil {
					return err
				}
				return os.RemoveAll(at(r, "/root/.ssh"))
			},
			Broken: Expect{Class: boot.LoggedIn, Note: "the console and the ordinary user's key work; root's key is refused",
				Logins: map[string]boot.Class{"root@ssh": boot.LoginRefused, images.LoginUser + "@ssh": boot.LoggedIn}},
			Paths:     []string{"/root/.ssh"},
			Action:    []string{"reset-access", "--user", "root", "--ssh-key", newKeyTag},
			ExitZero:  true,
			NewSSHKey: true,
			SSH:       true,
			FullOnly:  outOfCIBudget,
		},
		{
			// A root filesystem filled to the last block (as a root daemon
			// writing logs fills it, the reserved blocks too): rotated logs,
			// a package cache and a core dump, and data that must stay.
			// fix --spill moves the first to the helper, and undo puts them
			// back.
			Name: "disk-full-spill", Fault: "root filesystem full; rescue fix --spill",
			Break: fillRoot,
			// Measured on Debian 12 (2026-12-01): every login works, on
			// the console and over SSH; the boot is degraded, as the
			// units that write state at boot fail: systemd-random-seed,
			// systemd-update-utmp and systemd-machine-id-commit.
			Broken: Expect{Class: boot.LoggedIn, Check: unitsFailed("systemd-random-seed.service", "systemd-update-utmp.service"),
				Note:   "every login works; degraded: the units that write state at boot fail",
				Logins: map[string]boot.Class{"root@ssh": boot.LoggedIn, images.LoginUser + "@ssh": boot.LoggedIn}},
			Paths:    spillPaths(),
			Finding:  "fsstate/full",
			Action:   []string{"fix", "--spill", spillTag},
			UndoArgs: []string{"--journal-dir", spillTag},
			SSH:      true,
			FullOnly: outOfCIBudget,
		},
		{
			// The same full root, and login's PAM stack hardened with
			// "session required pam_lastlog.so" (as CIS and STIG have
			// it): pam_lastlog cannot write the lastlog record and fails
			// the session, so the console gives no shell; SSH's
			// stack is Debian's own and still lets everyone in. rescue
			// grades fsstate/full as an error here (a warning on the
			// plain full root), and fix --spill makes the room.
			Name: "disk-full-lastlog", Fault: "root filesystem full, login requires pam_lastlog; rescue fix --spill",
			Break: func(r string, img *images.DebianImage) error {
				if _, err := firstOf(r, "/usr/lib/x86_64-linux-gnu/security/pam_lastlog.so", "/lib/x86_64-linux-gnu/security/pam_lastlog.so"); err != nil {
					return fmt.Errorf("pam_lastlog is not installed: %w", err)
				}
				if err := appendTo(r, "/etc/pam.d/login", "session    required   pam_lastlog.so showfailed\n"); err != nil {
					return err
				}
				return fillRoot(r, img)
			},
			Broken: Expect{Class: boot.NoShell, Note: "root's password is accepted on the console, then the session fails (pam_lastlog cannot write its record) and the login prompt comes back; SSH lets everyone in",
				Logins: map[string]boot.Class{"root@ssh": boot.LoggedIn, images.LoginUser + "@ssh": boot.LoggedIn}},
			Paths:    append(spillPaths(), "/etc/pam.d/login"),
			Finding:  "fsstate/full",
			Action:   []string{"fix", "--spill", spillTag},
			UndoArgs: []string{"--journal-dir", spillTag},
			SSH:      true,
			FullOnly: outOfCIBudget,
		},
		{
			// ifupdown's "gateway" under the wrong stanza. Measured on
			// Debian 12 (2026-12-01): ifup adds the route with onlink,
			// which the kernel accepts, so networking.service succeeds;
			// and under qemu's user network the harness's SSH comes from
			// the NIC's own network, so no login depends on the default
			// route. A no-symptom row: the claim is a healthy boot (and
			// rescue's warning), the proof the finding, its fix (the line
			// moved to dummy1's stanza) and the rescan.
			Name: "interfaces-gateway-subnet", Fault: "ifupdown gateway under an interface whose network does not hold it",
			Break:    gatewayBreak,
			Broken:   noSymptom("networking.service succeeds: ifup adds the gateway with onlink; every login works from the NIC's own network", nil),
			Static:   true,
			Paths:    []string{dummiesFile, unmanagedFile, "/etc/systemd/system/multi-user.target.wants/networking.service"},
			Finding:  "network/interfaces-gateway-subnet",
			FullOnly: outOfCIBudget,
		},
	}
}

// dummiesFile holds the gateway row's two interfaces, in the directory
// Debian's /etc/network/interfaces sources.
const dummiesFile = "/etc/network/interfaces.d/rescue-e2e-dummies"

// dummies are two ifupdown-managed dummy interfaces (the harness's NIC is
// systemd-networkd's, and the machine has only that one), with the default
// gateway 10.0.6.1 written under dummy0 although it is on dummy1's network.
// Once repaired, ifup's default route (metric 0) does not clash with the
// NIC's (networkd's DHCP route, metric 1024).
const dummies = `# Test plumbing of the rescue boot proof: two interfaces with a gateway
# in the wrong stanza.
auto dummy0
iface dummy0 inet static
    pre-up ip link add dummy0 type dummy
    address 10.0.5.5/24
    gateway 10.0.6.1
    post-down ip link del dummy0

auto dummy1
iface dummy1 inet static
    pre-up ip link add dummy1 type dummy
    address 10.0.6.5/24
    post-down ip link del dummy1
`

// unmanagedDummies keeps systemd-networkd off the dummies: the harness's
// .network matches Type=ether, which a dummy interface is too, and
// networkd would drop the addresses ifup gives them.
const (
	unmanagedFile    = "/etc/systemd/network/10-rescue-e2e-dummies.network"
	unmanagedDummies = "# Test plumbing of the rescue boot proof: ifupdown's interfaces.\n[Match]\nName=dummy*\n\n[Link]\nUnmanaged=yes\n"
)

// gatewayBreak writes the dummies and enables networking.service, which
// brings them up (ifup -a) and would fail if ifup's route were refused.
func gatewayBreak(r string, _ *images.DebianImage) error {
	data, err := os.ReadFile(at(r, "/etc/network/interfaces"))
	if err != nil {
		return err
	}
	if !strings.Contains(string(data), "source /etc/network/interfaces.d/*") {
		return fmt.Errorf("/etc/network/interfaces does not source /etc/network/interfaces.d/*")
	}
	if err := writeFile(r, dummiesFile, dummies); err != nil {
		return err
	}
	if err := writeFile(r, unmanagedFile, unmanagedDummies); err != nil {
		return err
	}
	return enableUnit(r, "networking.service", "multi-user.target")
}

// enableUnit does what systemctl enable does for a unit of the package's
// (in /lib/systemd/system) wanted by target.
func enableUnit(r, unit, target string) error {
	src, err := firstOf(r, "/usr/lib/systemd/system/"+unit, "/lib/systemd/system/"+unit)
	if err != nil {
		return fmt.Errorf("%s is not installed: %w", unit, err)
	}
	dir := at(r, "/etc/systemd/system/"+target+".wants")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	link := filepath.Join(dir, unit)
	if _, err := os.Lstat(link); err == nil {
		return nil
	}
	return os.Symlink(src, link)
}

// spillable are the files fillRoot writes that fix --spill moves: a
// rotated log, a compressed older one, a downloaded package and a core
// dump, by size.
var spillable = []struct {
	path string
	size int64
}{
	{"/var/log/app.log.1", 256 << 20},
	{"/var/log/app.log.2.gz", 96 << 20},
	{"/var/cache/apt/archives/bigpkg_1.0-1_amd64.deb", 160 << 20},
	{"/var/lib/systemd/coredump/core.app.0.1a2b.1700000000000000.zst", 96 << 20},
}

// The spillable files add up to 608 MiB: on the 2.9 GiB root, with its 5%
// reserved for root, that leaves it about 84% used once they are moved. A
// first run with 224 MiB left it 98% used (70.5 MiB available), which
// fsstate rightly reports as nearly full.

// unitsFailed checks a degraded boot with at least the named units
// failed.
func unitsFailed(units ...string) func(*boot.Result) string {
	return func(r *boot.Result) string {
		if r.State != "degraded" {
			return fmt.Sprintf("the system is %q, want degraded (failed: %v)", r.State, r.FailedUnits)
		}
		for _, u := range units {
			if !slices.Contains(r.FailedUnits, u) {
				return fmt.Sprintf("%s did not fail (failed: %v)", u, r.FailedUnits)
			}
		}
		return ""
	}
}

// spillPaths are the paths of the disk-full row: the root filesystem
// (fsstate reports it full at "/") and the files the fault writes.
func spillPaths() []string {
	ps := []string{"/", fillFile}
	for _, f := range spillable {
		ps = append(ps, f.path)
	}
	return ps
}

// fillFile is the data that fills the rest of the filesystem: nothing
// fix --spill may move.
const fillFile = "/srv/data/fill.bin"

// fillRoot writes the spillable files (a MiB of content each, the rest
// allocated), then allocates the rest of the filesystem's blocks, the
// reserved ones too, to a file of data that must stay (fillRest).
func fillRoot(r string, _ *images.DebianImage) error {
	for i, f := range spillable {
		p := at(r, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		fh, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		if err != nil {
			return err
		}
		// Content that differs from file to file, so undo is seen to put
		// each back in its place.
		head := make([]byte, 0, 1<<20)
		for b := sha256.Sum256([]byte{byte(i)}); len(head) < 1<<20; b = sha256.Sum256(b[:]) {
			head = append(head, b[:]...)
		}
		_, err = fh.Write(head)
		if err == nil {
			err = unix.Fallocate(int(fh.Fd()), 0, 0, f.size)
		}
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
	}
	return fillRest(r)
}

// maxFill bounds the filesystem fillToLastBlock fills: the images are
// 3 GiB, and a root that is not an image's (a test's on the helper's own
// disk) must never be filled.
const maxFill = 8 << 30

// fillRest fills the filesystem of r; the unit tests replace it, as their
// roots are on the helper's own disk.
var fillRest = fillToLastBlock

func fillToLastBlock(r string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(r, &st); err != nil {
		return err
	}
	if size := st.Blocks * uint64(st.Bsize); size > maxFill {
		return fmt.Errorf("refusing to fill %s: its filesystem has %d bytes, more than an image's", r, size)
	}
	p := at(r, fillFile)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	fh, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer fh.Close()
	if err := images.FillToLastBlock(fh); err != nil {
		return fmt.Errorf("filling %s: %w", fillFile, err)
	}
	if err := unix.Statfs(r, &st); err != nil {
		return err
	}
	// ext4 keeps a pool (s_resv_clusters, 16 MiB here) that no one can
	// allocate: statfs counts it free, but not available.
	if st.Bavail*uint64(st.Bsize) > 1<<20 {
		return fmt.Errorf("the filesystem still has %d bytes available after filling", st.Bavail*uint64(st.Bsize))
	}
	return nil
}
