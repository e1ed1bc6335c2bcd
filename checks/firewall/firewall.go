package firewall

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"rescue/checks"
	"rescue/facts"
	"rescue/parse/ifcfg"
	"rescue/parse/iptables"
	"rescue/parse/sshdconfig"
	"rescue/repair"
)

// Check is the firewall check.
var Check = &checks.Check{
	Name:     "firewall",
	Doc:      doc,
	Requires: []facts.Fact{facts.OSRelease, facts.EnabledUnits},
	Kinds:    []string{"ssh-port", "iptables-ssh", "firewalld-ssh", "nftables-ssh", "ufw-ssh"},
	Run:      run,
}

// sshPort is a TCP port sshd listens on, and the line that says so ("" for
// the default).
type sshPort struct {
	port  int
	where string
}

type checker struct {
	pass  *checks.Pass
	ports []sshPort
}

func run(pass *checks.Pass) error {
	if !pass.Root.Exists("/usr/sbin/sshd") && !pass.Root.Exists("/sbin/sshd") {
		return nil
	}
	c := &checker{pass: pass, ports: sshPorts(pass)}
	c.portNote()
	for _, p := range []struct{ file, unit string }{
		{"/etc/sysconfig/iptables", "iptables.service"},
		{"/etc/iptables/rules.v4", "netfilter-persistent.service"},
	} {
		if pass.Facts.UnitEnabled(p.unit) {
			c.iptablesFile(p.file, p.unit)
		}
	}
	if pass.Facts.UnitEnabled("nftables.service") {
		c.nftables()
	}
	if pass.Facts.UnitEnabled("firewalld.service") {
		c.firewalld()
	}
	c.ufw()
	return nil
}

// sshPorts reads sshd's ports: Port lines, and ports of ListenAddress
// lines; 22 when none.
func sshPorts(pass *checks.Pass) []sshPort {
	cfg, err := sshdconfig.Load(pass.Root, "/etc/ssh/sshd_config", true)
	if err != nil {
		return []sshPort{{22, ""}}
	}
	var out []sshPort
	seen := map[int]bool{}
	add := func(s string, d *sshdconfig.Directive) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 65535 || seen[n] {
			return
		}
		seen[n] = true
		out = append(out, sshPort{n, fmt.Sprintf("%s: %s", d.Where(), strings.TrimSpace(d.Raw))})
	}
	for _, d := range cfg.Global("port") {
		for _, a := range d.Args {
			add(a, d)
		}
	}
	for _, d := range cfg.Global("listenaddress") {
		if len(d.Args) == 0 {
			continue
		}
		if _, port, err := net.SplitHostPort(d.Args[0]); err == nil {
			add(port, d)
		}
	}
	if len(out) == 0 {
		out = append(out, sshPort{22, ""})
	}
	return out
}

// portNote reports sshd on a port other than 22.
func (c *checker) portNote() {
	for _, p := range c.ports {
		if p.port == 22 || p.where == "" {
			continue
		}
		path, line := whereOf(p.where)
		c.pass.Report(checks.Finding{
			Kind: "ssh-port", Subject: strconv.Itoa(p.port), Severity: checks.Warning, Path: path, Line: line,
			Message:  fmt.Sprintf("sshd listens on port %d, not 22", p.port),
			Impact:   fmt.Sprintf("cloud security groups and network ACLs usually allow only port 22: unless port %d is opened there too, SSH connections time out", p.port),
			Evidence: []string{p.where},
			NoFix:    fmt.Sprintf("the port is a choice: open TCP %d in the instance's security group, or set Port 22", p.port),
		})
	}
}

// whereOf splits "path line N: text" back into the path and the line.
func whereOf(where string) (string, int) {
	loc, _, _ := strings.Cut(where, ": ")
	p, n, ok := strings.Cut(loc, " line ")
	if !ok {
		return loc, 0
	}
	line, _ := strconv.Atoi(n)
	return p, line
}

// iptablesFile judges an iptables-save file restored at boot by unit.
func (c *checker) iptablesFile(file, unit string) {
	data, err := c.pass.Root.ReadFileLimit(file, 4<<20)
	if err != nil {
		return
	}
	t := iptables.Parse(data)
	if !t.Found || t.Commit == 0 {
		return // no filter table, or one iptables-restore refuses whole
	}
	for _, p := range c.ports {
		v := t.TCPIn(p.port)
		if !v.Blocked {
			continue
		}
		f := checks.Finding{
			Kind: "iptables-ssh", Subject: strconv.Itoa(p.port), Severity: checks.Error, Path: file,
			Message: fmt.Sprintf("the rules %s restores at boot drop TCP port %d, sshd's: %s", unit, p.port, v.Why),
			Impact:  "every SSH connection is dropped or refused after a reboot: nobody can log in over the network, only on the console",
		}
		lines, nl := checks.Lines(data)
		rule := fmt.Sprintf("-A INPUT -p tcp -m tcp --dport %d -j ACCEPT", p.port)
		at := t.Commit // before the filter table's COMMIT: the end of INPUT
		if v.Rule != nil {
			f.Line, at = v.Rule.Line, v.Rule.Line
			f.Evidence = append(f.Evidence, strings.TrimSpace(v.Rule.Raw))
			rule = fmt.Sprintf("-A %s -p tcp -m tcp --dport %d -j ACCEPT", v.Rule.Chain, p.port)
		} else if ch := t.Chains["INPUT"]; ch != nil {
			f.Line = ch.Line
			f.Evidence = append(f.Evidence, fmt.Sprintf(":INPUT %s", ch.Policy))
		}
		out := append(append(append([]string{}, lines[:at-1]...), rule), lines[at-1:]...)
		f.AddFix(repair.NewFix(fmt.Sprintf("Accept TCP port %d (sshd) in %s before %s", p.port, file, map[bool]string{true: fmt.Sprintf("line %d, which drops it", at), false: "the end of the INPUT chain"}[v.Rule != nil])).
			Add(repair.WriteFile(c.pass.Root, file, checks.JoinLines(out, nl))).Build())
		c.pass.Report(f)
		// One accept line per file is planned at a time: the next port
		// is judged again after this repair.
		return
	}
}

// vars reads a shell-variable file (ufw.conf, /etc/default/ufw,
// firewalld.conf), nil when missing.
func (c *checker) vars(p string) (*ifcfg.File, []byte) {
	data, err := c.pass.Root.ReadFileLimit(p, 1<<20)
	if err != nil {
		return nil, nil
	}
	return ifcfg.Parse(data), data
}
