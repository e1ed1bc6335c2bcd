package report

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/facts"
	"rescue/parse/blkid"
	"rescue/parse/osrelease"
	"rescue/repair"
)

func finding(id string, sev checks.Severity, path string, line int) checks.Finding {
	check, rest, _ := strings.Cut(id, "/")
	kind, _, _ := strings.Cut(rest, ":")
	return checks.Finding{ID: id, Check: check, Kind: kind, Severity: sev, Path: path, Line: line,
		Message: "message of " + id}
}

func sample() *Report {
	crit := finding("fstab/root-source-unknown:/etc/fstab#/", checks.Critical, "/etc/fstab", 2)
	crit.Impact = "/ stays read-only"
	crit.Evidence = []string{"UUID=1111 / ext4 defaults 0 1"}
	crit.Fixes = []repair.Fix{{Message: "Point / at UUID=2222"}}
	crit.Location = "/dev/vdb1 (ext4)"
	two := finding("grub/root-unknown:/boot/grub/grub.cfg#x", checks.Critical, "/boot/grub/grub.cfg", 0)
	two.Fixes = []repair.Fix{{Message: "first way"}, {Message: "second way"}}
	login := finding("pam/missing:/etc/pam.d/login", checks.Error, "/etc/pam.d/login", 0)
	login.NoFix = "no package to restore it from"
	warn := finding("limits/nofile-above-nr-open:/etc/security/limits.conf#3", checks.Warning, "/etc/security/limits.conf", 3)
	info := finding("fsstate/no-disk", checks.Info, "", 0)
	res := &checks.Result{
		Findings: []checks.Finding{crit, two, login, warn, info},
		Checks:   []checks.Status{{Name: "fstab", Findings: 1}, {Name: "grub", Findings: 1}},
		Notes:    []string{"sysctl: the memory is not known"},
	}
	devs := &facts.Devices{Source: "file", List: []blkid.Device{{Path: "/dev/vdb1", UUID: "2222", Type: "ext4"}}}
	devs.Root = &devs.List[0]
	return New(Tool{Name: "rescue", Version: "test"}, Target{Path: "/mnt/t"},
		osrelease.Info{ID: "debian", VersionID: "12", PrettyName: "Debian GNU/Linux 12 (bookworm)"}, devs, res)
}

func TestSummarizeAndExitCode(t *testing.T) {
	r := sample()
	assert.Equal(t, Summary{Critical: 2, Error: 1, Warning: 1, Info: 1, Fixable: 2}, r.Summary)
	assert.Equal(t, 4, Problems(r.Findings), "info does not count")
	assert.Equal(t, ExitFindings, r.ExitCode())

	// Info findings alone: a disk in order exits 0.
	only := New(Tool{}, Target{}, osrelease.Info{}, nil, &checks.Result{Findings: []checks.Finding{finding("x/y", checks.Info, "", 0)}})
	assert.Equal(t, ExitOK, only.ExitCode())
	assert.Equal(t, ExitOK, New(Tool{}, Target{}, osrelease.Info{}, nil, &checks.Result{}).ExitCode())

	// A check that could not run is an operational error, findings or not.
	r.Checks = append(r.Checks, checks.Status{Name: "pkgfiles", Error: "reading the database: corrupt\nmore"})
	assert.Equal(t, ExitError, r.ExitCode())
}

func TestWriteText(t *testing.T) {
	r := sample()
	r.Checks = append(r.Checks, checks.Status{Name: "pkgfiles", Error: "reading the database: corrupt\nsecond line"})
	var b bytes.Buffer
	r.WriteText(&b, Style{})
	want := `Target: /mnt/t, Debian GNU/Linux 12 (bookworm)
Devices: 1 from file; root filesystem /dev/vdb1 (ext4 UUID=2222)

CRITICAL: will not boot
  /etc/fstab:2  fstab/root-source-unknown:/etc/fstab#/
    on /dev/vdb1 (ext4)
    message of fstab/root-source-unknown:/etc/fstab#/
    breaks: / stays read-only
    | UUID=1111 / ext4 defaults 0 1
    fix: Point / at UUID=2222
  /boot/grub/grub.cfg  grub/root-unknown:/boot/grub/grub.cfg#x
    message of grub/root-unknown:/boot/grub/grub.cfg#x
    fix 1 (default): first way
    fix 2: second way

ERROR: boots, but no one can log in
  /etc/pam.d/login  pam/missing:/etc/pam.d/login
    message of pam/missing:/etc/pam.d/login
    no fix: no package to restore it from

WARNING
  /etc/security/limits.conf:3  limits/nofile-above-nr-open:/etc/security/limits.conf#3
    message of limits/nofile-above-nr-open:/etc/security/limits.conf#3
    no fix offered

INFO
  -  fsstate/no-disk
    message of fsstate/no-disk
    no fix offered

error: check pkgfiles could not run: reading the database: corrupt

note: sysctl: the memory is not known

5 finding(s): 2 critical, 1 error, 1 warning, 1 info; 2 can be fixed.
`
	assert.Equal(t, want, b.String())
}

