package evidence

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"rescue/checks"
	"rescue/checks/all"
)

// allKinds are the event kinds the package makes.
var allKinds = []string{
	KindKernelPanic, KindOOMKill, KindInitFailed, KindSystemdFreeze, KindSELinuxPolicy, KindEmergency,
	KindDependency, KindUnitFailed, KindMountFailed, KindDeviceTimeout, KindRootMissing, KindInitramfsShell,
	KindGrubPrompt, KindGrubRescue, KindGrubError, KindNoBootable, KindSilent, KindLoginRefused, KindNoShell,
	KindPAMModule, KindPAMRefusal, KindPAMLimits, KindSSHDRefused, KindSSHDFailed, KindExecFailed, KindDiskFull,
	KindReadOnly, KindRemountRO, KindFSError, KindFsckFailed, KindHungTask, KindCloudInitFailed, KindSELinuxDenied,
}

// unexplained are the kinds no check explains yet: the report says "not
// explained by any check" for them, which is what to build next.
var unexplained = []string{KindDiskFull, KindHungTask, KindCloudInitFailed}

// TestRulesTable checks the link table as data: every rule names a kind
// the package makes and patterns over checks that exist; every kind the
// package makes has a rule, or is stated above as one no check explains.
func TestRulesTable(t *testing.T) {
	names := map[string]bool{}
	for _, c := range all.Checks() {
		names[c.Name] = true
	}
	for _, r := range Rules {
		assert.Contains(t, allKinds, r.Event, "rule for an unknown kind")
		assert.NotEmpty(t, r.Findings, "rule for %s links nothing", r.Event)
		assert.NotEmpty(t, r.Why, "rule for %s says not why", r.Event)
		for _, p := range r.Findings {
			check, _, _ := strings.Cut(p, "/")
			assert.True(t, names[check], "rule for %s: pattern %s names no check", r.Event, p)
		}
	}
	for _, k := range allKinds {
		has := slices.ContainsFunc(Rules, func(r Rule) bool { return r.Event == k })
		if slices.Contains(unexplained, k) {
			assert.False(t, has, "%s is listed as unexplained but has a rule", k)
		} else {
			assert.True(t, has, "no rule for %s: add one, or list it as unexplained", k)
		}
	}
	// Every kind the rules and the decisive table use is made by a
	// pattern or by the analyzer.
	made := map[string]bool{KindSilent: true, KindNoShell: true}
	for _, r := range eventRules {
		made[r.kind] = true
	}
	for _, k := range allKinds {
		assert.True(t, made[k], "nothing makes %s", k)
	}
	for c, kinds := range decisive {
		for _, k := range kinds {
			assert.Contains(t, allKinds, k, "decisive kind of %s", c)
		}
	}
}

func finding(id string) checks.Finding {
	f := checks.Finding{ID: id}
	f.Check, f.Kind, _ = strings.Cut(id, "/")
	rest := f.Kind
	f.Kind, f.Path, _ = strings.Cut(rest, ":")
	f.Path, f.Subject, _ = strings.Cut(f.Path, "#")
	return f
}

func TestLink(t *testing.T) {
	fs := []checks.Finding{
		finding("fstab/source-unknown:/etc/fstab#/data"),
		finding("fstab/source-unknown:/etc/fstab#/srv"),
		finding("sysctl/min-free-kbytes:/etc/sysctl.d/99-sysctl.conf#vm.min_free_kbytes"),
		finding("sshd/host-key-mode:/etc/ssh/ssh_host_rsa_key"),
		finding("zerosize/empty:/usr/lib/systemd/systemd"),
	}
	cases := []struct {
		kind, subject, text string
		want                []string
	}{
		// The failed mount of /data is the /data finding, not /srv's.
		{KindDependency, "data.mount", "Dependency failed for data.mount - /data.", []string{"fstab/source-unknown:/etc/fstab#/data"}},
		// Emergency mode names nothing: every mount finding.
		{KindEmergency, "", "You are in emergency mode.", []string{"fstab/source-unknown:/etc/fstab#/data", "fstab/source-unknown:/etc/fstab#/srv"}},
		{KindKernelPanic, "System is deadlocked on memory", "", []string{"sysctl/min-free-kbytes:/etc/sysctl.d/99-sysctl.conf#vm.min_free_kbytes"}},
		{KindKernelPanic, "Attempted to kill init! exitcode=0x00000100", "", []string{"zerosize/empty:/usr/lib/systemd/systemd"}},
		{KindUnitFailed, "ssh.service", "ssh.service: Failed with result 'exit-code'.", []string{"sshd/host-key-mode:/etc/ssh/ssh_host_rsa_key"}},
		{KindUnitFailed, "cron.service", "", []string{}},
		{KindDiskFull, "", "No space left on device", []string{}},
	}
	for _, c := range cases {
		a := &Analysis{Events: []Event{{Kind: c.kind, Subject: c.subject, Line: Line{Text: c.text}}}}
		Link([]*Analysis{a}, fs)
		e := a.Events[0]
		assert.Equal(t, c.want, e.Findings, "%s %q", c.kind, c.subject)
		assert.Equal(t, len(c.want) > 0, e.Explained)
	}
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		p, s string
		ok   bool
	}{
		{"fstab/*", "fstab/source-unknown:/etc/fstab#/data", true},
		{"fstab/root-*", "fstab/source-unknown:/etc/fstab#/data", false},
		{"fstab/root-*", "fstab/root-source-unknown:/etc/fstab#/", true},
		{"sysctl/min-free-kbytes:*", "sysctl/min-free-kbytes:/etc/sysctl.conf", true},
		{"*/empty:*systemd", "zerosize/empty:/usr/lib/systemd/systemd", true},
		{"grub/*", "grubx/a", false},
		{"a", "a", true},
	} {
		require.Equal(t, c.ok, globMatch(c.p, c.s), "%s ~ %s", c.p, c.s)
	}
}
