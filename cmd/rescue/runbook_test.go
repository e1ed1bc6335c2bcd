package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"rescue/images"
)

// TestFixFsckOnlyIsRepaired: when the only thing wrong is a filesystem
// with errors recorded, fix --apply --allow-fsck repairs it with e2fsck
// and nothing else; the exit code must say "repaired" (1), not "nothing to
// do" (0), and findings_left 0, so that a runbook can tell. The exit code
// comes from a full rescan whatever --only chose, so the root is made
// whole first (cleanTree).
func TestFixFsckOnlyIsRepaired(t *testing.T) {
	needDiskRoot(t)
	if _, err := exec.LookPath("debugfs"); err != nil {
		t.Skip("debugfs is not installed")
	}
	u := "b2c7d1e0-5a4b-4c3d-8e2f-0123456789ab"
	root := systemTree(t, "debian", "UUID="+u+" / ext4 defaults 0 1\n")
	cleanTree(t, root)
	img := buildImage(t, images.Layout{Table: images.DOS, SizeMiB: 40, Partitions: []images.Partition{
		{FS: &images.Filesystem{Type: "ext4", UUID: u, From: root}}}})
	out, err := exec.Command("debugfs", "-w", "-R", "ssv state 2", img.Path+"?offset="+strconv.FormatInt(img.Parts[0].Offset, 10)).CombinedOutput()
	require.NoError(t, err, "%s", out)

	code, text, errOut := cli(t, "fix", img.Path, "--apply", "--allow-fsck", "--json", "--only", "fsstate")
	require.Equal(t, 1, code, "%s\n%s", text, errOut)
	var rep struct {
		Result *struct {
			ID string `json:"id"`
		} `json:"result"`
		FindingsLeft int `json:"findings_left"`
		ExitCode     int `json:"exit_code"`
	}
	require.NoError(t, json.Unmarshal([]byte(text), &rep))
	require.Equal(t, 1, rep.ExitCode)
	require.Equal(t, 0, rep.FindingsLeft)
	require.Contains(t, errOut, "e2fsck")

	// Nothing is left: a second run has nothing to do.
	code, _, errOut = cli(t, "fix", img.Path, "--apply", "--allow-fsck", "--only", "fsstate")
	require.Equal(t, 0, code, errOut)
}

// TestDiskIDTarget: disk:ID that no disk carries is an operational error
// (8) that names the id and says where rescue looked, for every command
// that takes a disk.
func TestDiskIDTarget(t *testing.T) {
	t.Setenv("RESCUE_STATE_DIR", t.TempDir())
	for _, args := range [][]string{
		{"scan", "disk:d-bp1nosuchdisk000000"},
		{"fix", "disk:d-bp1nosuchdisk000000", "--apply"},
		{"probe", "disk:d-bp1nosuchdisk000000"},
		{"mount", "disk:d-bp1nosuchdisk000000", t.TempDir()},
	} {
		code, _, errOut := cli(t, args...)
		require.Equal(t, 8, code, "%v: %s", args, errOut)
		require.Contains(t, errOut, "disk:d-bp1nosuchdisk000000: no disk has that id", args)
		require.Contains(t, errOut, "/dev/disk/by-id", args)
	}
	// A usage mistake is still a usage error, before any disk is looked for.
	code, _, _ := cli(t, "mount", "disk:d-bp1nosuchdisk000000", "--allow-fsck")
	require.Equal(t, 16, code)
}

// cleanTree completes a systemTree root so that a scan of it finds
// nothing: the account files, a shell, an SSH host key, and no grub or
// kernel or sshd to check.
func cleanTree(t *testing.T, root string) {
	t.Helper()
	files := map[string]string{
		"etc/shadow":   "root:*:19000:0:99999:7:::\n",
		"etc/group":    "root:x:0:\n",
		"etc/gshadow":  "root:*::\n",
		"usr/bin/bash": "#!/bin/sh\n",
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	require.NoError(t, os.Chmod(filepath.Join(root, "usr/bin/bash"), 0o755))
	for _, name := range []string{"etc/shadow", "etc/gshadow"} {
		require.NoError(t, os.Chmod(filepath.Join(root, name), 0o600))
	}
	require.NoError(t, os.RemoveAll(filepath.Join(root, "etc/ssh")))
	require.NoError(t, os.RemoveAll(filepath.Join(root, "boot/grub")))
	require.NoError(t, os.Remove(filepath.Join(root, "boot/vmlinuz-6.1.0-21")))
}
