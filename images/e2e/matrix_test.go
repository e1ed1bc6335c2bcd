package e2e

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/images/boot"
)

func TestWriteMatrix(t *testing.T) {
	yes := true
	ok := &boot.Result{Class: boot.LoggedIn, RootWritable: &yes, State: "running"}
	tab := &Table{Rows: []*Row{
		{Scenario: "libnss-files-deleted", Release: "debian11", Status: "PASS", Broken: &boot.Result{Class: boot.LoginRefused}, Repaired: ok, Seconds: 100},
		{Scenario: "libnss-files-deleted", Release: "debian12", Status: "PASS", Broken: ok, Repaired: ok, Seconds: 90},
		{Scenario: "zero-bash", Release: "debian12", Status: "FAIL", Broken: &boot.Result{Class: boot.NoShell}, Seconds: 50},
	}}
	var b bytes.Buffer
	require.NoError(t, tab.WriteMatrix(&b))
	got := b.String()
	assert.Contains(t, got, "| scenario | debian11 | debian12 |\n|---|---|---|\n")
	assert.Contains(t, got, "| libnss-files-deleted | LOGIN_REFUSED → LOGGED_IN PASS | LOGGED_IN → LOGGED_IN PASS |\n")
	assert.Contains(t, got, "| zero-bash | — | NO_SHELL → — FAIL |\n")
	assert.Contains(t, got, "debian11: 1 row(s), 1 pass, 0 fail, 0 error; 2 boot(s); 100 row-seconds\n")
	assert.Contains(t, got, "debian12: 2 row(s), 1 pass, 1 fail, 0 error; 3 boot(s); 140 row-seconds\n")
}
