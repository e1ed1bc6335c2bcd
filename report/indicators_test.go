package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"rescue/checks"
)

// TestWriteIndicators groups the indicators of intrusion findings by place,
// in the order places first appear, and says nothing without them.
func TestWriteIndicators(t *testing.T) {
	mt := time.Date(2026, 11, 30, 3, 12, 0, 0, time.UTC)
	fs := []checks.Finding{
		{ID: "fstab/x:/etc/fstab", Path: "/etc/fstab"},
		{ID: "cron/job:/etc/cron.d/k#1", Path: "/etc/cron.d/k", Line: 1, Indicators: &checks.Indicators{
			Place: "cron", Marks: []checks.Mark{{Code: "download-to-shell"}},
			URLs: []string{"http://192.0.2.7/d.sh"}, Hosts: []string{"192.0.2.7"},
		}},
		{ID: "units/unit:/lib/systemd/system/bot.service", Path: "/lib/systemd/system/bot.service", Indicators: &checks.Indicators{
			Place: "systemd", Marks: []checks.Mark{{Code: "miner"}, {Code: "writable-dir"}},
			Files: []checks.IndicatorFile{{Path: "/tmp/kdevtmpfsi", Role: "program", Type: "file", SHA256: "ab12", Size: 3, MTime: mt, CTime: mt, Unowned: true}},
		}},
		{ID: "cron/job:/etc/cron.d/k#2", Path: "/etc/cron.d/k", Line: 2, Indicators: &checks.Indicators{
			Place: "cron", Marks: []checks.Mark{{Code: "miner"}}, Wallets: []string{"48ed"},
		}},
	}
	var b bytes.Buffer
	WriteIndicators(&b, fs, Style{})
	assert.Equal(t, `
INTRUSION INDICATORS, by where they persist
  cron
    /etc/cron.d/k:1  [download-to-shell]
      url     http://192.0.2.7/d.sh
      host    192.0.2.7
    /etc/cron.d/k:2  [miner]
      wallet  48ed
  systemd
    /lib/systemd/system/bot.service  [miner, writable-dir]
      program /tmp/kdevtmpfsi, sha256 ab12, 3 bytes, mtime 2026-11-30 03:12:00Z, ctime 2026-11-30 03:12:00Z, no package
`, b.String())

	b.Reset()
	WriteIndicators(&b, fs[:1], Style{})
	assert.Empty(t, b.String())
}
