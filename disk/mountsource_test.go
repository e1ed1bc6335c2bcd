package disk

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/parse/mountinfo"
)

// TestSourceOf finds the device a mount came from, its octal escapes
// decoded. Before parse/mountinfo, the source was returned as the kernel
// escapes it ("/dev/my\040disk"), and no device on the list could be the
// one holding the target root.
func TestSourceOf(t *testing.T) {
	tab, err := mountinfo.Parse([]byte(`22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
61 22 7:3 / /run/rescue/t\040one ro shared:300 - xfs /tmp/my\040disk ro
62 22 7:3 /sub /mnt ro - xfs /tmp/other ro
`))
	require.NoError(t, err)
	assert.Equal(t, "/tmp/my disk", sourceOf(tab, "7:3"))
	assert.Equal(t, "/dev/vda1", sourceOf(tab, "253:1"))
	assert.Equal(t, "", sourceOf(tab, "8:1"))
}
