package console

import (
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/stretchr/testify/require"

	"rescue/actions/actionstest"
	"rescue/repair"
	"rescue/sysroot"
)

func planArchive(t testing.TB, root *sysroot.Root, args actionstest.Args, _ *txtar.Archive) ([]repair.Candidate, string, error) {
	o := Options{Port: args["port"]}
	if s := args["speed"]; s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err)
		o.Speed = n
	}
	r, err := Plan(root, o)
	if err != nil {
		return nil, "", err
	}
	return []repair.Candidate{{Finding: Finding, Stage: repair.StageOther, Fix: r.Fix}}, actionstest.Account(r.Changes, r.Notes), nil
}

func TestGolden(t *testing.T) {
	actionstest.Run(t, planArchive)
}