func TestWriteTextClean(t *testing.T) {
	r := New(Tool{}, Target{Path: "/mnt/t", Device: "/dev/vdb", Partition: "/dev/vdb1", Filesystem: "xfs"},
		osrelease.Info{ID: "rocky", VersionID: "9.4"}, nil, &checks.Result{Checks: make([]checks.Status, 3)})
	var b bytes.Buffer
	r.WriteText(&b, Style{})
	assert.Equal(t, "Target: /dev/vdb (xfs on /dev/vdb1), rocky 9.4\n\nNo problems found by 3 checks.\n", b.String())

	r = New(Tool{}, Target{Path: "/x"}, osrelease.Info{}, nil, &checks.Result{})
	b.Reset()
	r.WriteText(&b, Style{})
	assert.True(t, strings.HasPrefix(b.String(), "Target: /x, unknown distribution\n"), b.String())
}

func TestStyle(t *testing.T) {
	plain := Style{}
	assert.Equal(t, "x", plain.bold("x"))
	assert.Equal(t, "x", plain.severity(checks.Critical, "x"))
	c := Style{Color: true}
	assert.Equal(t, "\x1b[1mx\x1b[0m", c.bold("x"))
	assert.Equal(t, "\x1b[2mx\x1b[0m", c.dim("x"))
	assert.Equal(t, "\x1b[31mx\x1b[0m", c.red("x"))
	assert.Equal(t, "\x1b[1;31mx\x1b[0m", c.severity(checks.Critical, "x"))
	assert.Equal(t, "\x1b[1;35mx\x1b[0m", c.severity(checks.Error, "x"))
	assert.Equal(t, "\x1b[1;33mx\x1b[0m", c.severity(checks.Warning, "x"))
	assert.Equal(t, "\x1b[1mx\x1b[0m", c.severity(checks.Info, "x"))

	var b bytes.Buffer
	sample().WriteText(&b, c)
	assert.Contains(t, b.String(), "\x1b[1;31mCRITICAL: will not boot\x1b[0m")
	b.Reset()
	sample().WriteText(&b, plain)
	assert.NotContains(t, b.String(), "\x1b[", "no escapes when not on a terminal")
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, sample().WriteJSON(&b))
	var got map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &got))
	assert.Equal(t, Schema, got["schema"])
	assert.Equal(t, "critical", got["findings"].([]any)[0].(map[string]any)["severity"])
	assert.Equal(t, map[string]any{"critical": 2.0, "error": 1.0, "warning": 1.0, "info": 1.0, "fixable": 2.0}, got["summary"])
	assert.NotContains(t, b.String(), `\u003e`, "no HTML escaping of > and <")

	// No findings is an empty list, not null: runbooks iterate over it.
	b.Reset()
	require.NoError(t, New(Tool{}, Target{}, osrelease.Info{}, nil, &checks.Result{}).WriteJSON(&b))
	assert.Contains(t, b.String(), `"findings": []`)

	b.Reset()
	fr := &FixReport{Schema: FixSchema, DryRun: true, ExitCode: ExitFindings}
	require.NoError(t, fr.WriteJSON(&b))
	assert.Contains(t, b.String(), `"schema": "rescue.fix/v1"`)
	assert.Contains(t, b.String(), `"findings": []`)
	assert.NotContains(t, b.String(), `"result"`, "no result in a dry run")
	assert.Contains(t, b.String(), `"exit_code": 4`)
}

func TestWriteUndoAndHistory(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteUndo(&b, &repair.UndoResult{ID: "20261123-141200-a1b2c3", Paths: []repair.PathOutcome{{Path: "/etc/fstab", Action: "restored"}}}))
	var undo map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &undo))
	assert.Equal(t, map[string]any{"schema": UndoSchema, "id": "20261123-141200-a1b2c3",
		"paths": []any{map[string]any{"path": "/etc/fstab", "action": "restored"}}}, undo)

	b.Reset()
	partial := &repair.UndoResult{ID: "x", Paths: []repair.PathOutcome{{Path: "/var/log/a.1", Action: "restored"}, {Path: "/var/log/b.1", Action: "failed", Error: "no room"}}}
	WriteUndoText(&b, partial)
	assert.Equal(t, "restored  /var/log/a.1\nfailed    /var/log/b.1\nRepair x partly undone: 1 path(s) not restored; undo again once their cause is mended.\n", b.String())

	b.Reset()
	require.NoError(t, WriteHistory(&b, nil))
	assert.JSONEq(t, `{"schema": "rescue.history/v1", "repairs": []}`, b.String())

	b.Reset()
	created := time.Date(2026, 11, 23, 14, 12, 0, 0, time.UTC)
	require.NoError(t, WriteHistory(&b, []*repair.Journal{{Schema: repair.JournalSchema, ID: "a", Created: created, Status: repair.StatusApplied}}))
	var h struct {
		Schema  string
		Repairs []repair.Journal
	}
	require.NoError(t, json.Unmarshal(b.Bytes(), &h))
	assert.Equal(t, HistorySchema, h.Schema)
	require.Len(t, h.Repairs, 1)
	assert.Equal(t, "a", h.Repairs[0].ID)
	assert.Equal(t, repair.JournalSchema, h.Repairs[0].Schema)
}

func TestExitCodesHelpNamesEveryCode(t *testing.T) {
	for _, c := range []int{ExitOK, ExitRepaired, ExitFindings, ExitError, ExitUsage} {
		assert.Regexp(t, `(?m)^  `+strconv.Itoa(c)+` +\S`, ExitCodesHelp)
	}
}
