package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"rescue/evidence"
)

func TestWriteLastBoot(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 1, 54, 3, 0, time.UTC)
	lb := &evidence.Report{Boots: []*evidence.Analysis{
		{Source: "console", Files: []string{"serial.log"}, Boot: "last", Lines: 812, Class: evidence.Emergency,
			Why: "Timed out waiting for device /dev/disk/by-uuid/deadbeef.", Reached: evidence.StageSystemd,
			Events: []evidence.Event{
				{Kind: evidence.KindDeviceTimeout, Decisive: true, Line: evidence.Line{Source: "console", N: 705, Uptime: 91234 * time.Millisecond, HasUptime: true, Text: "Timed out waiting for device /dev/disk/by-uuid/deadbeef."},
					Findings: []string{"fstab/source-unknown:/etc/fstab#/data"}, Explained: true},
				{Kind: evidence.KindDiskFull, Line: evidence.Line{Source: "console", N: 710, Text: "No space left on device"}, Findings: []string{}},
			}},
		{Source: "journal", Boot: "previous", BootID: "3f2a8c0011223344556677889900aabb", Start: t0, End: t0.Add(time.Hour), Lines: 2000, Class: evidence.Booted,
			Events: []evidence.Event{
				// A journal message is the disk's text: an escape
				// sequence in it must not reach the terminal.
				{Kind: evidence.KindUnitFailed, Decisive: true, Line: evidence.Line{Source: "journal", Time: t0.Add(time.Minute), Text: "Failed to start \x1b[2Jevil\nforged line"}, Findings: []string{}},
			}},
	}, Machine: evidence.MachineFacts{Memory: &evidence.Fact{Value: "1023 MiB", Bytes: 1 << 30, From: "the console capture's last boot (serial.log)", Line: evidence.Line{Text: "Memory: 985432K/1048040K available"}}}}
	var b bytes.Buffer
	WriteLastBoot(&b, lb, Style{})
	want := `
LAST BOOT
  The console capture's last boot (serial.log): EMERGENCY, reached systemd
    Timed out waiting for device /dev/disk/by-uuid/deadbeef.
    812 lines
    ! console:705 [91.234] Timed out waiting for device /dev/disk/by-uuid/deadbeef.
        device-timeout: explained by fstab/source-unknown:/etc/fstab#/data
      console:710 No space left on device
        disk-full: not explained by any check
  The journal's previous boot (3f2a8c001122, 2026-12-01 01:54:03 UTC): BOOTED
    2026-12-01 01:54:03 to 02:54:03 UTC; no shutdown recorded: it crashed, hung or lost power; 2000 lines
    ! journal 01:55:03 Failed to start \x1b[2Jevil\nforged line
        unit-failed: not explained by any check
  machine memory: 1023 MiB, from the console capture's last boot (serial.log): Memory: 985432K/1048040K available
`
	assert.Equal(t, want, b.String())
}
