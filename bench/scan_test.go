//go:build bench

package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"rescue/images"
	"rescue/images/clouddisk"
	"rescue/images/e2e"
)

// scanRow is rescue scan of one target on one disk.
type scanRow struct {
	what string // "scan DIR", "scan IMAGE"
	disk string
	cost cost
	goal time.Duration
	err  string // what went wrong, when the scan did not end with 0 or 4
}

// scanGoal is the goal: warm under a second, cold under two on the
// local disk and under five on a cloud disk; the whole of rescue scan
// IMAGE (probe, mount, scan, unmount) under five seconds cold.
func scanGoal(what, disk string) time.Duration {
	if what == "scan IMAGE" {
		return 5 * time.Second
	}
	switch disk {
	case "warm":
		return time.Second
	case "cold local":
		return 2 * time.Second
	}
	return 5 * time.Second
}

// scanOn times rescue scan of target on the disk; findings (exit 4) are
// expected, an operational error (8) is a failure.
func scanOn(t *testing.T, bin, what, target string, d *disk, runs int) scanRow {
	cmd := []string{bin, "scan", target}
	costs, first := race(t, d, runs, cmd)
	row := scanRow{what: what, disk: d.name, cost: costs[0], goal: scanGoal(what, d.name)}
	if c := first[0].code; c != 0 && c != 4 {
		row.err = fmt.Sprintf("exit %d: %s", c, lastLine(first[0].stderr))
		t.Errorf("%s on %s: %s", what, d.name, row.err)
	}
	return row
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// baseImage is the Debian 12 disk image the boot proof starts from (MBR,
// ext4, grub, the boot root), cached by the e2e suite and built when
// missing.
func baseImage(t *testing.T) *images.DebianImage {
	env := &e2e.Env{CacheDir: images.DefaultCacheDir}
	img, err := env.Base(context.Background(), images.MBRExt4)
	require.NoError(t, err)
	return img
}

// imageScans times rescue scan IMAGE on the base image where it is (cold
// local disk) and served as a cold cloud disk (a copy in memory).
func imageScans(t *testing.T, bin string, runs int, m clouddisk.Model) []scanRow {
	img := baseImage(t)
	local := localDisk(filepath.Dir(img.Path))
	rows := []scanRow{scanOn(t, bin, "scan IMAGE", img.Path, local, runs)}

	shm, err := os.MkdirTemp("/dev/shm", "rescue-bench-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(shm) })
	cp := filepath.Join(shm, "disk.img")
	out, err := exec.Command("cp", "--sparse=always", img.Path, cp).CombinedOutput()
	require.NoError(t, err, string(out))
	d, err := clouddisk.Serve(cp, m)
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	cloud := &disk{name: "cold cloud", dir: d.Path, cold: clouddisk.DropCaches, ops: func() int64 { return d.Stats().Operations }}
	rows = append(rows, scanOn(t, bin, "scan IMAGE", d.Path, cloud, runs))
	return rows
}

func printScans(rows []scanRow) {
	fmt.Printf("%-12s %-10s %7s %7s %6s %7s  %s\n", "scan", "disk", "wall", "cpu", "peak", "goal", "")
	for _, r := range rows {
		v := verdict(r.cost.wall < r.goal)
		if r.err != "" {
			v = "FAILED: " + r.err
		}
		fmt.Printf("%-12s %-10s %7s %7s %6s %7s  %s\n", r.what, r.disk, secs(r.cost.wall), secs(r.cost.cpu), mb(r.cost.rssKB), "<"+secs(r.goal), v)
	}
}
