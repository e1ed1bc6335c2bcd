package selinux

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"rescue/checks"
	"rescue/checks/bootargs"
	"rescue/facts"
	"rescue/parse/osrelease"
	"rescue/parse/selinuxconfig"
	"rescue/repair"
)

// Check is the selinux check.
var Check = &checks.Check{
	Name:     "selinux",
	Doc:      doc,
	Requires: []facts.Fact{facts.OSRelease},
	Kinds:    []string{"config-malformed", "config-mode", "no-policy", "unlabelled"},
	Reads:    []string{"/etc/selinux/config", "/etc/selinux"},
	Run:      run,
}

const configPath = "/etc/selinux/config"

type checker struct {
	pass   *checks.Pass
	data   []byte // the config file, which a fix edits
	cfg    selinuxconfig.Config
	boot   *bootargs.Set
	family osrelease.Family
}

func run(pass *checks.Pass) error {
	data, err := pass.Root.ReadFileLimit(configPath, 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no SELinux userland: nothing to load, nothing to check
	}
	if err != nil {
		return err
	}
	c := &checker{pass: pass, data: data, cfg: selinuxconfig.Parse(data), boot: bootargs.Read(pass.Root), family: pass.Facts.OS().Family}
	c.checkConfig()
	return nil
}

// active reports whether the kernel will run SELinux at all.
func (c *checker) active() (bool, string) {
	if l := c.boot.Has("selinux=0"); len(l) > 0 {
		return false, fmt.Sprintf("selinux=0 on the kernel command line (%s:%d)", l[0].Path, l[0].Line)
	}
	if c.family == osrelease.RHEL || (c.family == osrelease.Unknown && c.pass.Root.Exists("/etc/redhat-release")) {
		return true, "EL kernels enable SELinux unless selinux=0"
	}
	if l := c.boot.Has("selinux=1"); len(l) > 0 {
		return true, fmt.Sprintf("selinux=1 on the kernel command line (%s:%d)", l[0].Path, l[0].Line)
	}
	return false, "this kernel family needs selinux=1 on the command line"
}

// policyFiles returns the compiled policies present for the type.
func (c *checker) policyFiles() []string {
	m, _ := c.pass.Root.Glob(path.Join("/etc/selinux", c.cfg.Type, "policy", "policy.*"))
	var out []string
	for _, p := range m {
		if fi, err := c.pass.Root.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			out = append(out, p)
		}
	}
	return out
}

func (c *checker) checkConfig() {
	cfg := c.cfg
	for _, n := range cfg.Malformed {
		c.pass.Report(checks.Finding{
			Kind: "config-malformed", Subject: fmt.Sprint(n), Severity: checks.Warning, Path: configPath, Line: n,
			Message: fmt.Sprintf("line %d of %s is not KEY=value", n, configPath),
			Impact:  "libselinux ignores the line; if it was meant to set the mode or type, the system runs with another one",
			NoFix:   "what the line meant cannot be told; edit it by hand",
		})
	}
	switch cfg.Mode {
	case "enforcing", "permissive", "disabled":
	case "":
		if cfg.ModeLine == 0 {
			break // no SELINUX= line: libselinux falls back to the kernel's default
		}
		fallthrough
	default:
		f := checks.Finding{
			Kind: "config-mode", Severity: checks.Error, Path: configPath, Line: cfg.ModeLine,
			Message: fmt.Sprintf("SELINUX=%s is not enforcing, permissive or disabled", cfg.Mode),
			Impact:  "libselinux cannot tell the mode: policy loading at boot fails or falls back unpredictably",
		}
		f.AddFix(c.setMode("permissive", nil, map[string]string{"enforcing=1": "enforcing=0"}, len(c.policyFiles()) > 0))
		c.pass.Report(f)
		return
	}

	active, why := c.active()
	enforcing := cfg.Mode == "enforcing"
	enforceWhy := fmt.Sprintf("SELINUX=%s in %s", cfg.Mode, configPath)
	if l := c.boot.Has("enforcing=1"); len(l) > 0 {
		enforcing, enforceWhy = true, fmt.Sprintf("enforcing=1 on the kernel command line (%s:%d)", l[0].Path, l[0].Line)
	} else if l := c.boot.Has("enforcing=0"); len(l) > 0 {
		enforcing, enforceWhy = false, fmt.Sprintf("enforcing=0 on the kernel command line (%s:%d)", l[0].Path, l[0].Line)
	}
	if !active || cfg.Mode == "disabled" {
		return
	}
	policies := c.policyFiles()
	if len(policies) == 0 {
		f := checks.Finding{
			Kind: "no-policy", Path: configPath, Line: cfg.TypeLine, Subject: cfg.Type,
			Evidence: []string{why, enforceWhy},
		}
		if enforcing {
			f.Severity = checks.Critical
			f.Message = fmt.Sprintf("SELinux is enforcing, but there is no compiled policy for SELINUXTYPE=%s (/etc/selinux/%s/policy/policy.*)", cfg.Type, cfg.Type)
			f.Impact = "systemd stops at once: \"Failed to load SELinux policy. Freezing.\" The machine never boots"
		} else {
			// Boot and login work; this is worth knowing, not a fault
			// (and it is the state the enforcing fix leaves behind).
			f.Severity = checks.Info
			f.Message = fmt.Sprintf("SELinux is permissive, but there is no compiled policy for SELINUXTYPE=%s", cfg.Type)
			f.Impact = "the machine boots without SELinux; switching to enforcing would stop it at boot"
		}
		if enforcing {
			// With no policy there is nothing to enforce or to log: turn
			// SELinux off, on the command line too, so that the kernel
			// does not run it without a policy (on Debian, udev then
			// fails to label devices and the serial console never
			// comes up). Permissive is offered where the kernel runs
			// SELinux by default and keeps working without a policy.
			f.AddFix(c.setMode("disabled", []string{"selinux=1", "security=selinux", "enforcing=1"}, nil, false))
			if c.family == osrelease.RHEL {
				f.AddFix(c.setMode("permissive", nil, map[string]string{"enforcing=1": "enforcing=0"}, false))
			}
		} else {
			f.NoFix = "nothing stops boot; install the policy package (selinux-policy-targeted on EL, selinux-policy-default on Debian) before enforcing"
		}
		c.pass.Report(f)
		return
	}
	if enforcing {
		c.checkLabels()
	}
}

