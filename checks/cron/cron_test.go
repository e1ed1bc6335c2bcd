package cron

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/checks/checkstest"
	"rescue/facts"
	"rescue/pkgdb"
	"rescue/sysroot"
)

func TestGolden(t *testing.T) {
	checkstest.RunWith(t, Check, checkstest.Options{OpenPackages: pkgdb.Open})
}

// TestIndicators checks what a runbook reads from --json for the Kinsing
// archive: the URL and host of the dropper, and the miner's file with its
// sha256 and times.
func TestIndicators(t *testing.T) {
	a, err := txtar.ParseFile("testdata/kinsing-campaign.txtar")
	require.NoError(t, err)
	dir := t.TempDir()
	checkstest.Unpack(t, a, dir, false)
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	res := checks.Run(context.Background(), root, facts.New(root, facts.Options{OpenPackages: pkgdb.Open}), []*checks.Check{Check}, nil)
	byID := map[string]checks.Finding{}
	for _, f := range res.Findings {
		byID[f.ID] = f
	}
	dl := byID["cron/job:/etc/cron.d/kinsing#1"].Indicators
	require.NotNil(t, dl)
	assert.Equal(t, "cron", dl.Place)
	assert.Equal(t, []string{"http://192.0.2.7/d.sh"}, dl.URLs)
	assert.Equal(t, []string{"192.0.2.7"}, dl.Hosts)
	assert.Equal(t, "download-to-shell", dl.Marks[0].Code)

	miner := byID["cron/job:/etc/cron.d/kinsing#2"].Indicators
	require.NotNil(t, miner)
	var file *checks.IndicatorFile
	for i, f := range miner.Files {
		if f.Path == "/tmp/kdevtmpfsi" {
			file = &miner.Files[i]
		}
	}
	require.NotNil(t, file, "%+v", miner.Files)
	data, err := os.ReadFile(filepath.Join(dir, "tmp/kdevtmpfsi"))
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	assert.Equal(t, hex.EncodeToString(sum[:]), file.SHA256)
	assert.Equal(t, int64(len(data)), file.Size)
	assert.Equal(t, "program", file.Role)
	assert.False(t, file.MTime.IsZero())
	assert.False(t, file.CTime.IsZero())
	assert.Equal(t, "0755", file.Mode)

	// The JSON carries them under "indicators".
	b, err := json.Marshal(byID["cron/job:/etc/cron.d/kinsing#2"])
	require.NoError(t, err)
	assert.Contains(t, string(b), `"indicators":{"place":"cron"`)
	assert.Contains(t, string(b), `"sha256":"`+file.SHA256+`"`)
}
