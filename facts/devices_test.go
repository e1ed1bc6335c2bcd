package facts_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"rescue/facts"
)

// TestLookup pins what the fstab and grub checks are told about a source:
// found, or missing (checkable), or not a name the device list can answer
// for (not checkable, so that no one reports it missing on guesswork).
func TestLookup(t *testing.T) {
	d := &facts.Devices{Source: "file", List: []facts.Device{
		{Path: "/dev/vda1", UUID: "2222-bbbb", PartUUID: "abcd-01", Type: "ext4"},
		{Path: "/dev/vda15", UUID: "12AB-34CD", Label: "my esp", PartLabel: "EFI", Type: "vfat"},
	}}
	type want struct {
		path             string
		found, checkable bool
	}
	for spec, w := range map[string]want{
		"UUID=2222-BBBB":                {"/dev/vda1", true, true},
		`UUID="12ab-34cd"`:              {"/dev/vda15", true, true},
		`/dev/disk/by-label/my\x20esp`:  {"/dev/vda15", true, true},
		"/dev/disk/by-partuuid/ABCD-01": {"/dev/vda1", true, true},
		"PARTLABEL=EFI":                 {"/dev/vda15", true, true},
		"LABEL=My esp":                  {"", false, true},
		"UUID=9999":                     {"", false, true},
		`UUID=""`:                       {"", false, true},
		"UUID=":                         {"", false, false},
		"/dev/disk/by-uuid/":            {"", false, false},
		"/dev/vda1":                     {"", false, false},
		"tmpfs":                         {"", false, false},
	} {
		dev, found, checkable := d.Lookup(spec)
		assert.Equal(t, w, want{dev.Path, found, checkable}, spec)
	}
	_, _, checkable := (&facts.Devices{}).Lookup("UUID=2222-bbbb")
	assert.False(t, checkable, "an empty list answers for nothing")
}
