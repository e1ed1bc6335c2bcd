package grub

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/checks/checkstest"
	"rescue/facts"
	"rescue/parse/grubenv"
	"rescue/repair"
	"rescue/sysroot"
)

func TestGolden(t *testing.T) {
	checkstest.Run(t, Check)
}

// load unpacks a golden archive, lets edit change the tree, and scans it.
func load(t *testing.T, name string, devices bool, edit func(dir string)) ([]checks.Finding, *checks.Result) {
	t.Helper()
	a, err := txtar.ParseFile("testdata/" + name + ".txtar")
	require.NoError(t, err)
	dir := t.TempDir()
	checkstest.Unpack(t, a, dir, false)
	if edit != nil {
		edit(dir)
	}
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { root.Close() })
	opt := checkstest.FactOptions(t, a)
	if !devices {
		opt = facts.Options{}
	}
	res := checks.Run(context.Background(), root, facts.New(root, opt), []*checks.Check{Check}, nil)
	require.Empty(t, res.Checks[0].Error)
	return res.Findings, res
}

func find(fs []checks.Finding, kind string) *checks.Finding {
	for i := range fs {
		if fs[i].Kind == kind {
			return &fs[i]
		}
	}
	return nil
}

// A grubenv whose header was overwritten: GRUB ignores it, so EL8's
// $kernelopts is empty. The fix writes a fresh 1024-byte block holding
// kernelopts.
func TestInvalidGrubenv(t *testing.T) {
	var dir string
	fs, _ := load(t, "el8-kernelopts-lost", true, func(d string) {
		dir = d
		require.NoError(t, os.WriteFile(filepath.Join(dir, "boot/grub2/grubenv"), []byte("saved_entry=x\n"), 0o644))
	})
	f := find(fs, "grubenv-invalid")
	require.NotNil(t, f, checkstest.FormatFindings(fs))
	assert.Equal(t, checks.Critical, f.Severity)
	assert.Nil(t, find(fs, "kernelopts-undefined"), "one finding, one write")
	require.Len(t, f.Fixes, 1)
	op := f.Fixes[0].Ops[0]
	assert.Equal(t, repair.KindWrite, op.Kind)
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	data, err := op.Content(root)
	require.NoError(t, err)
	assert.Len(t, data, grubenv.Size)
	e, err := grubenv.Parse(data)
	require.NoError(t, err)
	v, _ := e.Get("kernelopts")
	assert.Equal(t, "root=UUID=9e7c1b2a-3d4e-4f50-8a61-7b8c9d0e1f2a ro crashkernel=auto net.ifnames=0 console=ttyS0,115200n8", v)
}

// Without any grubenv, kernelopts-undefined creates one.
func TestKerneloptsCreatesGrubenv(t *testing.T) {
	fs, _ := load(t, "el8-kernelopts-lost", true, func(dir string) {
		require.NoError(t, os.Remove(filepath.Join(dir, "boot/grub2/grubenv")))
	})
	f := find(fs, "kernelopts-undefined")
	require.NotNil(t, f, checkstest.FormatFindings(fs))
	require.Len(t, f.Fixes, 1)
	op := f.Fixes[0].Ops[0]
	assert.Equal(t, repair.Absent, op.Expect.Type)
	require.NotNil(t, op.Mode)
	assert.Equal(t, repair.Mode(0o644), *op.Mode)
	e, err := grubenv.Parse(op.Data)
	require.NoError(t, err)
	v, _ := e.Get("kernelopts")
	assert.True(t, strings.HasPrefix(v, "root=UUID=9e7c1b2a-3d4e-4f50-8a61-7b8c9d0e1f2a ro "), v)
}

// Without a device list nothing is said about UUIDs, and the report says
// why; missing files are still found.
func TestNoDevices(t *testing.T) {
	fs, res := load(t, "debian12-stale-uuid", false, nil)
	assert.Nil(t, find(fs, "root-unknown"))
	assert.Nil(t, find(fs, "search-uuid-unknown"))
	assert.Nil(t, find(fs, "default-grub-root"))
	require.NotEmpty(t, res.Notes)
	assert.Contains(t, res.Notes[0], "no block-device list")

	fs, _ = load(t, "debian12-empty", false, nil)
	f := find(fs, "config-empty")
	require.NotNil(t, f)
	assert.Empty(t, f.Fixes)
	assert.Contains(t, f.NoFix, "UUIDs of the root and /boot filesystems are not known")
}

// An EL7 root that lost its EFI grub.cfg gets the full configuration there
// (EL7 and EL8 keep it on the ESP), with the EFI loaders.
func TestEL7EFIFullConfig(t *testing.T) {
	fs, _ := load(t, "el9-efi-stub-missing", true, func(dir string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/os-release"), []byte("ID=centos\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n"), 0o644))
	})
	f := find(fs, "config-missing")
	require.NotNil(t, f, checkstest.FormatFindings(fs))
	require.Len(t, f.Fixes, 1)
	data := string(f.Fixes[0].Ops[0].Data)
	assert.Contains(t, data, "\tlinuxefi /vmlinuz-5.14.0-362.8.1.el9_3.x86_64 root=UUID=9e7c1b2a-3d4e-4f50-8a61-7b8c9d0e1f2a ro console=tty0 console=ttyS0,115200n8 no_timer_check net.ifnames=0 crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M\n")
	assert.Contains(t, data, "\tinitrdefi /initramfs-5.14.0-362.8.1.el9_3.x86_64.img\n")
	assert.Contains(t, data, "search --no-floppy --fs-uuid --set=root 4a8e0d39-8a2f-4b61-9f0e-2d7c1b3a5e6f\n")
	assert.NotContains(t, data, "0-rescue", "the rescue kernel is not a kernel of its own")
}

// TestGRUBAcceptsConfigs runs GRUB's own parser (grub-script-check) over
// every grub.cfg of the goldens, broken, repaired and regenerated, so
// that what rescue writes is a configuration GRUB reads.
func TestGRUBAcceptsConfigs(t *testing.T) {
	check, err := exec.LookPath("grub-script-check")
	if err != nil {
		t.Skip("grub-script-check is not installed (apt-get install grub-common)")
	}
	files, err := filepath.Glob("testdata/*.txtar")
	require.NoError(t, err)
	n := 0
	for _, file := range files {
		a, err := txtar.ParseFile(file)
		require.NoError(t, err)
		for _, f := range a.Files {
			if !strings.HasSuffix(f.Name, "grub.cfg") || len(f.Data) == 0 {
				continue
			}
			p := filepath.Join(t.TempDir(), "grub.cfg")
			require.NoError(t, os.WriteFile(p, f.Data, 0o644))
			out, err := exec.Command(check, p).CombinedOutput()
			assert.NoError(t, err, "%s: %s: %s", file, f.Name, out)
			n++
		}
	}
	assert.Greater(t, n, 10)
}
