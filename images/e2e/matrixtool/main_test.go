package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPlan(t *testing.T) {
	sets := []string{"bookworm=all", "bullseye=libnss-files-deleted", "trixie=zero-bash"}
	// Without a rotation: the fixed sets, Debian 12 first.
	got, err := Plan(100, 0, false, sets)
	require.NoError(t, err)
	assert.Equal(t, []string{"bookworm all", "bullseye libnss-files-deleted", "trixie zero-bash"}, got)

	// The rotation adds cells to 11 and 13 only, after their fixed sets,
	// and the same whatever narrower set Debian 12 is given.
	got, err = Plan(100, 8, false, sets)
	require.NoError(t, err)
	narrow, err := Plan(100, 8, false, []string{"bookworm=pam-unix-deleted", sets[1], sets[2]})
	require.NoError(t, err)
	assert.Equal(t, got[1:], narrow[1:])
	assert.Equal(t, "bookworm pam-unix-deleted", narrow[0])
	added := 0
	for _, l := range got {
		suite, set, _ := strings.Cut(l, " ")
		if suite != "bookworm" {
			added += len(strings.Split(set, ",")) - 1
		}
	}
	assert.Equal(t, 8, added)

	// Empty sets and no rotation: only Debian 12.
	got, err = Plan(100, 0, false, []string{"bookworm=all", "bullseye=", "trixie="})
	require.NoError(t, err)
	assert.Equal(t, []string{"bookworm all"}, got)

	// The whole matrix: full on 12, every scenario on 11 and 13.
	got, err = Plan(100, 0, true, nil)
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, "bookworm full", got[0])
	assert.Contains(t, got[1], "serial-console")

	_, err = Plan(100, 0, false, []string{"sid=all"})
	assert.Error(t, err)
	_, err = Plan(100, 0, false, []string{"bullseye=no-such-scenario"})
	assert.Error(t, err)
}
