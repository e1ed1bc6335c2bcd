package bootkernel

import (
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/stretchr/testify/require"

	"rescue/actions/actionstest"
	"rescue/checks/checkstest"
	"rescue/facts"
	"rescue/repair"
	"rescue/sysroot"
)

func planArchive(t testing.TB, root *sysroot.Root, args actionstest.Args, a *txtar.Archive) ([]repair.Candidate, string, error) {
	l, err := facts.New(root, checkstest.FactOptions(t, a)).Boot()
	require.NoError(t, err)
	r, err := Plan(root, l, Options{Version: args["version"], Previous: args["previous"] == "yes"})
	if err != nil {
		return nil, "", err
	}
	return []repair.Candidate{{Finding: Finding, Stage: repair.StageBoot, Fix: r.Fix}}, actionstest.Account(r.Changes, r.Notes), nil
}

func TestGolden(t *testing.T) {
	actionstest.Run(t, planArchive)
}