// setMode plans SELINUX=mode in the config, and the kernel command-line
// edits that go with it: drop are arguments removed wherever a kernel line
// carries them, swap maps an argument to its replacement. relabel schedules
// /.autorelabel.
func (c *checker) setMode(mode string, drop []string, swap map[string]string, relabel bool) (repair.Fix, error) {
	var parts []string
	b := repair.NewFix("")
	lines, nl := checks.Lines(c.data)
	if c.cfg.ModeLine > 0 {
		lines[c.cfg.ModeLine-1] = "SELINUX=" + mode
	} else {
		lines = append(lines, "SELINUX="+mode)
	}
	if data := checks.JoinLines(lines, nl); string(data) != string(c.data) {
		b.Add(repair.WriteFile(c.pass.Root, configPath, data))
		parts = append(parts, fmt.Sprintf("Set SELINUX=%s in %s", mode, configPath))
	}
	hit := map[string]bool{}
	edit := func(arg string) (string, bool) {
		for _, d := range drop {
			if arg == d {
				hit["remove "+d] = true
				return "", true
			}
		}
		if r, ok := swap[arg]; ok {
			hit[arg+" -> "+r] = true
			return r, true
		}
		return arg, false
	}
	var changed []string
	for _, p := range c.boot.Files() {
		data, err := c.pass.Root.ReadFileLimit(p, 8<<20)
		if err != nil {
			return repair.Fix{}, err
		}
		out, n, err := c.boot.Rewrite(p, data, edit)
		if err != nil {
			return repair.Fix{}, err
		}
		if n > 0 {
			b.Add(repair.WriteFile(c.pass.Root, p, out))
			changed = append(changed, p)
		}
	}
	if len(changed) > 0 {
		var what []string
		for w := range hit {
			what = append(what, w)
		}
		sort.Strings(what)
		parts = append(parts, fmt.Sprintf("on the kernel command line %s in %s", strings.Join(what, ", "), strings.Join(changed, ", ")))
	}
	if relabel && !c.pass.Root.Exists("/.autorelabel") {
		b.Add(repair.CreateFile(c.pass.Root, "/.autorelabel", nil, 0o644, 0, 0))
		parts = append(parts, "schedule a relabel at next boot")
	}
	if len(parts) == 0 {
		return repair.Fix{}, fmt.Errorf("SELINUX is already %s", mode)
	}
	fix, err := b.Build()
	msg := strings.Join(parts, "; ")
	fix.Message = strings.ToUpper(msg[:1]) + msg[1:]
	return fix, err
}

// labelled are files every login and every service touches: when they have
// no label, SELinux denies access to them under enforcing.
var labelled = []string{"/etc/passwd", "/etc/shadow", "/usr/bin/bash", "/usr/lib/systemd/systemd", "/usr/sbin/sshd", "/usr/bin/login"}

func (c *checker) checkLabels() {
	if c.pass.Root.Exists("/.autorelabel") {
		return // a relabel is already scheduled
	}
	var missing []string
	for _, p := range labelled {
		if !c.pass.Root.Exists(p) {
			continue
		}
		v, err := c.pass.Root.Xattr(p, "security.selinux")
		if err == nil && len(v) == 0 {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return
	}
	f := checks.Finding{
		Kind: "unlabelled", Severity: checks.Error, Path: missing[0],
		Message:  fmt.Sprintf("%d key file(s) have no SELinux label while SELinux enforces: %s", len(missing), strings.Join(missing, ", ")),
		Impact:   "confined services and logins are denied access to them: sshd, login and systemd units fail",
		Evidence: missing,
	}
	f.AddFix(repair.NewFix("Schedule a full SELinux relabel at next boot (/.autorelabel)").
		Add(repair.CreateFile(c.pass.Root, "/.autorelabel", nil, 0o644, 0, 0)).Build())
	c.pass.Report(f)
}
