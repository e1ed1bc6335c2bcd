package images

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// The accounts a built image can be logged in with: root (password "root",
// set when the root is built) and an ordinary user, as a cloud image has
// one. Faults that PAM applies to ordinary users only (limits.conf "*"
// lines, for one) show only in the ordinary user's login.
const (
	RootPassword  = "root"
	LoginUser     = "debian"
	LoginPassword = "debian"
)

// networkUnit configures every Ethernet interface by DHCP with
// systemd-networkd, whatever name udev gives it: qemu's user networking
// answers DHCP, and the harness reaches sshd through a forwarded port.
const networkUnit = `# Test plumbing of the rescue boot proof: the NIC qemu's user networking
# gives the machine, configured by DHCP, so that sshd can be reached.
[Match]
Type=ether

[Network]
DHCP=ipv4
`

// addLogins creates the ordinary user (home directory, password), authorizes
// the public key in pubKeyFile (when given) for root and that user, and
// lets systemd-networkd bring up the network so that sshd can be reached.
// The user is made with the root's own useradd and chpasswd in a chroot, so
// that its entries are what Debian itself writes.
func addLogins(ctx context.Context, dir, pubKeyFile string) error {
	if err := runCmd(ctx, "chroot", dir, "useradd", "--create-home", "--user-group", "--shell", "/bin/bash", LoginUser); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "chroot", dir, "chpasswd")
	cmd.Stdin = strings.NewReader(LoginUser + ":" + LoginPassword + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("chpasswd: %w: %s", err, out)
	}
	if pubKeyFile != "" {
		key, err := os.ReadFile(pubKeyFile)
		if err != nil {
			return err
		}
		for _, home := range []struct {
			dir      string
			uid, gid int
		}{{"root", 0, 0}, {"home/" + LoginUser, -1, -1}} {
			uid, gid := home.uid, home.gid
			if uid < 0 {
				fi, err := os.Stat(filepath.Join(dir, home.dir))
				if err != nil {
					return err
				}
				st := fi.Sys().(*syscall.Stat_t)
				uid, gid = int(st.Uid), int(st.Gid)
			}
			ssh := filepath.Join(dir, home.dir, ".ssh")
			if err := os.MkdirAll(ssh, 0o700); err != nil {
				return err
			}
			ak := filepath.Join(ssh, "authorized_keys")
			if err := os.WriteFile(ak, key, 0o600); err != nil {
				return err
			}
			for _, p := range []string{ssh, ak} {
				if err := os.Lchown(p, uid, gid); err != nil {
					return err
				}
			}
		}
	}
	netDir := filepath.Join(dir, "etc/systemd/network")
	if err := os.MkdirAll(netDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(netDir, "50-rescue-e2e.network"), []byte(networkUnit), 0o644); err != nil {
		return err
	}
	// systemctl enable, by hand: the unit and its socket.
	for _, l := range []struct{ wants, unit string }{
		{"multi-user.target.wants", "systemd-networkd.service"},
		{"sockets.target.wants", "systemd-networkd.socket"},
	} {
		d := filepath.Join(dir, "etc/systemd/system", l.wants)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		link := filepath.Join(d, l.unit)
		_ = os.Remove(link)
		if err := os.Symlink("/lib/systemd/system/"+l.unit, link); err != nil {
			return err
		}
	}
	return nil
}

// NewSSHKey writes a new passphrase-less ed25519 key pair to path and
// path.pub with ssh-keygen.
func NewSSHKey(ctx context.Context, path string) error {
	_ = os.Remove(path)
	_ = os.Remove(path + ".pub")
	return runCmd(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rescue-e2e", "-f", path)
}
