package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCompletion(t *testing.T) {
	code, out, _ := cli(t, "completion", "bash")
	require.Equal(t, 0, code)
	if bash, err := exec.LookPath("bash"); err == nil {
		// The script loads in bash and registers a completion for rescue.
		cmd := exec.Command(bash, "-c", `eval "$RESCUE_COMPLETION"; complete -p rescue`)
		cmd.Env = append(cmd.Environ(), "RESCUE_COMPLETION="+out)
		got, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", got)
		require.Contains(t, string(got), "__start_rescue rescue")
	}
	code, out, _ = cli(t, "completion", "zsh")
	require.Equal(t, 0, code)
	require.True(t, strings.HasPrefix(out, "#compdef rescue"), out[:40])
	code, out, _ = cli(t, "completion", "fish")
	require.Equal(t, 0, code)
	require.Contains(t, out, "complete -c rescue")

	code, _, errOut := cli(t, "completion", "tcsh")
	require.Equal(t, 16, code)
	require.Contains(t, errOut, "bash, zsh or fish")
	code, _, _ = cli(t, "completion")
	require.Equal(t, 16, code)

	// What the scripts ask rescue for: check names for explain and for
	// the last element of a --checks list.
	code, out, _ = cli(t, "__complete", "explain", "")
	require.Equal(t, 0, code)
	require.Contains(t, strings.Fields(out), "fstab")
	code, out, _ = cli(t, "__complete", "scan", "x", "--checks", "all,-")
	require.Equal(t, 0, code)
	require.Contains(t, strings.Fields(out), "all,-selinux")
	require.NotContains(t, strings.Fields(out), "all,-all")
}
