package firewall

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks/checkstest"
)

func TestGolden(t *testing.T) {
	checkstest.Run(t, Check)
}

// FuzzCheck feeds hostile firewall files to the check.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("*filter\n:INPUT DROP [0:0]\nCOMMIT\n"), []byte("<zone><service name=\"x\"/></zone>"))
	f.Fuzz(func(t *testing.T, rules, zone []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{
			"usr/sbin/sshd": []byte("x"), "etc/ufw/ufw.conf": []byte("ENABLED=yes\n"), "etc/ufw/user.rules": rules,
			"etc/iptables/rules.v4": rules, "usr/lib/firewalld/zones/public.xml": zone, "etc/ssh/sshd_config": rules,
			"etc/nftables.conf": rules, "etc/systemd/system/sysinit.target.wants/nftables.service": []byte("x"),
		})
	})
}

// TestNftAcceptsGoldens runs the real nft, in check mode and in a network
// namespace of its own, on the rulesets of the nftables goldens, broken
// and repaired: a fix must leave a ruleset nft loads, and a broken case
// must be one nft loads too (a ruleset nft refuses whole locks nobody
// out). Skipped where nft or unshare cannot run (CI installs nftables).
func TestNftAcceptsGoldens(t *testing.T) {
	nft, err := exec.LookPath("nft")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("SKIP: needs nft (apt-get install nftables) and root for a network namespace")
	}
	files, _ := filepath.Glob("testdata/*nftables*.txtar")
	require.NotEmpty(t, files)
	for _, file := range files {
		a, err := txtar.ParseFile(file)
		require.NoError(t, err)
		for _, f := range a.Files {
			name := strings.TrimPrefix(f.Name, "want/")
			if !strings.HasSuffix(name, ".nft") && name != "etc/nftables.conf" {
				continue
			}
			p := filepath.Join(t.TempDir(), "ruleset.nft")
			require.NoError(t, os.WriteFile(p, f.Data, 0o644))
			out, err := exec.Command("unshare", "-n", nft, "-c", "-f", p).CombinedOutput()
			if err != nil && strings.Contains(string(out), "Operation not permitted") {
				t.Skipf("SKIP: nft cannot talk to the kernel here: %s", out)
			}
			assert.NoError(t, err, "%s: %s: nft -c refuses it:\n%s", file, f.Name, out)
		}
	}
}
