package main

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/session"
)

// parseScan and parseFix run a command's flag parsing alone: the command
// made by newScanCmd or newFixCmd with a runF that only keeps the options.
func parseScan(t *testing.T, args ...string) (*scanOptions, error) {
	return parseFlags(t, newScanCmd, args)
}

func parseFix(t *testing.T, args ...string) (*fixOptions, error) {
	return parseFlags(t, newFixCmd, args)
}

func parseFlags[O any](t *testing.T, newCmd func(*app, func(context.Context, *O) error) *cobra.Command, args []string) (*O, error) {
	t.Helper()
	var got *O
	cmd := newCmd(newApp(nil, &bytes.Buffer{}, &bytes.Buffer{}), func(_ context.Context, o *O) error {
		got = o
		return nil
	})
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	err := cmd.Execute()
	if err == nil {
		require.NotNil(t, got, "runF was not called")
	} else {
		require.Nil(t, got, "runF was called although the flags were refused")
	}
	return got, err
}

func names(list []*checks.Check) []string {
	var out []string
	for _, c := range list {
		out = append(out, c.Name)
	}
	return out
}

func isUsage(err error) bool {
	var ue *session.UsageError
	return errors.As(err, &ue)
}

func TestScanFlags(t *testing.T) {
	o, err := parseScan(t, "/mnt/broken", "--json", "--checks", "fstab,grub", "--memory", "2G",
		"--devices", "blkid.txt", "--root-device", "/dev/vdb1", "--packages", "a", "--packages", "b", "--console", "serial.log")
	require.NoError(t, err)
	assert.Equal(t, "/mnt/broken", o.arg)
	assert.True(t, o.json)
	assert.Equal(t, []string{"fstab", "grub"}, names(o.list))
	assert.Equal(t, int64(2<<30), o.mem)
	assert.Equal(t, "serial.log", o.console)
	assert.Equal(t, targetOptions{devicesFile: "blkid.txt", rootDevice: "/dev/vdb1", packages: []string{"a", "b"}}, o.target)

	o, err = parseScan(t, "/mnt/broken", "--checks", "all,-selinux")
	require.NoError(t, err)
	assert.NotContains(t, names(o.list), "selinux")
	assert.Contains(t, names(o.list), "fstab")
	assert.Zero(t, o.mem, "no --memory: taken from the last boot")

	for _, bad := range [][]string{
		{"/mnt/broken", "--checks", "nosuchcheck"},
		{"/mnt/broken", "--memory", "lots"},
		{"/mnt/broken", "/mnt/other"},
		{},
	} {
		_, err := parseScan(t, bad...)
		assert.True(t, isUsage(err), "%q: want a usage error, got %v", bad, err)
	}
}

func TestFixFlags(t *testing.T) {
	o, err := parseFix(t, "/dev/vdb", "--apply", "--only", "fstab", "--choose", "fstab/source-unknown:/etc/fstab#/data=2",
		"--choose", "grub/x=0", "--memory", "512M", "--allow-chroot", "--serial-console", "--boot-previous-kernel",
		"--mirror", "http://m/debian", "--offline", "--allow-fsck", "--root-partition", "3")
	require.NoError(t, err)
	assert.Equal(t, "/dev/vdb", o.arg)
	assert.True(t, o.apply)
	assert.Equal(t, []string{"fstab"}, names(o.list))
	assert.Equal(t, map[string]int{"fstab/source-unknown:/etc/fstab#/data": 1, "grub/x": -1}, o.chosen, "1-based on the command line, 0-based (-1: leave alone) for Candidates")
	assert.Equal(t, int64(512<<20), o.mem)
	assert.True(t, o.allowChroot)
	assert.Equal(t, "ttyS0", o.serialConsole, "--serial-console without a value")
	assert.True(t, o.bootPrevious)
	assert.Equal(t, []string{"http://m/debian"}, o.mirrors)
	assert.True(t, o.offline)
	assert.True(t, o.target.allowFsck)
	assert.Equal(t, "3", o.target.rootPartition)

	o, err = parseFix(t, "/mnt/broken", "--spill", "/srv/spill")
	require.NoError(t, err)
	assert.Equal(t, "/srv/spill", o.journalDir, "--spill keeps the journal where the files go")
	assert.False(t, o.apply, "a dry run by default")
	assert.Empty(t, o.chosen)

	o, err = parseFix(t, "/mnt/broken", "--spill", "/srv/spill", "--journal-dir", "/srv/spill")
	require.NoError(t, err)
	assert.Equal(t, "/srv/spill", o.journalDir)

	for _, bad := range [][]string{
		{"/mnt/broken", "--spill", "/srv/spill", "--journal-dir", "/srv/other"},
		{"/mnt/broken", "--choose", "noequals"},
		{"/mnt/broken", "--choose", "x=-1"},
		{"/mnt/broken", "--choose", "x=one"},
		{"/mnt/broken", "--only", "nosuchcheck"},
		{"/mnt/broken", "--memory", "lots"},
	} {
		_, err := parseFix(t, bad...)
		assert.True(t, isUsage(err), "%q: want a usage error, got %v", bad, err)
	}
}
