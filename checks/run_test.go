package checks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSelectFamily selects and leaves out a family of checks by its name.
func TestSelectFamily(t *testing.T) {
	a, b, c := &Check{Name: "fstab"}, &Check{Name: "cron", Family: "intrusions"}, &Check{Name: "units", Family: "intrusions"}
	all := []*Check{a, b, c}
	names := func(spec string) []string {
		t.Helper()
		list, err := Select(all, spec)
		require.NoError(t, err)
		var out []string
		for _, c := range list {
			out = append(out, c.Name)
		}
		return out
	}
	assert.Equal(t, []string{"cron", "units"}, names("intrusions"))
	assert.Equal(t, []string{"fstab"}, names("-intrusions"))
	assert.Equal(t, []string{"fstab", "units"}, names("fstab,intrusions,-cron"))
	_, err := Select(all, "intrusion")
	assert.ErrorContains(t, err, "unknown check")
}
