package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"rescue/images/boot"
)

func TestSeverityAgrees(t *testing.T) {
	yes, no := true, false
	healthy := &boot.Result{Class: boot.LoggedIn, RootWritable: &yes, State: "running", SSH: "active"}
	readOnly := &boot.Result{Class: boot.LoggedIn, RootWritable: &no, State: "degraded"}
	for _, c := range []struct {
		r    *boot.Result
		sev  string
		want bool
	}{
		{&boot.Result{Class: boot.KernelPanic}, "critical", true},
		{&boot.Result{Class: boot.GrubPrompt}, "error", false},
		{&boot.Result{Class: boot.Emergency}, "critical", true},
		{&boot.Result{Class: boot.LoginRefused}, "error", true},
		{&boot.Result{Class: boot.LoginRefused}, "warning", false},
		{&boot.Result{Class: boot.NoShell}, "critical", true},
		{readOnly, "critical", true},
		{readOnly, "info", false},
		{healthy, "warning", true},
		{healthy, "info", true},
		{healthy, "error", false}, // libnss_files on glibc 2.36 is no lock-out
		{healthy, "critical", false},
		{nil, "critical", true},
		{&boot.Result{Class: boot.Timeout}, "info", true},
	} {
		ok, why := SeverityAgrees(c.r, c.sev)
		assert.Equal(t, c.want, ok, "%s for %s: %s", c.sev, c.r.Short(), why)
		if !ok {
			assert.Contains(t, why, "rescue calls it "+c.sev)
		}
	}
}
