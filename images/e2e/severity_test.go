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

// TestFaultSeverity: the worst of the scenario's finding and the other
// findings on the fault's paths (nss/source-missing beside
// pkgfiles/damaged on glibc 2.31); findings elsewhere do not count.
func TestFaultSeverity(t *testing.T) {
	var rep fixReport
	add := func(id, sev, path string) {
		rep.Findings = append(rep.Findings, struct {
			ID       string `json:"id"`
			Severity string `json:"severity"`
			Path     string `json:"path"`
			Message  string `json:"message"`
			Fixes    []any  `json:"fixes"`
		}{ID: id, Severity: sev, Path: path})
	}
	lib := "/lib/x86_64-linux-gnu/libnss_files.so.2"
	add("pkgfiles/damaged:libc6", "warning", lib)
	add("grub/x", "critical", "/boot/grub/grub.cfg")
	assert.Equal(t, "warning", faultSeverity(&rep, "pkgfiles/damaged:libc6", []string{lib}))
	add("nss/source-missing:files", "error", lib)
	assert.Equal(t, "error", faultSeverity(&rep, "pkgfiles/damaged:libc6", []string{lib}))
	assert.Equal(t, "", faultSeverity(&fixReport{}, "x", []string{lib}))
}

// TestExpectedBoot: without a boot, the expectation stands for it.
func TestExpectedBoot(t *testing.T) {
	quiet := expectedBoot(noSymptom("n", nil), true)
	assert.True(t, quiet.Healthy())
	ok, _ := SeverityAgrees(quiet, "error")
	assert.False(t, ok)
	degraded := expectedBoot(Expect{Class: boot.LoggedIn, Check: readOnlyRoot}, false)
	assert.False(t, degraded.Healthy())
	ok, _ = SeverityAgrees(degraded, "critical")
	assert.True(t, ok)
	ok, _ = SeverityAgrees(expectedBoot(Expect{Class: boot.KernelPanic}, false), "warning")
	assert.False(t, ok)
}
